//! Checks: what a spec says must be true once its environment exists ("the server answers",
//! "the migrations ran"). `apply` runs them after its last step and `rehearsal check ENV` runs
//! them alone. A check is retried until it passes or its timeout runs out, because a server
//! that was just launched takes minutes to start; a failed check leaves the environment as it
//! is, for someone to look at.

mod deployments;
mod probe;

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use deployments::{Deployment, judge as judge_deployments};
pub use probe::{Attempt, Prober, SystemProber};

use crate::model::{Address, Attributes, LiveResource};
use crate::spec::refs::{self, Reference};

/// How long a check keeps trying unless the spec says.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// The pause between two attempts unless the spec says.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
/// The longest one HTTP attempt may take: a server that does not answer in this long is
/// treated as not answering, and asked again.
const HTTP_ATTEMPT_LIMIT: Duration = Duration::from_secs(30);

/// `[checks.NAME]` as the plan carries it. Values may still hold `${kind.name.attr}`
/// references, resolved from the live environment when the check runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub probe: Probe,
    pub timeout_secs: u64,
    pub interval_secs: u64,
    /// Where it is declared, `environments/prerelease.toml:80:1`.
    pub location: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Probe {
    /// A GET that must answer 2xx.
    Http { url: String },
    /// A program (no shell) that must exit 0.
    Command { argv: Vec<String> },
}

impl Probe {
    /// What the user wrote, for messages: the URL, or the command line.
    pub fn describe(&self) -> String {
        match self {
            Probe::Http { url } => format!("GET {url}"),
            Probe::Command { argv } => argv.join(" "),
        }
    }
}

/// How a check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub name: String,
    /// The probe with its references resolved (or as written, when they could not be).
    pub probe: String,
    pub passed: bool,
    pub attempts: u32,
    pub elapsed: Duration,
    /// The last attempt: `answered 200`, `exited with status 1`, `cannot connect: ...`.
    pub summary: String,
    /// The last attempt's output (body or stdout and stderr), bounded.
    pub output: String,
}

/// A failed attempt that will be tried again, told as it happens: a check that waits 15
/// minutes says each time why it is still waiting, rather than nothing until the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry<'a> {
    pub check: &'a str,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// What failed: `answered 503 Service Unavailable`, `cannot connect: ...`.
    pub summary: &'a str,
    pub next_in: Duration,
    /// When the check gives up, from now.
    pub gives_up_in: Duration,
}

/// What each resource of the environment holds now, by address: the values checks refer to
/// (of kept revisions, the one `chosen` names, see `deployments::judge`).
pub fn outputs_of(
    live: &[LiveResource],
    chosen: &BTreeMap<Address, String>,
) -> BTreeMap<Address, Attributes> {
    crate::plan::revisions::as_chosen(live, chosen)
        .into_iter()
        .map(|(address, r)| (address, r.attributes.clone()))
        .collect()
}

/// Run every check at once; each keeps trying until it passes or its timeout runs out, and
/// tells `on_retry` of each failed attempt it will try again.
pub async fn run_all(
    checks: &[Check],
    outputs: &BTreeMap<Address, Attributes>,
    prober: &dyn Prober,
    on_retry: &(dyn Fn(Retry<'_>) + Sync),
) -> Vec<Outcome> {
    join_all(checks.iter().map(|c| run_one(c, outputs, prober, on_retry))).await
}

async fn run_one(
    check: &Check,
    outputs: &BTreeMap<Address, Attributes>,
    prober: &dyn Prober,
    on_retry: &(dyn Fn(Retry<'_>) + Sync),
) -> Outcome {
    let started = tokio::time::Instant::now();
    let probe = match resolve(&check.probe, outputs) {
        Ok(probe) => probe,
        Err(unknown) => {
            return Outcome {
                name: check.name.clone(),
                probe: check.probe.describe(),
                passed: false,
                attempts: 0,
                elapsed: started.elapsed(),
                summary: unknown,
                output: String::new(),
            };
        }
    };
    let deadline = started + Duration::from_secs(check.timeout_secs);
    let interval = Duration::from_secs(check.interval_secs);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let attempt = match &probe {
            Probe::Http { url } => prober.http(url, left.min(HTTP_ATTEMPT_LIMIT)).await,
            Probe::Command { argv } => prober.command(argv, left).await,
        };
        tracing::debug!(check = %check.name, attempts, passed = attempt.passed, summary = %attempt.summary);
        let now = tokio::time::Instant::now();
        if attempt.passed || now + interval >= deadline {
            return Outcome {
                name: check.name.clone(),
                probe: probe.describe(),
                passed: attempt.passed,
                attempts,
                elapsed: now - started,
                summary: attempt.summary,
                output: attempt.output,
            };
        }
        on_retry(Retry {
            check: &check.name,
            attempt: attempts,
            summary: &attempt.summary,
            next_in: interval,
            gives_up_in: deadline.saturating_duration_since(now),
        });
        tokio::time::sleep(interval).await;
    }
}

/// The probe with its references filled in from the live environment; a reference to a
/// resource that does not exist (or has no such value) is named.
fn resolve(probe: &Probe, outputs: &BTreeMap<Address, Attributes>) -> Result<Probe, String> {
    let lookup = refs::from_resources(outputs);
    let fill = |text: &str| -> Result<String, String> {
        let value =
            refs::resolve(&Value::String(text.to_string()), &lookup).map_err(|missing| {
                match &missing {
                    Reference::Resource { address, .. } if !outputs.contains_key(address) => {
                        format!(
                            "`${{{missing}}}` is not known: {address} does not exist; apply first"
                        )
                    }
                    _ => format!("`${{{missing}}}` is not known yet"),
                }
            })?;
        Ok(match value {
            Value::String(s) => s,
            // `${...port}` alone in a string stands for the value itself: a number, say.
            other => other.to_string(),
        })
    };
    Ok(match probe {
        Probe::Http { url } => Probe::Http { url: fill(url)? },
        Probe::Command { argv } => Probe::Command {
            argv: argv.iter().map(|a| fill(a)).collect::<Result<_, _>>()?,
        },
    })
}
