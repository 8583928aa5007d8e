//! The diff: spec against live state → actions with reasons. Pure: no I/O, no clock.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{
    ActionKind, AttributeChange, FieldChange, Observed, PathStep, PlanError, PlannedAction, Reason,
    revisions,
};
use crate::kinds::{self, Kind};
use crate::model::{Address, Attributes, LiveResource, input_digest};
use crate::spec::refs::{self, Reference};
use crate::spec::{DEFAULT_TIMEOUT, ResourceSpec, Spec};

/// The actions that take what was observed to what the spec wants. A name that only the plan
/// could resolve (it refers to a source or another resource) and that AWS would refuse is an
/// error.
#[allow(clippy::result_large_err)]
pub fn diff(spec: &Spec, observed: &Observed) -> Result<Vec<PlannedAction>, PlanError> {
    decide(spec, observed).map(|(actions, _)| actions)
}

/// The id of the live object that stands for each spec address, as the plan decides it: of a
/// task definition's kept revisions, the one the spec asks for (a version the spec went back
/// to), not merely the newest. A deployment's verdict judges a service against that one.
#[allow(clippy::result_large_err)]
pub fn chosen(spec: &Spec, observed: &Observed) -> Result<BTreeMap<Address, String>, PlanError> {
    decide(spec, observed).map(|(_, chosen)| chosen)
}

#[allow(clippy::result_large_err)]
fn decide(
    spec: &Spec,
    observed: &Observed,
) -> Result<(Vec<PlannedAction>, BTreeMap<Address, String>), PlanError> {
    let live = observed.by_address();
    let mut actions = vec![];
    // Resources whose attributes will be new after apply (created or replaced): references to
    // them are unknown until then.
    let mut renewed: BTreeSet<Address> = BTreeSet::new();
    // What created or replaced resources will have: their inputs are known from the spec.
    let mut planned: BTreeMap<Address, Attributes> = BTreeMap::new();
    // The live object that stands for each spec address.
    let mut chosen: BTreeMap<Address, &LiveResource> = BTreeMap::new();
    // Kinds whose revisions are kept: how many, and whether the plan registers a new one.
    let mut kept_revisions: BTreeMap<Address, (u32, bool)> = BTreeMap::new();

    for address in creation_order(spec) {
        let resource = &spec.resources[&address];
        let lookup = |r: &Reference| -> Option<Value> {
            match r {
                Reference::Source { source, attribute } => observed
                    .sources
                    .get(source)?
                    .attributes
                    .get(attribute)
                    .cloned(),
                Reference::Resource { address, attribute } if !renewed.contains(address) => {
                    chosen.get(address)?.attributes.get(attribute).cloned()
                }
                Reference::Resource { address, attribute } => {
                    let value = planned.get(address)?.get(attribute)?;
                    let is_input = kinds::describe(address.kind).is_input(attribute);
                    // Spec text: the plain text it stands for, escaped again where it is used.
                    (is_input && !refs::has_references(value)).then(|| refs::unescape(value))
                }
                _ => None,
            }
        };
        check_usable(resource, observed)?;
        let mut desired =
            match refs::interpolate(&Value::Object(resource.attributes.clone()), &lookup) {
                Value::Object(map) => map,
                _ => unreachable!("objects interpolate to objects"),
            };
        let inherited = kinds::isolation::settle(
            resource.address.kind,
            &resource.attributes,
            &mut desired,
            &lookup,
        )
        .map_err(|rule| PlanError::Inherits {
            address: resource.address.to_string(),
            location: resource.location.clone(),
            message: rule.message,
            hint: rule.hint,
        })?;
        resolve(resource, &mut desired)?;
        check_names(resource, &desired)?;
        let keep = revisions::keep(address.kind, &mut desired);
        let current = live.get(&address).and_then(|objects| match keep {
            Some(_) => {
                revisions::stands_for(objects, |o| compare(resource, desired.clone(), o).is_none())
            }
            None => stands_for(objects, &desired),
        });
        if let Some(current) = current {
            chosen.insert(address.clone(), current);
        }
        let action = match current {
            None => Some(create(resource, desired, observed, &address)),
            Some(current) => compare(resource, desired, current),
        };
        let action = match keep {
            Some(kept) => {
                let action = action.map(|a| revisions::registered_beside(a, kept));
                let registers = action
                    .as_ref()
                    .is_some_and(|a| a.action == ActionKind::Create);
                kept_revisions.insert(address.clone(), (kept, registers));
                action
            }
            None => action,
        };
        if let Some(mut action) = action {
            action.inherited = inherited;
            if matches!(action.action, ActionKind::Create | ActionKind::Replace) {
                renewed.insert(address.clone());
                planned.insert(address.clone(), action.desired.clone().unwrap_or_default());
            }
            actions.push(action);
        }
    }

    // What is live but not wanted: resources no longer in the spec, duplicates an interrupted
    // apply left behind, revisions beyond those kept, and what an instance left behind when it
    // ended.
    let in_use = revisions::in_use(observed);
    for (address, objects) in &live {
        if let Some(&(kept, registers)) = kept_revisions.get(address) {
            let chosen = chosen.get(address).map(|c| c.id.as_str());
            for object in revisions::beyond_kept(objects, kept, registers, chosen, &in_use) {
                actions.push(delete(address, object, Reason::OlderThanKept { kept }));
            }
            continue;
        }
        if let Some(by_product) = kinds::describe(address.kind).by_product {
            // Attached, it is part of its maker, and goes (or is left) with it.
            let maker = Address::new(by_product.of, address.name.clone());
            for object in objects
                .iter()
                .filter(|o| o.status == by_product.left_behind_when)
            {
                actions.push(delete(
                    address,
                    object,
                    Reason::LeftBehind {
                        maker: maker.clone(),
                    },
                ));
            }
            continue;
        }
        let keep = chosen.get(address).map(|c| c.id.clone());
        // Snapshots kept after teardown are history (last release's safety snapshot, say):
        // rehearsal never deletes them, here or in `destroy`.
        let doomed = objects
            .iter()
            .filter(|o| Some(&o.id) != keep.as_ref() && !o.keep_after_destroy());
        for object in doomed {
            let reason = match &keep {
                Some(kept) => Reason::Duplicate { kept: kept.clone() },
                None => Reason::NotInSpec,
            };
            actions.push(delete(address, object, reason));
        }
    }
    let chosen = chosen
        .into_iter()
        .map(|(address, object)| (address, object.id.clone()))
        .collect();
    Ok((actions, chosen))
}

