//! `rehearsal check ENV`, and the checks `apply` runs after its last step: the spec's
//! `[checks.NAME]` against the environment as it is now.

use clap::Args;

use super::{Error, Settings, VarArgs, exit};
use std::io::Write;
use std::time::Duration;

use super::MAX_LINE;
use crate::checks::{self, Check, Deployment, Outcome, Retry, SystemProber};
use crate::english::count;
use crate::kinds;
use std::collections::BTreeMap;

use crate::model::{Address, Attributes, Declared, EnvId, LiveResource};
use crate::plan::render::Style;
use crate::plan::{Observed, diff};
use crate::provider::Provider;
use crate::spec::Spec;
use crate::spec::diagnostic::clip;
use crate::spec::duration;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Environment name (environments/NAME.toml) or path to a spec.
    pub env: String,
    #[command(flatten)]
    pub vars: VarArgs,
}

pub async fn run(settings: &Settings, args: CheckArgs, style: Style) -> Result<u8, Error> {
    let spec = settings.load_spec(&args.env, &args.vars)?;
    let deployed = deployed_as_declared(&spec);
    if spec.checks.is_empty() && deployed.resources.is_empty() {
        return Err(Error::NoChecks {
            env: spec.env.name.clone(),
            path: spec.path.clone(),
        });
    }
    let provider = settings.connect(&spec.env.region).await?;
    run_checks(
        provider.as_ref(),
        &spec.env,
        &spec.declared(),
        &deployed,
        &spec.checks,
        style,
    )
    .await?;
    Ok(exit::SUCCESS)
}

/// The spec's resources whose kind judges a deployment (ECS services), with what the spec asks
/// of them: `check` tells whether they run it before any probe is believed.
#[derive(Debug, Default)]
pub struct Deployed<'a> {
    /// The spec they are judged by: it decides which kept revision is the one asked for.
    spec: Option<&'a Spec>,
    resources: Vec<(Address, Attributes)>,
}

pub fn deployed_as_declared(spec: &Spec) -> Deployed<'_> {
    Deployed {
        spec: Some(spec),
        resources: spec
            .resources
            .values()
            .filter(|r| kinds::describe(r.address.kind).verdict.is_some())
            .map(|r| (r.address.clone(), r.attributes.clone()))
            .collect(),
    }
}

/// What the environment holds now, and the object that stands for each address as a plan of
/// the spec would choose it: a service the spec sent back to a kept revision is judged against
/// that revision, not the newest kept (see `plan::revisions::stands_for`).
async fn observe_as_chosen(
    provider: &dyn Provider,
    env: &EnvId,
    declared: &Declared,
    spec: Option<&Spec>,
) -> Result<(Vec<LiveResource>, BTreeMap<Address, String>), Error> {
    let Some(spec) = spec else {
        return Ok((provider.observe(env, declared).await?, BTreeMap::new()));
    };
    let observed = Observed::read(provider, spec).await?;
    let chosen = diff::chosen(spec, &observed)?;
    Ok((observed.resources, chosen))
}

/// Read what the environment holds now, tell whether each of `deployed` runs what it asks,
/// run `checks` against it and print how each ended. A failure is an error: exit code 6, with
/// the environment left as it is.
pub async fn run_checks(
    provider: &dyn Provider,
    env: &EnvId,
    declared: &Declared,
    deployed: &Deployed<'_>,
    checks: &[Check],
    style: Style,
) -> Result<(), Error> {
    let (live, chosen) = observe_as_chosen(provider, env, declared, deployed.spec).await?;
    let deployments = checks::judge_deployments(&deployed.resources, &live, &chosen);
    if !deployments.is_empty() {
        outln!("\nWhat runs in {}:", env.name);
        for deployment in &deployments {
            print_deployment(deployment, style);
        }
    }
    let mut failed: Vec<String> = deployments
        .iter()
        .filter(|d| !d.passed)
        .map(|d| format!("deployment of {}", d.address))
        .collect();
    if checks.is_empty() {
        return finish(env, failed, deployments.len());
    }
    let outputs = checks::outputs_of(&live, &chosen);
    let longest = checks.iter().map(|c| c.timeout_secs).max().unwrap_or(0);
    outln!(
        "\nChecking {} ({}, each retried for up to {})...",
        env.name,
        count(checks.len(), "check"),
        minutes(longest)
    );
    // Results go to stdout; what a check is waiting for goes to stderr as it happens, like
    // the progress of an apply: a check that waits 15 minutes is never silent.
    let _ = std::io::stdout().flush();
    let outcomes = checks::run_all(checks, &outputs, &SystemProber, &report_retry).await;
    for outcome in &outcomes {
        print_outcome(outcome, style);
    }
    failed.extend(
        outcomes
            .iter()
            .filter(|o| !o.passed)
            .map(|o| o.name.clone()),
    );
    finish(env, failed, deployments.len() + outcomes.len())
}

fn finish(env: &EnvId, failed: Vec<String>, total: usize) -> Result<(), Error> {
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::ChecksFailed {
            env: env.name.clone(),
            failed,
            total,
        })
    }
}

fn print_deployment(deployment: &Deployment, style: Style) {
    let mark = if deployment.passed {
        style.paint("passed", "32")
    } else {
        style.paint("FAILED", "31")
    };
    outln!(
        "  {mark}   deployment of {}: {}",
        deployment.address,
        deployment.summary
    );
    for event in &deployment.events {
        outln!("           | event: {event}");
    }
}

/// One line on stderr per failed attempt that will be tried again:
/// `check.server_started: attempt 3 failed: answered 503 Service Unavailable; next try in 15s
/// (gives up in 14m15s)`.
fn report_retry(retry: Retry<'_>) {
    let summary = retry.summary.lines().next().unwrap_or_default();
    eprintln!(
        "check.{}: attempt {} failed: {}; next try in {} (gives up in {})",
        retry.check,
        retry.attempt,
        clip(summary, MAX_LINE),
        duration::format(retry.next_in),
        // Whole seconds, rounded up: it has not given up at "0s".
        duration::format(Duration::from_secs(
            retry.gives_up_in.as_secs_f64().ceil() as u64
        ))
    );
}

fn print_outcome(outcome: &Outcome, style: Style) {
    let attempts = match outcome.attempts {
        0 => String::new(),
        n => format!(" ({}", count(n as usize, "attempt")),
    };
    let took = if attempts.is_empty() {
        String::new()
    } else {
        format!("{attempts}, {}s)", outcome.elapsed.as_secs())
    };
    let mark = if outcome.passed {
        style.paint("passed", "32")
    } else {
        style.paint("FAILED", "31")
    };
    outln!(
        "  {mark}   check.{}: {}: {}{took}",
        outcome.name,
        outcome.probe,
        outcome.summary
    );
    if !outcome.passed && !outcome.output.is_empty() {
        for line in outcome.output.lines() {
            outln!("           | {line}");
        }
    }
}

fn minutes(secs: u64) -> String {
    if secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}
