//! What a team's store holds: locks, journal records, claims of applied plans, pauses. Each is
//! JSON in the store, so a file and a table hold the same thing.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::plan::{ActionKind, Plan};

/// Who acts: the caller's AWS identity (its ARN, from STS), or the local user where there is
/// no AWS (the fake cloud).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `arn:aws:iam::123456789012:user/alice`, or `alice@build-7`.
    pub who: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

impl Identity {
    /// The user running this process on this machine: `USER@HOST`.
    pub fn local_user() -> Identity {
        let user = ["USER", "LOGNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
            .unwrap_or_else(|| "unknown user".into());
        Identity {
            who: format!("{user}@{}", host()),
            account: None,
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.who)
    }
}

/// This machine's name, as the kernel has it.
pub fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown host".into())
}

/// Now, as RFC 3339 in UTC (sorts as text).
pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("formats")
}

/// A fresh identifier: a lock's, a journal record's.
pub fn fresh_id() -> String {
    use sha2::{Digest, Sha256};
    let seed = format!(
        "{}/{}/{:?}",
        std::process::id(),
        time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
        std::thread::current().id()
    );
    hex::encode(&Sha256::digest(seed)[..6])
}

/// Who holds an environment's lock, since when, for what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    pub id: String,
    pub env: String,
    pub holder: Identity,
    pub since: String,
    /// The command: `apply plans/production.plan.json`.
    pub purpose: String,
    pub pid: u32,
    pub host: String,
    /// A shared store's lease: the lock is anyone's after this (Unix seconds), unless renewed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_expires: Option<i64>,
}

impl LockRecord {
    pub fn new(env: &str, holder: &Identity, purpose: &str) -> LockRecord {
        LockRecord {
            id: fresh_id(),
            env: env.to_string(),
            holder: holder.clone(),
            since: now(),
            purpose: purpose.to_string(),
            pid: std::process::id(),
            host: host(),
            lease_expires: None,
        }
    }
}

/// One change, as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalRecord {
    pub id: String,
    pub env: String,
    pub who: Identity,
    /// When it started.
    pub at: String,
    /// The command: `apply plans/production.plan.json`, `destroy prerelease`.
    pub command: String,
    /// The digest of the plan carried out, if there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<ActionRecord>,
    /// `succeeded`, or the error it ended with.
    pub result: String,
    pub exit_code: u8,
    pub duration_secs: f64,
    /// What the person gave as reasons: `--override-window "..."`, `--reason`, and so on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

/// One action of a plan: what it acts on, and each attribute from before to after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRecord {
    pub address: String,
    pub action: ActionKind,
    /// The live object acted on (update, replace, delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// `image: "server:3.1" → "server:3.2"`, one per changed attribute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
}

impl ActionRecord {
    /// The actions of `plan`, as the journal keeps them.
    pub fn of(plan: &Plan) -> Vec<ActionRecord> {
        let shown = |v: &Option<serde_json::Value>| match v {
            Some(v) => clip(&serde_json::to_string(v).unwrap_or_default()),
            None => "(known after apply)".to_string(),
        };
        plan.actions
            .iter()
            .map(|a| ActionRecord {
                address: a.address.to_string(),
                action: a.action,
                before: a.live.as_ref().map(|l| l.id.clone()),
                changes: a
                    .changes
                    .iter()
                    .map(|c| format!("{}: {} → {}", c.name, shown(&c.before), shown(&c.after)))
                    .collect(),
            })
            .collect()
    }
}

/// A long value (a whole document) is kept short in the journal: the plan holds it whole.
fn clip(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// An apply's claim on a plan's digest: the first one wins, every later one is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub digest: String,
    pub env: String,
    pub by: Identity,
    pub at: String,
}

/// A paused environment: who paused it, when, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    pub env: String,
    pub by: Identity,
    pub since: String,
    pub reason: String,
}

/// The journal, newest first, and how many of its entries could not be read.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub records: Vec<JournalRecord>,
    pub unreadable: usize,
}