/// A resource may not take from a source what AWS can no longer use (the image production's
/// server was launched from, deregistered since): that is a plan error naming the attribute to
/// set in the spec, rather than an AWS refusal halfway through an apply.
#[allow(clippy::result_large_err)]
fn check_usable(resource: &ResourceSpec, observed: &Observed) -> Result<(), PlanError> {
    for (attribute, value) in &resource.attributes {
        for reference in refs::references_in(value) {
            let Reference::Source {
                source,
                attribute: taken,
            } = &reference
            else {
                continue;
            };
            let Some(why) = observed
                .sources
                .get(source)
                .and_then(|s| s.unusable.get(taken))
            else {
                continue;
            };
            return Err(PlanError::Name {
                address: resource.address.to_string(),
                location: resource.location.clone(),
                message: format!("`{attribute}` comes from {reference}, but {why}"),
                hint: format!(
                    "set `{attribute}` in [resources.{}] to one that exists",
                    resource.address
                ),
            });
        }
    }
    Ok(())
}

/// What the kind makes of the attributes once sources are read (a clone's whole definition).
#[allow(clippy::result_large_err)]
fn resolve(resource: &ResourceSpec, desired: &mut Attributes) -> Result<(), PlanError> {
    let Some(documents) = kinds::describe(resource.address.kind).documents else {
        return Ok(());
    };
    (documents.resolve)(desired).map_err(|rule| PlanError::Name {
        address: resource.address.to_string(),
        location: resource.location.clone(),
        message: rule.message,
        hint: rule.hint,
    })
}

/// The names AWS knows a resource by, as the plan resolved them, against AWS's rules.
#[allow(clippy::result_large_err)]
fn check_names(resource: &ResourceSpec, desired: &Attributes) -> Result<(), PlanError> {
    for name in kinds::describe(resource.address.kind).names {
        let Some(value) = name.known_value(desired) else {
            continue;
        };
        (name.check)(&value).map_err(|rule| PlanError::Name {
            address: resource.address.to_string(),
            location: resource.location.clone(),
            message: rule.message,
            hint: rule.hint,
        })?;
    }
    Ok(())
}

