//! Thin: parse arguments, resolve the settings once, run, and end with the outcome's exit code.
//! An error is shown by `cli::render`, the one place errors become text.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use rehearsal::cli::{self, Cli, Colors, Placement, Settings};
use rehearsal::{Error, exit};

fn main() -> ExitCode {
    // Decided before parsing, so that clap's help and usage errors follow the same rule.
    let colors = Colors::detect();
    // clap's own exit code for a usage error is 2, which `plan --detailed-exitcode` uses for
    // "the plan has changes": its errors are ours to report, with code 64.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // `--help` and `--version` are not errors.
        Err(e) if !e.use_stderr() => {
            let text = e.render();
            // Like clap's own printing, a closed pipe (`rehearsal --help | head`) is no error.
            let _ = if colors.stdout {
                write!(std::io::stdout(), "{}", text.ansi())
            } else {
                write!(std::io::stdout(), "{text}")
            };
            return ExitCode::from(exit::SUCCESS);
        }
        Err(e) => return fail(Error::Arguments(e), colors),
    };
    init_logs(cli.global.verbose, colors);
    let settings = match Settings::resolve(&cli.global, colors) {
        Ok(settings) => settings,
        Err(e) => return fail(e, colors),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(Error::Runtime(e), colors),
    };
    match runtime.block_on(cli::run(cli.command, &settings)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => fail(e, colors),
    }
}

fn fail(error: Error, colors: Colors) -> ExitCode {
    eprintln!(
        "{}",
        cli::render(&error, Placement::Command, colors.stderr())
    );
    ExitCode::from(error.exit_code())
}

fn init_logs(verbose: u8, colors: Colors) {
    let level = match verbose {
        0 => return,
        1 => "rehearsal=info",
        2 => "rehearsal=debug,aws_config=info",
        _ => "trace",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(colors.stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .init();
}
