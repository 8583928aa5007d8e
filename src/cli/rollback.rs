//! `rehearsal rollback ENV [SERVICE]`: a plan that takes a service back to the revision that ran
//! before the last deploy, shown, then carried out like any plan (or saved with `--out`).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::output::confirm;
use super::{Error, Settings, VarArgs, exit, team};
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
}

pub async fn run(settings: &Settings, args: RollbackArgs, style: Style) -> Result<u8, Error> {
    let spec = settings.load_spec(&args.env, &args.vars)?;
    let provider = settings.connect(&spec.env.region).await?;
    let live = provider.observe(&spec.env, &spec.declared()).await?;
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("formats");
    let plan = crate::engine::rollback::plan(&spec, live, args.service.as_deref(), now)?;
    print!("{}", render::human(&plan, style));
    if let Some(out) = &args.out {
        plan.save(out)?;
        println!(
            "\nSaved the rollback plan to {}. Carry out exactly this plan with:\n  rehearsal apply {}",
            out.display(),
            out.display()
        );
        return Ok(exit::SUCCESS);
    }
    let _ = std::io::stdout().flush();
    // Planned without the lock (as `rehearsal plan` is): carry_out re-checks it under the lock.
    let (env, region) = (plan.env.name.clone(), plan.env.region.clone());
    let command = format!("rollback {env}");
    let table = spec.team_table.clone();
    let mut guard = team::guard(settings, &env, &region, table.as_deref(), &command).await?;
    let outcome = confirm_and_carry_out(plan, spec, provider, &args, style, &mut guard).await;
    team::finish(settings, guard, outcome).await
}

async fn confirm_and_carry_out(
    plan: crate::plan::Plan,
    spec: crate::spec::Spec,
    provider: std::sync::Arc<dyn crate::provider::Provider>,
    args: &RollbackArgs,
    style: Style,
    guard: &mut crate::team::Guard,
) -> Result<u8, Error> {
    if !args.auto_approve {
        confirm(&format!("\nRoll {} back?", plan.env.name), "roll back")?;
    }
    let apply = super::apply::ApplyArgs {
        target: String::new(),
        vars: VarArgs::default(),
        auto_approve: true,
        parallelism: 1,
        timeout: args.timeout,
        skip_checks: args.skip_checks,
    };
    super::apply::carry_out(plan, Some(spec), provider, &apply, style, guard).await
}
