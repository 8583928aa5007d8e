//! Waiting for AWS, written once for every kind and both providers: describe, classify the
//! state with the kind's lifecycle (`kinds::lifecycle`), pause, again, until the goal is
//! reached, a state that cannot lead there shows, or the operation's timeout passes.
//!
//! Why not the SDK's generated waiters: their delays come from the service model, and for RDS
//! they grow to 30 minutes between polls (`wait_until_db_instance_available` sets a max delay
//! of 1800 s), so a database ready at minute 18 may be noticed at minute 32. Here the pause
//! grows with the time already waited, a twentieth of it, from 1 s to at most 60 s: readiness is
//! noticed at most about 5% late (a minute for waits over 20 minutes). The price is polls: about
//! 60 describe calls for a 10-minute restore, which is far below any API rate limit.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use serde_json::Value;

use crate::kinds;
use crate::model::{Attributes, EnvId, LiveResource};
use crate::plan::diff;
use crate::provider::{Operation, Provider, ProviderError};

/// The shortest and longest pause between two polls.
pub const MIN_PAUSE: Duration = Duration::from_secs(1);
pub const MAX_PAUSE: Duration = Duration::from_secs(60);

/// How long a resource that was just created may stay invisible to a describe: AWS's APIs are
/// eventually consistent (`consistency.not_found_after_create` in the lifecycle table, with a
/// wide margin, since AWS gives no bound).
pub fn not_found_grace() -> Duration {
    Duration::from_secs(kinds::consistency().not_found_after_create * 12)
}

/// The pause after having waited `elapsed`.
pub fn pause_after(elapsed: Duration) -> Duration {
    (elapsed / 20).clamp(MIN_PAUSE, MAX_PAUSE)
}

/// What one look found.
pub enum Check<T> {
    Done(T),
    /// Not there yet; the state AWS reports, shown to the user when it changes.
    Pending(String),
}

/// Poll `check` until it is done, it fails, or `op.timeout` has passed since the start. `check`
/// gets the time waited so far. `what` and `target` name the wait in a timeout error.
pub async fn poll<T, F, Fut>(
    op: &Operation,
    what: &str,
    target: &str,
    mut check: F,
) -> Result<T, ProviderError>
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = Result<Check<T>, ProviderError>>,
{
    let started = Instant::now();
    let mut last_state: Option<String> = None;
    loop {
        match check(started.elapsed()).await? {
            Check::Done(value) => return Ok(value),
            Check::Pending(state) => {
                if last_state.as_deref() != Some(state.as_str()) {
                    op.report(&state);
                    last_state = Some(state);
                }
            }
        }
        let elapsed = started.elapsed();
        if elapsed >= op.timeout {
            return Err(ProviderError::Timeout {
                what: what.to_string(),
                target: target.to_string(),
                after: op.timeout,
                last_state,
            });
        }
        // The last pause ends exactly at the timeout, for one last look.
        tokio::time::sleep(pause_after(elapsed).min(op.timeout - elapsed)).await;
    }
}

/// `rds_instance.db (prerelease-db)`: how errors and progress name a resource.
pub fn what(resource: &LiveResource) -> String {
    format!("{} ({})", resource.address, resource.id)
}

/// The resource as AWS describes it now, or `None` if AWS does not know it.
pub async fn describe_one(
    provider: &dyn Provider,
    env: &EnvId,
    resource: &LiveResource,
) -> Result<Option<LiveResource>, ProviderError> {
    Ok(provider
        .describe(env, std::slice::from_ref(resource))
        .await?
        .into_iter()
        .next()
        .flatten())
}

/// Wait until a resource is usable (its kind's `ready` state). A failure state, or the
/// resource going away, ends the wait at once. Right after a create a describe may not find
/// it yet; that is tolerated for [`not_found_grace`].
pub async fn until_ready(
    provider: &dyn Provider,
    op: &Operation,
    resource: &LiveResource,
) -> Result<LiveResource, ProviderError> {
    let lifecycle = kinds::lifecycle(resource.address.kind);
    let what = what(resource);
    let grace = not_found_grace();
    let target = lifecycle.ready.as_str();
    poll(op, &what, target, |elapsed| {
        let what = what.clone();
        async move {
            match describe_one(provider, &op.env, resource).await? {
                None if elapsed < grace => Ok(Check::Pending("not visible yet".into())),
                None => Err(ProviderError::NotFound { what }),
                Some(live) if lifecycle.is_ready(&live.status) => Ok(Check::Done(live)),
                Some(live) => classify(live, lifecycle, what, target),
            }
        }
    })
    .await
    .inspect(|live| op.report(&live.status))
}

