//! `rehearsal refresh ENV ADDRESS`: a long-lived environment's database (staging, UAT: "Data is
//! first synced from Prod") replaced by a restore of a fresh snapshot of production's, or of
//! the newest one there is (`--latest`), keeping a snapshot of the copy it replaces.
//!
//! The plan is made of the actions every change is made of, carried out by the one executor:
//! 1. a safety snapshot of production's database (`crate::engine::snapshot`), which every
//!    other step waits for (left out with `--latest`);
//! 2. a replace of the `rds_instance`, delete first: the delete takes a final snapshot of the
//!    old copy, kept (`rehearsal:keep`, no expiry), then the restore from the newest snapshot of
//!    production's database (the one step 1 took) under the same identifier, with every rule of
//!    the spec's `rds_instance` (its security groups, subnet group, not public, its tags), and
//!    waited for until available.
//!
//! It deletes first, and the plan says so with the outage it means: the endpoint of an RDS
//! instance follows its identifier, and a restore under a second identifier swapped in by
//! renames (ModifyDBInstance NewDBInstanceIdentifier) would move rehearsal's ownership proof,
//! which is anchored on the identifier, twice in flight. The outage is the delete and the
//! restore, about the time `lifecycles.toml` gives for both.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::engine::ownership;
use crate::engine::snapshot::{self, Database, SnapshotError};
use crate::kinds;
use crate::model::{Address, Attributes, LiveResource, ResourceKind, tags};
use crate::plan::{ActionKind, Observed, Plan, PlanError, PlannedAction, Reason};
use crate::provider::Provider;
use crate::spec::{DEFAULT_TIMEOUT, Spec};

/// The tag on the kept snapshot of a refreshed copy: when the refresh replaced it (RFC 3339).
pub const REFRESHED_AT: &str = "rehearsal:refreshed-at";

/// What a refresh plan decided besides its actions, for the plan to say in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refresh {
    pub address: Address,
    /// The identifier of the database replaced (and restored under the same identifier).
    pub database: String,
    /// Production's database, whose newest snapshot is restored.
    pub from: String,
    /// The snapshot of `from` the refresh takes first; `None` with `--latest`.
    pub fresh_snapshot: Option<String>,
    /// The final snapshot of the replaced copy, kept.
    pub kept_snapshot: String,
    /// How long the database is expected to be unavailable: the delete and the restore.
    pub outage_secs: u64,
}

#[derive(Debug, Error)]
pub enum RefreshError {
    #[error("{env} is ephemeral: a refresh is for a long-lived environment")]
    Ephemeral { env: String },
    #[error("{env} declares no rds_instance `{name}`")]
    Unknown {
        env: String,
        name: String,
        databases: Vec<String>,
    },
    #[error("{address} restores `snapshot = {snapshot}`, a snapshot the spec names")]
    NamedSnapshot { address: Address, snapshot: String },
    #[error("{address} does not exist in {env}: there is nothing to refresh")]
    NotDeployed { env: String, address: Address },
    #[error("{address} ({id}) is not as {env}'s spec says: {what}")]
    NotAsSpecified {
        env: String,
        address: Address,
        id: String,
        what: String,
    },
    #[error("{address} ({id}) has deletion protection on")]
    Protected { address: Address, id: String },
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Plan(Box<PlanError>),
}

impl RefreshError {
    pub fn hint(&self) -> Option<String> {
        match self {
            RefreshError::Ephemeral { env } => Some(format!(
                "an ephemeral environment gets production's data when it is created: \
                 `rehearsal destroy {env}`, then `rehearsal apply {env}`"
            )),
            RefreshError::Unknown { env, databases, .. } => Some(match databases.first() {
                Some(first) => format!(
                    "name one of {}: `rehearsal refresh {env} {first}`",
                    databases.join(", ")
                ),
                None => {
                    "a refresh replaces a [resources.rds_instance.NAME] the spec declares".into()
                }
            }),
            RefreshError::NamedSnapshot { .. } => Some(
                "a refresh restores the newest snapshot of production's database: declare \
                 latest_snapshot_of = \"${source.rds_instance.NAME.identifier}\" instead"
                    .into(),
            ),
            RefreshError::NotDeployed { env, .. } => Some(format!(
                "`rehearsal apply {env}` creates it from production's newest snapshot"
            )),
            RefreshError::NotAsSpecified { env, .. } => Some(format!(
                "apply the spec first (`rehearsal plan {env}`), then refresh what it says"
            )),
            RefreshError::Protected { .. } => Some(
                "a refresh deletes the copy it replaces: set deletion_protection = false in \
                 the spec and apply it first"
                    .into(),
            ),
            RefreshError::Snapshot(e) => e.hint(),
            RefreshError::Plan(e) => e.hint(),
        }
    }
}

