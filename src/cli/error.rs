//! Errors at the edge: a message, an optional hint, and the exit code.

use std::fmt;

use crate::destroy::DestroyError;
use crate::graph::GraphError;
use crate::plan::PlanError;
use crate::provider::ProviderError;
use crate::spec::SpecError;
use crate::workflow::RecheckError;

#[derive(Debug)]
pub struct CliError {
    /// Already rendered: a spec error carries its snippet.
    pub message: String,
    pub hint: Option<String>,
    pub code: u8,
}

impl CliError {
    pub fn new(message: impl Into<String>, hint: Option<String>) -> Self {
        CliError {
            message: message.into(),
            hint,
            code: super::exit::ERROR,
        }
    }

    /// An error whose output was already printed (an apply summary): only the exit code.
    pub fn reported(code: u8) -> Self {
        CliError {
            message: String::new(),
            hint: None,
            code,
        }
    }

    pub fn with_code(mut self, code: u8) -> Self {
        self.code = code;
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<SpecError> for CliError {
    fn from(e: SpecError) -> Self {
        match &e {
            // The rendered diagnostic already ends with its hint.
            SpecError::Invalid(_) => CliError::new(e.render(), None),
            _ => CliError::new(e.to_string(), e.hint()),
        }
    }
}

impl From<PlanError> for CliError {
    fn from(e: PlanError) -> Self {
        CliError::new(e.to_string(), e.hint())
    }
}

impl From<RecheckError> for CliError {
    fn from(e: RecheckError) -> Self {
        let code = match e {
            RecheckError::AlreadyApplied { .. } | RecheckError::Stale { .. } => super::exit::REPLAN,
            RecheckError::Observe(_) => super::exit::ERROR,
        };
        CliError::new(e.to_string(), e.hint()).with_code(code)
    }
}

impl From<ProviderError> for CliError {
    fn from(e: ProviderError) -> Self {
        CliError::new(e.to_string(), e.hint())
    }
}

impl From<GraphError> for CliError {
    fn from(e: GraphError) -> Self {
        CliError::new(
            e.to_string(),
            Some("this is a bug in rehearsal: please report it with the spec".into()),
        )
    }
}

impl From<DestroyError> for CliError {
    fn from(e: DestroyError) -> Self {
        let hint = match &e {
            DestroyError::Protected { .. } => Some(
                "protected environments (production, staging) are never torn down by rehearsal"
                    .into(),
            ),
            DestroyError::Observe { error, .. } => error.hint(),
        };
        CliError::new(e.to_string(), hint)
    }
}
