//! The steps every command shares: observe and plan; re-check a saved plan before applying it.

use std::collections::BTreeMap;

use futures_util::future::try_join_all;
use thiserror::Error;

use crate::model::LiveResource;
use crate::plan::observe::{lookup_source, observe_environment, source_fingerprint};
use crate::plan::targeting::Request;
use crate::plan::{Observed, Plan, PlanError, staleness};
use crate::provider::Provider;
use crate::spec::Spec;

/// Observe the environment and diff it against `spec`.
pub async fn make_plan(provider: &dyn Provider, spec: &Spec) -> Result<Plan, PlanError> {
    make_targeted_plan(provider, spec, &Request::default()).await
}

/// [`make_plan`], of only what `request` targets (see `crate::plan::targeting`).
pub async fn make_targeted_plan(
    provider: &dyn Provider,
    spec: &Spec,
    request: &Request,
) -> Result<Plan, PlanError> {
    let observed = Observed::read(provider, spec).await?;
    tracing::info!(
        env = %spec.env.name,
        sources = observed.sources.len(),
        resources = observed.resources.len(),
        "observed live state"
    );
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("formats");
    let plan = Plan::new(spec, &observed, now, request)?;
    crate::plan::egress::check(provider, spec, &plan).await?;
    Ok(plan)
}

#[derive(Debug, Error)]
pub enum RecheckError {
    #[error("this plan was already applied: {env} already matches it")]
    AlreadyApplied { env: String },
    #[error("the plan is stale: live state changed since it was made:\n  {}", changes.join("\n  "))]
    Stale { changes: Vec<String> },
    #[error(transparent)]
    Observe(#[from] PlanError),
}

impl RecheckError {
    pub fn hint(&self) -> Option<String> {
        match self {
            RecheckError::AlreadyApplied { env } => Some(format!(
                "nothing to do; `rehearsal plan {env}` shows the current state"
            )),
            RecheckError::Stale { .. } => Some(
                "make a fresh plan with `rehearsal plan ENV`, review it, and apply that".into(),
            ),
            RecheckError::Observe(e) => e.hint(),
        }
    }
}

/// Re-observe what `plan` was made from. Returns the live resources if nothing moved; a plan
/// whose world moved is stale, or already applied when the spec now plans no changes.
pub async fn recheck(
    provider: &dyn Provider,
    plan: &Plan,
    spec: Option<&Spec>,
) -> Result<Vec<LiveResource>, RecheckError> {
    let lookups = plan.sources.iter().map(|(address, query)| async move {
        let location = plan.spec_path.display().to_string();
        let found = lookup_source(provider, &plan.env.region, address, query, location).await;
        found.map(|found| (address.clone(), found))
    });
    let found: BTreeMap<String, _> = try_join_all(lookups).await?.into_iter().collect();
    let resources = observe_environment(provider, &plan.env, &plan.declared()).await?;
    let observed = Observed {
        sources: BTreeMap::new(),
        resources,
    };
    let mut fingerprints = observed.fingerprints();
    for (address, object) in &found {
        fingerprints.insert(format!("source {address}"), source_fingerprint(object));
    }
    let changes = staleness(plan, &fingerprints);
    if changes.is_empty() {
        return Ok(observed.resources);
    }
    // A destroy plan is done once nothing the environment owns is left to delete.
    if plan.is_destroy() {
        // A targeted one, once nothing it targeted is left.
        let nothing_left = crate::engine::destroy::owned(&plan.env, observed.resources).is_ok_and(
            |(doomed, _)| {
                !doomed.iter().any(|r| {
                    plan.targeting
                        .as_ref()
                        .is_none_or(|t| t.considers(&r.address))
                })
            },
        );
        if nothing_left {
            return Err(RecheckError::AlreadyApplied {
                env: plan.env.name.clone(),
            });
        }
        return Err(RecheckError::Stale { changes });
    }
    if let Some(spec) = spec.filter(|s| s.digest() == plan.spec_digest)
        && !make_targeted_plan(provider, spec, &request_of(plan))
            .await?
            .has_changes()
    {
        return Err(RecheckError::AlreadyApplied {
            env: plan.env.name.clone(),
        });
    }
    Err(RecheckError::Stale { changes })
}

/// What `plan` was targeted to (nothing: all of it), to plan it again the same way.
fn request_of(plan: &Plan) -> Request {
    plan.targeting
        .as_ref()
        .map(|t| t.request())
        .unwrap_or_default()
}
