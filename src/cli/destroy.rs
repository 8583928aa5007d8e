//! `rehearsal destroy ENV`: teardown from tags alone, with proof.

use clap::Args;

use super::output::{self, confirm};
use super::{Error, Settings, exit};
use crate::destroy::{DestroyError, DestroyOptions, Leftover, destroy, dry_run};
use crate::model::tags;
use crate::plan::render::Style;
use crate::spec::{self, Spec};

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Environment name. Its spec is optional: what it owns is found by its tags.
    pub env: String,
    /// List what would be deleted and change nothing.
    #[arg(long)]
    pub dry_run: bool,
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
}

pub async fn run(settings: &Settings, args: DestroyArgs, style: Style) -> Result<u8, Error> {
    let (env, spec) = settings.environment(&args.env)?;
    if spec.as_ref().is_some_and(Spec::is_protected) {
        return Err(DestroyError::Protected {
            env: env.name.clone(),
        }
        .into());
    }
    let provider = settings.connect(&env.region).await?;
    let declared = spec.as_ref().map(Spec::declared).unwrap_or_default();
    let (doomed, kept) = dry_run(provider.as_ref(), &env, &declared).await?;
    if doomed.is_empty() {
        println!(
            "Nothing to destroy: {} owns nothing in {}.",
            env.name, env.region
        );
        list_kept(&kept);
        return Ok(exit::SUCCESS);
    }
    println!(
        "{} {} owned by {} ({}):",
        if args.dry_run {
            "Would delete"
        } else {
            "Will delete"
        },
        crate::english::count(doomed.len(), "resource"),
        env.name,
        env.region
    );
    for r in &doomed {
        println!(
            "  {} {:<34} {:<12} {}",
            style.paint("-", "31"),
            r.address.to_string(),
            r.status,
            r.id
        );
    }
    list_kept(&kept);
    if args.dry_run {
        println!("Dry run: nothing was changed.");
        return Ok(exit::SUCCESS);
    }
    if !args.auto_approve {
        confirm(
            &format!("\nDestroy everything {} owns?", env.name),
            "destroy",
        )?;
    }
    let mut options = DestroyOptions {
        parallelism: usize::from(args.parallelism),
        declared,
        ..Default::default()
    };
    // The spec, when readable, adds policy: each database's final-snapshot choice.
    options.final_snapshot = spec
        .iter()
        .flat_map(|s| s.resources.values())
        .filter_map(|r| {
            Some((
                r.address.clone(),
                r.attributes.get("final_snapshot")?.as_bool()?,
            ))
        })
        .collect();
    if let Some(t) = args.timeout {
        options.timeout = t;
    }
    let report = destroy(provider, &env, output::reporter(), &options).await?;
    println!(
        "\nDeleted {} in {}.",
        crate::english::count(report.deleted.len(), "resource"),
        crate::english::count(report.passes as usize, "pass")
    );
    list_kept(&report.kept);
    if report.leftovers.is_empty() {
        println!(
            "Proof: a final listing finds nothing tagged {}={} in {}.",
            tags::ENV,
            env.name,
            env.region
        );
        return Ok(exit::SUCCESS);
    }
    println!(
        "{} {}:",
        style.paint("NOT DESTROYED:", "31"),
        crate::english::left(report.leftovers.len(), "resource")
    );
    list_leftovers(&report.leftovers, style);
    Err(Error::NotDestroyed { env: env.name })
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
                println!("{}", super::render(&error.clone().into(), at, style));
            }
            None => println!("{lead}none (still going away)"),
        }
    }
}

fn list_kept(kept: &[crate::model::LiveResource]) {
    for r in kept {
        println!("  kept: {} {} (keep_after_destroy = true)", r.address, r.id);
    }
}
