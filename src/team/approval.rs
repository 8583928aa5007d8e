//! Sign-off: a protected environment whose spec says `approvals = N` is changed only by a plan
//! that N people other than the one applying it approved (`rehearsal approve PLAN`).
//!
//! An approval is a journal record of its plan's digest (command `approve ...`, result
//! [`APPROVED`]), so it lives where the journal does: a team's table when there is one, which
//! makes an approval given on one machine count on every other.

use std::collections::BTreeMap;

use thiserror::Error;

use super::{History, Identity, JournalRecord, Team, TeamError};

/// The journal's `result` of an approval.
pub const APPROVED: &str = "approved";

/// The first word of an approval's `command`.
const COMMAND: &str = "approve";

/// Whether `record` is an approval (and not a change that carried the plan out).
pub fn is_approval(record: &JournalRecord) -> bool {
    record.result == APPROVED && record.command.split_whitespace().next() == Some(COMMAND)
}

/// The approval of `digest` by `who`, as the journal keeps it; `comment` is `--comment`.
pub fn record(
    env: &str,
    who: &Identity,
    command: &str,
    digest: &str,
    comment: Option<&str>,
) -> JournalRecord {
    debug_assert!(command.starts_with(COMMAND));
    JournalRecord {
        id: super::record_id(),
        env: env.into(),
        who: who.clone(),
        at: super::record_now(),
        command: command.into(),
        plan_digest: Some(digest.into()),
        actions: vec![],
        result: APPROVED.into(),
        exit_code: crate::exit::SUCCESS,
        duration_secs: 0.0,
        reasons: comment.map(str::to_string).into_iter().collect(),
    }
}

/// Who approved `digest`, once each (their first approval), oldest first.
pub fn approvals_of(history: &History, digest: &str) -> Vec<JournalRecord> {
    let mut first: BTreeMap<&str, &JournalRecord> = BTreeMap::new();
    // The history is newest first: the last one seen of a person is their first approval.
    for r in history
        .records
        .iter()
        .filter(|r| is_approval(r) && r.plan_digest.as_deref() == Some(digest))
    {
        first.insert(r.who.who.as_str(), r);
    }
    let mut approvals: Vec<JournalRecord> = first.into_values().cloned().collect();
    approvals.sort_by(|a, b| a.at.cmp(&b.at));
    approvals
}

/// The change that carried `digest` out (or tried to), if one was journaled.
pub fn carried_out(history: &History, digest: &str) -> Option<JournalRecord> {
    history
        .records
        .iter()
        .find(|r| !is_approval(r) && r.plan_digest.as_deref() == Some(digest))
        .cloned()
}

/// Refuse `plan` unless its spec's `approvals` people other than the one applying it
/// approved its digest. Called under the lock, before the plan is claimed. A safety snapshot
/// (`rehearsal snapshot`) needs none: it deploys nothing, and it is what the checklist takes
/// "just to be safe" before a release is even planned.
pub async fn require_for(
    guard: &super::Guard,
    plan: &crate::plan::Plan,
    spec: Option<&crate::spec::Spec>,
) -> Result<(), Error> {
    if plan.is_snapshot() {
        return Ok(());
    }
    let required = spec.or(plan.spec.as_ref()).map_or(0, |s| s.approvals);
    require(guard.team(), &plan.env.name, &super::digest(plan), required).await
}

/// Refuse `digest` unless `required` people other than the team's identity approved it. People
/// are told apart by their identity's ARN; an assumed role's ends in a session name the caller
/// chooses, which the role's trust policy binds to the person (README.md, "Sign-off").
pub async fn require(team: &Team, env: &str, digest: &str, required: u32) -> Result<(), Error> {
    if required == 0 {
        return Ok(());
    }
    let history = team.store.history(Some(env)).await?;
    let approvals = approvals_of(&history, digest);
    // Approvals STS vouched for are weighed only against an applier it vouched for too: one
    // journaled as the local user (STS unreachable) might be any of the approvers.
    if team.identity.account.is_none() && approvals.iter().any(|a| a.who.account.is_some()) {
        return Err(Error::Unverified(format!(
            "{} is not an identity from STS, so its own approval cannot be told apart",
            team.identity
        )));
    }
    let counted = approvals
        .iter()
        .filter(|a| a.who.who != team.identity.who)
        .count();
    if counted >= required as usize {
        return Ok(());
    }
    Err(Error::NotApproved {
        env: env.into(),
        digest: digest.into(),
        required,
        applier: team.identity.who.clone(),
        approvers: approvals.iter().map(|a| a.who.who.clone()).collect(),
        missing: required as usize - counted,
    })
}

