//! Thin: parse arguments, run, and end with the outcome's exit code; an error is rendered by
//! `cli::render`, the one place errors become text.

use std::process::ExitCode;

use clap::Parser;
use rehearsal::cli::{self, Cli, Placement};
use rehearsal::{Error, exit};

fn main() -> ExitCode {
    // clap's own exit code for a usage error is 2, which `plan --detailed-exitcode` uses for
    // "the plan has changes": its errors are ours to report, with code 64.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // `--help` and `--version` are not errors.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::from(exit::SUCCESS);
        }
        Err(e) => return fail(Error::Arguments(e)),
    };
    init_logs(cli.global.verbose);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(Error::Runtime(e)),
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => fail(e),
    }
}

fn fail(error: Error) -> ExitCode {
    eprintln!(
        "{}",
        cli::render(&error, Placement::Command, cli::stderr_style())
    );
    ExitCode::from(error.exit_code())
}

fn init_logs(verbose: u8) {
    let level = match verbose {
        0 => return,
        1 => "rehearsal=info",
        2 => "rehearsal=debug,aws_config=info",
        _ => "trace",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(cli::stderr_style().color)
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .init();
}
