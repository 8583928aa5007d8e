//! Teardown from tags alone, in passes, until nothing the environment owns is left.
//!
//! Each pass re-lists what carries the environment's tag and deletes it, kinds whose dependents
//! are gone first. What AWS cannot delete yet (a database still being restored, which takes 10
//! to 30 minutes) is waited for inside the pass: the likeliest moment for a destroy is right
//! after an apply that was interrupted or timed out, and giving up then would leave a database
//! running. Passes repeat, with backoff after a pass that failed, until nothing is left, the
//! teardown's deadline passes, or several passes in a row fail to remove anything. The final
//! listing is the proof: the report names every leftover with its id, state and last error.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use thiserror::Error;

use crate::apply::events::{Event, Reporter, StepProgress};
use crate::apply::{StepError, delete_and_wait, delete_policy, idempotency_token};
use crate::graph::StepOp;
use crate::kinds;
use crate::model::{Address, Declared, EnvId, LiveResource, ResourceKind, tags};
use crate::ownership;
use crate::provider::{Operation, Provider, ProviderError};
use crate::wait;

/// A restore can take 30 minutes, and deleting a database with a final snapshot 10 more.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60 * 60);

#[derive(Debug, Clone)]
pub struct DestroyOptions {
    pub parallelism: usize,
    /// How long the whole teardown may wait for AWS: for what is still being created to become
    /// deletable, and for deletions to finish.
    pub timeout: Duration,
    /// Give up after this many passes in a row that removed nothing.
    pub stalled_passes: u32,
    pub max_passes: u32,
    /// Pause between passes (doubles up to `max_pause`).
    pub pause: Duration,
    pub max_pause: Duration,
    /// The spec's `final_snapshot` choice per database, when the spec is readable; a database
    /// not listed keeps the choice recorded on it at creation.
    pub final_snapshot: BTreeMap<Address, bool>,
    /// What the spec declares by name, when it is readable: found by name as well as by tag.
    pub declared: Declared,
    pub now: time::OffsetDateTime,
}

