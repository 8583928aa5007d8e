//! Safety snapshots: "Create a DB snapshot in AWS RDS (just to be safe)". A manual snapshot of
//! each database an environment names (the `rds_instance` resources it owns and, for a
//! protected environment, the `rds_instance` sources it reads, production's), taken through the
//! one road every change
//! takes: a plan of `rds_snapshot` creates that the executor carries out and waits for.
//!
//! `rehearsal snapshot ENV [--reason TEXT]` makes such a plan on its own; a protected
//! environment's `[snapshots] before_apply = true` puts the same creates first in every plan
//! that changes something, and every other step waits for them. `[snapshots] keep = N` adds
//! deletes of the oldest of those rehearsal took this way, keeping the newest N per database.
//!
//! Each snapshot belongs to the environment: its ownership tags (address
//! `rds_snapshot.<identifier with underscores>`, identity anchored on its identifier),
//! `rehearsal:keep` (no teardown or plan deletes it) and the marker tags below, which say that
//! rehearsal took it as a safety snapshot, of which database and why. Pruning touches only
//! snapshots that prove all of that: never another environment's, never one taken by hand,
//! never a final snapshot, never one a spec declares.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::engine::ownership;
use crate::kinds;
use crate::model::{Address, Attributes, LiveResource, ResourceKind, SourceKind};
use crate::plan::{ActionKind, AttributeChange, Observed, Plan, PlanError, PlannedAction, Reason};
use crate::provider::Provider;
use crate::spec::{DEFAULT_TIMEOUT, Spec};

/// The database a safety snapshot was taken of (its RDS identifier): the marker that rehearsal
/// took it as a safety snapshot.
pub const OF: &str = "rehearsal:snapshot-of";
/// Why it was taken (`--reason`, `before apply`, or [`MANUAL`]).
pub const REASON: &str = "rehearsal:snapshot-reason";
/// When it was taken (RFC 3339): pruning keeps the newest.
pub const TAKEN_AT: &str = "rehearsal:snapshot-taken-at";
/// The reason of a snapshot `[snapshots] before_apply` takes.
pub const BEFORE_APPLY: &str = "before apply";
/// The reason of one `rehearsal snapshot` took without `--reason`.
pub const MANUAL: &str = "manual";

/// What a plan says under each safety snapshot it takes: RDS suspends a Single-AZ database's
/// I/O while it snapshots it.
/// https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_CreateSnapshot.html
pub const IO_NOTE: &str = "while RDS takes this snapshot, a Single-AZ database suspends its I/O \
                           for a few seconds to a few minutes";

/// The longest tag value RDS takes, and so the longest reason.
/// https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_Tag.html
pub const MAX_REASON: usize = 256;

/// What makes a create a safety snapshot, recorded in its action: the marker tags its create
/// call writes beside the ownership tags. A plan runs these creates before every other step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetySnapshot {
    /// The database's identifier.
    pub of: String,
    pub reason: String,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Error)]
pub enum SnapshotError {
    #[error("the reason `{reason}` cannot be a tag value: {why}")]
    Reason { reason: String, why: String },
    #[error("{env} names no database to snapshot")]
    NoDatabase { env: String },
    #[error(transparent)]
    Plan(Box<PlanError>),
    #[error("{address}: {message}")]
    Identifier {
        address: String,
        message: String,
        hint: String,
    },
}

impl SnapshotError {
    pub fn hint(&self) -> Option<String> {
        match self {
            SnapshotError::Reason { .. } => Some(
                "use letters, digits, spaces and _ . : / = + - @ (at most 256 characters), \
                 e.g. --reason \"before 3.2.0\""
                    .into(),
            ),
            SnapshotError::NoDatabase { .. } => Some(
                "a spec names a database as [sources.rds_instance.NAME] or \
                 [resources.rds_instance.NAME]; one it owns is snapshotted once it exists"
                    .into(),
            ),
            SnapshotError::Identifier { hint, .. } => Some(hint.clone()),
            SnapshotError::Plan(e) => e.hint(),
        }
    }
}

/// A database the environment names, as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    /// `source.rds_instance.db` or `rds_instance.db`.
    pub named_as: String,
    pub identifier: String,
}

