//! One step of a plan: resolve what it references (waiting first for what exists but is not
//! ready yet), then create, update or delete the resource through the provider, and wait.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::OnceCell;

use super::create::{create_ready, idempotency_token};
use super::delete::{delete_and_wait, delete_policy};
use super::update::{Updated, update_ready};
use super::{ApplyOptions, Reporter, StepError, events};
use crate::engine::graph::{Step, StepOp};
use crate::engine::ownership;
use crate::engine::wait::{self, PENDING_REBOOT};
use crate::kinds;
use crate::model::{Address, Attributes, LiveResource, tags};
use crate::plan::{ActionKind, Plan, PlannedAction};
use crate::provider::{CreateRequest, Operation, Provider, ProviderError};
use crate::spec::refs;

/// The outcome of waiting for one resource to be ready, shared by every step that needs it.
type Readiness = OnceCell<Result<LiveResource, ProviderError>>;

/// Everything a step needs, shared by all steps of a run.
pub(super) struct Run {
    pub plan: Plan,
    pub token_seed: String,
    pub provider: Arc<dyn Provider>,
    pub reporter: Arc<dyn Reporter>,
    pub options: ApplyOptions,
    /// Attributes of every resource as known now: the fresh observation, updated as steps
    /// finish. References are resolved from here.
    pub outputs: Mutex<BTreeMap<Address, Attributes>>,
    /// The live object behind each address, for updates and replacements.
    pub live: Mutex<BTreeMap<Address, LiveResource>>,
    /// Addresses this run creates or updates: their own steps wait for them.
    pub built: BTreeSet<Address>,
    /// One wait per existing resource that steps need ready, however many steps need it.
    pub readiness: Mutex<BTreeMap<Address, Arc<Readiness>>>,
    /// What the user should know that is not a failure (`step`, message).
    pub notes: Mutex<Vec<(String, String)>>,
}

impl Run {
    pub fn new(
        plan: Plan,
        live: Vec<LiveResource>,
        provider: Arc<dyn Provider>,
        reporter: Arc<dyn Reporter>,
        options: ApplyOptions,
    ) -> Run {
        // One object per address: the one the plan keeps. Duplicates and leftovers the plan
        // deletes, and objects AWS is already removing, must not stand in for it (an update
        // would go to a duplicate about to be deleted, a reference would resolve to it).
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
        // Of the revisions kept at one address, the newest (see `plan::revisions`).
        let live: BTreeMap<Address, LiveResource> = crate::plan::revisions::one_per_address(&live)
            .into_iter()
            .map(|(address, r)| (address, r.clone()))
            .collect();
        let outputs = live
            .iter()
            .map(|(address, r)| (address.clone(), r.attributes.clone()))
            .collect();
        let built = plan
            .actions
            .iter()
            .filter(|a| a.action != ActionKind::Delete)
            .map(|a| a.address.clone())
            .collect();
        Run {
            token_seed: plan.token_seed(),
            plan,
            provider,
            reporter,
            options,
            outputs: Mutex::new(outputs),
            live: Mutex::new(live),
            built,
            readiness: Mutex::new(BTreeMap::new()),
            notes: Mutex::new(vec![]),
        }
    }

    fn note(&self, step: &str, message: String) {
        self.reporter.event(events::Event::Note {
            step: step.to_string(),
            message: message.clone(),
        });
        self.notes.lock().unwrap().push((step.to_string(), message));
    }

    fn remember(&self, resource: LiveResource) {
        self.outputs
            .lock()
            .unwrap()
            .insert(resource.address.clone(), resource.attributes.clone());
        self.live
            .lock()
            .unwrap()
            .insert(resource.address.clone(), resource);
    }
}