/// A state that is not the goal: worth waiting for, or the end of the wait.
fn classify<T>(
    live: LiveResource,
    lifecycle: &kinds::Lifecycle,
    what: String,
    target: &str,
) -> Result<Check<T>, ProviderError> {
    if lifecycle.is_stuck(&live.status) {
        let events = live
            .attributes
            .get("events")
            .and_then(Value::as_array)
            .map(|e| {
                e.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        return Err(ProviderError::Stuck {
            what,
            state: live.status,
            target: target.to_string(),
            events,
        });
    }
    if lifecycle.is_failed(&live.status) || lifecycle.is_going_away(&live.status) {
        return Err(ProviderError::FailedState {
            what,
            state: live.status,
            target: target.to_string(),
        });
    }
    // Stopped does not become ready by itself, and rehearsal does not start what someone
    // stopped: waiting would last until the timeout.
    if lifecycle.is_stopped(&live.status) {
        return Err(ProviderError::InvalidState {
            what,
            state: live.status,
            message: "it was stopped, and rehearsal does not start what someone stopped; start \
                      it, or destroy the environment, and run the command again"
                .into(),
        });
    }
    Ok(Check::Pending(live.status))
}

/// Wait until an update shows: the resource ready again, none of the `changed` attributes still
/// pending (AWS lists a modification as pending before it starts: right after
/// ModifyDBInstance a database still reports `available`), and each showing its `desired` value.
/// A resource that was stopped before the update may stay stopped. A value that still differs
/// once nothing is pending is accepted after a short grace (AWS may show it in another form);
/// the next plan shows any difference that is real.
pub async fn until_updated(
    provider: &dyn Provider,
    op: &Operation,
    resource: &LiveResource,
    desired: &Attributes,
    changed: &[String],
    was_stopped: bool,
) -> Result<LiveResource, ProviderError> {
    let kind = kinds::describe(resource.address.kind);
    let lifecycle = kinds::lifecycle(resource.address.kind);
    let what = what(resource);
    let target = lifecycle.ready.as_str();
    let grace = not_found_grace();
    // Since when nothing was pending any more.
    let settled_since: Mutex<Option<Duration>> = Mutex::new(None);
    poll(op, &what, target, |elapsed| {
        let what = what.clone();
        let settled = &settled_since;
        async move {
            let Some(live) = describe_one(provider, &op.env, resource).await? else {
                return Err(ProviderError::NotFound { what });
            };
            let stopped_as_before = was_stopped && lifecycle.is_stopped(&live.status);
            if !lifecycle.is_ready(&live.status) && !stopped_as_before {
                return classify(live, lifecycle, what, target);
            }
            let pending: Vec<&str> = pending_changes(&live)
                .filter(|p| changed.iter().any(|c| c == p))
                .collect();
            if !pending.is_empty() {
                return Ok(Check::Pending(format!("{} pending", pending.join(", "))));
            }
            let shows = changed.iter().all(|name| {
                desired.get(name).is_none_or(|want| {
                    live.attributes
                        .get(name)
                        .is_some_and(|have| diff::matches(kind, name, want, have))
                })
            });
            let since = *settled.lock().unwrap().get_or_insert(elapsed);
            if shows || elapsed.saturating_sub(since) >= grace {
                return Ok(Check::Done(live));
            }
            Ok(Check::Pending("waiting for the change to show".into()))
        }
    })
    .await
    .inspect(|live| op.report(&live.status))
}

/// The attributes AWS still lists as pending on a resource (`pending` in its attributes).
pub fn pending_changes(live: &LiveResource) -> impl Iterator<Item = &str> {
    live.attributes
        .get(PENDING)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// The attribute in which a provider lists the changes AWS has accepted but not made yet.
pub const PENDING: &str = "pending";

/// The attribute a provider sets when changes wait for a reboot of the resource.
pub const PENDING_REBOOT: &str = "pending_reboot";

/// Wait until a deleted resource is gone: not found, or in its kind's `gone` state.
pub async fn until_gone(
    provider: &dyn Provider,
    op: &Operation,
    resource: &LiveResource,
) -> Result<(), ProviderError> {
    let lifecycle = kinds::lifecycle(resource.address.kind);
    let what = what(resource);
    let target = lifecycle.gone_state().unwrap_or("deleted");
    poll(op, &what, target, |_| async move {
        match describe_one(provider, &op.env, resource).await? {
            None => Ok(Check::Done(())),
            Some(live) if lifecycle.is_gone(&live.status) => Ok(Check::Done(())),
            Some(live) => Ok(Check::Pending(live.status)),
        }
    })
    .await?;
    op.report(target);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_with_the_wait_and_stay_bounded() {
        assert_eq!(pause_after(Duration::ZERO), MIN_PAUSE);
        assert_eq!(
            pause_after(Duration::from_secs(200)),
            Duration::from_secs(10)
        );
        assert_eq!(pause_after(Duration::from_secs(3 * 3600)), MAX_PAUSE);
    }
}
