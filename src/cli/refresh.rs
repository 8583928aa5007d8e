//! `rehearsal refresh ENV ADDRESS`: a long-lived environment's database replaced by a restore of
//! a fresh (or, with `--latest`, the newest) snapshot of production's, the replaced copy's data
//! kept in a snapshot (see `crate::engine::refresh`). A plan, shown, confirmed, then carried out
//! like any plan (or saved with `--out`).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::{Error, Settings, VarArgs, exit};
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
    /// Save the refresh plan here for review instead of carrying it out; `rehearsal apply
    /// PLAN` carries it out.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// How long each step may take, e.g. 90m (overrides the spec's `timeout`).
    #[arg(long, value_parser = crate::spec::duration::parse_timeout)]
    pub timeout: Option<std::time::Duration>,
    /// Do not run the spec's [checks] afterwards.
    #[arg(long)]
    pub skip_checks: bool,
    #[command(flatten)]
    pub window: super::rules::WindowArgs,
}

pub async fn run(settings: &Settings, args: RefreshArgs, style: Style) -> Result<u8, Error> {
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
    if let Some(out) = &args.out {
        plan.save(out)?;
        outln!(
            "\nSaved the refresh plan to {}. Carry out exactly this plan with:\n  rehearsal apply {}",
            out.display(),
            out.display()
        );
        return Ok(exit::SUCCESS);
    }
    let _ = std::io::stdout().flush();
    let question =
        (!args.auto_approve).then(|| (format!("\nRefresh {}'s data?", plan.env.name), "refresh"));
    let apply =
        super::apply::ApplyArgs::confirmed(1, args.timeout, args.skip_checks, args.window.clone());
    let command = format!("refresh {} {}", plan.env.name, args.address);
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
