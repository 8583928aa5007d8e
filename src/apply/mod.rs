//! The executor: runs a plan's steps in dependency order on tokio, at most `parallelism` at a
//! time. Independent branches run side by side; a failure skips only what depends on it.

pub mod events;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use petgraph::Direction;
use petgraph::graph::NodeIndex;
use serde_json::Value;
use sha2::{Digest, Sha256};
use thiserror::Error;
use tokio::task::JoinSet;

use crate::graph::{ExecutionGraph, StepOp};
use crate::kinds;
use crate::model::{Address, Attributes, EnvId, LiveResource, ResourceKind, tags};
use crate::plan::{ActionKind, Plan, diff};
use crate::provider::{
    CreateRequest, DeleteOutcome, DeletePolicy, Operation, Provider, ProviderError,
};
use crate::spec::refs::{self, Reference};
use crate::wait;
pub use events::{Event, Reporter};

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub parallelism: usize,
    /// Overrides every step's timeout from the spec.
    pub timeout: Option<Duration>,
    /// "Now", for expiry tags and final-snapshot names.
    pub now: time::OffsetDateTime,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: 10,
            timeout: None,
            now: time::OffsetDateTime::now_utc(),
        }
    }
}

/// Why one step failed: a step of an apply (the executor), or a delete in a teardown pass.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum StepError {
    /// What AWS (or the fake cloud) answered.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// Apply: a reference to another resource whose value that resource did not report.
    #[error(
        "the value of ${{{reference}}} (the resource it names reported no such attribute) was not found"
    )]
    Unresolved { reference: String },
    /// Apply: the live object an update is for is gone since the plan was made.
    #[error("{address} (it disappeared since the plan) was not found")]
    Disappeared { address: Address },
    /// Teardown: AWS will not delete it yet, and said why (a database still being made).
    #[error("{reason}")]
    NotYet { reason: String },
    /// Teardown: something of a kind that must go first is still there.
    #[error("waiting for every {blocker} to go first")]
    Blocked { blocker: ResourceKind },
}

impl StepError {
    pub fn hint(&self) -> Option<String> {
        match self {
            StepError::Provider(e) => e.hint(),
            StepError::Unresolved { .. }
            | StepError::Disappeared { .. }
            | StepError::NotYet { .. }
            | StepError::Blocked { .. } => None,
        }
    }
}

/// What happened to each step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub done: Vec<String>,
    /// Step and why it failed.
    pub failed: Vec<(String, StepError)>,
    /// Step and the failed step it depended on.
    pub skipped: Vec<(String, String)>,
}

impl Summary {
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty()
    }
}

/// The tags that make a resource findable and ownable: set at creation, never changed after.
pub fn ownership_tags(
    env: &EnvId,
    address: &Address,
    protected: bool,
    expires_at: Option<&str>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert(tags::ENV.to_string(), env.name.clone());
    out.insert(tags::ADDRESS.to_string(), address.to_string());
    let lifecycle = if protected { "protected" } else { "ephemeral" };
    out.insert(tags::LIFECYCLE.to_string(), lifecycle.to_string());
    if let Some(at) = expires_at {
        out.insert(tags::EXPIRES_AT.to_string(), at.to_string());
    }
    out
}

/// A stable token for one step of one plan (EC2 `ClientToken`: at most 64 ASCII characters).
pub fn idempotency_token(plan_id: &str, address: &Address, op: StepOp) -> String {
    let digest = Sha256::digest(format!("{plan_id}/{address}/{op:?}"));
    format!("rh-{}", &hex::encode(digest)[..40])
}

