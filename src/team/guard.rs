//! The one seam every command that changes AWS goes through: [`Guard::acquire`] before the
//! change, [`Guard::finish`] after it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::record::{fresh_id, now};
use super::{ActionRecord, Claim, JournalRecord, LockRecord, Team, TeamError};
use crate::plan::Plan;

/// An environment's lock, held; and the journal record of what is done under it.
pub struct Guard {
    team: Team,
    lock: LockRecord,
    record: JournalRecord,
    started: Instant,
    /// Renews a shared store's lease while the command runs.
    renewal: Option<tokio::task::JoinHandle<()>>,
    /// Why the lease could not be renewed, if it could not.
    lost: Arc<Mutex<Option<String>>>,
}

/// How often a lock is asked for again while `--lock-timeout` waits.
const POLL: Duration = Duration::from_millis(500);

impl Guard {
    /// Take `env`'s lock for `command`, waiting up to `timeout` for its holder to let it go.
    /// A paused environment is refused, before and after waiting.
    pub async fn acquire(
        team: Team,
        env: &str,
        command: &str,
        timeout: Duration,
    ) -> Result<Guard, TeamError> {
        refuse_if_paused(&team, env).await?;
        let lock = LockRecord::new(env, &team.identity, command);
        let started = Instant::now();
        loop {
            match team.store.try_lock(&lock).await? {
                Ok(()) => break,
                Err(holder) if started.elapsed() >= timeout => {
                    return Err(TeamError::Locked {
                        env: env.into(),
                        holder: Box::new(holder),
                        waited: (!timeout.is_zero()).then_some(timeout),
                    });
                }
                Err(holder) => {
                    tracing::info!(env, holder = %holder.holder, "waiting for the lock");
                    let left = timeout.saturating_sub(started.elapsed());
                    tokio::time::sleep(POLL.min(left)).await;
                }
            }
        }
        // Paused while this one waited: the pause wins.
        if let Err(e) = refuse_if_paused(&team, env).await {
            team.store.release(&lock).await?;
            return Err(e);
        }
        let lost = Arc::new(Mutex::new(None));
        let renewal = team.store.lease().map(|lease| {
            let (store, lock, lost) = (team.store.clone(), lock.clone(), lost.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(lease / 3).await;
                    if let Err(e) = store.renew(&lock).await {
                        *lost.lock().expect("not poisoned") = Some(e.to_string());
                        return;
                    }
                }
            })
        });
        let record = JournalRecord {
            id: fresh_id(),
            env: env.into(),
            who: team.identity.clone(),
            at: now(),
            command: command.into(),
            plan_digest: None,
            actions: vec![],
            result: String::new(),
            exit_code: 0,
            duration_secs: 0.0,
            reasons: vec![],
        };
        Ok(Guard {
            team,
            lock,
            record,
            started: Instant::now(),
            renewal,
            lost,
        })
    }

    /// Who acts, and where their team's state is kept.
    pub fn team(&self) -> &Team {
        &self.team
    }

    /// The lock held.
    pub fn lock(&self) -> &LockRecord {
        &self.lock
    }

    /// Record the plan carried out: its digest and its actions.
    pub fn plan(&mut self, plan: &Plan) {
        self.record.plan_digest = Some(digest(plan));
        self.record.actions = ActionRecord::of(plan);
    }

    /// Claim `plan` for this apply (and record it): refused if any apply, from any machine
    /// sharing the store, claimed it before.
    pub async fn claim(&mut self, plan: &Plan) -> Result<(), TeamError> {
        self.plan(plan);
        let claim = Claim {
            digest: digest(plan),
            env: self.record.env.clone(),
            by: self.team.identity.clone(),
            at: now(),
        };
        match self.team.store.claim(&claim).await? {
            None => Ok(()),
            Some(earlier) => Err(TeamError::AlreadyApplied {
                digest: claim.digest,
                earlier: Box::new(earlier),
            }),
        }
    }

    /// A reason the person gave (`--override-window "..."`), journaled with the change.
    pub fn reason(&mut self, reason: impl Into<String>) {
        self.record.reasons.push(reason.into());
    }

    /// Record how the change got past its window: an `--override-window` reason is journaled.
    pub fn passed(&mut self, passage: &crate::rules::Passage) {
        if let Some(reason) = passage.journaled() {
            self.reason(reason);
        }
    }

    /// Journal the outcome (`result`: `succeeded` or the error) and let the lock go. The lock
    /// is released even when the journal cannot be written.
    pub async fn finish(mut self, result: &str, exit_code: u8) -> Result<(), TeamError> {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
        self.record.result = result.to_string();
        self.record.exit_code = exit_code;
        self.record.duration_secs = self.started.elapsed().as_secs_f64();
        let lost = self.lost.lock().expect("not poisoned").take();
        if let Some(why) = &lost {
            self.record
                .result
                .push_str(&format!(" (the lock was lost: {why})"));
        }
        let journaled = self.team.append(&self.record).await;
        let released = self.team.store.release(&self.lock).await;
        journaled?;
        released?;
        match lost {
            Some(why) => Err(TeamError::LockLost {
                env: self.record.env.clone(),
                purpose: self.record.command.clone(),
                why,
            }),
            None => Ok(()),
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
    }
}

