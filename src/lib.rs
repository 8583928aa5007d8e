//! rehearsal: Terraform-style release environments on AWS.
//!
//! The data flow, top to bottom: [`spec`] (TOML → validated spec) → [`plan`] (diff against what a
//! [`provider`] observes) → [`engine::graph`] (ordered DAG) → [`apply`] (executor) → provider.
//! [`engine::destroy`] plans an environment's teardown from its tags alone. Only `aws` talks to
//! AWS.

pub mod kinds;
pub mod model;
pub mod provider;

pub mod apply;
#[cfg(feature = "aws")]
pub mod aws;
pub mod checks;
pub mod cli;
pub mod engine;
pub mod english;
mod error;
pub mod exit;
pub mod fuzz;
pub mod plan;
pub mod rules;
pub mod spec;
pub mod team;

pub use error::{Discarded, Error};
