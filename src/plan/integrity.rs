//! A plan's integrity record: a digest of each part of the plan, made when the plan is made and
//! checked when it is loaded, so that a plan file edited afterwards (by hand, by a merge, by a
//! script) is refused and the edit is named. The record is sealed by a digest of its own.
//!
//! This guards against mistakes, not against someone set on forging a plan: whoever can write
//! the plan file can also recompute the digests. The ownership checks at apply time are what
//! keep a forged plan away from resources the environment does not own.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Plan;

/// The key of the seal: the digest of every other entry.
const SEAL: &str = "record";

/// The integrity record of `plan` as it is now.
pub fn record(plan: &Plan) -> BTreeMap<String, String> {
    let mut parts = parts(plan);
    let seal = digest(&parts);
    parts.insert(SEAL.into(), seal);
    parts
}

/// What in `plan` does not match its record; empty when nothing was changed.
pub fn check(plan: &Plan) -> Vec<String> {
    let mut recorded = plan.integrity.clone();
    let Some(seal) = recorded.remove(SEAL) else {
        return vec!["it has no integrity record".into()];
    };
    if seal != digest(&recorded) {
        return vec!["its integrity record was edited".into()];
    }
    let now = parts(plan);
    let mut edits = vec![];
    for key in recorded
        .keys()
        .chain(now.keys().filter(|k| !recorded.contains_key(*k)))
    {
        let what = match (recorded.get(key), now.get(key)) {
            (Some(a), Some(b)) if a == b => continue,
            (Some(_), Some(_)) => "was changed",
            (Some(_), None) => "was removed",
            (None, _) => "was added",
        };
        edits.push(format!("{} {what}", describe(plan, key)));
    }
    edits
}

/// Each part of the plan and its digest. Actions are numbered, so that an added, removed or
/// duplicated action shows.
fn parts(plan: &Plan) -> BTreeMap<String, String> {
    let mut parts = BTreeMap::new();
    parts.insert(
        "header".into(),
        digest(&(plan.format_version, &plan.tool_version, &plan.created_at)),
    );
    parts.insert(
        "environment".into(),
        digest(&(&plan.env, plan.protected, plan.ttl_secs)),
    );
    parts.insert(
        "spec".into(),
        digest(&(
            &plan.spec_path,
            &plan.spec_digest,
            &plan.variables,
            &plan.sources,
            &plan.spec,
        )),
    );
    parts.insert("teardown order".into(), digest(&plan.teardown));
    parts.insert("fingerprints".into(), digest(&plan.fingerprints));
    if let Some(destroy) = &plan.destroy {
        parts.insert("destroy plan".into(), digest(destroy));
    }
    if let Some(rollback) = &plan.rollback {
        parts.insert("rollback plan".into(), digest(rollback));
    }
    if let Some(refresh) = &plan.refresh {
        parts.insert("refresh plan".into(), digest(refresh));
    }
    if let Some(targeting) = &plan.targeting {
        parts.insert("targeting".into(), digest(targeting));
    }
    if !plan.consent.is_empty() {
        parts.insert("consent".into(), digest(&plan.consent));
    }
    if let Some(promote) = &plan.promote {
        parts.insert("promote plan".into(), digest(promote));
    }
    if !plan.checks.is_empty() {
        parts.insert("checks".into(), digest(&plan.checks));
    }
    for (i, action) in plan.actions.iter().enumerate() {
        parts.insert(format!("action {:05}", i + 1), digest(action));
    }
    parts
}

/// `action 00003` → `action 3 (+ ec2_instance.server)`.
fn describe(plan: &Plan, key: &str) -> String {
    let Some(n) = key
        .strip_prefix("action ")
        .and_then(|n| n.parse::<usize>().ok())
    else {
        return format!("the {key}");
    };
    match plan.actions.get(n - 1) {
        Some(a) => format!("action {n} ({} {})", a.action.symbol(), a.address),
        None => format!("action {n}"),
    }
}

fn digest(value: &impl Serialize) -> String {
    // serde_json's maps are ordered, so the serialization is canonical.
    let bytes = serde_json::to_vec(value).expect("plans serialize");
    hex::encode(&Sha256::digest(bytes)[..16])
}
