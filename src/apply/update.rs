//! What updating a resource in place takes: a resource AWS will change (one still being
//! created, backed up or modified is waited for first, and a change refused for a state that
//! passes is asked again), the call, and the wait until AWS shows the change.

use crate::engine::wait::{self, Check};
use crate::kinds;
use crate::model::{Attributes, LiveResource};
use crate::provider::{Operation, Provider, ProviderError};

/// The resource as updated, and whether it was stopped (it stays stopped).
pub struct Updated {
    pub resource: LiveResource,
    pub was_stopped: bool,
}

/// Change `changed` on `current` to what `desired` says, and wait until AWS shows it.
///
/// An apply interrupted after a create and before its `set_after_create` settings leaves a
/// resource the next plan updates while AWS may still be creating it; RDS refuses
/// `ModifyDBInstance` unless the instance is `available` (InvalidDBInstanceState, see
/// <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html>).
/// A stopped resource is changed as it is, without starting it, or the refusal is reported.
pub async fn update_ready(
    provider: &dyn Provider,
    op: &Operation,
    current: LiveResource,
    desired: &Attributes,
    changed: &[String],
) -> Result<Updated, ProviderError> {
    let lifecycle = kinds::lifecycle(current.address.kind);
    let was_stopped = lifecycle.is_stopped(&current.status);
    // A stuck resource (a service whose rollout failed) is left by a change: a new task
    // definition is a new deployment.
    let stuck = lifecycle.is_stuck(&current.status);
    let current = if was_stopped || stuck || lifecycle.is_ready(&current.status) {
        current
    } else {
        op.report(&format!(
            "waiting until it can be changed: it is {}",
            current.status
        ));
        wait::until_ready(provider, op, &current).await?
    };
    let what = wait::what(&current);
    let updating = wait::poll(op, &what, "accepting the change", |_| async {
        match provider.update(op, &current, desired, changed).await {
            Ok(updating) => Ok(Check::Done(updating)),
            // A stopped resource stays stopped: a refusal then will not pass by waiting.
            Err(ProviderError::InvalidState { message, .. }) if !was_stopped => Ok(Check::Pending(
                format!("AWS cannot change it yet: {message}"),
            )),
            Err(e) => Err(e),
        }
    })
    .await?;
    let resource =
        wait::until_updated(provider, op, &updating, desired, changed, was_stopped).await?;
    Ok(Updated {
        resource,
        was_stopped,
    })
}