pub(super) async fn run_step(run: &Run, action_index: usize, op: StepOp) -> Result<(), StepError> {
    let action = &run.plan.actions[action_index];
    let address = &action.address;
    let timeout = run
        .options
        .timeout
        .unwrap_or(Duration::from_secs(action.timeout_secs));
    let label = Step {
        action: action_index,
        op,
        address: address.clone(),
    }
    .label();
    let operation = Operation {
        env: run.plan.env.clone(),
        address: address.clone(),
        idempotency_token: idempotency_token(&run.token_seed, address, op),
        timeout,
        progress: Arc::new(events::StepProgress {
            step: label.clone(),
            reporter: run.reporter.clone(),
        }),
    };
    match op {
        StepOp::Create => {
            wait_for_dependencies(run, action, &operation).await?;
            let attributes = resolve(run, desired(action)?)?;
            let request = create_request(run, action, attributes, &operation.idempotency_token);
            let ready = create_ready(run.provider.as_ref(), &operation, &request).await?;
            if let Some(registered) = crate::kinds::ecs_task_definition::registered(&ready) {
                run.note(&label, registered);
            }
            run.remember(ready);
        }
        StepOp::Update => {
            wait_for_dependencies(run, action, &operation).await?;
            let desired = resolve(run, desired(action)?)?;
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
            let Updated {
                resource: updated,
                was_stopped,
            } = update_ready(
                run.provider.as_ref(),
                &operation,
                current,
                &desired,
                &changed,
            )
            .await?;
            if updated.attributes.get(PENDING_REBOOT) == Some(&Value::Bool(true)) {
                run.note(
                    &label,
                    format!(
                        "{} ({}) takes the change fully only after a reboot, which rehearsal \
                         does not do for you: reboot it when convenient",
                        address, updated.id
                    ),
                );
            }
            if was_stopped {
                run.note(&label, format!("{address} stays stopped, as it was"));
            }
            run.remember(updated);
        }
        StepOp::Delete => {
            let target = action.live.as_ref().ok_or_else(|| incomplete(action))?;
            let policy = delete_policy(target, action.final_snapshot.as_ref(), run.plan.protected);
            if let Some(warning) = &policy.warning {
                run.note(&label, warning.clone());
            }
            delete_and_wait(run.provider.as_ref(), &operation, target, &policy).await?;
        }
    }
    Ok(())
}

fn desired(action: &PlannedAction) -> Result<&Attributes, StepError> {
    action.desired.as_ref().ok_or_else(|| incomplete(action))
}

/// Plans are checked for what each step needs when they are loaded; this is the last guard.
fn incomplete(action: &PlannedAction) -> StepError {
    StepError::Incomplete {
        step: action.label(),
    }
}

/// What the step references but this run does not build existed when the plan was made, and
/// may still be on its way: a snapshot still `creating` (a restore from it is refused), a
/// database without an endpoint yet (nothing to point the server at). Wait until it is ready,
/// once per resource however many steps need it, and resolve references from what it became.
async fn wait_for_dependencies(
    run: &Run,
    action: &PlannedAction,
    op: &Operation,
) -> Result<(), StepError> {
    for dependency in &action.depends_on {
        if run.built.contains(dependency) {
            continue;
        }
        let Some(current) = run.live.lock().unwrap().get(dependency).cloned() else {
            continue;
        };
        if kinds::lifecycle(dependency.kind).is_ready(&current.status) {
            continue;
        }
        op.report(&format!(
            "waiting for {dependency}, which is {}",
            current.status
        ));
        let cell = run
            .readiness
            .lock()
            .unwrap()
            .entry(dependency.clone())
            .or_default()
            .clone();
        let dependency_op = Operation {
            address: dependency.clone(),
            ..op.clone()
        };
        let ready = cell
            .get_or_init(|| wait::until_ready(run.provider.as_ref(), &dependency_op, &current))
            .await
            .clone()?;
        run.remember(ready);
    }
    Ok(())
}

/// The create call's request: the resolved attributes and every tag, rehearsal's own first.
fn create_request(
    run: &Run,
    action: &PlannedAction,
    attributes: Attributes,
    token: &str,
) -> CreateRequest {
    let address = &action.address;
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
    // The spec's own tags go first and rehearsal's last, so no tag a spec (or an edited plan)
    // names can overwrite the tags that prove ownership. Validation already refuses the
    // `rehearsal:` and `aws:` namespaces; this keeps the proof intact whatever reaches here.
    let mut request_tags: BTreeMap<String, String> = attributes
        .get("tags")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(k, _)| !tags::is_reserved(k))
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    let anchor = ownership::anchor_of_request(address, &attributes, token);
    request_tags.extend(ownership::creation_tags(
        &run.plan.env,
        address,
        &anchor,
        run.plan.protected,
        expires.as_deref(),
    ));
    if attributes.get("keep_after_destroy") == Some(&Value::Bool(true)) {
        request_tags.insert(tags::KEEP.into(), "true".into());
    }
    // A safety snapshot's marker (see `crate::engine::snapshot`), rehearsal's own tags too.
    if let Some(safety) = &action.safety_snapshot {
        request_tags.extend(safety.tags.clone());
    }
    CreateRequest {
        kind: address.kind,
        attributes,
        tags: request_tags,
    }
}

/// Substitute references to other resources from what is known now.
fn resolve(run: &Run, template: &Attributes) -> Result<Attributes, StepError> {
    let outputs = run.outputs.lock().unwrap();
    match refs::resolve(
        &Value::Object(template.clone()),
        &refs::from_resources(&outputs),
    ) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => unreachable!("objects interpolate to objects"),
        Err(missing) => Err(StepError::Unresolved {
            reference: missing.to_string(),
        }),
    }
}
