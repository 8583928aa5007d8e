//! `rehearsal apply PLAN|ENV`

use std::io::Write;
use std::path::Path;

use clap::Args;

use super::check::{deployed_as_declared, run_checks};
use super::output::{self, confirm, print_summary};
use super::rules::pass_window;
use super::{Error, Settings, VarArgs, exit, team};
use crate::apply::teardown::{self, TeardownOptions};
use crate::apply::{ApplyOptions, execute};
use crate::engine::graph::ExecutionGraph;
use crate::engine::workflow;
use crate::english::count;
use crate::plan::ActionKind;
use crate::plan::render::{self, Style};
use crate::plan::targeting::TargetError;
use crate::spec;
use crate::team::{Guard, approval};

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A saved plan (plans/ENV.plan.json), or an environment name to plan and apply.
    pub target: String,
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub targeting: super::targeting::TargetArgs,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// How many steps may run at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,
    /// How long each wait for AWS may take, e.g. 45m (overrides the spec's `timeout`).
    #[arg(long, value_parser = spec::duration::parse_timeout)]
    pub timeout: Option<std::time::Duration>,
    /// Do not run the spec's [checks] afterwards (say, against the fake cloud, where no server
    /// runs); `rehearsal check ENV` runs them later.
    #[arg(long)]
    pub skip_checks: bool,
    #[command(flatten)]
    pub window: super::rules::WindowArgs,
    #[command(flatten)]
    pub consent: super::rules::ConsentArgs,
}

impl ApplyArgs {
    /// What a command that made, showed and confirmed its own plan (rollback, refresh,
    /// snapshot) hands to [`carry_out`]: no variables, targeting or consent to read again.
    pub(super) fn confirmed(
        parallelism: u16,
        timeout: Option<std::time::Duration>,
        skip_checks: bool,
        window: super::rules::WindowArgs,
    ) -> ApplyArgs {
        ApplyArgs {
            target: String::new(),
            vars: VarArgs::default(),
            auto_approve: true,
            parallelism,
            timeout,
            skip_checks,
            targeting: Default::default(),
            window,
            consent: Default::default(),
        }
    }
}

fn is_plan_file(target: &str) -> bool {
    target.ends_with(".json") || (Path::new(target).is_file() && !target.ends_with(".toml"))
}

pub async fn run(settings: &Settings, args: ApplyArgs, style: Style) -> Result<u8, Error> {
    let command = format!("apply {}", args.target);
    if is_plan_file(&args.target) {
        if !args.vars.vars.is_empty() {
            return Err(Error::VarsWithSavedPlan);
        }
        if !args.targeting.request().is_empty() {
            return Err(crate::plan::PlanError::from(TargetError::SavedPlan).into());
        }
        let plan = super::plan::load_saved(Path::new(&args.target))?;
        settings.check_plan_region(&plan)?;
        let window = plan.spec.as_ref().and_then(|s| s.window.as_ref());
        let passage = pass_window(settings, &plan.env.name, window, &args.window)?;
        // The consent recorded when the plan was made, or given now.
        crate::rules::consent::check(&plan, &args.consent.allow_destroy)?;
        // The spec it was made from travels in the plan: `environments/` is not read again,
        // so an edited or removed spec file changes nothing of what was reviewed.
        let spec = plan.spec.clone();
        let table = spec.as_ref().and_then(|s| s.team_table.clone());
        let provider = settings.connect(&plan.env.region).await?;
        let (env, region) = (plan.env.name.clone(), plan.env.region.clone());
        let mut guard = team::guard(settings, &env, &region, table.as_deref(), &command).await?;
        guard.passed(&passage);
        let outcome = carry_out(plan, spec, provider, &args, style, &mut guard).await;
        return team::finish(settings, guard, outcome).await;
    }
    let spec = settings.load_spec(&args.target, &args.vars)?;
    let passage = pass_window(settings, &spec.env.name, spec.window.as_ref(), &args.window)?;
    let provider = settings.connect(&spec.env.region).await?;
    let (env, region) = (spec.env.name.clone(), spec.env.region.clone());
    let table = spec.team_table.clone();
    // Planned under the lock: what is shown is what no one else is changing meanwhile.
    let mut guard = team::guard(settings, &env, &region, table.as_deref(), &command).await?;
    guard.passed(&passage);
    let outcome = plan_and_carry_out(spec, provider, &args, style, &mut guard).await;
    team::finish(settings, guard, outcome).await
}

/// `apply ENV`: plan (targeted as asked), refuse what no one consented to, show, ask, carry out.
async fn plan_and_carry_out(
    spec: crate::spec::Spec,
    provider: std::sync::Arc<dyn crate::provider::Provider>,
    args: &ApplyArgs,
    style: Style,
    guard: &mut Guard,
) -> Result<u8, Error> {
    let plan =
        workflow::make_targeted_plan(provider.as_ref(), &spec, &args.targeting.request()).await?;
    let consent = crate::rules::consent::check(&plan, &args.consent.allow_destroy)?;
    let plan = plan.with_consent(consent);
    out!("{}", render::human(&plan, style));
    let _ = std::io::stdout().flush();
    // A plan made just now has no approvals: refused before anyone is asked.
    if plan.has_changes() {
        approval::require_for(guard, &plan, Some(&spec)).await?;
    }
    if plan.has_changes() && !args.auto_approve {
        confirm(
            &format!("\nApply these changes to {}?", plan.env.name),
            "apply",
        )?;
    }
    carry_out(plan, Some(spec), provider, args, style, guard).await
}

