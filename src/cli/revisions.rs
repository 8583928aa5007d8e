//! `rehearsal revisions ENV`: the task-definition revisions the environment keeps, newest
//! first, with their images, when each was registered, and which one runs now.

use clap::Args;

use super::{Error, Settings, VarArgs, exit};
use crate::engine::rollback::{Family, families};

#[derive(Debug, Args)]
pub struct RevisionsArgs {
    /// Environment name (environments/NAME.toml) or path to a spec.
    pub env: String,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Print the revisions as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(settings: &Settings, args: RevisionsArgs) -> Result<u8, Error> {
    let spec = settings.load_spec_for_what_it_owns(&args.env, &args.vars)?;
    let provider = settings.connect(&spec.env.region).await?;
    let live = provider.observe(&spec.env, &spec.declared()).await?;
    let families = families(&spec.env, &live, Some(&spec));
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&families).expect("serializes")
        );
        return Ok(exit::SUCCESS);
    }
    if families.is_empty() {
        outln!(
            "{} ({}) owns no task-definition revision.",
            spec.env.name,
            spec.env.region
        );
    }
    for family in &families {
        print_family(&spec.env, family);
    }
    Ok(exit::SUCCESS)
}

fn print_family(env: &crate::model::EnvId, family: &Family) {
    outln!(
        "{} ({}) in {} ({}): {} kept (keep_revisions = {}), newest first:",
        family.address,
        family.family,
        env.name,
        env.region,
        crate::english::count(family.revisions.len(), "revision"),
        family.keep_revisions
    );
    outln!(
        "  {:<9} {:<21} {:<40} RUNS NOW",
        "REVISION",
        "REGISTERED",
        "IMAGES"
    );
    for r in &family.revisions {
        let runs = r
            .runs_in
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let line = format!(
            "  {:<9} {:<21} {:<40} {runs}",
            r.revision,
            r.registered_at.as_deref().unwrap_or("-"),
            r.images.join(", "),
        );
        outln!("{}", line.trim_end());
    }
}
