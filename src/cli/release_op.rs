//! What the release operations that make their own plan share (`rollback`, `refresh`,
//! `promote`): their flags, and the road from a plan on the screen to a saved plan or one
//! carried out under the environment's lock.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::apply::{ApplyArgs, carry_out_locked};
use super::{Error, Settings, exit};
use crate::plan::Plan;
use crate::plan::render::Style;
use crate::provider::Provider;
use crate::rules::Passage;
use crate::spec::Spec;

#[derive(Debug, Args, Clone)]
pub struct ReleaseOpArgs {
    /// Save the plan here for review instead of carrying it out; `rehearsal apply PLAN`
    /// carries it out.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// How long each wait for AWS may take, e.g. 45m (overrides the spec's `timeout`).
    #[arg(long, value_parser = crate::spec::duration::parse_timeout)]
    pub timeout: Option<std::time::Duration>,
    /// Do not run the spec's [checks] afterwards.
    #[arg(long)]
    pub skip_checks: bool,
    #[command(flatten)]
    pub window: super::rules::WindowArgs,
}

/// What a release operation is, for its question and its messages.
pub struct Operation<'a> {
    /// `rollback`, `refresh`, `promote`: the plan's name and the word to confirm with.
    pub verb: &'static str,
    /// What is journaled as the command (`rollback staging`).
    pub command: &'a str,
    /// The question asked on a terminal (`Roll staging back?`).
    pub question: String,
    /// How many steps may run at once.
    pub parallelism: u16,
}

impl ReleaseOpArgs {
    /// The window of the environment it changes, asked before anything is read; a plan saved
    /// with `--out` changes nothing yet (`apply` asks the window then).
    pub fn pass_window(&self, settings: &Settings, spec: &Spec) -> Result<Passage, Error> {
        match self.out {
            Some(_) => Ok(Passage::NoWindow),
            None => super::rules::pass_window(
                settings,
                &spec.env.name,
                spec.window.as_ref(),
                &self.window,
            ),
        }
    }

    /// Save the plan already shown (`--out`), or ask (unless `--auto-approve`) and carry it
    /// out under the environment's lock, journaled with how it passed the window.
    #[allow(clippy::too_many_arguments)]
    pub async fn save_or_carry_out(
        &self,
        settings: &Settings,
        plan: Plan,
        spec: Option<Spec>,
        provider: std::sync::Arc<dyn Provider>,
        style: Style,
        passage: &Passage,
        operation: Operation<'_>,
    ) -> Result<u8, Error> {
        if let Some(out) = &self.out {
            plan.save(out)?;
            outln!(
                "\nSaved the {} plan to {}. Carry out exactly this plan with:\n  rehearsal apply {}",
                operation.verb,
                out.display(),
                out.display()
            );
            return Ok(exit::SUCCESS);
        }
        let _ = std::io::stdout().flush();
        let question = (plan.has_changes() && !self.auto_approve)
            .then(|| (format!("\n{}", operation.question), operation.verb));
        let apply = ApplyArgs::confirmed(
            operation.parallelism,
            self.timeout,
            self.skip_checks,
            self.window.clone(),
        );
        carry_out_locked(
            settings,
            plan,
            spec,
            provider,
            &apply,
            style,
            operation.command,
            passage,
            question,
        )
        .await
    }
}
