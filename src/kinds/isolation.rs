//! Isolation: what a clone would take from production that reaches production (a task role,
//! an execution role, secrets, environment variables, log configuration, an instance profile)
//! is never taken silently. The spec keeps each by name (`keep_from_production`), overrides
//! it, or drops it (`drop_from_production`); the plan lists every one with what was decided,
//! and refuses a clone that leaves one undecided.
//!
//! What a task definition holds is known once the plan read production's, so most of the
//! check is the plan's ([`settle`]); what the spec alone shows (a name that is no item, an
//! item both kept and overridden) is `validate`'s ([`check_spec`]). A name production does
//! not have (any more) is no error: keeping or dropping nothing reaches nothing, and a typo
//! leaves the item it meant undecided, which is.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Rule;
use crate::model::{Attributes, ResourceKind};
use crate::spec::refs::{self, Reference};

/// The spec's list of what a clone keeps from production, each by name.
pub const KEEP: &str = "keep_from_production";
/// The spec's list of what a clone leaves out of production's.
pub const DROP: &str = "drop_from_production";

/// One thing a clone would take from production that reaches production, and what the spec
/// decided about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inherited {
    /// As the spec names it: `task_role_arn`, `secrets.server.DATABASE_PASSWORD`.
    pub item: String,
    /// Production's value; null when it is read only at launch (a bare instance id).
    pub value: Value,
    #[serde(flatten)]
    pub decision: Decision,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Kept,
    /// `with`: the spec's value, `None` until the apply knows it.
    Overridden {
        with: Option<Value>,
    },
    Dropped,
}

/// An item name as the spec writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// A task-level attribute: `task_role_arn`, `execution_role_arn`.
    Task(&'static str),
    Secret {
        container: String,
        name: String,
    },
    Environment {
        container: String,
        name: String,
    },
    Log {
        container: String,
    },
    InstanceProfile,
}

const TASK_LEVEL: [&str; 2] = ["task_role_arn", "execution_role_arn"];
/// The items named alike in every clone, for "did you mean".
const KNOWN: [&str; 3] = ["task_role_arn", "execution_role_arn", "instance_profile"];

impl Item {
    fn parse(kind: ResourceKind, text: &str) -> Result<Item, Rule> {
        let bad = |message: String| Rule {
            message,
            hint: crate::spec::diagnostic::did_you_mean(text, &KNOWN)
                .map(|d| format!("{d} {}", names_hint(kind)))
                .unwrap_or_else(|| names_hint(kind)),
        };
        match kind {
            ResourceKind::Ec2Instance => match text {
                "instance_profile" => Ok(Item::InstanceProfile),
                "user_data" => Err(Rule {
                    message: "a clone never copies its source's user data: nothing to keep or \
                              drop"
                        .into(),
                    hint: "the clone runs the `user_data` its spec gives, or none; the only \
                           item to decide on a server is \"instance_profile\""
                        .into(),
                }),
                other => Err(bad(format!(
                    "`{other}` is not something a server clone inherits"
                ))),
            },
            ResourceKind::EcsTaskDefinition => {
                if let Some(task) = TASK_LEVEL.iter().find(|t| **t == text) {
                    return Ok(Item::Task(task));
                }
                let mut parts = text.splitn(3, '.');
                let (what, container, name) = (parts.next(), parts.next(), parts.next());
                let container = container.filter(|c| !c.is_empty()).map(str::to_string);
                let name = name.filter(|n| !n.is_empty()).map(str::to_string);
                match (what, container, name) {
                    (Some("secrets"), Some(container), Some(name)) => {
                        Ok(Item::Secret { container, name })
                    }
                    (Some("environment"), Some(container), Some(name)) => {
                        Ok(Item::Environment { container, name })
                    }
                    (Some("log_configuration"), Some(container), None) => {
                        Ok(Item::Log { container })
                    }
                    _ => Err(bad(format!(
                        "`{text}` is not something a task-definition clone inherits"
                    ))),
                }
            }
            other => Err(bad(format!("a {other} inherits nothing from production"))),
        }
    }

