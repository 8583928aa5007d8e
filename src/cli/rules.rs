//! The flags of a team's rules (`crate::rules`), shared by the commands they apply to, and the
//! one place a command asks whether the change window lets it go ahead.

use clap::Args;

use super::{Error, Settings};
use crate::model::Address;
use crate::rules::{self, Passage, Window};

/// `--override-window`, on every command that changes an environment.
#[derive(Debug, Args, Clone, Default)]
pub struct WindowArgs {
    /// Go ahead although the spec's [window] is closed, saying why (an emergency):
    /// --override-window "hotfix for a data loss bug".
    #[arg(long, value_name = "REASON", value_parser = rules::parse_reason)]
    pub override_window: Option<String>,
}

/// `--allow-destroy`, on the commands that plan.
#[derive(Debug, Args, Clone, Default)]
pub struct ConsentArgs {
    /// In a protected environment, consent to the plan deleting or replacing ADDRESS
    /// (repeatable); `plan` records it in the plan it saves.
    #[arg(long = "allow-destroy", value_name = "ADDRESS", value_parser = parse_address)]
    pub allow_destroy: Vec<Address>,
}

fn parse_address(text: &str) -> Result<Address, String> {
    text.parse()
}

/// Whether a change to `env` may go ahead now under its `window`: refused when closed unless
/// `--override-window` says why. The passage carries the reason, for the record.
pub fn pass_window(
    settings: &Settings,
    env: &str,
    window: Option<&Window>,
    args: &WindowArgs,
) -> Result<Passage, Error> {
    let passage = rules::gate(env, window, settings.now, args.override_window.as_deref())?;
    if let Passage::Overridden { reason } = &passage {
        settings.note(&format!(
            "the change window of {env} is closed; going ahead (--override-window): {reason}"
        ));
    }
    Ok(passage)
}
