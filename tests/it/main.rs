//! One integration-test binary (fast to link): the spec, the engine, teardown and the CLI, each
//! as a module that reads like the user's story. AWS-backed modules need the `aws` feature.

mod support;

mod cli;
mod engine;
mod spec_errors;
mod teardown;

// The AWS provider against a private moto server per test (needs `moto_server` on PATH).
#[cfg(feature = "aws")]
mod aws_provider;
#[cfg(feature = "aws")]
mod emulator;
