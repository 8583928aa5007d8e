//! `--target` / `--exclude`, shared by `plan`, `apply ENV` and `destroy` (see
//! `crate::plan::targeting`).

use clap::Args;

use crate::model::Address;
use crate::plan::targeting::Request;

#[derive(Debug, Args, Clone, Default)]
pub struct TargetArgs {
    /// Consider only this resource (repeatable), with what it needs; for destroy, with what
    /// depends on it. The plan says what came in.
    #[arg(long = "target", value_name = "ADDRESS", value_parser = parse_address)]
    pub targets: Vec<Address>,
    /// Leave this resource out (repeatable), with what depends on it; for destroy, with what it
    /// needs. The plan says what stayed out.
    #[arg(long = "exclude", value_name = "ADDRESS", value_parser = parse_address)]
    pub excludes: Vec<Address>,
}

impl TargetArgs {
    pub fn request(&self) -> Request {
        Request {
            targets: self.targets.clone(),
            excludes: self.excludes.clone(),
        }
    }
}

fn parse_address(text: &str) -> Result<Address, String> {
    text.parse()
}
