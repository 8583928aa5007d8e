//! What creating a resource takes: its ownership tags, its idempotency token, the create call
//! (asked again while AWS refuses it for a state that will pass), the wait, and the settings a
//! create cannot make.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::graph::StepOp;
use crate::kinds;
use crate::model::{Address, EnvId, LiveResource, tags};
use crate::plan::diff;
use crate::provider::{CreateRequest, Operation, Provider, ProviderError};
use crate::wait::{self, Check};

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

/// The token of one step of one plan (EC2 `ClientToken`: at most 64 ASCII characters), from
/// the plan's token seed: the same when an apply of that plan is retried, so a create cannot
/// happen twice, and new with every plan (see `Plan::token_seed`).
pub fn idempotency_token(seed: &str, address: &Address, op: StepOp) -> String {
    let digest = Sha256::digest(format!("{seed}/{address}/{op:?}"));
    format!("rh-{}", &hex::encode(digest)[..40])
}

/// Create a resource and wait until it is usable; then set what the create call could not (or
/// AWS ignored there), the kind's `set_after_create`, and wait for that too.
///
/// A create AWS refuses for a state that passes (a snapshot of a database that is backing up,
/// a restore from a snapshot still being taken: `InvalidDBInstanceState`,
/// `InvalidDBSnapshotState`) is asked again until it is accepted or the step's time is up:
/// AWS made nothing when it refused.
pub async fn create_ready(
    provider: &dyn Provider,
    op: &Operation,
    request: &CreateRequest,
) -> Result<LiveResource, ProviderError> {
    let what = op.address.to_string();
    let created = wait::poll(op, &what, "accepted", |_| async {
        match provider.create(op, request).await {
            Ok(created) => Ok(Check::Done(created)),
            Err(ProviderError::InvalidState { message, .. }) => {
                Ok(Check::Pending(format!("AWS cannot do it yet: {message}")))
            }
            Err(e) => Err(e),
        }
    })
    .await?;
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
    wait::until_updated(provider, op, &updating, &request.attributes, &unset, false).await
}