fn delete(address: &Address, object: &LiveResource, reason: Reason) -> PlannedAction {
    PlannedAction {
        address: address.clone(),
        action: ActionKind::Delete,
        reason,
        replace_order: None,
        changes: vec![],
        desired: None,
        live: Some(object.clone()),
        depends_on: vec![],
        timeout_secs: DEFAULT_TIMEOUT.as_secs(),
        inherited: vec![],
        final_snapshot: None,
        safety_snapshot: None,
    }
}

/// Spec resources, dependencies first (the spec has no cycles: validation saw to that).
pub fn creation_order(spec: &Spec) -> Vec<Address> {
    let mut order = vec![];
    let mut placed = BTreeSet::new();
    while placed.len() < spec.resources.len() {
        let before = placed.len();
        for (address, r) in &spec.resources {
            if !placed.contains(address) && r.depends_on.iter().all(|d| placed.contains(d)) {
                placed.insert(address.clone());
                order.push(address.clone());
            }
        }
        assert!(
            placed.len() > before,
            "validated specs have no dependency cycles"
        );
    }
    order
}

/// The object that stands for a spec address. Kept snapshots only stand for the one the spec
/// names: a kept snapshot of an earlier release is history, and a new identifier means a new
/// snapshot beside it, not a replacement of it.
fn stands_for<'a>(objects: &[&'a LiveResource], desired: &Attributes) -> Option<&'a LiveResource> {
    let wanted = desired.get("identifier");
    let candidates: Vec<&LiveResource> = objects
        .iter()
        .copied()
        .filter(|o| {
            !o.keep_after_destroy() || wanted.is_none() || o.attributes.get("identifier") == wanted
        })
        .collect();
    primary(&candidates)
}

/// The object that stands for an address when several carry its tag: a usable one first,
/// then the oldest id.
fn primary<'a>(objects: &[&'a LiveResource]) -> Option<&'a LiveResource> {
    let usable = |r: &LiveResource| !r.has_failed();
    let mut sorted: Vec<&LiveResource> = objects.to_vec();
    sorted.sort_by(|a, b| usable(b).cmp(&usable(a)).then(a.id.cmp(&b.id)));
    sorted.first().copied()
}

fn timeout_secs(resource: &ResourceSpec) -> u64 {
    resource.timeout.unwrap_or(DEFAULT_TIMEOUT).as_secs()
}

fn create(
    resource: &ResourceSpec,
    desired: Attributes,
    observed: &Observed,
    address: &Address,
) -> PlannedAction {
    let going = observed
        .resources
        .iter()
        .find(|r| &r.address == address && r.is_going_away());
    let kept: Vec<&str> = observed
        .resources
        .iter()
        .filter(|r| &r.address == address && r.keep_after_destroy())
        .map(|r| r.id.as_str())
        .collect();
    let reason = match going {
        Some(old) => Reason::PreviousGoingAway {
            id: old.id.clone(),
            status: old.status.clone(),
        },
        None if !kept.is_empty() => Reason::KeptBeside {
            kept: kept.iter().map(|k| k.to_string()).collect(),
        },
        None => Reason::DoesNotExist,
    };
    PlannedAction {
        address: address.clone(),
        action: ActionKind::Create,
        reason,
        replace_order: None,
        changes: desired
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| AttributeChange {
                name: k.clone(),
                before: None,
                after: known(v),
                forces_replacement: false,
                fields: vec![],
            })
            .collect(),
        desired: Some(desired),
        live: None,
        depends_on: resource.depends_on.iter().cloned().collect(),
        timeout_secs: timeout_secs(resource),
        inherited: vec![],
        final_snapshot: None,
        safety_snapshot: None,
    }
}

fn known(v: &Value) -> Option<Value> {
    if refs::has_references(v) {
        None
    } else {
        Some(refs::unescape(v))
    }
}