    fn name(&self) -> String {
        match self {
            Item::Task(attribute) => (*attribute).into(),
            Item::Secret { container, name } => format!("secrets.{container}.{name}"),
            Item::Environment { container, name } => format!("environment.{container}.{name}"),
            Item::Log { container } => format!("log_configuration.{container}"),
            Item::InstanceProfile => "instance_profile".into(),
        }
    }

    /// How the spec overrides it, as the hint shows.
    fn override_hint(&self) -> String {
        match self {
            Item::Task(attribute) => format!("{attribute} = \"arn:aws:iam::...:role/...\""),
            Item::Secret { container, name } => {
                format!("secrets = {{ {name} = \"arn:...\" }} in containers_override.{container}")
            }
            Item::Environment { container, name } => {
                format!("environment = {{ {name} = \"...\" }} in containers_override.{container}")
            }
            Item::Log { container } => format!(
                "log_configuration = {{ log_driver = \"awslogs\", options = {{ ... }} }} in \
                 containers_override.{container}"
            ),
            Item::InstanceProfile => {
                "instance_profile = \"arn:aws:iam::...:instance-profile/...\"".into()
            }
        }
    }
}

fn names_hint(kind: ResourceKind) -> String {
    match kind {
        ResourceKind::Ec2Instance => "a server clone inherits \"instance_profile\"".into(),
        ResourceKind::EcsTaskDefinition => "a task-definition clone inherits \"task_role_arn\", \
             \"execution_role_arn\", \"secrets.CONTAINER.NAME\", \"environment.CONTAINER.NAME\" \
             and \"log_configuration.CONTAINER\""
            .into(),
        _ => format!("remove {KEEP} and {DROP}: only clones inherit"),
    }
}

/// The names a list gives, as written.
fn listed(attrs: &Attributes, list: &str) -> Vec<String> {
    match attrs.get(list) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => vec![],
    }
}

/// The override the spec gives for an item, if any (before references are resolved).
fn override_of<'a>(item: &Item, attrs: &'a Attributes) -> Option<&'a Value> {
    let container = |c: &str| attrs.get("containers_override")?.get(c);
    match item {
        Item::Task(attribute) => attrs.get(*attribute),
        Item::Secret { container: c, name } => container(c)?.get("secrets")?.get(name),
        Item::Environment { container: c, name } => container(c)?.get("environment")?.get(name),
        Item::Log { container: c } => container(c)?.get("logConfiguration"),
        // A server's is an override unless it is the clone's default, its source's value.
        Item::InstanceProfile => attrs
            .get("instance_profile")
            .filter(|v| Some(*v) != source_reference(attrs, "instance_profile").as_ref()),
    }
}

/// `${source.ec2_instance.NAME.ATTRIBUTE}` for a clone of a source server.
fn source_reference(attrs: &Attributes, attribute: &str) -> Option<Value> {
    let source = attrs
        .get("clone_of")?
        .as_str()?
        .strip_prefix("${source.ec2_instance.")?
        .strip_suffix(".id}")?;
    Some(Value::String(format!(
        "${{source.ec2_instance.{source}.{attribute}}}"
    )))
}

