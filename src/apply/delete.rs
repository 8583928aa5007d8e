//! What deleting a resource takes: its policy (a final snapshot, deletion protection), the
//! delete call (asked again while AWS cannot delete it yet), and the wait until it is gone.

use serde_json::Value;

use std::collections::BTreeMap;

use crate::model::{Address, EnvId, LiveResource, ResourceKind, tags};
use crate::ownership;
use crate::provider::{DeleteOutcome, DeletePolicy, Operation, Provider, ProviderError};
use crate::wait::{self, Check};

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

/// How long a final snapshot is kept before `rehearsal reap` lists it as expired.
pub const FINAL_SNAPSHOT_KEPT_FOR: time::Duration = time::Duration::days(30);

/// A database's final snapshot is a full copy of production's data: it carries the
/// environment's ownership (address `rds_snapshot.NAME_final`, its identity anchored on its own
/// identifier) so that nothing loses sight of it, `rehearsal:keep` so that no teardown deletes
/// it, and an expiry.
fn final_snapshot_tags(
    database: &LiveResource,
    identifier: &str,
    now: time::OffsetDateTime,
) -> BTreeMap<String, String> {
    let tag = |key: &str| database.tags.get(key).cloned().unwrap_or_default();
    let env = EnvId {
        project: tag(tags::PROJECT),
        name: tag(tags::ENV),
        region: String::new(),
    };
    let address = Address::new(
        ResourceKind::RdsSnapshot,
        format!("{}_final", database.address.base_name()),
    );
    let expires = (now + FINAL_SNAPSHOT_KEPT_FOR)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut out = ownership::creation_tags(&env, &address, identifier, false, Some(&expires));
    out.insert(tags::KEEP.into(), "true".into());
    out.insert(FINAL_SNAPSHOT_OF.into(), database.id.clone());
    out
}

/// The tag that names the database a final snapshot was taken of.
pub const FINAL_SNAPSHOT_OF: &str = "rehearsal:final-snapshot-of";

/// The delete policy for a resource the environment owns.
///
/// A final snapshot is taken when the database asks for one, unless AWS cannot take one in its
/// state (a database that failed to restore has no data to snapshot, and DeleteDBInstance
/// refuses a final snapshot of one: API_DeleteDBInstance); then it is deleted without one,
/// and the policy says why.
pub fn delete_policy(
    target: &LiveResource,
    protected: bool,
    now: time::OffsetDateTime,
) -> DeletePolicy {
    let wants_final = target.address.kind == ResourceKind::RdsInstance
        && target.attributes.get("final_snapshot") == Some(&Value::Bool(true));
    let impossible = crate::kinds::lifecycle(target.address.kind).no_final_snapshot(&target.status);
    let take_final = wants_final && !impossible;
    let final_id = take_final.then(|| final_snapshot_identifier(&target.id, now));
    DeletePolicy {
        final_snapshot_tags: final_id
            .as_deref()
            .map(|id| final_snapshot_tags(target, id, now))
            .unwrap_or_default(),
        final_snapshot_identifier: final_id,
        // Only resources carrying this environment's tags reach here; a protected
        // environment's protection stays on.
        disable_deletion_protection: !protected,
        warning: (wants_final && impossible).then(|| {
            format!(
                "no final snapshot: AWS cannot take one of a database that is {}",
                target.status
            )
        }),
    }
}

/// Delete and wait until gone. A resource AWS cannot delete yet (a database still being
/// restored) is asked again, until the operation's time is up.
pub async fn delete_and_wait(
    provider: &dyn Provider,
    op: &Operation,
    target: &LiveResource,
    policy: &DeletePolicy,
) -> Result<(), ProviderError> {
    if let Some(warning) = &policy.warning {
        op.report(warning);
    }
    let what = wait::what(target);
    wait::poll(op, &what, "deletable", |_| async {
        match provider.delete(op, target, policy).await? {
            DeleteOutcome::Accepted => Ok(Check::Done(())),
            DeleteOutcome::NotYet { reason } => Ok(Check::Pending(reason)),
        }
    })
    .await?;
    wait::until_gone(provider, op, target).await
}
