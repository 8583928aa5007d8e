//! Revisions kept: a task definition is immutable, so a version bump registers a new revision,
//! and the previous ones stay registered (the newest `keep_revisions`, default 3) so that there
//! is something to roll back to. A kept revision is still the environment's (its tags say so)
//! but no longer "the" resource at its address: the plan neither deletes it as a duplicate nor
//! as not in the spec while it is among the newest kept, or while a service runs it.
//!
//! ECS keeps a deregistered revision's number: a new registration is always the family's next
//! one, never a reuse (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html),
//! so the revision number orders revisions by age.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{ActionKind, Observed, PlannedAction, Reason};
use crate::kinds::ecs_task_definition::{DEFAULT_KEEP_REVISIONS, KEEP_REVISIONS};
use crate::model::{Attributes, LiveResource, ResourceKind};

/// For a kind that keeps revisions, how many: taken out of `desired`, as it is plan policy and
/// no attribute of the revision. `None` for every other kind.
pub fn keep(kind: ResourceKind, desired: &mut Attributes) -> Option<u32> {
    if kind != ResourceKind::EcsTaskDefinition {
        return None;
    }
    let asked = desired
        .remove(KEEP_REVISIONS)
        .and_then(|v| v.as_u64())
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n >= 1);
    Some(asked.unwrap_or(DEFAULT_KEEP_REVISIONS))
}

/// A revision's number: ECS's `revision`, else the ARN's `:N` suffix.
pub fn number(r: &LiveResource) -> u64 {
    r.attributes
        .get("revision")
        .and_then(Value::as_u64)
        .or_else(|| r.id.rsplit(':').next()?.parse().ok())
        .unwrap_or(0)
}

/// Newest first (by revision number, then id).
pub fn newest_first<'a>(
    objects: impl IntoIterator<Item = &'a LiveResource>,
) -> Vec<&'a LiveResource> {
    let mut sorted: Vec<&LiveResource> = objects.into_iter().collect();
    sorted.sort_by(|a, b| number(b).cmp(&number(a)).then(b.id.cmp(&a.id)));
    sorted
}

/// The revision that stands for the address: the newest that is what the spec asks for (a
/// kept revision the spec went back to is deployed again, not registered anew), else the
/// newest.
pub fn stands_for<'a>(
    objects: &[&'a LiveResource],
    is_as_asked: impl Fn(&LiveResource) -> bool,
) -> Option<&'a LiveResource> {
    let candidates = newest_first(
        objects
            .iter()
            .copied()
            .filter(|o| !o.is_going_away() && !o.has_failed()),
    );
    candidates
        .iter()
        .copied()
        .find(|o| is_as_asked(o))
        .or_else(|| candidates.first().copied())
}

/// A replacement of a revision is a new revision beside it: the previous one stays, kept.
pub fn registered_beside(mut action: PlannedAction, kept: u32) -> PlannedAction {
    let (ActionKind::Replace, Reason::Changed { attribute }, Some(previous)) =
        (action.action, &action.reason, &action.live)
    else {
        return action;
    };
    action.reason = Reason::NewRevision {
        attribute: attribute.clone(),
        previous: previous.id.clone(),
        kept,
    };
    action.action = ActionKind::Create;
    action.replace_order = None;
    action.live = None;
    action
}

/// The task definitions the environment's services run now (their primary deployment's).
pub fn in_use(observed: &Observed) -> BTreeSet<String> {
    observed
        .resources
        .iter()
        .filter(|r| r.address.kind == ResourceKind::EcsService && !r.is_going_away())
        .filter_map(|r| r.attributes.get("task_definition")?.as_str())
        .map(str::to_owned)
        .collect()
}

/// The revisions of one address a plan deregisters: those beyond the newest `kept` (counting
/// the one the plan registers, when it does), unless one stands for the address or a service
/// runs it. What AWS is already removing is left to it.
pub fn beyond_kept<'a>(
    objects: &[&'a LiveResource],
    kept: u32,
    registers: bool,
    chosen: Option<&str>,
    in_use: &BTreeSet<String>,
) -> Vec<&'a LiveResource> {
    let slots = (kept as usize).saturating_sub(usize::from(registers));
    newest_first(objects.iter().copied().filter(|o| !o.is_going_away()))
        .into_iter()
        .skip(slots)
        .filter(|o| Some(o.id.as_str()) != chosen)
        .filter(|o| {
            let arn = o.attributes.get("arn").and_then(Value::as_str);
            !in_use.contains(&o.id) && !arn.is_some_and(|a| in_use.contains(a))
        })
        .collect()
}

/// One object per address, for what reads the environment's values by address (checks,
/// references while applying): where several revisions of a task definition are kept, the
/// newest, which is the one the last apply registered; elsewhere the last listed, as before.
pub fn one_per_address(
    live: &[LiveResource],
) -> std::collections::BTreeMap<crate::model::Address, &LiveResource> {
    let mut out: std::collections::BTreeMap<crate::model::Address, &LiveResource> =
        std::collections::BTreeMap::new();
    for r in live.iter().filter(|r| !r.is_going_away()) {
        match out.get(&r.address) {
            Some(kept)
                if r.address.kind == ResourceKind::EcsTaskDefinition
                    && number(kept) > number(r) => {}
            _ => {
                out.insert(r.address.clone(), r);
            }
        }
    }
    out
}

/// One object per address as the plan chose it (`diff::chosen`): a kept revision the spec went
/// back to stands for its address although a newer one is kept; elsewhere as `one_per_address`.
pub fn as_chosen<'a>(
    live: &'a [LiveResource],
    chosen: &std::collections::BTreeMap<crate::model::Address, String>,
) -> std::collections::BTreeMap<crate::model::Address, &'a LiveResource> {
    let mut out = one_per_address(live);
    for r in live.iter().filter(|r| !r.is_going_away()) {
        if chosen.get(&r.address) == Some(&r.id) {
            out.insert(r.address.clone(), r);
        }
    }
    out
}
