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
    ready_and_judged(provider, op, resource, None).await
}

/// Wait until a resource just created is usable and runs what was asked of it: ready, and
/// its kind's [`kinds::Kind::verdict`] on `desired` says done (an ECS service on the task
/// definition that was asked, not one its circuit breaker rolled back to).
pub async fn until_running(
    provider: &dyn Provider,
    op: &Operation,
    resource: &LiveResource,
    desired: &Attributes,
) -> Result<LiveResource, ProviderError> {
    ready_and_judged(provider, op, resource, Some(desired)).await
}

async fn ready_and_judged(
    provider: &dyn Provider,
    op: &Operation,
    resource: &LiveResource,
    desired: Option<&Attributes>,
) -> Result<LiveResource, ProviderError> {
    let lifecycle = kinds::lifecycle(resource.address.kind);
    let what = what(resource);
    let grace = not_found_grace();
    let target = lifecycle.ready.as_str();
    let judge = Judge::new(resource, desired);
    poll(op, &what, target, |elapsed| {
        let what = what.clone();
        let judge = &judge;
        async move {
            match describe_one(provider, &op.env, resource).await? {
                None if elapsed < grace => Ok(Check::Pending("not visible yet".into())),
                None => Err(ProviderError::NotFound { what }),
                Some(live) if lifecycle.is_ready(&live.status) => judge.ready(live, elapsed),
                Some(live) => judge.not_ready(live, lifecycle, what, target),
            }
        }
    })
    .await
    .inspect(|live| op.report(&live.status))
}

/// A kind's verdict on a resource AWS reports ready, for one wait: when the change was asked
/// (so that what AWS reported about an earlier one is not held against it), and since when the
/// resource has been ready without the verdict saying done.
struct Judge<'a> {
    verdict: Option<(&'static kinds::Judgement, &'a Attributes)>,
    since: kinds::Since,
    ready_since: Mutex<Option<Duration>>,
}

impl<'a> Judge<'a> {
    fn new(resource: &LiveResource, desired: Option<&'a Attributes>) -> Self {
        let verdict = kinds::describe(resource.address.kind).verdict;
        Judge {
            verdict: verdict.zip(desired),
            since: kinds::now(),
            ready_since: Mutex::new(None),
        }
    }

    /// A state that is not ready: a stuck one (a `FAILED` deployment) is named by the kind's
    /// verdict when it has one, which says what runs instead; the rest as [`classify`] says.
    fn not_ready(
        &self,
        live: LiveResource,
        lifecycle: &kinds::Lifecycle,
        what: String,
        target: &str,
    ) -> Result<Check<LiveResource>, ProviderError> {
        if let Some((verdict, desired)) = self.verdict
            && lifecycle.is_stuck(&live.status)
            && let kinds::Verdict::Failed(why) = (verdict.judge)(desired, &live, self.since)
        {
            return Err(ProviderError::NotAsAsked {
                what,
                why,
                events: live.events(),
            });
        }
        classify(live, lifecycle, what, target)
    }

    /// Done, not yet, or failed: a verdict still pending [`not_found_grace`] after the
    /// resource was first seen ready fails, since AWS shows a change it accepted well within
    /// that, and a wrong revision must never pass for the asked one.
    fn ready(
        &self,
        live: LiveResource,
        elapsed: Duration,
    ) -> Result<Check<LiveResource>, ProviderError> {
        let Some((verdict, desired)) = self.verdict else {
            return Ok(Check::Done(live));
        };
        let why = match (verdict.judge)(desired, &live, self.since) {
            kinds::Verdict::Done => return Ok(Check::Done(live)),
            kinds::Verdict::Pending(now) => {
                let first = *self.ready_since.lock().unwrap().get_or_insert(elapsed);
                if elapsed.saturating_sub(first) < not_found_grace() {
                    return Ok(Check::Pending(now));
                }
                format!(
                    "it {now}, and AWS still showed no sign of the change after {}",
                    crate::spec::duration::format(not_found_grace())
                )
            }
            kinds::Verdict::Failed(why) => why,
        };
        Err(ProviderError::NotAsAsked {
            what: what(&live),
            why,
            events: live.events(),
        })
    }
}

/// A state that is not the goal: worth waiting for, or the end of the wait.
fn classify<T>(
    live: LiveResource,
    lifecycle: &kinds::Lifecycle,
    what: String,
    target: &str,
) -> Result<Check<T>, ProviderError> {
    if lifecycle.is_stuck(&live.status) {
        return Err(ProviderError::Stuck {
            what,
            events: live.events(),
            state: live.status,
            target: target.to_string(),
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
/// A resource that was stopped before the update may stay stopped. For a kind with a
/// [`kinds::Kind::verdict`], the verdict decides once nothing is pending (a rolled-back
/// deployment fails the update). For the others, a value that still differs once nothing is
/// pending is accepted after a short grace (AWS may show it in another form); the next plan
/// shows any difference that is real.
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
    let judge = Judge::new(resource, Some(desired));
    poll(op, &what, target, |elapsed| {
        let what = what.clone();
        let settled = &settled_since;
        let judge = &judge;
        async move {
            let Some(live) = describe_one(provider, &op.env, resource).await? else {
                return Err(ProviderError::NotFound { what });
            };
            let stopped_as_before = was_stopped && lifecycle.is_stopped(&live.status);
            if !lifecycle.is_ready(&live.status) && !stopped_as_before {
                return judge.not_ready(live, lifecycle, what, target);
            }
            let pending: Vec<&str> = pending_changes(&live)
                .filter(|p| changed.iter().any(|c| c == p))
                .collect();
            if !pending.is_empty() {
                return Ok(Check::Pending(format!("{} pending", pending.join(", "))));
            }
            if judge.verdict.is_some() {
                return judge.ready(live, elapsed);
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
