//! A final snapshot: a copy a kind can take of a resource as it is deleted (a database's data).
//! Whether one is asked for, its identifier and its tags are decided when a plan is made and
//! recorded in the delete action ([`FinalSnapshot`]); the executor takes them from there.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::ownership;
use crate::model::{Address, EnvId, LiveResource, ResourceKind, tags};

/// What a kind that can leave a final snapshot says about it (`Kind::final_snapshot`).
#[derive(Debug)]
pub struct FinalSnapshots {
    /// The attribute a spec asks for one with (`final_snapshot = true`); providers report the
    /// choice recorded on the resource at creation under the same name.
    pub asked_by: &'static str,
    /// What the resource is, in words: "database".
    pub noun: &'static str,
    /// The kind of the snapshot: it is found as `KIND.NAME_final` of the environment.
    pub kind: ResourceKind,
}

/// How long a final snapshot is kept before `rehearsal reap` lists it as expired.
pub const KEPT_FOR: time::Duration = time::Duration::days(30);

/// The tag that names the resource a final snapshot was taken of.
pub const OF: &str = "rehearsal:final-snapshot-of";

/// A final snapshot a delete takes, as decided when the plan was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalSnapshot {
    pub identifier: String,
    /// Every tag it is created with: the environment's ownership, `rehearsal:keep`, an expiry.
    pub tags: BTreeMap<String, String>,
}

/// `<identifier>-final-20261122t101500`: unique per plan, so a second destroy never clashes.
pub fn identifier(id: &str, now: time::OffsetDateTime) -> String {
    format!("{id}-final-{}", stamp(now, 't'))
}

/// `20261122t101500`: a time to the second in the letters, digits and hyphens RDS identifiers
/// take, date and time joined by `between`.
pub fn stamp(now: time::OffsetDateTime, between: char) -> String {
    format!(
        "{:04}{:02}{:02}{between}{:02}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

/// The final snapshot deleting `target` takes: `asked` is the spec's choice when the spec is at
/// hand, else the choice recorded on the resource at creation decides. `None` for a kind that
/// takes none, or when none is asked for.
///
/// A final snapshot is a full copy of production's data: it carries the environment's
/// ownership (address `KIND.NAME_final`, its identity anchored on its own identifier) so that
/// nothing loses sight of it, `rehearsal:keep` so that no teardown deletes it, and an expiry.
pub fn decide(
    target: &LiveResource,
    asked: Option<bool>,
    now: time::OffsetDateTime,
) -> Option<FinalSnapshot> {
    let rule = super::describe(target.address.kind).final_snapshot?;
    let recorded = target.attributes.get(rule.asked_by) == Some(&Value::Bool(true));
    if !asked.unwrap_or(recorded) {
        return None;
    }
    let identifier = identifier(&target.id, now);
    let tag = |key: &str| target.tags.get(key).cloned().unwrap_or_default();
    let env = EnvId {
        project: tag(tags::PROJECT),
        name: tag(tags::ENV),
        region: String::new(),
    };
    let address = Address::new(rule.kind, format!("{}_final", target.address.base_name()));
    let expires = (now + KEPT_FOR)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut snapshot_tags =
        ownership::creation_tags(&env, &address, &identifier, false, Some(&expires));
    snapshot_tags.insert(tags::KEEP.into(), "true".into());
    snapshot_tags.insert(OF.into(), target.id.clone());
    Some(FinalSnapshot {
        identifier,
        tags: snapshot_tags,
    })
}

/// Why AWS cannot take a final snapshot of `target` in the state it is in (a database that
/// failed to restore has no data to snapshot, and DeleteDBInstance refuses a final snapshot of
/// one: API_DeleteDBInstance); `None` when it can.
pub fn impossible(target: &LiveResource) -> Option<String> {
    let rule = super::describe(target.address.kind).final_snapshot?;
    super::lifecycle(target.address.kind)
        .no_final_snapshot(&target.status)
        .then(|| {
            format!(
                "no final snapshot: AWS cannot take one of a {} that is {}",
                rule.noun, target.status
            )
        })
}
