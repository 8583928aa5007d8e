//! `rehearsal snapshot ENV [--reason TEXT]`: a safety snapshot of each database the
//! environment names, as a plan the executor carries out (see `crate::engine::snapshot`).

use std::io::Write;

use clap::Args;

use super::output::confirm;
use super::{Error, Settings, VarArgs, team};
use crate::engine::snapshot;
use crate::plan::observe::observe_environment;
use crate::plan::render::{self, Style};
use crate::spec;

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Environment name (environments/NAME.toml) or path to a spec.
    pub env: String,
    /// Why: recorded in a tag on each snapshot and at the end of its identifier, e.g.
    /// "before 3.2.0" (letters, digits, spaces and _ . : / = + - @).
    #[arg(long, value_parser = reason_arg)]
    pub reason: Option<String>,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// How many steps may run at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,
    /// How long each snapshot may take to become available, e.g. 90m [default: 30m].
    #[arg(long, value_parser = spec::duration::parse_timeout)]
    pub timeout: Option<std::time::Duration>,
    #[command(flatten)]
    pub window: super::rules::WindowArgs,
}

/// A `--reason` RDS would refuse as a tag value is a bad value, refused before anything runs.
fn reason_arg(text: &str) -> Result<String, String> {
    match snapshot::check_reason(text) {
        Ok(()) => Ok(text.to_string()),
        Err(e) => Err(match e.hint() {
            Some(hint) => format!("{e}\n\n  hint: {hint}"),
            None => e.to_string(),
        }),
    }
}

pub async fn run(settings: &Settings, args: SnapshotArgs, style: Style) -> Result<u8, Error> {
    let spec = settings.load_spec_for_what_it_owns(&args.env, &args.vars)?;
    // A safety snapshot counts as a change: on a Single-AZ database it suspends I/O for a
    // while, and `[snapshots] keep` deletes the oldest ones.
    let passage =
        super::rules::pass_window(settings, &spec.env.name, spec.window.as_ref(), &args.window)?;
    let (env, region) = (spec.env.name.clone(), spec.env.region.clone());
    let table = spec.team_table.clone();
    let command = format!("snapshot {env}");
    let mut guard = team::guard(settings, &env, &region, table.as_deref(), &command).await?;
    guard.passed(&passage);
    if let Some(reason) = &args.reason {
        guard.reason(reason.clone());
    }
    let outcome = take(settings, &args, spec, style, &mut guard).await;
    team::finish(settings, guard, outcome).await
}

/// Plan the snapshots, show them, ask, take them under `guard`, and say what AWS has.
async fn take(
    settings: &Settings,
    args: &SnapshotArgs,
    spec: crate::spec::Spec,
    style: Style,
    guard: &mut crate::team::Guard,
) -> Result<u8, Error> {
    let provider = settings.connect(&spec.env.region).await?;
    let now = time::OffsetDateTime::now_utc();
    let (plan, _) = snapshot::plan(provider.as_ref(), &spec, args.reason.as_deref(), now).await?;
    out!("{}", render::human(&plan, style));
    let _ = std::io::stdout().flush();
    if !args.auto_approve {
        confirm(
            &format!("\nTake these snapshots of {}?", plan.env.name),
            "snapshot",
        )?;
    }
    // What the snapshots will be called, to describe them once taken.
    let taken: Vec<String> = plan
        .actions
        .iter()
        .filter_map(|a| a.safety_snapshot.as_ref().and(a.desired.as_ref()))
        .filter_map(|d| Some(d.get("identifier")?.as_str()?.to_string()))
        .collect();
    let apply = super::apply::ApplyArgs::confirmed(
        args.parallelism,
        args.timeout,
        false,
        args.window.clone(),
    );
    let carried_out = super::apply::carry_out(
        plan,
        Some(spec.clone()),
        provider.clone(),
        &apply,
        style,
        guard,
    )
    .await;
    // A plan refused before it ran took nothing to describe.
    if !matches!(carried_out, Ok(_) | Err(Error::StepsFailed { .. })) {
        return carried_out;
    }
    // What the snapshots are now, as AWS describes them: identifier, state and ARN.
    let live = observe_environment(provider.as_ref(), &spec.env, &spec.declared()).await?;
    let mut found = false;
    for r in live.iter().filter(|r| taken.contains(&r.id)) {
        if !found {
            outln!();
            found = true;
        }
        let of = r.tags.get(snapshot::OF).map(String::as_str).unwrap_or("");
        let arn = r
            .attributes
            .get("arn")
            .and_then(|v| v.as_str())
            .unwrap_or("(no ARN yet)");
        outln!("Snapshot {} of {of}: {}\n  {arn}", r.id, r.status);
    }
    carried_out
}