/// `<identifier>-final-20261122T101500`: unique per run, so a second destroy never clashes.
pub fn final_snapshot_identifier(id: &str, now: time::OffsetDateTime) -> String {
    let stamp = format!(
        "{:04}{:02}{:02}t{:02}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    format!("{id}-final-{stamp}")
}

/// Everything a step needs, shared by all steps of a run.
struct Run {
    plan: Plan,
    plan_id: String,
    provider: Arc<dyn Provider>,
    reporter: Arc<dyn Reporter>,
    options: ApplyOptions,
    /// Attributes of every resource as known now: the fresh observation, updated as steps
    /// finish. References are resolved from here.
    outputs: Mutex<BTreeMap<Address, Attributes>>,
    /// The live object behind each address, for updates and replacements.
    live: Mutex<BTreeMap<Address, LiveResource>>,
}

/// Carry out `plan`. `live` is a fresh observation of the environment (apply re-observes
/// before it starts, to refuse a stale plan).
pub async fn execute(
    plan: Plan,
    graph: &ExecutionGraph,
    live: Vec<LiveResource>,
    provider: Arc<dyn Provider>,
    reporter: Arc<dyn Reporter>,
    options: ApplyOptions,
) -> Summary {
    // One object per address: the one the plan keeps. Duplicates and leftovers the plan
    // deletes, and objects AWS is already removing, must not stand in for it (an update would
    // go to a duplicate about to be deleted, a reference would resolve to it).
    let doomed: BTreeSet<&str> = plan
        .actions
        .iter()
        .filter(|a| a.action == ActionKind::Delete)
        .filter_map(|a| a.live.as_ref().map(|l| l.id.as_str()))
        .collect();
    let live: Vec<LiveResource> = live
        .into_iter()
        .filter(|r| !r.is_going_away() && !doomed.contains(r.id.as_str()))
        .collect();
    let outputs = live
        .iter()
        .map(|r| (r.address.clone(), r.attributes.clone()))
        .collect();
    let live = live.into_iter().map(|r| (r.address.clone(), r)).collect();
    let run = Arc::new(Run {
        plan_id: plan.id(),
        plan,
        provider,
        reporter,
        options,
        outputs: Mutex::new(outputs),
        live: Mutex::new(live),
    });
    let g = &graph.graph;
    let parallelism = run.options.parallelism.max(1);
    let mut waiting_on: BTreeMap<NodeIndex, usize> = g
        .node_indices()
        .map(|n| (n, g.neighbors_directed(n, Direction::Incoming).count()))
        .collect();
    let mut ready: Vec<NodeIndex> = waiting_on
        .iter()
        .filter(|(_, c)| **c == 0)
        .map(|(n, _)| *n)
        .collect();
    ready.sort_by_key(|n| std::cmp::Reverse(g[*n].label()));
    let mut skipped: BTreeSet<NodeIndex> = BTreeSet::new();
    let mut summary = Summary::default();
    let mut running = JoinSet::new();

    loop {
        while running.len() < parallelism {
            let Some(node) = ready.pop() else { break };
            let step = g[node].clone();
            let run = run.clone();
            running.spawn(async move {
                let label = step.label();
                run.reporter.event(Event::Started {
                    step: label.clone(),
                });
                let started = tokio::time::Instant::now();
                tracing::debug!(step = %label, "step started");
                let result = run_step(&run, step.action, step.op).await;
                tracing::debug!(step = %label, ok = result.is_ok(), "step ended");
                (node, label, started.elapsed(), result)
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (node, label, elapsed, result) = match joined {
            Ok(outcome) => outcome,
            Err(panic) => std::panic::resume_unwind(panic.into_panic()),
        };
        match result {
            Ok(()) => {
                run.reporter.event(Event::Finished {
                    step: label.clone(),
                    elapsed,
                });
                summary.done.push(label);
                for next in g.neighbors_directed(node, Direction::Outgoing) {
                    let count = waiting_on.get_mut(&next).expect("every node is counted");
                    *count -= 1;
                    if *count == 0 && !skipped.contains(&next) {
                        ready.push(next);
                    }
                }
            }
            Err(error) => {
                run.reporter.event(Event::Failed {
                    step: label.clone(),
                    error: error.clone(),
                });
                summary.failed.push((label.clone(), error));
                // Skip everything downstream, and only that.
                let mut dfs = petgraph::visit::Dfs::new(g, node);
                while let Some(n) = dfs.next(g) {
                    if n != node && skipped.insert(n) {
                        let step = g[n].label();
                        run.reporter.event(Event::Skipped {
                            step: step.clone(),
                            because: label.clone(),
                        });
                        summary.skipped.push((step, label.clone()));
                    }
                }
            }
        }
    }
    summary
}

async fn run_step(run: &Run, action_index: usize, op: StepOp) -> Result<(), StepError> {
    let action = &run.plan.actions[action_index];
    let address = &action.address;
    let timeout = run
        .options
        .timeout
        .unwrap_or(Duration::from_secs(action.timeout_secs));
    let operation = Operation {
        env: run.plan.env.clone(),
        address: address.clone(),
        idempotency_token: idempotency_token(&run.plan_id, address, op),
        timeout,
        progress: Arc::new(events::StepProgress {
            step: crate::graph::Step {
                action: action_index,
                op,
                address: address.clone(),
            }
            .label(),
            reporter: run.reporter.clone(),
        }),
    };
    match op {
        StepOp::Create => {
            let attributes = resolve(
                run,
                action.desired.as_ref().expect("creates carry attributes"),
            )?;
            // A plan file edited to an absurd ttl gets no expiry rather than a panic.
            let expires = run.plan.ttl_secs.and_then(|ttl| {
                let now = run
                    .options
                    .now
                    .replace_nanosecond(0)
                    .unwrap_or(run.options.now);
                let at = now.checked_add(time::Duration::seconds(i64::try_from(ttl).ok()?))?;
                at.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            });
            let mut request_tags = ownership_tags(
                &run.plan.env,
                address,
                run.plan.protected,
                expires.as_deref(),
            );
            if attributes.get("keep_after_destroy") == Some(&Value::Bool(true)) {
                request_tags.insert(tags::KEEP.into(), "true".into());
            }
            for (k, v) in attributes
                .get("tags")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                request_tags.insert(k.clone(), v.as_str().unwrap_or_default().to_string());
            }
            let request = CreateRequest {
                kind: address.kind,
                attributes,
                tags: request_tags,
            };
            let ready = create_ready(run.provider.as_ref(), &operation, &request).await?;
            run.outputs
                .lock()
                .unwrap()
                .insert(address.clone(), ready.attributes.clone());
            run.live.lock().unwrap().insert(address.clone(), ready);
        }
        StepOp::Update => {
            let desired = resolve(
                run,
                action.desired.as_ref().expect("updates carry attributes"),
            )?;
            let current = run
                .live
                .lock()
                .unwrap()
                .get(address)
                .cloned()
                .ok_or_else(|| StepError::Disappeared {
                    address: address.clone(),
                })?;
            let changed: Vec<String> = action.changes.iter().map(|c| c.name.clone()).collect();
            let updating = run
                .provider
                .update(&operation, &current, &desired, &changed)
                .await?;
            let updated = wait::until_ready(run.provider.as_ref(), &operation, &updating).await?;
            run.outputs
                .lock()
                .unwrap()
                .insert(address.clone(), updated.attributes.clone());
            run.live.lock().unwrap().insert(address.clone(), updated);
        }
        StepOp::Delete => {
            let target = action.live.as_ref().expect("deletes carry the live object");
            let policy = delete_policy(target, run.plan.protected, run.options.now);
            delete_and_wait(run.provider.as_ref(), &operation, target, &policy).await?;
        }
    }
    Ok(())
}

/// Create a resource and wait until it is usable; then set what the create call could not (or
/// AWS ignored there), the kind's `set_after_create`, and wait again.
pub async fn create_ready(
    provider: &dyn Provider,
    op: &Operation,
    request: &CreateRequest,
) -> Result<LiveResource, ProviderError> {
    let created = provider.create(op, request).await?;
    let ready = wait::until_ready(provider, op, &created).await?;
    let kind = kinds::describe(request.kind);
    let unset: Vec<String> = kind
        .set_after_create
        .iter()
        .filter(|name| {
            request.attributes.get(**name).is_some_and(|want| {
                !ready
                    .attributes
                    .get(**name)
                    .is_some_and(|have| diff::matches(kind, name, want, have))
            })
        })
        .map(|name| name.to_string())
        .collect();
    if unset.is_empty() {
        return Ok(ready);
    }
    let updating = provider
        .update(op, &ready, &request.attributes, &unset)
        .await?;
    wait::until_ready(provider, op, &updating).await
}

/// The delete policy for a resource the environment owns.
pub fn delete_policy(
    target: &LiveResource,
    protected: bool,
    now: time::OffsetDateTime,
) -> DeletePolicy {
    let wants_final = target.address.kind == ResourceKind::RdsInstance
        && target.attributes.get("final_snapshot") == Some(&Value::Bool(true));
    DeletePolicy {
        final_snapshot_identifier: wants_final.then(|| final_snapshot_identifier(&target.id, now)),
        // Only resources carrying this environment's tags reach here; a protected
        // environment's protection stays on.
        disable_deletion_protection: !protected,
    }
}

/// Delete and wait until gone. A resource AWS cannot delete yet (a database still being
/// restored) is asked again with backoff, until the step's timeout.
pub async fn delete_and_wait(
    provider: &dyn Provider,
    op: &Operation,
    target: &LiveResource,
    policy: &DeletePolicy,
) -> Result<(), ProviderError> {
    let what = wait::what(target);
    wait::poll(op, &what, "deletable", |_| async {
        match provider.delete(op, target, policy).await? {
            DeleteOutcome::Accepted => Ok(wait::Check::Done(())),
            DeleteOutcome::NotYet { reason } => {
                Ok(wait::Check::Pending(format!("waiting: {reason}")))
            }
        }
    })
    .await?;
    wait::until_gone(provider, op, target).await
}

/// Substitute references to other resources from what is known now.
fn resolve(run: &Run, template: &Attributes) -> Result<Attributes, StepError> {
    let outputs = run.outputs.lock().unwrap();
    let lookup = |r: &Reference| match r {
        Reference::Resource { address, attribute } => outputs.get(address)?.get(attribute).cloned(),
        _ => None,
    };
    let value = refs::interpolate(&Value::Object(template.clone()), &lookup);
    if let Some(missing) = refs::references_in(&value).first() {
        return Err(StepError::Unresolved {
            reference: missing.to_string(),
        });
    }
    match refs::unescape(&value) {
        Value::Object(map) => Ok(map),
        _ => unreachable!("objects interpolate to objects"),
    }
}
