//! `rehearsal rollback ENV [SERVICE]`: a plan that takes a service back to the revision that ran
//! before the last deploy, shown, then carried out like any plan (or saved with `--out`).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::{Error, Settings, VarArgs, exit};
use crate::plan::render::{self, Style};

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Environment name (environments/NAME.toml) or path to a spec.
    pub env: String,
    /// The service to roll back (`server` or `ecs_service.server`) [default: the spec's only
    /// one].
    pub service: Option<String>,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Save the rollback plan here for review instead of carrying it out; `rehearsal apply
    /// PLAN` carries it out.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// How long the wait for the service may take, e.g. 45m (overrides the spec's `timeout`).
    #[arg(long, value_parser = crate::spec::duration::parse_timeout)]
    pub timeout: Option<std::time::Duration>,
    /// Do not run the spec's [checks] afterwards.
    #[arg(long)]
    pub skip_checks: bool,
    #[command(flatten)]
    pub window: super::rules::WindowArgs,
}

pub async fn run(settings: &Settings, args: RollbackArgs, style: Style) -> Result<u8, Error> {
    let spec = settings.load_spec_for_what_it_owns(&args.env, &args.vars)?;
    // Saved with --out, it changes nothing yet: `apply` asks the window then.
    let passage = match args.out {
        None => Some(super::rules::pass_window(
            settings,
            &spec.env.name,
            spec.window.as_ref(),
            &args.window,
        )?),
        Some(_) => None,
    };
    let provider = settings.connect(&spec.env.region).await?;
    let live = provider.observe(&spec.env, &spec.declared()).await?;
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("formats");
    let plan = crate::engine::rollback::plan(&spec, live, args.service.as_deref(), now)?;
    out!("{}", render::human(&plan, style));
    if let Some(out) = &args.out {
        plan.save(out)?;
        outln!(
            "\nSaved the rollback plan to {}. Carry out exactly this plan with:\n  rehearsal apply {}",
            out.display(),
            out.display()
        );
        return Ok(exit::SUCCESS);
    }
    let _ = std::io::stdout().flush();
    // Planned without the lock (as `rehearsal plan` is): carry_out re-checks it under the lock.
    let question =
        (!args.auto_approve).then(|| (format!("\nRoll {} back?", plan.env.name), "roll back"));
    let apply =
        super::apply::ApplyArgs::confirmed(1, args.timeout, args.skip_checks, args.window.clone());
    let command = format!("rollback {}", plan.env.name);
    super::apply::carry_out_locked(
        settings,
        plan,
        Some(spec),
        provider,
        &apply,
        style,
        &command,
        &passage.unwrap_or(crate::rules::Passage::NoWindow),
        question,
    )
    .await
}
