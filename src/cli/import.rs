//! `rehearsal import ENV ADDRESS ID`: take an object rehearsal did not create into a protected
//! environment, once, after showing what will be tagged (see `crate::engine::import`).

use clap::Args;

use super::output::confirm;
use super::{Error, Settings, VarArgs, exit, team};
use crate::engine::import::{self, Prepared};
use crate::model::Address;
use crate::plan::render::{self, Style};
use crate::provider::Provider;
use crate::spec::Spec;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Environment name (environments/NAME.toml) or path to a spec. It must be protected.
    pub env: String,
    /// The spec's address for it, e.g. ecs_service.server.
    pub address: Address,
    /// The AWS id: an ECS service's CLUSTER/NAME or ARN, a task-definition family or ARN, an
    /// RDS instance identifier, an ECS cluster name.
    pub id: String,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    #[command(flatten)]
    pub window: super::rules::WindowArgs,
}

pub async fn run(settings: &Settings, args: ImportArgs, style: Style) -> Result<u8, Error> {
    let spec = settings.load_spec(&args.env, &args.vars)?;
    let passage =
        super::rules::pass_window(settings, &spec.env.name, spec.window.as_ref(), &args.window)?;
    let (env, region) = (spec.env.name.clone(), spec.env.region.clone());
    let command = format!("import {env} {} {}", args.address, args.id);
    let table = spec.team_table.clone();
    let mut guard = team::guard(settings, &env, &region, table.as_deref(), &command).await?;
    guard.passed(&passage);
    let outcome = async {
        let provider = settings.connect(&spec.env.region).await?;
        import_all(
            provider.as_ref(),
            &spec,
            &[(args.address, args.id)],
            args.auto_approve,
        )
        .await?;
        show_plan_after(provider.as_ref(), &spec, style).await
    }
    .await;
    team::finish(settings, guard, outcome).await
}

/// Prepare every import, show them all, ask once, then tag each.
pub(super) async fn import_all(
    provider: &dyn Provider,
    spec: &Spec,
    imports: &[(Address, String)],
    auto_approve: bool,
) -> Result<(), Error> {
    let mut prepared: Vec<Prepared> = Vec::new();
    for (address, id) in imports {
        prepared.push(import::prepare(provider, spec, address, id).await?);
    }
    outln!(
        "Will import into {} ({}), a protected environment, by tagging:",
        spec.env.name,
        spec.env.region
    );
    for p in &prepared {
        show(p);
    }
    if !auto_approve {
        confirm(
            &format!(
                "\nTag {} as {}'s own? From then on rehearsal plans changes to {} (it never \
                 destroys a protected environment's resources)",
                if prepared.len() == 1 { "it" } else { "them" },
                spec.env.name,
                if prepared.len() == 1 { "it" } else { "them" },
            ),
            "import",
        )?;
    }
    for p in &prepared {
        let now = import::carry_out(provider, p).await?;
        outln!("Imported {} ({}).", p.address, now.id);
    }
    Ok(())
}

fn show(p: &Prepared) {
    outln!("  {} = {} ({})", p.address, p.live.id, p.live.status);
    for (key, value) in import::shown_tags(&p.tags) {
        outln!("      + tag {key} = {value}");
    }
}

/// The plan of the spec after an import: honest about what still differs.
pub(super) async fn show_plan_after(
    provider: &dyn Provider,
    spec: &Spec,
    style: Style,
) -> Result<u8, Error> {
    let plan = crate::engine::workflow::make_plan(provider, spec).await?;
    outln!();
    if plan.has_changes() {
        outln!(
            "The spec does not describe everything as it is live: `rehearsal plan {}` would \
             change this:",
            spec.env.name
        );
    }
    out!("{}", render::human(&plan, style));
    Ok(exit::SUCCESS)
}