#[derive(Debug, Error)]
pub enum Error {
    #[error(
        "{env} needs {} of this plan ({digest}) by someone other than {applier}; {}: {} more needed",
        crate::english::count(*required as usize, "approval"),
        approved_by(approvers),
        missing
    )]
    NotApproved {
        env: String,
        digest: String,
        required: u32,
        /// Who tried to carry it out: their own approval does not count.
        applier: String,
        /// Everyone who approved it, the applier too.
        approvers: Vec<String>,
        missing: usize,
    },
    #[error(
        "this plan ({digest}) was already carried out on {} by {} at {} ({}): there is nothing left to approve",
        done.env, done.who, done.at, done.result
    )]
    AlreadyCarriedOut {
        digest: String,
        done: Box<JournalRecord>,
    },
    #[error("an approval must say who gives it, and AWS could not: {0}")]
    Unverified(String),
    #[error(transparent)]
    Team(#[from] TeamError),
}

fn approved_by(approvers: &[String]) -> String {
    if approvers.is_empty() {
        "no one approved it".into()
    } else {
        format!("approved by {}", approvers.join(", "))
    }
}

impl Error {
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::NotApproved { .. } => Some(
                "ask another person to review and sign it off: `rehearsal approve PLAN`; a \
                 plan made now (`apply ENV`, `rollback ENV`) has no approvals: save it with \
                 `rehearsal plan ENV` (or `rollback ENV --out FILE`), have it approved, then \
                 `rehearsal apply FILE`"
                    .into(),
            ),
            Error::AlreadyCarriedOut { done, .. } => Some(format!(
                "`rehearsal history {}` shows it; approve a new plan: `rehearsal plan {}`",
                done.env, done.env
            )),
            Error::Unverified(_) => {
                Some("check the AWS credentials: `aws sts get-caller-identity`".into())
            }
            Error::Team(e) => e.hint(),
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Error::NotApproved { .. } => crate::exit::NOT_APPROVED,
            Error::AlreadyCarriedOut { .. } => crate::exit::REPLAN,
            Error::Unverified(_) => crate::exit::ERROR,
            Error::Team(_) => crate::exit::ERROR,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(who: &str) -> Identity {
        Identity {
            who: who.into(),
            account: None,
        }
    }

    fn history(records: Vec<JournalRecord>) -> History {
        let mut records = records;
        records.reverse();
        History {
            records,
            unreadable: 0,
        }
    }

    #[test]
    fn each_person_counts_once_and_only_for_the_digest_they_approved() {
        let mut first = record("production", &person("bob"), "approve p", "d1", None);
        first.at = "2026-12-06T10:00:00Z".into();
        let mut again = record(
            "production",
            &person("bob"),
            "approve p",
            "d1",
            Some("again"),
        );
        again.at = "2026-12-06T11:00:00Z".into();
        let other = record("production", &person("carol"), "approve p", "d2", None);
        let approvals = approvals_of(&history(vec![first.clone(), again, other]), "d1");
        assert_eq!(approvals, vec![first]);
    }

    #[test]
    fn a_change_with_the_digest_is_no_approval() {
        let mut apply = record("production", &person("bob"), "approve p", "d1", None);
        apply.command = "apply p".into();
        apply.result = "succeeded".into();
        let h = history(vec![apply.clone()]);
        assert!(approvals_of(&h, "d1").is_empty());
        assert_eq!(carried_out(&h, "d1"), Some(apply));
    }
}