/// A plan's digest, as claimed and journaled: the same for every copy of one plan file, and
/// different for every plan made (see [`Plan::token_seed`]).
pub fn digest(plan: &Plan) -> String {
    plan.token_seed()
}

async fn refuse_if_paused(team: &Team, env: &str) -> Result<(), TeamError> {
    match team.store.paused(env).await? {
        Some(pause) => Err(TeamError::Paused {
            env: env.into(),
            pause: Box::new(pause),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::team::{History, Identity, Pause, TeamStore};

    /// A shared store in memory, with a lease like the table's.
    #[derive(Default)]
    struct Shared {
        lock: Mutex<Option<LockRecord>>,
        renewals: Mutex<usize>,
        /// Another command took the lock over: renewals are refused.
        taken_over: Mutex<bool>,
        journal: Mutex<Vec<JournalRecord>>,
        pause: Mutex<Option<Pause>>,
    }

    #[async_trait]
    impl TeamStore for Shared {
        fn name(&self) -> String {
            "memory".into()
        }
        fn lease(&self) -> Option<Duration> {
            Some(Duration::from_secs(60))
        }
        async fn try_lock(&self, lock: &LockRecord) -> Result<Result<(), LockRecord>, TeamError> {
            let mut held = self.lock.lock().unwrap();
            match &*held {
                Some(holder) => Ok(Err(holder.clone())),
                None => {
                    *held = Some(lock.clone());
                    Ok(Ok(()))
                }
            }
        }
        async fn renew(&self, lock: &LockRecord) -> Result<(), TeamError> {
            if *self.taken_over.lock().unwrap() {
                return Err(TeamError::LockLost {
                    env: lock.env.clone(),
                    purpose: lock.purpose.clone(),
                    why: "taken over".into(),
                });
            }
            *self.renewals.lock().unwrap() += 1;
            Ok(())
        }
        async fn release(&self, _lock: &LockRecord) -> Result<(), TeamError> {
            *self.lock.lock().unwrap() = None;
            Ok(())
        }
        async fn force_unlock(&self, env: &str, _id: &str) -> Result<LockRecord, TeamError> {
            Err(TeamError::NotLocked { env: env.into() })
        }
        async fn append(&self, record: &JournalRecord) -> Result<(), TeamError> {
            self.journal.lock().unwrap().push(record.clone());
            Ok(())
        }
        async fn history(&self, _env: Option<&str>) -> Result<History, TeamError> {
            Ok(History::default())
        }
        async fn claim(&self, _claim: &Claim) -> Result<Option<Claim>, TeamError> {
            Ok(None)
        }
        async fn pause(&self, pause: &Pause) -> Result<(), TeamError> {
            *self.pause.lock().unwrap() = Some(pause.clone());
            Ok(())
        }
        async fn resume(&self, _env: &str) -> Result<Option<Pause>, TeamError> {
            Ok(self.pause.lock().unwrap().take())
        }
        async fn paused(&self, _env: &str) -> Result<Option<Pause>, TeamError> {
            Ok(self.pause.lock().unwrap().clone())
        }
    }

    fn team(store: &Arc<Shared>) -> Team {
        Team {
            identity: Identity {
                who: "arn:aws:iam::1:user/ci".into(),
                account: None,
            },
            store: store.clone(),
            local: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_leased_lock_is_renewed_every_third_of_its_lease_until_finished() {
        let store = Arc::new(Shared::default());
        let guard = Guard::acquire(team(&store), "staging", "apply", Duration::ZERO)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(61)).await;
        assert_eq!(*store.renewals.lock().unwrap(), 3, "at 20 s, 40 s and 60 s");
        guard.finish("succeeded", 0).await.unwrap();
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert_eq!(
            *store.renewals.lock().unwrap(),
            3,
            "no renewal once released"
        );
        assert_eq!(*store.lock.lock().unwrap(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_lease_taken_over_is_reported_and_journaled() {
        let store = Arc::new(Shared::default());
        let guard = Guard::acquire(team(&store), "staging", "apply", Duration::ZERO)
            .await
            .unwrap();
        *store.taken_over.lock().unwrap() = true;
        tokio::time::sleep(Duration::from_secs(21)).await;
        let finished = guard.finish("succeeded", 0).await;
        assert!(
            matches!(finished, Err(TeamError::LockLost { .. })),
            "{finished:?}"
        );
        let journal = store.journal.lock().unwrap();
        assert!(
            journal[0].result.contains("the lock was lost"),
            "{}",
            journal[0].result
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_set_while_waiting_for_the_lock_wins() {
        let store = Arc::new(Shared::default());
        let holder = Guard::acquire(team(&store), "staging", "destroy", Duration::ZERO)
            .await
            .unwrap();
        let waiting = tokio::spawn({
            let team = team(&store);
            async move { Guard::acquire(team, "staging", "apply", Duration::from_secs(30)).await }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        store
            .pause(&Pause {
                env: "staging".into(),
                by: team(&store).identity,
                since: now(),
                reason: "incident".into(),
            })
            .await
            .unwrap();
        holder.finish("succeeded", 0).await.unwrap();
        let waited = waiting.await.unwrap();
        assert!(matches!(waited, Err(TeamError::Paused { .. })));
        assert_eq!(
            *store.lock.lock().unwrap(),
            None,
            "it let the lock go again"
        );
    }
}
