//! Carrying out a destroy plan: in passes, until nothing the environment owns is left.
//!
//! Each pass re-lists what carries the environment's tag and deletes it, kinds whose dependents
//! are gone first. What AWS cannot delete yet (a database still being restored, which takes 10
//! to 30 minutes) is waited for inside the pass: the likeliest moment for a destroy is right
//! after an apply that was interrupted or timed out, and giving up then would leave a database
//! running. Passes repeat, with backoff after a pass that failed, until nothing is left, the
//! teardown's deadline passes, or several passes in a row fail to remove anything. The final
//! listing is the proof: the report names every leftover with its id, state and last error.
//!
//! What each delete keeps (a final snapshot) is what the plan decided; what appeared since the
//! plan was made (a volume its server left behind) is decided by the same rule, from the choice
//! recorded on it at creation.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};

use super::StepError;
use super::create::idempotency_token;
use super::delete::{delete_and_wait, delete_policy};
use super::events::{Event, Reporter, StepProgress};
use crate::engine::destroy::{DestroyError, owned};
use crate::engine::graph::StepOp;
use crate::engine::wait;
use crate::kinds::{self, final_snapshot::FinalSnapshot};
use crate::model::{Declared, LiveResource, ResourceKind};
use crate::plan::Plan;
use crate::provider::{Operation, Provider, ProviderError};
use crate::spec::Spec;

/// A restore can take 30 minutes, and deleting a database with a final snapshot 10 more.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60 * 60);

#[derive(Debug, Clone)]
pub struct TeardownOptions {
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
    /// "Now", for the final snapshot of what appeared after the plan was made.
    pub now: time::OffsetDateTime,
}

impl Default for TeardownOptions {
    fn default() -> Self {
        TeardownOptions {
            parallelism: 10,
            timeout: DEFAULT_TIMEOUT,
            stalled_passes: 3,
            max_passes: 20,
            pause: Duration::from_secs(2),
            max_pause: Duration::from_secs(60),
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
    /// A targeted destroy: what the environment owns that was not targeted, left standing.
    pub rest: Vec<LiveResource>,
    pub passes: u32,
}

/// Carry out a destroy plan (see the module's doc).
pub async fn teardown(
    plan: &Plan,
    provider: Arc<dyn Provider>,
    reporter: Arc<dyn Reporter>,
    options: &TeardownOptions,
) -> Result<DestroyReport, DestroyError> {
    let env = &plan.env;
    // What the spec declares by name is found by name as well as by tag, and never looked for
    // only there (see `Declared`).
    let declared = plan
        .spec
        .as_ref()
        .map(Spec::declared)
        .unwrap_or_else(|| plan.declared())
        .listing_everywhere();
    let planned: BTreeMap<&str, Option<&FinalSnapshot>> = plan
        .actions
        .iter()
        .filter_map(|a| Some((a.live.as_ref()?.id.as_str(), a.final_snapshot.as_ref())))
        .collect();
    let mut report = DestroyReport::default();
    let mut last_error: BTreeMap<String, StepError> = BTreeMap::new();
    let mut stalled = 0;
    let mut pause = options.pause;
    let mut previous_remaining = usize::MAX;
    let mut last_pass_failed = false;
    let deadline = tokio::time::Instant::now() + options.timeout;

    let final_listing = loop {
        let live = observe(provider.as_ref(), plan, &declared).await?;
        let (mut remaining, kept) = owned(env, live)?;
        report.kept = kept;
        // A targeted destroy deletes, retries and proves only what it targeted.
        if let Some(targeting) = &plan.targeting {
            let rest;
            (remaining, rest) = remaining
                .into_iter()
                .partition(|r| targeting.considers(&r.address));
            report.rest = rest;
        }
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
        let pass = Pass {
            provider: provider.clone(),
            plan,
            planned: &planned,
            reporter: reporter.clone(),
            options,
            deadline,
        };
        last_pass_failed = !pass.run(&remaining, &mut report, &mut last_error).await;
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
    plan: &Plan,
    declared: &Declared,
) -> Result<Vec<LiveResource>, DestroyError> {
    provider
        .observe(&plan.env, declared)
        .await
        .map_err(|error| DestroyError::Observe {
            env: plan.env.name.clone(),
            error,
        })
}

/// What every pass of one teardown shares.
struct Pass<'a> {
    provider: Arc<dyn Provider>,
    plan: &'a Plan,
    /// The final snapshot the plan decided for each object it deletes, by id.
    planned: &'a BTreeMap<&'a str, Option<&'a FinalSnapshot>>,
    reporter: Arc<dyn Reporter>,
    options: &'a TeardownOptions,
    /// When the whole teardown must be over.
    deadline: tokio::time::Instant,
}

impl Pass<'_> {
    /// One pass: kinds in the plan's teardown order, all kinds of one rank side by side; a kind
    /// waits for a later pass while anything it depends on is still there. True when
    /// everything went.
    async fn run(
        &self,
        remaining: &[LiveResource],
        report: &mut DestroyReport,
        last_error: &mut BTreeMap<String, StepError>,
    ) -> bool {
        let (reporter, options) = (&self.reporter, self.options);
        let mut still_there: BTreeSet<ResourceKind> =
            remaining.iter().map(|r| r.address.kind).collect();
        let prerequisites = &self.plan.teardown;
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
                match prerequisites
                    .get(&kind)
                    .into_iter()
                    .flatten()
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
        let (provider, options, deadline) = (self.provider.as_ref(), self.options, self.deadline);
        let op = Operation {
            env: self.plan.env.clone(),
            address: target.address.clone(),
            idempotency_token: idempotency_token("destroy", &target.address, StepOp::Delete),
            timeout: deadline.saturating_duration_since(tokio::time::Instant::now()),
            progress: Arc::new(StepProgress {
                step: label.to_string(),
                reporter: self.reporter.clone(),
            }),
        };
        let decided;
        let final_snapshot = match self.planned.get(target.id.as_str()) {
            Some(planned) => *planned,
            None => {
                decided = kinds::final_snapshot::decide(target, None, options.now);
                decided.as_ref()
            }
        };
        let policy = delete_policy(target, final_snapshot, false);
        let outcome = if target.is_going_away() {
            wait::until_gone(provider, &op, target).await
        } else {
            delete_and_wait(provider, &op, target, &policy).await
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