/// The databases `spec` names that exist now: its `rds_instance` sources (as looked up, for a
/// protected environment), and
/// the `rds_instance` resources the environment owns (not one still to be created, nor one AWS
/// is deleting; one the spec no longer declares too: a plan is about to delete it).
pub fn databases(spec: &Spec, observed: &Observed) -> Vec<Database> {
    // A source is a database of another's (production's): only a protected environment, whose
    // spec speaks for production, snapshots it. A pre-release reads production's database to
    // copy it; its snapshot must not suspend production's I/O (USER_CreateSnapshot.html).
    let sources = observed
        .sources
        .iter()
        .filter(|_| spec.is_protected())
        .filter(|(address, _)| address.kind == SourceKind::RdsInstance)
        .filter_map(|(address, object)| {
            let identifier = object.attributes.get("identifier")?.as_str()?;
            Some(Database {
                named_as: address.to_string(),
                identifier: identifier.to_string(),
            })
        });
    let owned = observed
        .resources
        .iter()
        .filter(|r| r.address.kind == ResourceKind::RdsInstance && !r.is_going_away())
        .filter(|r| ownership::belongs_to(r, &spec.env))
        .map(|r| Database {
            named_as: r.address.to_string(),
            identifier: r.id.clone(),
        });
    let mut all: Vec<Database> = sources.chain(owned).collect();
    all.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    all.dedup_by(|a, b| a.identifier.eq_ignore_ascii_case(&b.identifier));
    all
}

/// A reason RDS takes as a tag value: letters, digits, spaces and `_.:/=+-@`, 256 at most.
pub fn check_reason(reason: &str) -> Result<(), SnapshotError> {
    let bad = |why: String| SnapshotError::Reason {
        reason: crate::spec::diagnostic::clip(reason, 60),
        why,
    };
    if reason.trim().is_empty() {
        return Err(bad("it is empty".into()));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(bad(format!("it is longer than {MAX_REASON} characters")));
    }
    let allowed =
        |c: char| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c) || c.is_whitespace();
    if let Some(c) = reason.chars().find(|c| !allowed(*c) || c.is_control()) {
        return Err(bad(format!("RDS refuses {c:?} in a tag value")));
    }
    Ok(())
}

/// `production-db-20261206-150405-before-3-2-0`: the database's identifier (after the
/// environment's name, unless it starts with it), the time, and the reason (if any) as a slug,
/// cut to the 255 characters RDS takes.
pub fn identifier(
    env: &str,
    database: &str,
    reason: Option<&str>,
    now: time::OffsetDateTime,
) -> String {
    let database = database.to_lowercase();
    let base = if database.starts_with(&format!("{env}-")) {
        database
    } else {
        format!("{env}-{database}")
    };
    let stamp = crate::kinds::final_snapshot::stamp(now, '-');
    let slug = reason.map(crate::spec::refs::slug).unwrap_or_default();
    let mut id = format!("{base}-{stamp}");
    if !slug.is_empty() {
        id = format!("{id}-{slug}");
    }
    id.truncate(255);
    id.trim_end_matches('-').to_string()
}

/// The address of the safety snapshot named `identifier`: unique as the identifier is.
pub fn address(identifier: &str) -> Address {
    Address::new(ResourceKind::RdsSnapshot, identifier.replace('-', "_"))
}

/// The actions that take a safety snapshot of each database `spec` names, and, with
/// `[snapshots] keep = N`, delete the oldest of those rehearsal took of it beyond the newest N
/// (the new one counted). `reason`: `--reason`, or [`BEFORE_APPLY`]; none is [`MANUAL`].
pub fn actions(
    spec: &Spec,
    observed: &Observed,
    reason: Option<&str>,
    now: time::OffsetDateTime,
) -> Result<Vec<PlannedAction>, SnapshotError> {
    if let Some(reason) = reason {
        check_reason(reason)?;
    }
    let mut creates = vec![];
    let mut deletes = vec![];
    for db in databases(spec, observed) {
        creates.push(take(&spec.env.name, &db, reason, now)?);
        if let Some(keep) = spec.snapshots.keep {
            for old in prunable(spec, observed, &db.identifier, keep) {
                deletes.push(PlannedAction {
                    address: old.address.clone(),
                    action: ActionKind::Delete,
                    reason: Reason::Pruned {
                        of: db.identifier.clone(),
                        keep,
                    },
                    replace_order: None,
                    changes: vec![],
                    desired: None,
                    live: Some(old.clone()),
                    depends_on: vec![],
                    timeout_secs: DEFAULT_TIMEOUT.as_secs(),
                    inherited: vec![],
                    final_snapshot: None,
                    safety_snapshot: None,
                });
            }
        }
    }
    creates.extend(deletes);
    Ok(creates)
}

