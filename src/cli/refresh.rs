//! `rehearsal refresh ENV ADDRESS`: a long-lived environment's database replaced by a restore of
//! a fresh (or, with `--latest`, the newest) snapshot of production's, the replaced copy's data
//! kept in a snapshot (see `crate::engine::refresh`). A plan, shown, confirmed, then carried out
//! like any plan (or saved with `--out`).

use clap::Args;

use super::release_op::Operation;
use super::{Error, Settings, VarArgs};
use crate::plan::render::{self, Style};

#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// Environment name (environments/NAME.toml) or path to a spec: a protected one.
    pub env: String,
    /// The database to refresh (`db` or `rds_instance.db`).
    pub address: String,
    /// Restore the newest snapshot of production's database there is, rather than take one.
    #[arg(long)]
    pub latest: bool,
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub op: super::release_op::ReleaseOpArgs,
}

pub async fn run(settings: &Settings, args: RefreshArgs, style: Style) -> Result<u8, Error> {
    let spec = settings.load_spec_for_what_it_owns(&args.env, &args.vars)?;
    let passage = args.op.pass_window(settings, &spec)?;
    let provider = settings.connect(&spec.env.region).await?;
    let now = time::OffsetDateTime::now_utc();
    let (plan, _) =
        crate::engine::refresh::plan(provider.as_ref(), &spec, &args.address, args.latest, now)
            .await?;
    // Naming the database on the command line is the consent to replace it (what
    // `--allow-destroy ADDRESS` gives a plan); the plan records it, so `apply` of a saved refresh
    // plan needs no more.
    let named: Vec<_> = plan.refresh.iter().map(|r| r.address.clone()).collect();
    let consent = crate::rules::consent::check(&plan, &named)?;
    let plan = plan.with_consent(consent);
    out!("{}", render::human(&plan, style));
    let command = format!("refresh {} {}", plan.env.name, args.address);
    let question = format!("Refresh {}'s data?", plan.env.name);
    args.op
        .save_or_carry_out(
            settings,
            plan,
            Some(spec),
            provider,
            style,
            &passage,
            Operation {
                verb: "refresh",
                command: &command,
                question,
                parallelism: 1,
            },
        )
        .await
}