/// What the spec alone shows: each kept or dropped name is an item of its kind, named once,
/// and not also overridden.
pub fn check_spec(kind: ResourceKind, attrs: &Attributes) -> Result<(), Rule> {
    let (keep, drop) = (listed(attrs, KEEP), listed(attrs, DROP));
    if keep.is_empty() && drop.is_empty() {
        return Ok(());
    }
    if !attrs.contains_key("clone_of") {
        let list = if keep.is_empty() { DROP } else { KEEP };
        return Err(Rule {
            message: format!("`{list}` is for a clone, and this one copies nothing"),
            hint: format!("remove `{list}`, or set `clone_of` to copy production's"),
        });
    }
    let mut seen = BTreeSet::new();
    for (list, name) in keep
        .iter()
        .map(|n| (KEEP, n))
        .chain(drop.iter().map(|n| (DROP, n)))
    {
        let item = Item::parse(kind, name).map_err(|rule| Rule {
            message: format!("{list}: {}", rule.message),
            ..rule
        })?;
        if !seen.insert(name.clone()) {
            let both = keep.contains(name) && drop.contains(name);
            return Err(Rule {
                message: if both {
                    format!("`{name}` is both kept and dropped")
                } else {
                    format!("{list}: `{name}` is named twice")
                },
                hint: if both {
                    format!("name it in {KEEP} or in {DROP}, not both")
                } else {
                    "name each item once".into()
                },
            });
        }
        if override_of(&item, attrs).is_some() {
            return Err(Rule {
                message: format!("`{name}` is in {list} and overridden too"),
                hint: format!(
                    "the override decides it already: remove `{name}` from {list}, or the \
                     override"
                ),
            });
        }
    }
    Ok(())
}

/// The plan's part, once references are resolved: every item the clone would take from
/// production, with what the spec decided. Dropped items are taken out of what will be
/// created, and the spec's two lists too (AWS knows nothing of them). An item the spec says
/// nothing about is an error naming them all.
///
/// `spec` is the resource's attributes as the spec gives them; `desired` the same with
/// references resolved (a clone's source definition read from production), before the kind
/// resolves it; `lookup` resolves a reference.
pub fn settle(
    kind: ResourceKind,
    spec: &Attributes,
    desired: &mut Attributes,
    lookup: &dyn Fn(&Reference) -> Option<Value>,
) -> Result<Vec<Inherited>, Rule> {
    let keep = listed(desired, KEEP);
    let drop = listed(desired, DROP);
    desired.remove(KEEP);
    desired.remove(DROP);
    let found = match kind {
        ResourceKind::EcsTaskDefinition => task_definition_items(desired),
        ResourceKind::Ec2Instance => server_items(spec, lookup),
        _ => return Ok(vec![]),
    };
    let mut inherited = vec![];
    let mut undecided: Vec<Item> = vec![];
    for (item, value) in &found {
        let name = item.name();
        let decision = if let Some(with) = override_of(item, spec) {
            let with = override_of(item, desired).unwrap_or(with);
            Decision::Overridden {
                with: (!refs::has_references(with)).then(|| refs::unescape(with)),
            }
        } else if keep.contains(&name) {
            Decision::Kept
        } else if drop.contains(&name) {
            remove(item, desired);
            Decision::Dropped
        } else {
            undecided.push(item.clone());
            continue;
        };
        inherited.push(Inherited {
            item: name,
            value: value.clone(),
            decision,
        });
    }
    if let Some(first) = undecided.first() {
        let all: Vec<String> = undecided.iter().map(Item::name).collect();
        let name = first.name();
        return Err(Rule {
            message: format!(
                "this clone would silently inherit from production what reaches production: {}",
                all.join(", ")
            ),
            hint: format!(
                "decide each in the spec: keep it by name, {KEEP} = [\"{name}\"]; or override it, {}; or \
                 drop it, {DROP} = [\"{name}\"]",
                first.override_hint()
            ),
        });
    }
    Ok(inherited)
}

/// The name of every item a clone of this task definition (as a provider describes it) would
/// take from it: what a spec that keeps all of it lists in `keep_from_production`.
pub fn inherited_items(definition: &Attributes) -> Vec<String> {
    let mut desired = Attributes::new();
    desired.insert(
        super::ecs_task_definition::SOURCE_DEFINITION.into(),
        Value::Object(definition.clone()),
    );
    task_definition_items(&desired)
        .into_iter()
        .map(|(item, _)| item.name())
        .collect()
}