impl Default for DestroyOptions {
    fn default() -> Self {
        DestroyOptions {
            parallelism: 10,
            timeout: DEFAULT_TIMEOUT,
            stalled_passes: 3,
            max_passes: 20,
            pause: Duration::from_secs(2),
            max_pause: Duration::from_secs(60),
            final_snapshot: BTreeMap::new(),
            declared: Declared::default(),
            now: time::OffsetDateTime::now_utc(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Leftover {
    pub resource: LiveResource,
    /// Why the last attempt to delete it failed; none when AWS is still removing it.
    pub last_error: Option<StepError>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DestroyReport {
    /// `address (id)` of everything deleted.
    pub deleted: Vec<String>,
    /// Snapshots marked to outlive teardown.
    pub kept: Vec<LiveResource>,
    /// What the final listing still found. Empty means proven destroyed.
    pub leftovers: Vec<Leftover>,
    pub passes: u32,
}

#[derive(Debug, Error)]
pub enum DestroyError {
    #[error("environment {env} is protected: rehearsal never destroys it")]
    Protected { env: String },
    #[error("cannot list what environment {env} owns: {error}")]
    Observe { env: String, error: ProviderError },
}

impl DestroyError {
    pub fn hint(&self) -> Option<String> {
        match self {
            DestroyError::Protected { .. } => Some(
                "protected environments (production, staging) are never torn down by rehearsal"
                    .into(),
            ),
            DestroyError::Observe { error, .. } => error.hint(),
        }
    }
}

/// Everything the environment owns that teardown should remove, and what it keeps.
fn owned(
    env: &EnvId,
    live: Vec<LiveResource>,
) -> Result<(Vec<LiveResource>, Vec<LiveResource>), DestroyError> {
    // Only what proves it is this environment's own (see `ownership`): a resource whose tags
    // merely look like ours is not "probably ours".
    let live: Vec<LiveResource> = live
        .into_iter()
        .filter(|r| ownership::belongs_to(r, env))
        .collect();
    if live
        .iter()
        .any(|r| r.tags.get(tags::LIFECYCLE).map(String::as_str) == Some("protected"))
    {
        return Err(DestroyError::Protected {
            env: env.name.clone(),
        });
    }
    Ok(live.into_iter().partition(|r| !r.keep_after_destroy()))
}

/// List what would be deleted, changing nothing.
pub async fn dry_run(
    provider: &dyn Provider,
    env: &EnvId,
    declared: &Declared,
) -> Result<(Vec<LiveResource>, Vec<LiveResource>), DestroyError> {
    let live = observe(provider, env, declared).await?;
    let (mut doomed, kept) = owned(env, live)?;
    doomed.sort_by_key(|r| (kinds::teardown_rank(r.address.kind), r.address.clone()));
    Ok((doomed, kept))
}

pub async fn destroy(
    provider: Arc<dyn Provider>,
    env: &EnvId,
    reporter: Arc<dyn Reporter>,
    options: &DestroyOptions,
) -> Result<DestroyReport, DestroyError> {
    let mut report = DestroyReport::default();
    let mut last_error: BTreeMap<String, StepError> = BTreeMap::new();
    let mut stalled = 0;
    let mut pause = options.pause;
    let mut previous_remaining = usize::MAX;
    let mut last_pass_failed = false;
    let deadline = tokio::time::Instant::now() + options.timeout;

    let final_listing = loop {
        let live = observe(provider.as_ref(), env, &options.declared).await?;
        let (remaining, kept) = owned(env, live)?;
        report.kept = kept;
        let out_of_time = tokio::time::Instant::now() >= deadline;
        if remaining.is_empty() || report.passes >= options.max_passes || out_of_time {
            break remaining;
        }
        if remaining.len() >= previous_remaining {
            stalled += 1;
            if stalled >= options.stalled_passes {
                break remaining;
            }
        } else {
            stalled = 0;
        }
        // What failed is retried with backoff: AWS may need a moment (a dependency letting
        // go, a database leaving `modifying`).
        if last_pass_failed {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(options.max_pause);
        }
        previous_remaining = remaining.len();
        report.passes += 1;
        tracing::info!(
            pass = report.passes,
            remaining = remaining.len(),
            stalled,
            "teardown pass"
        );
        reporter.event(Event::Pass {
            number: report.passes,
            remaining: remaining.len(),
        });
        let teardown = Teardown {
            provider: provider.clone(),
            env,
            reporter: reporter.clone(),
            options,
            deadline,
        };
        last_pass_failed = !teardown
            .pass(&remaining, &mut report, &mut last_error)
            .await;
    };
    report.leftovers = final_listing
        .into_iter()
        .map(|r| Leftover {
            last_error: last_error.get(&r.id).cloned(),
            resource: r,
        })
        .collect();
    Ok(report)
}

async fn observe(
    provider: &dyn Provider,
    env: &EnvId,
    declared: &Declared,
) -> Result<Vec<LiveResource>, DestroyError> {
    provider
        .observe(env, declared)
        .await
        .map_err(|error| DestroyError::Observe {
            env: env.name.clone(),
            error,
        })
}

/// What every pass of one teardown shares.
struct Teardown<'a> {
    provider: Arc<dyn Provider>,
    env: &'a EnvId,
    reporter: Arc<dyn Reporter>,
    options: &'a DestroyOptions,
    /// When the whole teardown must be over.
    deadline: tokio::time::Instant,
}

impl Teardown<'_> {
    /// One pass: kinds in teardown order, all kinds of one rank side by side; a kind waits for a
    /// later pass while anything it depends on is still there. True when everything went.
    async fn pass(
        &self,
        remaining: &[LiveResource],
        report: &mut DestroyReport,
        last_error: &mut BTreeMap<String, StepError>,
    ) -> bool {
        let (reporter, options) = (&self.reporter, self.options);
        let mut still_there: BTreeSet<ResourceKind> =
            remaining.iter().map(|r| r.address.kind).collect();
        let prerequisites = kinds::teardown_prerequisites();
        let mut ranks: BTreeMap<usize, Vec<ResourceKind>> = BTreeMap::new();
        for kind in still_there.iter().copied() {
            ranks
                .entry(kinds::teardown_rank(kind))
                .or_default()
                .push(kind);
        }
        let mut everything_went = true;
        for kinds in ranks.into_values() {
            let mut ready = vec![];
            for kind in kinds {
                match prerequisites[&kind]
                    .iter()
                    .find(|p| still_there.contains(p))
                {
                    Some(blocker) => {
                        everything_went = false;
                        for r in remaining.iter().filter(|r| r.address.kind == kind) {
                            last_error
                                .entry(r.id.clone())
                                .or_insert(StepError::Blocked { blocker: *blocker });
                        }
                    }
                    None => ready.push(kind),
                }
            }
            let batch: Vec<&LiveResource> = remaining
                .iter()
                .filter(|r| ready.contains(&r.address.kind))
                .collect();
            let results: Vec<(&LiveResource, String, Duration, Result<(), StepError>)> =
                stream::iter(batch)
                    .map(|r| async move {
                        let label = format!("- {} ({})", r.address, r.id);
                        self.reporter.event(Event::Started {
                            step: label.clone(),
                        });
                        let started = tokio::time::Instant::now();
                        let result = self.delete_one(r, &label).await;
                        (r, label, started.elapsed(), result)
                    })
                    .buffer_unordered(options.parallelism.max(1))
                    .collect()
                    .await;
            for (r, label, elapsed, result) in results {
                match result {
                    Ok(()) => {
                        reporter.event(Event::Finished {
                            step: label.clone(),
                            elapsed,
                        });
                        last_error.remove(&r.id);
                        report.deleted.push(label);
                    }
                    Err(error) => {
                        everything_went = false;
                        // A kind that is not all gone still blocks what depends on it.
                        ready.retain(|k| *k != r.address.kind);
                        reporter.event(Event::Failed {
                            step: label,
                            error: error.clone(),
                        });
                        last_error.insert(r.id.clone(), error);
                    }
                }
            }
            for kind in ready {
                still_there.remove(&kind);
            }
        }
        everything_went
    }

    /// Delete one resource and wait until it is gone: what AWS cannot delete yet is asked again
    /// until it can, within what is left of the teardown's time.
    async fn delete_one(&self, target: &LiveResource, label: &str) -> Result<(), StepError> {
        let (provider, env, options, deadline) = (
            self.provider.as_ref(),
            self.env,
            self.options,
            self.deadline,
        );
        let reporter = self.reporter.clone();
        let op = Operation {
            env: env.clone(),
            address: target.address.clone(),
            idempotency_token: idempotency_token("destroy", &target.address, StepOp::Delete),
            timeout: deadline.saturating_duration_since(tokio::time::Instant::now()),
            progress: Arc::new(StepProgress {
                step: label.to_string(),
                reporter,
            }),
        };
        let mut target = target.clone();
        if let Some(&final_snapshot) = options.final_snapshot.get(&target.address) {
            target
                .attributes
                .insert("final_snapshot".into(), final_snapshot.into());
        }
        let policy = delete_policy(&target, false, options.now);
        let outcome = if target.is_going_away() {
            wait::until_gone(provider, &op, &target).await
        } else {
            delete_and_wait(provider, &op, &target, &policy).await
        };
        // A wait that ran out ran out of the teardown's time, whatever was left of it here.
        Ok(outcome.map_err(|e| match e {
            ProviderError::Timeout {
                what,
                target,
                last_state,
                ..
            } => ProviderError::Timeout {
                what,
                target,
                after: options.timeout,
                last_state,
            },
            other => other,
        })?)
    }
}
