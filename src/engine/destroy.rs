//! `destroy` as a plan: what an environment owns, found by its tags alone, becomes a destroy
//! plan (a delete per resource, in teardown order, with what each keeps decided now: the
//! snapshots marked to outlive teardown, each database's final snapshot). `show` renders it
//! and the executor carries it out (`apply::teardown`), in passes, ending with the proof: a
//! final listing that finds nothing the environment owns.

use std::collections::BTreeMap;
use std::sync::Arc;

use thiserror::Error;

use crate::apply::events::Reporter;
pub use crate::apply::teardown::{DEFAULT_TIMEOUT, DestroyReport, Leftover};
use crate::apply::teardown::{TeardownOptions, teardown};
use crate::engine::ownership;
use crate::kinds;
use crate::model::{Address, Declared, EnvId, LiveResource, tags};
use crate::plan::targeting::{self, Request, TargetError, Targeting};
use crate::plan::{ActionKind, Observed, Plan, PlannedAction, Reason};
use crate::provider::{Provider, ProviderError};
use crate::spec::Spec;

/// How a destroy is planned and carried out.
#[derive(Debug, Clone, Default)]
pub struct DestroyOptions {
    /// How the executor runs the plan's passes (and "now", which names final snapshots).
    pub run: TeardownOptions,
    /// The final-snapshot choice per resource, above the spec's; a resource in neither keeps
    /// the choice recorded on it at creation.
    pub final_snapshot: BTreeMap<Address, bool>,
    /// What is declared by name, besides what the spec declares: found by name as well as by
    /// tag.
    pub declared: Declared,
    /// `--target` / `--exclude`: only these, with what depends on them (see
    /// `crate::plan::targeting`).
    pub request: Request,
}

#[derive(Debug, Error)]
pub enum DestroyError {
    #[error("environment {env} is protected: rehearsal never destroys it")]
    Protected { env: String },
    #[error("cannot list what environment {env} owns: {error}")]
    Observe { env: String, error: ProviderError },
    #[error(transparent)]
    Target(#[from] TargetError),
}

impl DestroyError {
    pub fn hint(&self) -> Option<String> {
        match self {
            DestroyError::Protected { .. } => Some(
                "protected environments (production, staging) are never torn down by rehearsal"
                    .into(),
            ),
            DestroyError::Observe { error, .. } => error.hint(),
            DestroyError::Target(e) => e.hint(),
        }
    }
}

/// Of what carries the environment's tags: what teardown removes, and what it keeps. Refused
/// for a protected environment.
pub fn owned(
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

/// The destroy plan of `env`: a delete of everything it owns, in teardown order. `spec`, when
/// readable, adds what it declares by name and each resource's final-snapshot choice, and
/// travels in the plan.
pub async fn plan(
    provider: &dyn Provider,
    env: &EnvId,
    spec: Option<&Spec>,
    options: &DestroyOptions,
) -> Result<Plan, DestroyError> {
    if spec.is_some_and(Spec::is_protected) {
        return Err(DestroyError::Protected {
            env: env.name.clone(),
        });
    }
    let declared = spec
        .map(Spec::declared)
        .unwrap_or_else(|| options.declared.clone())
        .listing_everywhere();
    let live = provider
        .observe(env, &declared)
        .await
        .map_err(|error| DestroyError::Observe {
            env: env.name.clone(),
            error,
        })?;
    let fingerprints = Observed {
        sources: BTreeMap::new(),
        resources: live.clone(),
    }
    .fingerprints();
    let (mut doomed, kept) = owned(env, live)?;
    let targeting = target(env, spec, &doomed, &options.request)?;
    if let Some(t) = &targeting {
        doomed.retain(|r| t.considers(&r.address));
    }
    doomed.sort_by_key(|r| (kinds::teardown_rank(r.address.kind), r.address.clone()));
    // The spec's choice, when it says; the resource's own recorded one otherwise.
    let asked = |address: &Address| {
        options.final_snapshot.get(address).copied().or_else(|| {
            let rule = kinds::describe(address.kind).final_snapshot?;
            let resource = spec?.resources.get(address)?;
            resource.attributes.get(rule.asked_by)?.as_bool()
        })
    };
    let timeout_secs = options.run.timeout.as_secs();
    let actions = doomed
        .into_iter()
        .map(|r| PlannedAction {
            address: r.address.clone(),
            action: ActionKind::Delete,
            reason: Reason::Destroyed,
            replace_order: None,
            changes: vec![],
            desired: None,
            depends_on: vec![],
            timeout_secs,
            inherited: vec![],
            final_snapshot: kinds::final_snapshot::decide(&r, asked(&r.address), options.run.now),
            safety_snapshot: None,
            live: Some(r),
        })
        .collect();
    let created_at = options
        .run
        .now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    Ok(Plan::destroy(
        env,
        spec,
        actions,
        kept,
        targeting,
        fingerprints,
        created_at,
    ))
}

/// What a targeted destroy considers among `doomed`: each target with what depends on it,
/// which must go first. What depends on what is the spec's: without it, targeting is refused
/// rather than guessed.
fn target(
    env: &EnvId,
    spec: Option<&Spec>,
    doomed: &[LiveResource],
    request: &Request,
) -> Result<Option<Targeting>, DestroyError> {
    if request.is_empty() {
        return Ok(None);
    }
    let Some(spec) = spec else {
        return Err(TargetError::NoSpec {
            env: env.name.clone(),
        }
        .into());
    };
    let universe = doomed.iter().map(|r| r.address.clone()).collect();
    let needs = targeting::needs(Some(spec), &universe);
    let chosen = targeting::select(
        request,
        &env.name,
        &universe,
        &needs,
        targeting::Direction::Destroy,
    )?;
    Ok(Some(chosen))
}

/// List what would be deleted, and what kept, changing nothing.
pub async fn dry_run(
    provider: &dyn Provider,
    env: &EnvId,
    declared: &Declared,
) -> Result<(Vec<LiveResource>, Vec<LiveResource>), DestroyError> {
    let options = DestroyOptions {
        declared: declared.clone(),
        ..Default::default()
    };
    let plan = plan(provider, env, None, &options).await?;
    let kept = plan.destroy.clone().map(|d| d.kept).unwrap_or_default();
    Ok((
        plan.actions.into_iter().filter_map(|a| a.live).collect(),
        kept,
    ))
}

/// Make the destroy plan of `env` and carry it out: the report's `leftovers` are the proof.
pub async fn destroy(
    provider: Arc<dyn Provider>,
    env: &EnvId,
    reporter: Arc<dyn Reporter>,
    options: &DestroyOptions,
) -> Result<DestroyReport, DestroyError> {
    let plan = plan(provider.as_ref(), env, None, options).await?;
    teardown(&plan, provider, reporter, &options.run).await
}