/// The `rds_instance` of `spec` named `name` (`db` or `rds_instance.db`).
fn address_of(spec: &Spec, name: &str) -> Result<Address, RefreshError> {
    let wanted = name.strip_prefix("rds_instance.").unwrap_or(name);
    let databases: Vec<&Address> = spec
        .resources
        .keys()
        .filter(|a| a.kind == ResourceKind::RdsInstance)
        .collect();
    databases
        .iter()
        .find(|a| a.name == wanted)
        .map(|a| (*a).clone())
        .ok_or_else(|| RefreshError::Unknown {
            env: spec.env.name.clone(),
            name: name.to_string(),
            databases: databases.iter().map(|a| a.name.clone()).collect(),
        })
}

/// The expected outage of a refresh: RDS deleting the old copy (with its final snapshot), then
/// restoring the new one until it is available, as `lifecycles.toml` says they take.
pub fn expected_outage() -> std::time::Duration {
    let lifecycle = kinds::lifecycle(ResourceKind::RdsInstance);
    lifecycle.delete_duration() + lifecycle.create_duration()
}

/// The refresh plan of the `rds_instance` `name` of `spec`; with the live resources it was
/// made from, for the executor. `latest`: restore the newest snapshot there is, take none.
pub async fn plan(
    provider: &dyn Provider,
    spec: &Spec,
    name: &str,
    latest: bool,
    now: time::OffsetDateTime,
) -> Result<(Plan, Vec<LiveResource>), RefreshError> {
    if !spec.is_protected() {
        return Err(RefreshError::Ephemeral {
            env: spec.env.name.clone(),
        });
    }
    let address = address_of(spec, name)?;
    if let Some(named) = spec.resources[&address].attributes.get("snapshot") {
        return Err(RefreshError::NamedSnapshot {
            address,
            snapshot: crate::plan::render::short(named),
        });
    }
    let observed = Observed::read(provider, spec)
        .await
        .map_err(|e| RefreshError::Plan(Box::new(e)))?;
    let env = spec.env.name.clone();
    let current = observed
        .resources
        .iter()
        .find(|r| r.address == address && !r.is_going_away() && ownership::belongs_to(r, &spec.env))
        .ok_or_else(|| RefreshError::NotDeployed {
            env: env.clone(),
            address: address.clone(),
        })?;
    // The copy is restored as the spec says, from what is live: so the two must agree.
    let differs = crate::plan::diff::diff(spec, &observed)
        .map_err(|e| RefreshError::Plan(Box::new(e)))?
        .into_iter()
        .find(|a| a.address == address);
    if let Some(differs) = differs {
        return Err(RefreshError::NotAsSpecified {
            env,
            address,
            id: current.id.clone(),
            what: format!(
                "`rehearsal plan {}` would {} it",
                spec.env.name,
                match differs.action {
                    ActionKind::Create => "create",
                    ActionKind::Update => "update",
                    ActionKind::Replace => "replace",
                    ActionKind::Delete => "delete",
                }
            ),
        });
    }
    if current.attributes.get("deletion_protection") == Some(&Value::Bool(true)) {
        return Err(RefreshError::Protected {
            address,
            id: current.id.clone(),
        });
    }
    let kind = kinds::describe(ResourceKind::RdsInstance);
    let desired: Attributes = current
        .attributes
        .iter()
        .filter(|(k, _)| kind.is_input(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let from = desired
        .get("latest_snapshot_of")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();

    let mut actions = vec![];
    let fresh = if latest {
        None
    } else {
        let reason = format!("refresh of {}", current.id);
        let production = Database {
            named_as: format!("the database {address} is restored from"),
            identifier: from.clone(),
        };
        let take = snapshot::take(&env, &production, Some(&reason), now)?;
        let identifier = take
            .desired
            .as_ref()
            .and_then(|d| d.get("identifier")?.as_str().map(str::to_owned));
        actions.push(take);
        identifier
    };
    let mut kept = kinds::final_snapshot::decide(current, Some(true), now)
        .expect("an rds_instance takes a final snapshot");
    // Kept as long as someone wants it: the only copy of the replaced data.
    kept.tags.remove(tags::EXPIRES_AT);
    kept.tags.insert(REFRESHED_AT.into(), rfc3339(now));
    let refresh = Refresh {
        address: address.clone(),
        database: current.id.clone(),
        from: from.clone(),
        fresh_snapshot: fresh.clone(),
        kept_snapshot: kept.identifier.clone(),
        outage_secs: expected_outage().as_secs(),
    };
    actions.push(PlannedAction {
        address: address.clone(),
        action: ActionKind::Replace,
        reason: Reason::Refreshed {
            from,
            snapshot: fresh,
        },
        replace_order: Some(crate::model::ReplaceOrder::DeleteThenCreate),
        changes: vec![],
        desired: Some(desired),
        live: Some(current.clone()),
        depends_on: vec![],
        timeout_secs: spec.resources[&address]
            .timeout
            .unwrap_or(DEFAULT_TIMEOUT)
            .as_secs(),
        inherited: vec![],
        final_snapshot: Some(kept),
        safety_snapshot: None,
    });
    let plan = Plan::refresh(spec, &observed, actions, refresh, rfc3339(now));
    Ok((plan, observed.resources))
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
