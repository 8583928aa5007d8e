//! One integration-test binary (fast to link): the spec, the engine, teardown and the CLI, each
//! as a module that reads like the user's story. AWS-backed modules need the `aws` feature.

mod project;
mod support;

mod approvals;
mod checks;
mod cli;
mod count;
mod ecs_release;
pub mod engine;
mod iam_policy;
mod isolation;
mod newcomer;
mod promote;
mod refresh;
mod revisions;
mod rules;
mod snapshots;
mod spec_errors;
mod spec_table;
mod targeting;
mod team;
mod teardown;
mod versions;

// Against a private moto server per test (installed by `make emulator-install`).
#[cfg(feature = "aws")]
mod against_emulator;
#[cfg(feature = "aws")]
mod approvals_table;
#[cfg(feature = "aws")]
mod aws;
#[cfg(feature = "aws")]
mod emulator;
#[cfg(feature = "aws")]
mod faults;
#[cfg(feature = "aws")]
mod import_live;
// The same emulator, behind AWS's lifecycles and refusals (scripts/aws_realism.py).
#[cfg(feature = "aws")]
mod network;
#[cfg(feature = "aws")]
mod realistic;
#[cfg(feature = "aws")]
mod safety;
#[cfg(feature = "aws")]
mod servers;
#[cfg(feature = "aws")]
mod story;
#[cfg(feature = "aws")]
mod team_table;
#[cfg(feature = "aws")]
mod what_runs_where;
