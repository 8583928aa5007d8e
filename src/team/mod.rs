//! A team's rules, shared by everyone who changes an environment: who holds its lock, the
//! journal of every change, which plans were already applied, and whether it is paused.
//!
//! Every command that changes AWS goes through one seam, [`Guard`]: it refuses a paused
//! environment, takes the environment's lock (or says who holds it), claims the plan's digest so
//! that one plan is applied once, and journals the outcome. Where all of that is kept is a
//! [`TeamStore`]: files under `.rehearsal/` by default ([`local::LocalStore`]), or a DynamoDB
//! table a team shares (`src/aws/team.rs`, behind the `aws` feature: this module names no SDK).

pub mod approval;
mod guard;
pub mod local;
mod record;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use thiserror::Error;

pub use guard::{Guard, digest};
pub use record::{ActionRecord, Claim, History, Identity, JournalRecord, LockRecord, Pause};
pub use record::{fresh_id as record_id, now as record_now};

/// The environment variable naming the team's DynamoDB table, for commands without a spec
/// that names one (`reap`, `history` of every environment, `destroy` from tags alone).
pub const TABLE_ENV: &str = "REHEARSAL_TEAM_TABLE";

/// Where a team's locks, journal, claims and pauses are kept.
#[async_trait]
pub trait TeamStore: Send + Sync {
    /// Where, in words: `.rehearsal/ in /work/app`, `DynamoDB table rehearsal-team`.
    fn name(&self) -> String;
    /// How long a lock lasts unless renewed; `None` when it lasts as long as the process (an OS
    /// file lock), so there is nothing to renew.
    fn lease(&self) -> Option<Duration>;
    /// Take `lock` on its environment, or hand back who holds it.
    async fn try_lock(&self, lock: &LockRecord) -> Result<Result<(), LockRecord>, TeamError>;
    /// Extend a held lock's lease; refused once another holds it.
    async fn renew(&self, lock: &LockRecord) -> Result<(), TeamError>;
    /// Let a held lock go (only if it is still this one).
    async fn release(&self, lock: &LockRecord) -> Result<(), TeamError>;
    /// Remove the lock `id` of `env`, whoever holds it; what it was.
    async fn force_unlock(&self, env: &str, id: &str) -> Result<LockRecord, TeamError>;
    async fn append(&self, record: &JournalRecord) -> Result<(), TeamError>;
    /// The journal, newest first; of one environment, or all.
    async fn history(&self, env: Option<&str>) -> Result<History, TeamError>;
    /// Claim a plan's digest for this apply; the earlier claim when another apply has it.
    async fn claim(&self, claim: &Claim) -> Result<Option<Claim>, TeamError>;
    async fn pause(&self, pause: &Pause) -> Result<(), TeamError>;
    /// Lift a pause; what it was, if there was one.
    async fn resume(&self, env: &str) -> Result<Option<Pause>, TeamError>;
    async fn paused(&self, env: &str) -> Result<Option<Pause>, TeamError>;
}

/// Who is acting, and where their team's state is kept.
#[derive(Clone)]
pub struct Team {
    pub identity: Identity,
    pub store: Arc<dyn TeamStore>,
    /// Beside a shared store, the local journal that every change is also written to.
    pub local: Option<Arc<dyn TeamStore>>,
}

impl Team {
    /// Append to the store, and to the local journal beside it.
    pub async fn append(&self, record: &JournalRecord) -> Result<(), TeamError> {
        self.store.append(record).await?;
        if let Some(local) = &self.local {
            local.append(record).await?;
        }
        Ok(())
    }
}

/// A DynamoDB table name, as AWS allows it: 3 to 255 of `a-z A-Z 0-9 _ - .`
/// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html).
pub fn check_table_name(name: &str) -> Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if (3..=255).contains(&name.len()) && ok_chars {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a DynamoDB table name: 3 to 255 letters, digits, `_`, `-` or `.`"
        ))
    }
}

#[derive(Debug, Error)]
pub enum TeamError {
    #[error(
        "{env} is locked by {} since {} ({}), lock id {}{}",
        holder.holder, holder.since, holder.purpose, holder.id,
        waited.map(|w| format!("; waited {}s for it", w.as_secs())).unwrap_or_default()
    )]
    Locked {
        env: String,
        holder: Box<LockRecord>,
        waited: Option<Duration>,
    },
    #[error("{env} is paused by {} since {}: {}", pause.by, pause.since, pause.reason)]
    Paused { env: String, pause: Box<Pause> },
    #[error(
        "this plan ({digest}) was already applied to {} by {} at {}",
        earlier.env, earlier.by, earlier.at
    )]
    AlreadyApplied { digest: String, earlier: Box<Claim> },
    #[error("{env} is not locked")]
    NotLocked { env: String },
    #[error("the lock of {env} is {}, not {given}", holder.id)]
    OtherLock {
        env: String,
        given: String,
        holder: Box<LockRecord>,
    },
    #[error(
        "the lock of {env} is held by a running process ({}, pid {} on {}): force-unlock cannot take a file lock",
        holder.purpose, holder.pid, holder.host
    )]
    HeldByRunningProcess {
        env: String,
        holder: Box<LockRecord>,
    },
    #[error("the lock of {env} was lost while {purpose} ran: {why}")]
    LockLost {
        env: String,
        purpose: String,
        why: String,
    },
    #[error("cannot use {what} ({where_}): {error}")]
    Io {
        what: &'static str,
        where_: String,
        error: std::io::Error,
    },
    #[error("the team table {table} refused {what}: {message}")]
    Table {
        table: String,
        what: &'static str,
        message: String,
    },
    #[error("cannot tell who you are: {0}")]
    Identity(String),
}

impl TeamError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            TeamError::Locked { env, holder, .. } => format!(
                "wait for it to finish, or pass --lock-timeout 5m to wait; if its holder is \
                 gone: `rehearsal force-unlock {env} {}`",
                holder.id
            ),
            TeamError::Paused { env, .. } => format!(
                "nothing changes {env} until it is resumed: `rehearsal resume {env}` (ask who \
                 paused it first)"
            ),
            TeamError::AlreadyApplied { earlier, .. } => format!(
                "`rehearsal history {}` shows it; `rehearsal plan {}` shows what is left to do",
                earlier.env, earlier.env
            ),
            TeamError::NotLocked { env } => format!("nothing to unlock: `rehearsal history {env}`"),
            TeamError::OtherLock { env, holder, .. } => format!(
                "its holder is {} ({}); if that one is stale: `rehearsal force-unlock {env} {}`",
                holder.holder, holder.purpose, holder.id
            ),
            TeamError::HeldByRunningProcess { holder, .. } => format!(
                "a file lock is released by the OS when its process ends: wait for it, or end \
                 process {} on {}",
                holder.pid, holder.host
            ),
            TeamError::LockLost { .. } => {
                "another command may have changed it too: `rehearsal history` and `rehearsal \
                 plan` show what happened"
                    .into()
            }
            TeamError::Io { .. } => {
                "check that the working directory's .rehearsal/ is writable".into()
            }
            TeamError::Table { table, .. } => format!(
                "check that {table} exists in this region with string keys pk and sk (README.md, \
                 \"A team's table\"), and that these credentials may use it"
            ),
            TeamError::Identity(_) => {
                "check the AWS credentials: `aws sts get-caller-identity`".into()
            }
        })
    }
}