fn compare(
    resource: &ResourceSpec,
    desired: Attributes,
    current: &LiveResource,
) -> Option<PlannedAction> {
    let kind = resource.address.kind;
    let description = kinds::describe(kind);
    let mut changes = vec![];
    let documents = description
        .documents
        .filter(|d| d.attributes.iter().any(|a| desired.contains_key(*a)));
    for (name, want) in &desired {
        let have = current.attributes.get(name);
        if let Some(documents) = documents.filter(|d| d.attributes.contains(&name.as_str())) {
            // Both sides in their normal form, compared exactly, listed field by field.
            let want = (documents.normalize)(name, want, &desired);
            let have_normal = have.map(|h| (documents.normalize)(name, h, &current.attributes));
            let mut fields = vec![];
            field_changes(&mut vec![], have_normal.as_ref(), Some(&want), &mut fields);
            if !fields.is_empty() {
                changes.push(AttributeChange {
                    name: name.clone(),
                    before: have.cloned(),
                    after: known(&want),
                    forces_replacement: !description.changes_in_place(name),
                    fields,
                });
            }
            continue;
        }
        let unknown = refs::has_references(want);
        // A source without it (no instance profile, say) asks for nothing.
        let nothing = want.is_null() && have.is_none_or(Value::is_null);
        let same = nothing
            || !unknown
                && have.is_some_and(|h| matches(description, name, &refs::unescape(want), h));
        if !same {
            changes.push(AttributeChange {
                name: name.clone(),
                before: have.cloned(),
                after: known(want),
                forces_replacement: !description.changes_in_place(name),
                fields: vec![],
            });
        }
    }
    // A document the live object has and the spec no longer gives (a clone whose source
    // dropped its volumes) is a change too.
    for (name, have) in current.attributes.iter().filter(|(n, _)| {
        documents.is_some_and(|d| d.attributes.contains(&n.as_str())) && !desired.contains_key(*n)
    }) {
        let documents = documents.expect("filtered on it");
        let have_normal = (documents.normalize)(name, have, &current.attributes);
        let mut fields = vec![];
        field_changes(&mut vec![], Some(&have_normal), None, &mut fields);
        if !fields.is_empty() {
            changes.push(AttributeChange {
                name: name.clone(),
                before: Some(have.clone()),
                after: None,
                forces_replacement: !description.changes_in_place(name),
                fields,
            });
        }
    }
    let failed = current.has_failed();
    if changes.is_empty() && !failed {
        return None;
    }
    let replace = failed || changes.iter().any(|c| c.forces_replacement);
    let reason = if failed {
        Reason::CannotRecover {
            status: current.status.clone(),
        }
    } else {
        // The change that decided: the first that forces a replacement, or the first.
        let lead = changes
            .iter()
            .find(|c| c.forces_replacement == replace)
            .unwrap_or(&changes[0]);
        Reason::Changed {
            attribute: lead.name.clone(),
        }
    };
    Some(PlannedAction {
        address: resource.address.clone(),
        action: if replace {
            ActionKind::Replace
        } else {
            ActionKind::Update
        },
        reason,
        replace_order: replace.then_some(description.replace_order),
        changes,
        desired: Some(desired),
        live: Some(current.clone()),
        depends_on: resource.depends_on.iter().cloned().collect(),
        timeout_secs: timeout_secs(resource),
        inherited: vec![],
        final_snapshot: None,
        safety_snapshot: None,
    })
}

/// Map-valued fields of documents, whose keys are names (`environment["DATABASE_HOST"]`).
const NAMED_KEYS: &[&str] = &[
    "environment",
    "dockerLabels",
    "options",
    "driverOpts",
    "labels",
];

/// Every field where two documents in normal form differ, `before` → `after` (absent on
/// either side when `None`). Lists of items with a `name` are matched by name; other lists
/// are one value.
pub fn field_changes(
    path: &mut Vec<PathStep>,
    before: Option<&Value>,
    after: Option<&Value>,
    out: &mut Vec<FieldChange>,
) {
    if before == after {
        return;
    }
    let named = |items: &Vec<Value>| {
        items
            .iter()
            .map(|i| i.get("name").and_then(Value::as_str).map(str::to_string))
            .collect::<Option<Vec<String>>>()
            .filter(|names| {
                let unique: BTreeSet<&String> = names.iter().collect();
                unique.len() == names.len()
            })
    };
    let named_keys =
        matches!(path.last(), Some(PathStep::Field(f)) if NAMED_KEYS.contains(&f.as_str()));
    match (before, after) {
        (Some(Value::Object(b)), Some(Value::Object(a))) => {
            let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
            for key in keys {
                path.push(if named_keys {
                    PathStep::Named(key.clone())
                } else {
                    PathStep::Field(key.clone())
                });
                field_changes(path, b.get(key), a.get(key), out);
                path.pop();
            }
        }
        (Some(Value::Array(b)), Some(Value::Array(a)))
            if named(b).is_some() && named(a).is_some() =>
        {
            let (bn, an) = (named(b).unwrap_or_default(), named(a).unwrap_or_default());
            let mut names: Vec<&String> = bn.iter().collect();
            names.extend(an.iter().filter(|n| !bn.contains(n)));
            for name in names {
                let find = |items: &'_ [Value], names: &[String]| {
                    names
                        .iter()
                        .position(|n| n == name)
                        .map(|i| items[i].clone())
                };
                let (old, new) = (find(b, &bn), find(a, &an));
                path.push(PathStep::Named(name.clone()));
                field_changes(path, old.as_ref(), new.as_ref(), out);
                path.pop();
            }
        }
        _ => {
            // The spec's side is spec text: `$${` is a literal `${`, and `${...}` waits.
            let known_after_apply = after.is_some_and(refs::has_references);
            let after = after.and_then(known);
            if !known_after_apply && before.cloned() == after {
                return;
            }
            out.push(FieldChange {
                path: path.clone(),
                before: before.cloned(),
                after,
                known_after_apply,
            })
        }
    }
}

