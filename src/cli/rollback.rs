//! `rehearsal rollback ENV [SERVICE]`: a plan that takes a service back to the revision that ran
//! before the last deploy, shown, then carried out like any plan (or saved with `--out`).

use clap::Args;

use super::release_op::Operation;
use super::{Error, Settings, VarArgs};
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
    #[command(flatten)]
    pub op: super::release_op::ReleaseOpArgs,
}

pub async fn run(settings: &Settings, args: RollbackArgs, style: Style) -> Result<u8, Error> {
    let spec = settings.load_spec_for_what_it_owns(&args.env, &args.vars)?;
    let passage = args.op.pass_window(settings, &spec)?;
    let provider = settings.connect(&spec.env.region).await?;
    let live = provider.observe(&spec.env, &spec.declared()).await?;
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("formats");
    let plan = crate::engine::rollback::plan(&spec, live, args.service.as_deref(), now)?;
    out!("{}", render::human(&plan, style));
    // Planned without the lock (as `rehearsal plan` is): carry_out re-checks it under the lock.
    let command = format!("rollback {}", plan.env.name);
    let question = format!("Roll {} back?", plan.env.name);
    args.op
        .save_or_carry_out(
            settings,
            plan,
            Some(spec),
            provider,
            style,
            &passage,
            Operation {
                verb: "rollback",
                command: &command,
                question,
                parallelism: 1,
            },
        )
        .await
}