/// For a command that made and showed its own plan (rollback, refresh, promote): take the
/// environment's lock, ask `question` (unless `--auto-approve`), then carry the plan out under
/// the lock, journaled with how it passed the window.
#[allow(clippy::too_many_arguments)]
pub(super) async fn carry_out_locked(
    settings: &Settings,
    plan: crate::plan::Plan,
    spec: Option<crate::spec::Spec>,
    provider: std::sync::Arc<dyn crate::provider::Provider>,
    args: &ApplyArgs,
    style: Style,
    command: &str,
    passage: &crate::rules::Passage,
    question: Option<(String, &'static str)>,
) -> Result<u8, Error> {
    let table = spec.as_ref().and_then(|s| s.team_table.clone());
    let (env, region) = (plan.env.name.clone(), plan.env.region.clone());
    let mut guard = team::guard(settings, &env, &region, table.as_deref(), command).await?;
    guard.passed(passage);
    let outcome = async {
        if let Some((question, verb)) = question {
            confirm(&question, verb)?;
        }
        carry_out(plan, spec, provider, args, style, &mut guard).await
    }
    .await;
    team::finish(settings, guard, outcome).await
}

/// Carry out a plan that was shown (and confirmed) or loaded: re-check it, run it, judge it,
/// then run the spec's checks. `rollback`, `refresh` and `snapshot` carry out their plans here too.
pub(super) async fn carry_out(
    plan: crate::plan::Plan,
    spec: Option<crate::spec::Spec>,
    provider: std::sync::Arc<dyn crate::provider::Provider>,
    args: &ApplyArgs,
    style: Style,
    guard: &mut Guard,
) -> Result<u8, Error> {
    // A destroy plan: re-checked like any plan, then carried out in passes, with the proof.
    if plan.is_destroy() {
        workflow::recheck(provider.as_ref(), &plan, spec.as_ref()).await?;
        approval::require_for(guard, &plan, spec.as_ref()).await?;
        guard.claim(&plan).await?;
        let options = TeardownOptions {
            parallelism: usize::from(args.parallelism),
            timeout: args.timeout.unwrap_or(teardown::DEFAULT_TIMEOUT),
            ..Default::default()
        };
        outln!(
            "Destroying {} of {} ({})...",
            crate::english::count(plan.actions.len(), "resource"),
            plan.env.name,
            plan.env.region
        );
        return super::destroy::carry_out(&plan, provider, &options, style).await;
    }
    // The checks run after the last step, against what then exists: also when there was
    // nothing to change, since "it is all there" is not "it all works".
    let checks = if args.skip_checks {
        Vec::new()
    } else {
        plan.checks.clone()
    };
    let skipped_checks = if args.skip_checks {
        plan.checks.len()
    } else {
        0
    };
    // The spec says where to look (the zones of its records, say); without one, what the
    // plan's actions act on does.
    let declared = spec
        .as_ref()
        .map(crate::spec::Spec::declared)
        .unwrap_or_else(|| plan.declared());
    let env = plan.env.clone();
    // What runs is judged by the executor's waits; a plan with nothing to change is judged here.
    let deployed = spec.as_ref().map(deployed_as_declared).unwrap_or_default();
    if !plan.has_changes() {
        outln!("Nothing to apply.");
        say_checks_skipped(skipped_checks, &env.name);
        if !checks.is_empty() {
            run_checks(
                provider.as_ref(),
                &env,
                &declared,
                &deployed,
                &checks,
                style,
            )
            .await?;
        }
        return Ok(exit::SUCCESS);
    }
    let live = workflow::recheck(provider.as_ref(), &plan, spec.as_ref()).await?;
    // Under the lock, after the re-check: of two applies of one plan, from any machine
    // sharing the team's store, the first claims it and every later one is refused. A plan
    // the spec wants signed off is claimed only once enough others approved it.
    approval::require_for(guard, &plan, spec.as_ref()).await?;
    guard.claim(&plan).await?;
    let graph = ExecutionGraph::build(&plan)?;
    // The summary counts steps; a replacement is two (a delete and a create), so say how
    // many steps the changes take when they differ, and the summary's count agrees.
    let steps = graph.graph.node_count();
    if plan.is_snapshot() {
        outln!(
            "Snapshotting {} of {} ({})...",
            count(plan.count(ActionKind::Create), "database"),
            plan.env.name,
            plan.env.region
        );
    } else {
        outln!(
            "Applying {} to {} ({}){}...",
            count(plan.actions.len(), "change"),
            plan.env.name,
            plan.env.region,
            if steps == plan.actions.len() {
                String::new()
            } else {
                format!(" in {}", count(steps, "step"))
            }
        );
    }
    // Progress goes to stderr from here on: what was printed before it comes first.
    let _ = std::io::stdout().flush();
    let options = ApplyOptions {
        parallelism: usize::from(args.parallelism),
        timeout: args.timeout,
        now: time::OffsetDateTime::now_utc(),
    };
    let summary = execute(
        plan,
        &graph,
        live,
        provider.clone(),
        output::reporter(),
        options,
    )
    .await;
    print_summary(&summary, style);
    if summary.succeeded() {
        say_checks_skipped(skipped_checks, &env.name);
        if !checks.is_empty() {
            run_checks(
                provider.as_ref(),
                &env,
                &declared,
                &Default::default(),
                &checks,
                style,
            )
            .await?;
        }
        Ok(exit::SUCCESS)
    } else {
        Err(Error::steps_failed(&summary))
    }
}

/// `--skip-checks` said so: how many checks did not run, and how to run them.
fn say_checks_skipped(skipped: usize, env: &str) {
    if skipped > 0 {
        outln!(
            "Not run (--skip-checks): {} of the spec; `rehearsal check {env}` runs {}.",
            count(skipped, "check"),
            if skipped == 1 { "it" } else { "them" }
        );
    }
}
