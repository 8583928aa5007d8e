//! `rehearsal destroy ENV`: a destroy plan made from tags alone, carried out (or saved with
//! `--out`), with proof.

use clap::Args;

use std::path::PathBuf;
use std::sync::Arc;

use super::output::{self, confirm};
use super::{Error, Settings, exit, team};
use crate::apply::teardown::{TeardownOptions, teardown};
use crate::engine::destroy::{self, DestroyError, DestroyOptions, Leftover};
use crate::model::tags;
use crate::plan::Plan;
use crate::plan::render::{self, Style};
use crate::provider::Provider;
use crate::spec::{self, Spec};

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Environment name. Its spec is optional: what it owns is found by its tags.
    pub env: String,
    /// List what would be deleted and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Save the destroy plan here for review instead of carrying it out; `rehearsal apply
    /// PLAN` carries it out.
    #[arg(long, conflicts_with = "dry_run")]
    pub out: Option<PathBuf>,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// How many deletes may run at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,
    /// How long the whole teardown may wait for AWS, e.g. 90m [default: 60m]: for what is still
    /// being created to become deletable, and for deletions to finish.
    #[arg(long, value_parser = spec::duration::parse_timeout)]
    pub timeout: Option<std::time::Duration>,
    #[command(flatten)]
    pub targeting: super::targeting::TargetArgs,
    #[command(flatten)]
    pub window: super::rules::WindowArgs,
}

pub async fn run(settings: &Settings, args: DestroyArgs, style: Style) -> Result<u8, Error> {
    let (env, spec) = settings.environment(&args.env)?;
    if spec.as_ref().is_some_and(Spec::is_protected) {
        return Err(DestroyError::Protected {
            env: env.name.clone(),
        }
        .into());
    }
    // A dry run or a saved plan changes nothing yet: no window (`apply` asks the window of a
    // saved one) and no lock.
    if args.dry_run || args.out.is_some() {
        return destroy_env(settings, &args, env, spec, style, None).await;
    }
    let window = spec.as_ref().and_then(|s| s.window.as_ref());
    let passage = super::rules::pass_window(settings, &env.name, window, &args.window)?;
    let table = spec.as_ref().and_then(|s| s.team_table.clone());
    let command = format!("destroy {}", env.name);
    let mut guard =
        team::guard(settings, &env.name, &env.region, table.as_deref(), &command).await?;
    guard.passed(&passage);
    let outcome = destroy_env(settings, &args, env, spec, style, Some(&mut guard)).await;
    team::finish(settings, guard, outcome).await
}

/// Plan the teardown and show it; carry it out unless it is a dry run or saved (`--out`),
/// which change nothing and so run without the lock (`guard`).
async fn destroy_env(
    settings: &Settings,
    args: &DestroyArgs,
    env: crate::model::EnvId,
    spec: Option<Spec>,
    style: Style,
    guard: Option<&mut crate::team::Guard>,
) -> Result<u8, Error> {
    let provider = settings.connect(&env.region).await?;
    let mut options = DestroyOptions::default();
    options.run.parallelism = usize::from(args.parallelism);
    if let Some(t) = args.timeout {
        options.run.timeout = t;
    }
    options.request = args.targeting.request();
    // What goes, what stays and which final snapshots are taken are decided here, in the
    // plan; the spec, when readable, adds its choices and travels in it.
    let plan = destroy::plan(provider.as_ref(), &env, spec.as_ref(), &options).await?;
    if !plan.has_changes() {
        outln!(
            "Nothing to destroy: {} owns nothing in {}.",
            env.name,
            env.region
        );
        out!("{}", render::teardown(&plan, style));
        return Ok(exit::SUCCESS);
    }
    out!("{}", render::partial(&plan));
    outln!(
        "{} {} owned by {} ({}):",
        if args.dry_run {
            "Would delete"
        } else if args.out.is_some() {
            "The plan deletes"
        } else {
            "Will delete"
        },
        crate::english::count(plan.actions.len(), "resource"),
        env.name,
        env.region
    );
    out!("{}", render::teardown(&plan, style));
    if args.dry_run {
        outln!("Dry run: nothing was changed.");
        return Ok(exit::SUCCESS);
    }
    if let Some(out) = &args.out {
        plan.save(out)?;
        outln!(
            "\nSaved the destroy plan to {}. Carry out exactly this plan with:\n  rehearsal apply {}",
            out.display(),
            out.display()
        );
        return Ok(exit::SUCCESS);
    }
    if !args.auto_approve {
        let question = match plan.partial() {
            Some(_) => format!(
                "\nDestroy these {} of {}?",
                crate::english::count(plan.actions.len(), "resource"),
                env.name
            ),
            None => format!("\nDestroy everything {} owns?", env.name),
        };
        confirm(&question, "destroy")?;
    }
    if let Some(guard) = guard {
        guard.plan(&plan);
    }
    carry_out(&plan, provider, &options.run, style).await
}

/// Carry out a destroy plan (made now, or saved and applied) and show the proof: a final
/// listing that finds nothing the environment owns, or what is left and why.
pub async fn carry_out(
    plan: &Plan,
    provider: Arc<dyn Provider>,
    options: &TeardownOptions,
    style: Style,
) -> Result<u8, Error> {
    let env = &plan.env;
    let report = teardown(plan, provider, output::reporter(), options).await?;
    outln!(
        "\nDeleted {} in {}.",
        crate::english::count(report.deleted.len(), "resource"),
        crate::english::count(report.passes as usize, "pass")
    );
    list_kept(&report.kept);
    if report.leftovers.is_empty() {
        match &plan.targeting {
            // The proof covers what was targeted, and says so: the rest is still there.
            Some(targeting) => {
                outln!(
                    "Proof: a final listing of what is tagged {}={} in {} finds none of the {} targeted.",
                    tags::ENV,
                    env.name,
                    env.region,
                    crate::english::count(targeting.considered.len(), "resource"),
                );
                outln!(
                    "The rest of {} remains: {} not targeted, still standing.",
                    env.name,
                    crate::english::count(report.rest.len(), "resource")
                );
            }
            None => outln!(
                "Proof: a final listing finds nothing tagged {}={} in {}.",
                tags::ENV,
                env.name,
                env.region
            ),
        }
        return Ok(exit::SUCCESS);
    }
    outln!(
        "{} {}:",
        style.paint("NOT DESTROYED:", "31"),
        crate::english::left(report.leftovers.len(), "resource")
    );
    list_leftovers(&report.leftovers, style);
    Err(Error::NotDestroyed {
        env: env.name.clone(),
    })
}

/// What a teardown left, each with the reason its last delete failed.
pub fn list_leftovers(leftovers: &[Leftover], style: Style) {
    for l in leftovers {
        let lead = format!(
            "  {:<34} {:<12} {}  last error: ",
            l.resource.address.to_string(),
            l.resource.status,
            l.resource.id,
        );
        match &l.last_error {
            Some(error) => {
                let at = super::Placement::Item {
                    lead: &lead,
                    indent: 4,
                };
                outln!("{}", super::render(&error.clone().into(), at, style));
            }
            None => outln!("{lead}none (still going away)"),
        }
    }
}

fn list_kept(kept: &[crate::model::LiveResource]) {
    for r in kept {
        outln!("  kept: {} {} (keep_after_destroy = true)", r.address, r.id);
    }
}
