//! Why a step failed, as a type: the provider's answer, or the executor's own reasons.

use thiserror::Error;

use crate::model::{Address, ResourceKind};
use crate::provider::ProviderError;

/// Why one step failed: a step of an apply (the executor), or a delete in a teardown pass.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum StepError {
    /// What AWS (or the fake cloud) answered.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// Apply: a reference to another resource whose value that resource did not report.
    #[error(
        "the value of ${{{reference}}} (the resource it names reported no such attribute) was not found"
    )]
    Unresolved { reference: String },
    /// Apply: the live object an update is for is gone since the plan was made.
    #[error("{address} (it disappeared since the plan) was not found")]
    Disappeared { address: Address },
    /// Apply: the plan gives a step nothing to act on (plans are checked for it on load).
    #[error("the plan's step {step} has nothing to act on")]
    Incomplete { step: String },
    /// Teardown: something of a kind that must go first is still there.
    #[error("waiting for every {blocker} to go first")]
    Blocked { blocker: ResourceKind },
}

impl StepError {
    pub fn hint(&self) -> Option<String> {
        match self {
            StepError::Provider(e) => e.hint(),
            StepError::Unresolved { .. }
            | StepError::Disappeared { .. }
            | StepError::Incomplete { .. }
            | StepError::Blocked { .. } => None,
        }
    }
}