/// What a task-definition clone takes from its source's definition, in its order.
fn task_definition_items(desired: &Attributes) -> Vec<(Item, Value)> {
    let Some(Value::Object(definition)) =
        desired.get(super::ecs_task_definition::SOURCE_DEFINITION)
    else {
        return vec![];
    };
    let containers = definition.get("containers").and_then(Value::as_array);
    let has = |name: &String| {
        containers
            .into_iter()
            .flatten()
            .any(|c| c.get("name").and_then(Value::as_str) == Some(name))
    };
    // An override of a container the source lacks is the first mistake to name: the kind's
    // resolve names it, with the containers there are.
    if let Some(Value::Object(overrides)) = desired.get("containers_override")
        && !overrides.keys().all(has)
    {
        return vec![];
    }
    let mut out = vec![];
    for attribute in TASK_LEVEL {
        if let Some(value) = definition.get(attribute).filter(|v| !is_empty(v)) {
            out.push((Item::Task(attribute), value.clone()));
        }
    }
    for c in containers.into_iter().flatten() {
        let Some(container) = c.get("name").and_then(Value::as_str) else {
            continue;
        };
        let container = container.to_string();
        for secret in c
            .get("secrets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = secret.get("name").and_then(Value::as_str) {
                let item = Item::Secret {
                    container: container.clone(),
                    name: name.into(),
                };
                out.push((
                    item,
                    secret.get("valueFrom").cloned().unwrap_or(Value::Null),
                ));
            }
        }
        if let Some(Value::Object(env)) = c.get("environment") {
            for (name, value) in env {
                let item = Item::Environment {
                    container: container.clone(),
                    name: name.clone(),
                };
                out.push((item, value.clone()));
            }
        }
        if let Some(log) = c.get("logConfiguration").filter(|v| !is_empty(v)) {
            out.push((Item::Log { container }, log.clone()));
        }
    }
    out
}

/// What a server clone takes from its source: its instance profile, when it has one.
fn server_items(
    spec: &Attributes,
    lookup: &dyn Fn(&Reference) -> Option<Value>,
) -> Vec<(Item, Value)> {
    if let Some(from) = source_reference(spec, "instance_profile") {
        let value = refs::interpolate(&from, lookup);
        if is_empty(&value) || refs::has_references(&value) {
            return vec![];
        }
        return vec![(Item::InstanceProfile, value)];
    }
    // A bare instance id is read at launch: `validate` saw that its profile was decided.
    let decided = [KEEP, DROP]
        .iter()
        .any(|l| listed(spec, l).iter().any(|n| n == "instance_profile"));
    if spec.contains_key("clone_of") && (decided || spec.contains_key("instance_profile")) {
        return vec![(Item::InstanceProfile, Value::Null)];
    }
    vec![]
}

/// Take a dropped item out of what will be created.
fn remove(item: &Item, desired: &mut Attributes) {
    if let Item::InstanceProfile = item {
        // Null: launched without one, and not copied from the source at launch either.
        desired.insert("instance_profile".into(), Value::Null);
        return;
    }
    let Some(Value::Object(definition)) =
        desired.get_mut(super::ecs_task_definition::SOURCE_DEFINITION)
    else {
        return;
    };
    if let Item::Task(attribute) = item {
        definition.remove(*attribute);
        return;
    }
    let Some(Value::Array(containers)) = definition.get_mut("containers") else {
        return;
    };
    let named = |c: &&mut Value, name: &str| c.get("name").and_then(Value::as_str) == Some(name);
    for c in containers.iter_mut() {
        match item {
            Item::Secret { container, name } if named(&c, container) => {
                if let Some(Value::Array(secrets)) = c.get_mut("secrets") {
                    secrets.retain(|s| s.get("name").and_then(Value::as_str) != Some(name));
                }
            }
            Item::Environment { container, name } if named(&c, container) => {
                if let Some(Value::Object(env)) = c.get_mut("environment") {
                    env.remove(name);
                }
            }
            Item::Log { container } if named(&c, container) => {
                if let Some(c) = c.as_object_mut() {
                    c.remove("logConfiguration");
                }
            }
            _ => {}
        }
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}
