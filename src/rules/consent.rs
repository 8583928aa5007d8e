//! Consent for what cannot be undone. In a protected environment (staging, production: "a
//! sacred place", seed 003) a plan that deletes or replaces anything goes ahead only when each
//! such address is named with `--allow-destroy ADDRESS`; the consent is recorded in the plan.
//!
//! Routine retention is not asked about: the deletes of task-definition revisions beyond
//! `keep_revisions` and of safety snapshots beyond `[snapshots] keep` are what the spec itself
//! declares, release after release (a staging version bump makes one each time). They are
//! still shown and counted (see [`Destructions`]).

use std::fmt::Write as _;

use thiserror::Error;

use crate::english::count;
use crate::model::Address;
use crate::plan::{ActionKind, Plan, PlannedAction, Reason};

/// Whether `action` deletes or replaces what exists.
pub fn destroys(action: &PlannedAction) -> bool {
    matches!(action.action, ActionKind::Delete | ActionKind::Replace)
}

/// Whether `action` is a delete the spec declared as retention: a revision beyond
/// `keep_revisions`, a safety snapshot beyond `[snapshots] keep`.
pub fn is_retention(action: &PlannedAction) -> bool {
    action.action == ActionKind::Delete
        && matches!(
            action.reason,
            Reason::OlderThanKept { .. } | Reason::Pruned { .. }
        )
}

/// Whether what `action` deletes or replaces holds data (its kind's `holds_data`).
pub fn holds_data(action: &PlannedAction) -> bool {
    destroys(action)
        && crate::kinds::describe(action.address.kind)
            .holds_data
            .is_some()
}

/// The deletes and replaces that need consent in `plan`: none unless it is protected.
pub fn needed(plan: &Plan) -> Vec<&PlannedAction> {
    if !plan.protected {
        return vec![];
    }
    plan.actions
        .iter()
        .filter(|a| destroys(a) && !is_retention(a))
        .collect()
}

/// Check the consent `given` (and what `plan` recorded) against what it needs: the addresses
/// consented to, to record in the plan, or every address still missing.
pub fn check(plan: &Plan, given: &[Address]) -> Result<Vec<Address>, ConsentNeeded> {
    let needed = needed(plan);
    let consented = |a: &Address| given.contains(a) || plan.consent.contains(a);
    let missing: Vec<Missing> = needed
        .iter()
        .filter(|a| !consented(&a.address))
        .map(|a| Missing {
            address: a.address.clone(),
            action: a.action,
            data: data_goes(a),
        })
        .collect();
    if !missing.is_empty() {
        return Err(ConsentNeeded {
            env: plan.env.name.clone(),
            missing,
        });
    }
    Ok(needed
        .iter()
        .map(|a| a.address.clone())
        .filter(|a| consented(a))
        .collect())
}

/// One delete or replace no one consented to.
#[derive(Debug, Clone, PartialEq)]
pub struct Missing {
    pub address: Address,
    pub action: ActionKind,
    /// What data goes with it, for a kind that holds data.
    pub data: Option<String>,
}

/// A protected environment's plan deletes or replaces what no `--allow-destroy` named.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{}", self.message())]
pub struct ConsentNeeded {
    pub env: String,
    pub missing: Vec<Missing>,
}

impl ConsentNeeded {
    fn message(&self) -> String {
        let mut out = format!(
            "{} is protected, and this plan would delete or replace {} no one consented to:",
            self.env,
            count(self.missing.len(), "resource")
        );
        for m in &self.missing {
            let verb = match m.action {
                ActionKind::Replace => "replace",
                _ => "delete",
            };
            let _ = write!(out, "\n  {verb} {}", m.address);
            if let Some(data) = &m.data {
                let _ = write!(out, ": {data}");
            }
        }
        out
    }

    /// The exact flags that consent, and the other way out.
    pub fn hint(&self) -> String {
        let flags: Vec<String> = self
            .missing
            .iter()
            .map(|m| format!("--allow-destroy {}", m.address))
            .collect();
        format!(
            "if that is meant, pass {}; if not, change the spec back so that the plan keeps {}",
            flags.join(" "),
            if self.missing.len() == 1 {
                "it"
            } else {
                "them"
            }
        )
    }
}

/// What data goes with a delete or replace of a kind that holds data: "the database
/// production-db and its data go; final snapshot X is kept", or "...; no final snapshot: its
/// data is lost". `None` for a kind that holds none.
pub fn data_goes(action: &PlannedAction) -> Option<String> {
    if !destroys(action) {
        return None;
    }
    let noun = crate::kinds::describe(action.address.kind).holds_data?;
    let name = action
        .live
        .as_ref()
        .map(|l| l.id.clone())
        .unwrap_or_else(|| action.address.to_string());
    if crate::kinds::describe(action.address.kind)
        .final_snapshot
        .is_none()
    {
        return Some(format!(
            "the {noun} {name} and its data go, with no copy kept"
        ));
    }
    let impossible = action
        .live
        .as_ref()
        .and_then(crate::kinds::final_snapshot::impossible)
        .is_some();
    let kept = match &action.final_snapshot {
        Some(snapshot) if !impossible => format!("final snapshot {} is kept", snapshot.identifier),
        _ => "no final snapshot: its data is lost".to_string(),
    };
    Some(format!("the {noun} {name} and its data go; {kept}"))
}

/// How many deletes and replaces a plan has, how many hold data, and how many are routine
/// retention: every plan's summary says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Destructions {
    pub total: usize,
    pub holding_data: usize,
    pub retention: usize,
}

impl Destructions {
    pub fn of(plan: &Plan) -> Destructions {
        let destroys = plan.actions.iter().filter(|a| destroys(a));
        let mut counted = Destructions::default();
        for action in destroys {
            counted.total += 1;
            counted.holding_data += usize::from(holds_data(action));
            counted.retention += usize::from(is_retention(action));
        }
        counted
    }
}
