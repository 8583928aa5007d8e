//! rehearsal: Terraform-style release environments on AWS.
//!
//! The data flow, top to bottom: [`spec`] (TOML → validated spec) → [`plan`] (diff against what a
//! [`provider`] observes) → [`graph`] (ordered DAG) → [`apply`] (executor) → provider. [`destroy`]
//! tears an environment down from its tags alone. Only [`aws`] talks to AWS.

pub mod kinds;
pub mod model;
pub mod ownership;
pub mod provider;

pub mod apply;
#[cfg(feature = "aws")]
pub mod aws;
pub mod checks;
pub mod cli;
pub mod destroy;
pub mod english;
mod error;
pub mod exit;
pub mod fuzz;
pub mod graph;
pub mod plan;
pub mod rollback;
pub mod spec;
pub mod wait;
pub mod workflow;

pub use error::{Discarded, Error};
