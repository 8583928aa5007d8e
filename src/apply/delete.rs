//! What deleting a resource takes: its policy (a final snapshot, deletion protection), the
//! delete call (asked again while AWS cannot delete it yet), and the wait until it is gone.

use crate::engine::wait::{self, Check};
use crate::kinds::final_snapshot::{self, FinalSnapshot};
use crate::model::LiveResource;
use crate::provider::{DeleteOutcome, DeletePolicy, Operation, Provider, ProviderError};

/// The delete policy for a resource the environment owns, from what its plan decided.
///
/// The final snapshot the plan recorded is taken, unless AWS cannot take one in the state the
/// resource is in now (see `kinds::final_snapshot::impossible`); then it is deleted without
/// one, and the policy says why.
pub fn delete_policy(
    target: &LiveResource,
    planned: Option<&FinalSnapshot>,
    protected: bool,
) -> DeletePolicy {
    let impossible = planned.and_then(|_| final_snapshot::impossible(target));
    let taken = planned.filter(|_| impossible.is_none());
    DeletePolicy {
        final_snapshot_identifier: taken.map(|f| f.identifier.clone()),
        final_snapshot_tags: taken.map(|f| f.tags.clone()).unwrap_or_default(),
        // Only resources carrying this environment's tags reach here; a protected
        // environment's protection stays on.
        disable_deletion_protection: !protected,
        warning: impossible,
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
