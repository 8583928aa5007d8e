//! Thin: parse arguments, run, turn the outcome into an exit code.

use std::process::ExitCode;

use clap::Parser;
use rehearsal::cli::{self, Cli};
use rehearsal::exit;

fn main() -> ExitCode {
    // clap's own exit code for a usage error is 2, which `plan --detailed-exitcode` uses for
    // "the plan has changes": map its errors here instead of letting it exit.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // `--help` and `--version` are not errors.
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::SUCCESS
            });
        }
    };
    init_logs(cli.global.verbose);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::ERROR);
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
