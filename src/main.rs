//! Thin: parse arguments, run, turn the outcome into an exit code.

use std::process::ExitCode;

use clap::Parser;
use rehearsal::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(cli.global.verbose);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(cli::exit::ERROR);
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if !e.message.is_empty() {
                eprintln!("error: {}", e.message);
            }
            if let Some(hint) = &e.hint {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(e.code)
        }
    }
}

fn init_logs(verbose: u8) {
    let level = match verbose {
        0 => return,
        1 => "rehearsal=info",
        2 => "rehearsal=debug,aws_config=info",
        _ => "trace",
    };
    use std::io::IsTerminal;
    let color = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .init();
}
