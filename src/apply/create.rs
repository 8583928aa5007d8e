//! What creating a resource takes: its idempotency token, the create call
//! (asked again while AWS refuses it for a state that will pass), the wait, and the settings a
//! create cannot make.

use sha2::{Digest, Sha256};

use crate::engine::graph::StepOp;
use crate::engine::ownership;
use crate::engine::wait::{self, Check};
use crate::kinds;
use crate::model::{Address, LiveResource};
use crate::plan::diff;
use crate::provider::{CreateRequest, Operation, Provider, ProviderError};

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
/// rehearsal never adopts: before a create, what already answers to its name or identifier
/// (an ECS service in its cluster, a task-definition family, a group name in the VPC, a DB
/// instance or snapshot) must be provably this environment's, or the create is refused, naming
/// it. AWS refuses most such creates itself, but not all (CreateCluster returns the existing
/// cluster), and rehearsal must not depend on it.
async fn refuse_to_adopt(
    provider: &dyn Provider,
    op: &Operation,
    request: &CreateRequest,
) -> Result<(), ProviderError> {
    match provider.existing(op, request).await? {
        Some(existing) if !ownership::belongs_to(&existing, &op.env) => {
            Err(adopting(op, request, &existing, "there is already"))
        }
        _ => Ok(()),
    }
}

fn adopting(
    op: &Operation,
    request: &CreateRequest,
    existing: &LiveResource,
    found: &str,
) -> ProviderError {
    ProviderError::NotOurs {
        what: format!("{} ({})", op.address, existing.id),
        action: format!("create {}", request.kind),
        why: format!(
            "{found} a {} by that name that rehearsal did not create for {}/{}; rehearsal never \
             adopts: give yours another name, or remove the other",
            request.kind, op.env.project, op.env.name
        ),
    }
}

pub async fn create_ready(
    provider: &dyn Provider,
    op: &Operation,
    request: &CreateRequest,
) -> Result<LiveResource, ProviderError> {
    let what = op.address.to_string();
    refuse_to_adopt(provider, op, request).await?;
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
    let ready = wait::until_running(provider, op, &created, &request.attributes).await?;
    // What AWS handed back must be what this create made: ECS's CreateCluster answers a name
    // in use with the existing cluster (API_CreateCluster), and one may have been made between
    // the look before the create and the create itself.
    if !ownership::belongs_to(&ready, &op.env) {
        return Err(adopting(op, request, &ready, "AWS handed back"));
    }
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
