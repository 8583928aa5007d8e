//! Progress as events. The executor and teardown emit them; the CLI decides how to show them
//! (a line per event without a terminal, live spinners with one).

use std::sync::Arc;
use std::time::Duration;

use crate::model::Address;
use crate::provider::ProgressSink;

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Started {
        step: String,
    },
    /// A state word from AWS, e.g. `creating`, `backing-up`, `available`.
    Progress {
        step: String,
        message: String,
    },
    Finished {
        step: String,
        elapsed: Duration,
    },
    Failed {
        step: String,
        error: super::StepError,
    },
    Skipped {
        step: String,
        because: String,
    },
    /// Something the user should know that is not a failure.
    Note {
        step: String,
        message: String,
    },
    /// Teardown: a pass begins.
    Pass {
        number: u32,
        remaining: usize,
    },
}

pub trait Reporter: Send + Sync {
    fn event(&self, event: Event);
}

/// Drops events.
pub struct Silent;

impl Reporter for Silent {
    fn event(&self, _: Event) {}
}

/// Collects events, for tests.
#[derive(Default)]
pub struct Recorder(pub std::sync::Mutex<Vec<Event>>);

impl Reporter for Recorder {
    fn event(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }
}

/// Turns a provider's progress words for one step into events.
pub struct StepProgress {
    pub step: String,
    pub reporter: Arc<dyn Reporter>,
}

impl ProgressSink for StepProgress {
    fn report(&self, _: &Address, message: &str) {
        self.reporter.event(Event::Progress {
            step: self.step.clone(),
            message: message.to_string(),
        });
    }
}