/// Does the live value satisfy the spec's? Objects are compared by the keys the spec gives
/// (AWS fills in defaults the spec never mentioned), except the kind's exact maps, where a
/// removed key matters; the kind's sets are compared without order.
pub fn matches(kind: &Kind, name: &str, want: &Value, have: &Value) -> bool {
    // AWS keeps what it does not describe cheaply; the provider reports the digest it recorded.
    if kind.digested.contains(&name)
        && let Some(recorded) = input_digest::recorded(have)
    {
        return input_digest::matches(want, recorded);
    }
    let exact = kind.exact_maps.contains(&name);
    match (want, have) {
        (Value::Object(w), Value::Object(h)) if exact => w == h,
        (Value::Object(w), Value::Object(h)) => w
            .iter()
            .all(|(k, wv)| wv.is_null() || h.get(k).is_some_and(|hv| matches(kind, k, wv, hv))),
        (Value::Object(w), Value::Null) if exact => w.is_empty(),
        (Value::Array(w), Value::Array(h)) if kind.sets.contains(&name) => {
            let sorted = |items: &[Value]| {
                let mut v: Vec<String> = items.iter().map(Value::to_string).collect();
                v.sort();
                v
            };
            sorted(w) == sorted(h)
        }
        (Value::Array(w), Value::Array(h)) => {
            w.len() == h.len() && w.iter().zip(h).all(|(wv, hv)| matches(kind, name, wv, hv))
        }
        (Value::Number(w), Value::Number(h)) => w.as_f64() == h.as_f64(),
        _ => want == have,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ResourceKind;
    use serde_json::json;

    #[test]
    fn digested_inputs_are_compared_by_the_digest_recorded_at_creation() {
        let kind = kinds::describe(ResourceKind::Ec2Instance);
        let user_data = json!("#!/bin/bash\necho 3.1.0\n");
        let recorded = json!(input_digest::of(&user_data));
        assert!(matches(kind, "user_data", &user_data, &recorded));
        assert!(!matches(
            kind,
            "user_data",
            &json!("#!/bin/bash\necho 3.2.0\n"),
            &recorded
        ));
        let volumes = json!([{"device": "/dev/xvda", "size": 30, "type": "gp3"}]);
        let recorded = json!(input_digest::of(&volumes));
        assert!(matches(kind, "volumes", &volumes, &recorded));
        assert!(!matches(
            kind,
            "volumes",
            &json!([{"device": "/dev/xvda", "size": 50, "type": "gp3"}]),
            &recorded
        ));
        // Only where the kind says AWS keeps a digest: elsewhere a value is a value.
        assert!(!matches(
            kind,
            "image",
            &json!("ami-1"),
            &json!(input_digest::of(&json!("ami-1")))
        ));
    }

    #[test]
    fn defaults_aws_adds_are_not_changes_but_removed_map_keys_are() {
        let kind = kinds::describe(ResourceKind::EcsTaskDefinition);
        let matches = |name: &str, want: &Value, have: &Value| matches(kind, name, want, have);
        let want = json!([{"name": "server", "image": "a:1"}]);
        let have = json!([{"name": "server", "image": "a:1", "essential": true}]);
        assert!(matches("containers", &want, &have));
        assert!(!matches(
            "tags",
            &json!({"Name": "x"}),
            &json!({"Name": "x", "Old": "y"})
        ));
        assert!(matches("port", &json!(5432), &json!(5432.0)));
        assert!(matches(
            "requires_compatibilities",
            &json!(["EC2", "FARGATE"]),
            &json!(["FARGATE", "EC2"])
        ));
        assert!(!matches(
            "containers",
            &json!(["a", "b"]),
            &json!(["b", "a"])
        ));
    }
}
