//! What the user sees while commands run: colours, progress, confirmation, summaries.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::Error;
use crate::apply::{Event, Reporter, Summary};
use crate::plan::render::Style;

/// Spinners on a terminal; a line per state change otherwise (CI logs, make).
pub fn reporter() -> Arc<dyn Reporter> {
    if std::io::stderr().is_terminal() {
        Arc::new(LiveReporter::new())
    } else {
        Arc::new(LineReporter {
            started: Instant::now(),
        })
    }
}

pub struct LineReporter {
    started: Instant,
}

impl Reporter for LineReporter {
    fn event(&self, event: Event) {
        let t = self.started.elapsed().as_secs();
        let stamp = format!("[{:02}:{:02}]", t / 60, t % 60);
        let line = match event {
            Event::Started { step } => format!("{step}: started"),
            Event::Progress { step, message } => format!("{step}: {message}"),
            Event::Finished { step, elapsed } => format!("{step}: done{}", took(elapsed)),
            Event::Failed { step, error } => format!("{step}: FAILED: {error}"),
            Event::Skipped { step, because } => {
                format!("{step}: skipped, because {because} failed")
            }
            Event::Pass { number, remaining } => format!("pass {number}: {remaining} left"),
            Event::Note { step, message } => format!("{step}: note: {message}"),
        };
        eprintln!("{stamp} {line}");
    }
}

fn took(d: Duration) -> String {
    if d.as_secs() > 0 {
        format!(" in {}", crate::spec::duration::format(d))
    } else {
        String::new()
    }
}

pub struct LiveReporter {
    bars: MultiProgress,
    by_step: Mutex<HashMap<String, ProgressBar>>,
}

impl LiveReporter {
    fn new() -> Self {
        LiveReporter {
            bars: MultiProgress::new(),
            by_step: Mutex::new(HashMap::new()),
        }
    }

    fn bar(&self, step: &str) -> ProgressBar {
        let mut bars = self.by_step.lock().unwrap();
        bars.entry(step.to_string())
            .or_insert_with(|| {
                let bar = self.bars.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix} {wide_msg} {elapsed}")
                        .expect("valid template"),
                );
                bar.set_prefix(step.to_string());
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            })
            .clone()
    }
}

impl Reporter for LiveReporter {
    fn event(&self, event: Event) {
        match event {
            Event::Started { step } => self.bar(&step).set_message("started"),
            Event::Progress { step, message } => self.bar(&step).set_message(message),
            Event::Finished { step, elapsed } => self
                .bar(&step)
                .finish_with_message(format!("done{}", took(elapsed))),
            Event::Failed { step, error } => self
                .bar(&step)
                .abandon_with_message(format!("FAILED: {error}")),
            Event::Skipped { step, because } => self
                .bar(&step)
                .abandon_with_message(format!("skipped, because {because} failed")),
            Event::Pass { number, remaining } => {
                let _ = self
                    .bars
                    .println(format!("pass {number}: {remaining} left"));
            }
            Event::Note { step, message } => {
                let _ = self.bars.println(format!("{step}: note: {message}"));
            }
        }
    }
}

/// Ask "yes" on a terminal. Without one, refuse instead of hanging: CI has nobody to answer.
pub fn confirm(question: &str, what: &'static str) -> Result<(), Error> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::NoTerminal { action: what });
    }
    eprint!("{question}\n  Only 'yes' will be accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(Error::Answer)?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(Error::Cancelled { action: what })
    }
}

pub fn print_summary(summary: &Summary, style: Style) {
    outln!(
        "\n{}: {} done, {} failed, {} skipped.",
        style.bold("Summary"),
        summary.done.len(),
        summary.failed.len(),
        summary.skipped.len()
    );
    for step in &summary.done {
        outln!("  done     {step}");
    }
    for (step, error) in &summary.failed {
        // In the column of `done` and `skipped`, the hints under the step's name.
        let lead = format!("  {}   {step}: ", style.paint("FAILED", "31"));
        let at = super::Placement::Item {
            lead: &lead,
            indent: 11,
        };
        outln!("{}", super::render(&error.clone().into(), at, style));
    }
    for (step, because) in &summary.skipped {
        outln!("  skipped  {step} (because {because} failed)");
    }
    for (step, message) in &summary.notes {
        outln!("  note     {step}: {message}");
    }
}