/// The create of a safety snapshot of `db` for the environment `env`, asked for `reason`
/// (none is [`MANUAL`]), taken at `now`.
pub fn take(
    env: &str,
    db: &Database,
    reason: Option<&str>,
    now: time::OffsetDateTime,
) -> Result<PlannedAction, SnapshotError> {
    let named = reason.unwrap_or(MANUAL);
    let taken_at = now
        .replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let identifier = identifier(env, &db.identifier, reason, now);
    let address = address(&identifier);
    for name in kinds::describe(ResourceKind::RdsSnapshot).names {
        (name.check)(&identifier).map_err(|rule| SnapshotError::Identifier {
            address: address.to_string(),
            message: rule.message,
            hint: rule.hint,
        })?;
    }
    let mut desired = Attributes::new();
    desired.insert("identifier".into(), Value::String(identifier.clone()));
    desired.insert("source_db".into(), Value::String(db.identifier.clone()));
    desired.insert("keep_after_destroy".into(), Value::Bool(true));
    let tags = BTreeMap::from([
        (OF.to_string(), db.identifier.clone()),
        (REASON.to_string(), named.to_string()),
        (TAKEN_AT.to_string(), taken_at),
    ]);
    Ok(PlannedAction {
        address,
        action: ActionKind::Create,
        reason: Reason::SafetySnapshot {
            of: db.identifier.clone(),
            named_as: db.named_as.clone(),
            asked: named.to_string(),
        },
        replace_order: None,
        changes: desired
            .iter()
            .map(|(k, v)| AttributeChange {
                name: k.clone(),
                before: None,
                after: Some(v.clone()),
                forces_replacement: false,
                fields: vec![],
            })
            .collect(),
        desired: Some(desired),
        live: None,
        depends_on: vec![],
        timeout_secs: DEFAULT_TIMEOUT.as_secs(),
        inherited: vec![],
        final_snapshot: None,
        safety_snapshot: Some(SafetySnapshot {
            of: db.identifier.clone(),
            reason: named.to_string(),
            tags,
        }),
    })
}

/// Whether `live` is a safety snapshot rehearsal took for this environment: it proves it is
/// the environment's own, is kept, carries the marker, and is neither a final snapshot nor a
/// snapshot the spec declares.
pub fn is_safety_snapshot(spec: &Spec, live: &LiveResource) -> bool {
    live.address.kind == ResourceKind::RdsSnapshot
        && ownership::belongs_to(live, &spec.env)
        && live.keep_after_destroy()
        && live.tags.contains_key(OF)
        && !live.tags.contains_key(kinds::final_snapshot::OF)
        && !spec.resources.contains_key(&live.address)
}

/// Of the safety snapshots of `database`, the oldest beyond the newest `keep - 1` (the one
/// being taken is the newest): what `keep` deletes.
pub fn prunable<'a>(
    spec: &Spec,
    observed: &'a Observed,
    database: &str,
    keep: u32,
) -> Vec<&'a LiveResource> {
    let mut ours: Vec<&LiveResource> = observed
        .resources
        .iter()
        .filter(|r| !r.is_going_away() && is_safety_snapshot(spec, r))
        .filter(|r| {
            r.tags
                .get(OF)
                .is_some_and(|of| of.eq_ignore_ascii_case(database))
        })
        .collect();
    // Newest first: by when it was taken, then by identifier (which starts with the time).
    ours.sort_by(|a, b| (b.tags.get(TAKEN_AT), &b.id).cmp(&(a.tags.get(TAKEN_AT), &a.id)));
    let stays = usize::try_from(keep.saturating_sub(1)).unwrap_or(usize::MAX);
    ours.into_iter().skip(stays).collect()
}

/// The snapshot plan of `spec` (`rehearsal snapshot ENV`): a safety snapshot of each database
/// it names, and what `[snapshots] keep` prunes; with the live resources it was made from, for
/// the executor. Refused when the environment names no database that exists.
pub async fn plan(
    provider: &dyn Provider,
    spec: &Spec,
    reason: Option<&str>,
    now: time::OffsetDateTime,
) -> Result<(Plan, Vec<LiveResource>), SnapshotError> {
    if let Some(reason) = reason {
        check_reason(reason)?;
    }
    let observed = Observed::read(provider, spec)
        .await
        .map_err(|e| SnapshotError::Plan(Box::new(e)))?;
    let actions = actions(spec, &observed, reason, now)?;
    if !actions.iter().any(|a| a.action == ActionKind::Create) {
        return Err(SnapshotError::NoDatabase {
            env: spec.env.name.clone(),
        });
    }
    let created_at = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let plan = Plan::snapshot(spec, &observed, actions, created_at);
    Ok((plan, observed.resources))
}
