//! The one error type at the top: every way a command can end other than success, with its
//! exit code ([`crate::exit`]) and the hints that tell the person at the terminal what to do.
//!
//! Library errors stay where they are made, each with its `hint()` beside it; this wraps them
//! and adds the command line's own conditions. Nothing here decides how an error looks:
//! `cli::render` is the one place an error becomes text.

use std::path::PathBuf;

use thiserror::Error;

use crate::apply::StepError;
use crate::engine::destroy::DestroyError;
use crate::engine::graph::GraphError;
use crate::engine::import::ImportError;
use crate::engine::snapshot::SnapshotError;
use crate::engine::workflow::RecheckError;
use crate::exit;
use crate::plan::PlanError;
use crate::provider::ProviderError;
use crate::spec::SpecError;
use crate::team::TeamError;

#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Spec(#[from] SpecError),
    // Boxed: a plan error carries a provider's error and its context, and would make every
    // `Result<_, Error>` as large.
    #[error(transparent)]
    Plan(Box<PlanError>),
    /// A saved plan whose file holds nothing this rehearsal can apply: it is damaged, or of
    /// another plan format. (A file that cannot be read at all is a [`Error::Plan`].)
    #[error(transparent)]
    UnusablePlan(Box<PlanError>),
    #[error(transparent)]
    Recheck(Box<RecheckError>),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Destroy(#[from] DestroyError),
    #[error(transparent)]
    Rollback(#[from] crate::engine::rollback::RollbackError),
    #[error(transparent)]
    Refresh(Box<crate::engine::refresh::RefreshError>),
    #[error(transparent)]
    Promote(Box<crate::engine::promote::PromoteError>),
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    Import(Box<ImportError>),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// The spec's change window is closed (see `crate::rules`).
    #[error(transparent)]
    Window(#[from] crate::rules::WindowError),
    /// A protected environment's plan deletes or replaces what no `--allow-destroy` named.
    #[error(transparent)]
    Consent(#[from] crate::rules::consent::ConsentNeeded),
    /// One step of an apply or a teardown, as listed under that step.
    #[error(transparent)]
    Step(#[from] StepError),
    /// A team's rule: a held lock, a pause, a plan already applied (see `crate::team`).
    #[error(transparent)]
    Team(#[from] crate::team::TeamError),
    /// Sign-off: too few approvals, or a plan already carried out (see `crate::team::approval`).
    #[error(transparent)]
    Approval(#[from] crate::team::approval::Error),

    // --- The command line.
    /// What clap refused: an unknown flag, a missing argument, a bad value. Its message is
    /// clap's own, with clap's tips and usage line.
    #[error("{0}")]
    Arguments(clap::Error),
    #[error("--var cannot change a saved plan")]
    VarsWithSavedPlan,
    #[error("--region {given} cannot move a saved plan: it was made for {planned}")]
    RegionWithSavedPlan { given: String, planned: String },
    #[error("refusing to {action} without confirmation: there is no terminal to ask on")]
    NoTerminal { action: &'static str },
    #[error("{action} cancelled")]
    Cancelled { action: &'static str },
    #[error("cannot read the answer: {0}")]
    Answer(std::io::Error),
    #[error("reap needs a region")]
    NoRegion,
    #[error("{message}")]
    InitArgument { message: String, hint: String },
    #[error("{} already exists: init writes a new spec, never over one", path.display())]
    SpecExists { path: PathBuf },
    #[error("cannot write {}: {error}", path.display())]
    WriteSpec {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot read the spec of {env}, and no region was given: {error}")]
    NoSpecNoRegion { env: String, error: SpecError },
    #[error("cannot read the spec of {env}, and no project was given: {error}")]
    NoSpecNoProject { env: String, error: SpecError },
    #[error("{}={value} is not a provider", crate::cli::PROVIDER_ENV)]
    UnknownProvider { value: String },
    #[error("{}: {message}", crate::team::TABLE_ENV)]
    TeamTableEnv { message: String },
    #[error("this rehearsal was built without the AWS provider")]
    NoAwsProvider,
    /// The fake cloud's state file (`REHEARSAL_PROVIDER=fake:PATH`) cannot be used.
    #[error("{0}")]
    FakeCloud(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),

    // --- Outcomes whose details were already listed on stdout.
    #[error("{failed} of {} failed ({skipped} skipped)", crate::english::count(*total, "step"))]
    StepsFailed {
        failed: usize,
        skipped: usize,
        total: usize,
    },
    #[error(
        "{} of {} of {env} failed: {}",
        failed.len(),
        crate::english::count(*total, "check"),
        failed.join(", ")
    )]
    ChecksFailed {
        env: String,
        failed: Vec<String>,
        total: usize,
    },
    #[error("{env} declares no checks")]
    NoChecks { env: String, path: PathBuf },
    #[error("{env} is not fully destroyed")]
    NotDestroyed { env: String },
    #[error("not fully reaped: {}", envs.join(", "))]
    NotReaped { envs: Vec<String> },

    /// A `plan` that failed, after removing the previous plan at its path so that the next
    /// step of a checklist cannot apply that older plan by mistake.
    #[error("{error}")]
    PlanFailed {
        error: Box<Error>,
        previous: PathBuf,
        discarded: Discarded,
    },
}

/// What became of the previous plan when a `plan` failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discarded {
    Removed,
    /// Its directory does not let it be removed, but the file could be emptied: an empty file
    /// is no plan, and `apply` refuses it.
    Emptied,
    /// Neither: why it could not be removed.
    Left(String),
}

impl From<PlanError> for Error {
    fn from(e: PlanError) -> Self {
        Error::Plan(Box::new(e))
    }
}

impl From<ImportError> for Error {
    fn from(e: ImportError) -> Self {
        Error::Import(Box::new(e))
    }
}

impl From<crate::engine::promote::PromoteError> for Error {
    fn from(e: crate::engine::promote::PromoteError) -> Self {
        Error::Promote(Box::new(e))
    }
}

impl From<RecheckError> for Error {
    fn from(e: RecheckError) -> Self {
        Error::Recheck(Box::new(e))
    }
}

impl Error {
    /// The outcome of an apply whose summary lists failed steps (already shown on stdout).
    pub fn steps_failed(summary: &crate::apply::Summary) -> Error {
        Error::StepsFailed {
            failed: summary.failed.len(),
            skipped: summary.skipped.len(),
            total: summary.done.len() + summary.failed.len() + summary.skipped.len(),
        }
    }

    /// The exit code this error ends the command with (README.md, "Exit codes").
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Arguments(_)
            | Error::VarsWithSavedPlan
            | Error::RegionWithSavedPlan { .. }
            | Error::NoTerminal { .. }
            | Error::NoRegion
            | Error::InitArgument { .. }
            | Error::SpecExists { .. }
            | Error::NoSpecNoRegion { .. }
            | Error::NoSpecNoProject { .. }
            | Error::UnknownProvider { .. }
            | Error::TeamTableEnv { .. } => exit::USAGE,
            Error::UnusablePlan(_) => exit::REPLAN,
            // An address the environment does not have, like a mistyped flag.
            Error::Plan(e) if matches!(**e, PlanError::Target(_)) => exit::USAGE,
            Error::Destroy(DestroyError::Target(_)) => exit::USAGE,
            Error::Window(_) => exit::WINDOW_CLOSED,
            Error::Recheck(e) => match **e {
                RecheckError::Stale { .. } | RecheckError::AlreadyApplied { .. } => exit::REPLAN,
                RecheckError::Observe(_) => exit::ERROR,
            },
            Error::StepsFailed { .. } | Error::Step(_) => exit::STEPS_FAILED,
            Error::Approval(e) => e.exit_code(),
            Error::Team(e) => match e {
                TeamError::Locked { .. } => exit::LOCKED,
                TeamError::Paused { .. } => exit::PAUSED,
                TeamError::AlreadyApplied { .. } => exit::REPLAN,
                _ => exit::ERROR,
            },
            Error::NotDestroyed { .. } | Error::NotReaped { .. } => exit::LEFTOVERS,
            Error::ChecksFailed { .. } => exit::CHECKS_FAILED,
            Error::PlanFailed { error, .. } => error.exit_code(),
            Error::Spec(_)
            | Error::NoChecks { .. }
            | Error::Plan(_)
            | Error::Provider(_)
            | Error::Destroy(_)
            | Error::Rollback(_)
            | Error::Refresh(_)
            | Error::Promote(_)
            | Error::Graph(_)
            | Error::Import(_)
            | Error::WriteSpec { .. }
            | Error::Snapshot(_)
            | Error::Consent(_)
            | Error::Cancelled { .. }
            | Error::Answer(_)
            | Error::NoAwsProvider
            | Error::FakeCloud(_)
            | Error::Runtime(_) => exit::ERROR,
        }
    }

    /// What to do about it, most useful first. Library errors bring their own. Run by a make
    /// target (`REHEARSAL_MAKE_TARGET`), a flag the Makefile sets from a variable is named by
    /// that variable: `AUTO_APPROVE=1`, not only `--auto-approve`.
    pub fn hints(&self) -> Vec<String> {
        let hints = self.own_hints();
        match crate::cli::MakeTarget::from_env() {
            Some(make) => hints.iter().map(|h| make.translate(h)).collect(),
            None => hints,
        }
    }

    fn own_hints(&self) -> Vec<String> {
        let own = |hint: &str| vec![hint.to_string()];
        match self {
            Error::Spec(e) => e.hint().into_iter().collect(),
            Error::Plan(e) | Error::UnusablePlan(e) => e.hint().into_iter().collect(),
            Error::Recheck(e) => e.hint().into_iter().collect(),
            Error::Provider(e) => e.hint().into_iter().collect(),
            Error::Destroy(e) => e.hint().into_iter().collect(),
            Error::Rollback(e) => e.hint().into_iter().collect(),
            Error::Refresh(e) => e.hint().into_iter().collect(),
            Error::Promote(e) => e.hint().into_iter().collect(),
            Error::Graph(e) => e.hint().into_iter().collect(),
            Error::Import(e) => e.hint().into_iter().collect(),
            Error::Snapshot(e) => e.hint().into_iter().collect(),
            Error::Step(e) => e.hint().into_iter().collect(),
            Error::Window(e) => vec![e.hint()],
            Error::Consent(e) => vec![e.hint()],
            Error::Team(e) => e.hint().into_iter().collect(),
            Error::Approval(e) => e.hint().into_iter().collect(),
            // clap's message carries its own tips.
            Error::Arguments(_) => vec![],
            Error::VarsWithSavedPlan => {
                own("variables are fixed when the plan is made: pass them to `rehearsal plan`")
            }
            Error::RegionWithSavedPlan { given, .. } => vec![format!(
                "a saved plan applies where it was made: for {given}, make a plan there with \
                 `rehearsal plan ENV --region {given}`"
            )],
            Error::NoTerminal { .. } => {
                own("review the plan, then run it from a terminal, or in CI pass --auto-approve")
            }
            Error::NoRegion => own("pass --region eu-west-1, or set AWS_REGION"),
            Error::InitArgument { hint, .. } => vec![hint.clone()],
            Error::SpecExists { path } => vec![format!(
                "to take more into it, declare them in {} and run `rehearsal import`; or choose \
                 another name",
                path.display()
            )],
            Error::WriteSpec { .. } => own("check that the environments directory is writable"),
            Error::NoSpecNoRegion { env, error } => {
                let mut hints: Vec<String> = error.hint().into_iter().collect();
                hints.push(format!(
                    "pass --region (or set AWS_REGION): what {env} owns is found by its tags alone"
                ));
                hints
            }
            Error::NoSpecNoProject { env, error } => {
                let mut hints: Vec<String> = error.hint().into_iter().collect();
                hints.push(format!(
                    "pass --project, the [environment] project of its spec: {env} of another \
                     project is not this one's to touch"
                ));
                hints
            }
            Error::UnknownProvider { .. } => vec![format!(
                "use {var}=aws (the default) or {var}=fake:STATE.json",
                var = crate::cli::PROVIDER_ENV
            )],
            Error::TeamTableEnv { .. } => vec![format!(
                "set {} to your team's DynamoDB table, or unset it",
                crate::team::TABLE_ENV
            )],
            Error::NoAwsProvider => vec![format!(
                "build with the default `aws` feature, or set {}=fake:STATE.json",
                crate::cli::PROVIDER_ENV
            )],
            Error::StepsFailed { .. } => own(
                "fix the cause and run `rehearsal plan` again: it picks up from what exists now",
            ),
            Error::ChecksFailed { env, .. } => vec![
                format!(
                    "{env} is left as it is, for you to look at: `rehearsal status {env}` lists \
                     it, `rehearsal check {env}` runs the checks again"
                ),
                format!("when you are done with it: `rehearsal destroy {env}`"),
            ],
            Error::NoChecks { path, .. } => vec![format!(
                "declare one in {}: [checks.server_started] http = \"http://...\" (see \"Checks\" \
                 in README.md)",
                path.display()
            )],
            Error::NotDestroyed { .. } => {
                own("run `rehearsal destroy` again: it resumes from what is left")
            }
            Error::NotReaped { .. } => {
                own("run `rehearsal reap` again: it resumes from what is left")
            }
            Error::PlanFailed {
                error,
                previous,
                discarded,
            } => {
                let previous = previous.display();
                let mut hints = error.own_hints();
                hints.push(match discarded {
                    Discarded::Removed => format!(
                        "the previous plan at {previous} was removed, so it cannot be applied \
                         by mistake"
                    ),
                    Discarded::Emptied => format!(
                        "the previous plan at {previous} could not be removed, so it was \
                         emptied: it cannot be applied by mistake"
                    ),
                    Discarded::Left(why) => format!(
                        "the previous plan at {previous} could not be removed ({why}): do not \
                         apply it, it is not this plan"
                    ),
                });
                hints
            }
            Error::Cancelled { .. }
            | Error::Answer(_)
            | Error::FakeCloud(_)
            | Error::Runtime(_) => vec![],
        }
    }

    /// The spec's offending line with the span underlined, where the error is a spec
    /// diagnostic's.
    pub fn snippet(&self) -> Option<&str> {
        match self {
            Error::Spec(SpecError::Invalid(d))
            | Error::NoSpecNoRegion {
                error: SpecError::Invalid(d),
                ..
            } => Some(&d.snippet),
            Error::PlanFailed { error, .. } => error.snippet(),
            _ => None,
        }
    }
}

impl From<crate::engine::refresh::RefreshError> for Error {
    fn from(e: crate::engine::refresh::RefreshError) -> Error {
        Error::Refresh(Box::new(e))
    }
}
