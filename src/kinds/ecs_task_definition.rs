//! `ecs_task_definition`: a task-definition revision, written out (`containers`) or cloned
//! from a source task definition (`clone_of`) with per-container overrides.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Anchor, Documents, Kind, Name, Rule, SpecContext};
use crate::model::{Attributes, ReplaceOrder, ResourceKind};

pub const KIND: Kind = Kind {
    kind: ResourceKind::EcsTaskDefinition,
    inputs: &[
        "family",
        "cpu",
        "memory",
        "network_mode",
        "requires_compatibilities",
        "execution_role_arn",
        "task_role_arn",
        "containers",
        "volumes",
        "placement_constraints",
        "runtime_platform",
        "ephemeral_storage",
        "pid_mode",
        "ipc_mode",
        "enable_fault_injection",
        "proxy_configuration",
        "inference_accelerators",
        "tags",
    ],
    // Task definitions are immutable: any other change is a new revision.
    in_place: &["tags"],
    outputs: &["id", "arn", "revision"],
    sets: &["requires_compatibilities"],
    exact_maps: &["tags", "environment"],
    set_after_create: &[],
    // A new revision clashes with nothing: the service moves to it before the old one goes.
    digested: &[],
    replace_order: ReplaceOrder::CreateThenDelete,
    anchor: Anchor::Attribute("family"),
    deleted_after: &[ResourceKind::EcsService],
    by_product: None,
    complete: clone_rules,
    documents: Some(&DOCUMENTS),
    names: &[Name {
        attribute: "family",
        check: |family| super::ecs_name("ECS task-definition family", family),
    }],
    verdict: None,
    create_note: None,
    set_item: None,
    cycle_hint: None,
    final_snapshot: None,
    // The Tagging API lists a new revision only after a delay: the family is also looked up.
    found_by: Some("family"),
    holds_data: None,
};

const DOCUMENTS: Documents = Documents {
    attributes: &[
        "containers",
        "volumes",
        "placement_constraints",
        "runtime_platform",
        "ephemeral_storage",
    ],
    normalize,
    resolve,
};

/// `[resources.ecs_task_definition.NAME]`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub family: String,
    /// A source task definition's ARN (`${source.ecs_task_definition.X.arn}`): the revision
    /// copies it whole, with `containers_override` and any task-level attribute given here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clone_of: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub containers_override: BTreeMap<String, ContainerOverride>,
    /// What of production's that reaches production the clone keeps, each by name
    /// (`task_role_arn`, `secrets.CONTAINER.NAME`...): see `kinds::isolation`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keep_from_production: Vec<String>,
    /// What of production's the clone leaves out, named alike.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop_from_production: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requires_compatibilities: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub containers: Option<Vec<ContainerSpec>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// How many revisions a version bump keeps registered, newest first, so that there is
    /// something to roll back to (default [`DEFAULT_KEEP_REVISIONS`]). Plan policy, not part of
    /// the revision: the diff takes it out before comparing (see `plan::revisions`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_revisions: Option<i64>,
    #[serde(default, skip_serializing)]
    pub depends_on: Vec<String>,
    #[serde(default, skip_serializing)]
    pub timeout: Option<String>,
    /// `count = N`: N copies of this resource (see the README's "Several of a kind").
    #[serde(default, skip_serializing)]
    pub count: Option<u32>,
}

/// `[resources.ecs_task_definition.NAME.containers_override.CONTAINER]`: what a release
/// changes in one of the source's containers.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerOverride {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Merged over the source's: a name given here replaces the source's value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Merged over the source's by name: `{ DB_PASSWORD = "arn:aws:ssm:..." }` replaces the
    /// source's secret of that name (where ECS reads its value from).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, String>,
    /// Replaces the source's log configuration whole.
    #[serde(
        skip_serializing_if = "Option::is_none",
        rename(serialize = "logConfiguration")
    )]
    pub log_configuration: Option<LogConfiguration>,
}

/// A container's log configuration (ECS `LogConfiguration`), as an override gives it.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfiguration {
    /// `awslogs`, `awsfirelens`, `splunk`...
    #[serde(rename(serialize = "logDriver"))]
    pub log_driver: String,
    /// The driver's options: for `awslogs`, `awslogs-group`, `awslogs-region`,
    /// `awslogs-stream-prefix`, `awslogs-create-group`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// `[[resources.ecs_task_definition.NAME.containers]]`. Its attributes take the ECS API's
/// names (`portMappings`), as a cloned definition's do, so both compare alike.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
    #[serde(default = "yes")]
    pub essential: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        rename(serialize = "portMappings")
    )]
    pub port_mappings: Vec<PortMapping>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
}

/// `server:7` of `arn:aws:ecs:eu-west-1:123456789012:task-definition/server:7`: a revision as a
/// person names it.
pub fn family_revision(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Each container's name and image (`repository:tag`), in the definition's order: what a
/// revision runs. `None` for an image that still holds a reference the apply resolves.
pub fn images(containers: Option<&Value>) -> Vec<(String, Option<String>)> {
    containers
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let name = c.get("name")?.as_str()?.to_owned();
            let image = c
                .get("image")
                .and_then(Value::as_str)
                .filter(|i| !i.contains("${"))
                .map(str::to_owned);
            Some((name, image))
        })
        .collect()
}

/// What a revision runs, in one phrase: its one container's image, else `name=image` of each.
pub fn runs(images: &[(String, Option<String>)]) -> String {
    let image = |i: &Option<String>| i.clone().unwrap_or_else(|| "(known after apply)".into());
    match images {
        [] => "no container".into(),
        [(_, one)] => image(one),
        many => many
            .iter()
            .map(|(name, i)| format!("{name}={}", image(i)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// What a new revision is, for the apply's summary: `registered staging-server:3, which runs
/// example/openchs-server:3.2.0`. `None` for any other kind.
pub fn registered(live: &crate::model::LiveResource) -> Option<String> {
    if live.address.kind != ResourceKind::EcsTaskDefinition {
        return None;
    }
    let revision = match (
        live.attributes.get("family").and_then(Value::as_str),
        live.attributes.get("revision").and_then(Value::as_u64),
    ) {
        (Some(family), Some(revision)) => format!("{family}:{revision}"),
        _ => family_revision(&live.id).to_owned(),
    };
    let runs = runs(&images(live.attributes.get("containers")));
    Some(format!("registered {revision}, which runs {runs}"))
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PortMapping {
    #[serde(rename(serialize = "containerPort"))]
    pub container_port: i64,
    #[serde(
        skip_serializing_if = "Option::is_none",
        rename(serialize = "hostPort")
    )]
    pub host_port: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

/// The attribute that says how many revisions to keep.
pub const KEEP_REVISIONS: &str = "keep_revisions";

/// Revisions kept when the spec does not say: the one running and two to roll back to.
pub const DEFAULT_KEEP_REVISIONS: u32 = 3;

/// The most revisions a spec may ask to keep (ECS itself keeps up to 1,000,000 per family;
/// more than this is a typo).
pub const MAX_KEEP_REVISIONS: i64 = 100;

/// The attribute a clone reads its source's definition from, until the plan resolves it.
pub(crate) const SOURCE_DEFINITION: &str = "clone_source_definition";

/// A revision is written out or cloned, not both; a clone names its source as a source
/// reference, whose whole definition the plan reads.
fn clone_rules(attrs: &mut Attributes, _: &SpecContext) -> Result<(), Rule> {
    super::isolation::check_spec(KIND.kind, attrs)?;
    if let Some(keep) = attrs.get(KEEP_REVISIONS)
        && !keep
            .as_i64()
            .is_some_and(|n| (1..=MAX_KEEP_REVISIONS).contains(&n))
    {
        return Err(Rule {
            message: format!(
                "keep_revisions = {keep}: keep between 1 and {MAX_KEEP_REVISIONS} revisions"
            ),
            hint: format!(
                "the revision running counts: keep_revisions = {DEFAULT_KEEP_REVISIONS} (the \
                 default) keeps it and two to roll back to"
            ),
        });
    }
    let has_containers = attrs.contains_key("containers");
    let overrides = attrs.contains_key("containers_override");
    let Some(clone_of) = attrs.get("clone_of").cloned() else {
        if has_containers {
            return Ok(());
        }
        return Err(Rule {
            message: if overrides {
                "`containers_override` needs `clone_of`: there is nothing to override".into()
            } else {
                "a task definition needs `containers`, or `clone_of` to copy a source's".into()
            },
            hint: "write `clone_of = \"${source.ecs_task_definition.NAME.arn}\"` to copy \
                   production's task definition, or list the containers with \
                   [[resources.ecs_task_definition.NAME.containers]]"
                .into(),
        });
    };
    if has_containers {
        return Err(Rule {
            message: "`clone_of` and `containers` cannot both be given".into(),
            hint: "a clone copies its source's containers: change them with \
                   [resources.ecs_task_definition.NAME.containers_override.CONTAINER] \
                   (image, environment, command, secrets, log_configuration)"
                .into(),
        });
    }
    let source = clone_of
        .as_str()
        .and_then(|c| c.strip_prefix("${source.ecs_task_definition."))
        .and_then(|c| c.strip_suffix(".arn}"))
        .filter(|name| !name.is_empty() && !name.contains(['.', '$', '{', '}']))
        .ok_or_else(|| Rule {
            message: format!("`clone_of` must name a source task definition, not {clone_of}"),
            hint: "declare it as [sources.ecs_task_definition.NAME] family = \"...\" and write \
                   `clone_of = \"${source.ecs_task_definition.NAME.arn}\"`: the plan reads its \
                   whole definition"
                .into(),
        })?;
    attrs.insert(
        SOURCE_DEFINITION.into(),
        Value::String(format!(
            "${{source.ecs_task_definition.{source}.definition}}"
        )),
    );
    Ok(())
}

/// A clone: the source's definition, the spec's task-level attributes over it, and each
/// container override applied to the container of that name. What is left is what will be
/// registered, and what a later plan compares the live revision with.
fn resolve(attrs: &mut Attributes) -> Result<(), Rule> {
    let Some(definition) = attrs.remove(SOURCE_DEFINITION) else {
        return Ok(());
    };
    attrs.remove("clone_of");
    let overrides = match attrs.remove("containers_override") {
        Some(Value::Object(o)) => o,
        _ => Map::new(),
    };
    let Value::Object(definition) = definition else {
        return Err(Rule {
            message: "the source task definition's definition could not be read".into(),
            hint: "check the source's family; run `rehearsal plan -v` for details".into(),
        });
    };
    for (key, value) in definition {
        attrs.entry(key).or_insert(value);
    }
    let Some(Value::Array(containers)) = attrs.get_mut("containers") else {
        return Err(Rule {
            message: "the source task definition has no containers".into(),
            hint: "clone a task definition that has container definitions".into(),
        });
    };
    let names: Vec<String> = containers
        .iter()
        .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    for (name, change) in overrides {
        let Some(container) = containers
            .iter_mut()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(name.as_str()))
            .and_then(Value::as_object_mut)
        else {
            return Err(Rule {
                message: format!(
                    "containers_override.{name}: the source task definition has no container \
                     `{name}`"
                ),
                hint: format!("its containers are: {}", names.join(", ")),
            });
        };
        let Value::Object(change) = change else {
            continue;
        };
        for (field, value) in change {
            match (field.as_str(), value) {
                ("environment", Value::Object(set)) => {
                    let env = container
                        .entry("environment")
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(env) = env {
                        env.extend(set);
                    }
                }
                ("secrets", Value::Object(set)) => {
                    let secrets = container
                        .entry("secrets")
                        .or_insert_with(|| Value::Array(vec![]));
                    if let Value::Array(secrets) = secrets {
                        for (name, value_from) in set {
                            secrets.retain(|s| s.get("name") != Some(&Value::String(name.clone())));
                            secrets
                                .push(serde_json::json!({"name": name, "valueFrom": value_from}));
                        }
                    }
                }
                (_, value) => {
                    container.insert(field, value);
                }
            }
        }
    }
    Ok(())
}

/// The normal form of a task definition's documents, after kayac/ecspresso's comparison
/// (`tdToTaskDefinitionInput` and its sort helpers): what ECS fills in by default and the
/// order of lists ECS does not care about are not differences.
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html
fn normalize(attribute: &str, value: &Value, all: &Attributes) -> Value {
    let network_mode = all
        .get("network_mode")
        .and_then(Value::as_str)
        .unwrap_or("bridge");
    match (attribute, value) {
        ("containers", Value::Array(containers)) => {
            let mut out: Vec<Value> = containers
                .iter()
                .map(|c| normal_container(c, network_mode))
                .collect();
            sort_by_key(&mut out, "name");
            Value::Array(out)
        }
        ("volumes", Value::Array(volumes)) => {
            let mut out: Vec<Value> = volumes.iter().map(|v| compact(v.clone())).collect();
            sort_by_key(&mut out, "name");
            Value::Array(out)
        }
        _ => compact(value.clone()),
    }
}

fn normal_container(container: &Value, network_mode: &str) -> Value {
    let Value::Object(c) = compact(container.clone()) else {
        return container.clone();
    };
    let mut c = c;
    // "If the essential parameter of a container is marked as true ..." — true unless said.
    if c.get("essential") == Some(&Value::Bool(true)) {
        c.remove("essential");
    }
    // cpu 0: no reservation, what ECS reports when none was given.
    if c.get("cpu").and_then(Value::as_i64) == Some(0) {
        c.remove("cpu");
    }
    if let Some(Value::Array(ports)) = c.get_mut("portMappings") {
        for port in ports.iter_mut().filter_map(Value::as_object_mut) {
            if port.get("protocol").and_then(Value::as_str) == Some("tcp") {
                port.remove("protocol");
            }
            // awsvpc and host: the host port is the container port. bridge: 0 or absent
            // means a dynamic port.
            // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PortMapping.html
            let host = port.get("hostPort").and_then(Value::as_i64);
            let container = port.get("containerPort").and_then(Value::as_i64);
            let default =
                host == Some(0) || (matches!(network_mode, "awsvpc" | "host") && host == container);
            if default {
                port.remove("hostPort");
            }
        }
        sort_by_key(ports, "containerPort");
    }
    for (list, key) in [
        ("secrets", "name"),
        ("mountPoints", "containerPath"),
        ("volumesFrom", "sourceContainer"),
        ("ulimits", "name"),
        ("extraHosts", "hostname"),
        ("systemControls", "namespace"),
        ("environmentFiles", "value"),
        ("dependsOn", "containerName"),
        ("resourceRequirements", "type"),
    ] {
        if let Some(Value::Array(items)) = c.get_mut(list) {
            sort_by_key(items, key);
        }
    }
    if let Some(Value::Array(secrets)) = c
        .get_mut("logConfiguration")
        .and_then(|l| l.get_mut("secretOptions"))
    {
        sort_by_key(secrets, "name");
    }
    if let Some(Value::Array(ports)) = c.get("portMappings")
        && ports.is_empty()
    {
        c.remove("portMappings");
    }
    compact(Value::Object(c))
}

/// Without what means "not set": nulls, empty lists and empty tables; whole numbers as
/// integers (`512.0` is `512`).
fn compact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, compact(v)))
                .filter(|(_, v)| !is_unset(v))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(compact).collect()),
        Value::Number(n) if n.as_i64().is_none() && n.as_u64().is_none() => n
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| Value::from(f as i64))
            .unwrap_or(Value::Number(n)),
        other => other,
    }
}

fn is_unset(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn sort_by_key(items: &mut [Value], key: &str) {
    items.sort_by_key(|item| match item.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => format!("{other:>20}"),
        None => item.to_string(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(v: Value) -> Attributes {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn what_ecs_fills_in_and_reorders_is_the_normal_form() {
        let written = json!([{"name": "server", "image": "a:1",
            "portMappings": [{"containerPort": 8080}],
            "environment": {"B": "2", "A": "1"},
            "secrets": [{"name": "Y", "valueFrom": "y"}, {"name": "X", "valueFrom": "x"}]}]);
        let described = json!([{"name": "server", "image": "a:1", "cpu": 0, "essential": true,
            "portMappings": [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}],
            "environment": {"A": "1", "B": "2"}, "mountPoints": [], "volumesFrom": [],
            "secrets": [{"name": "X", "valueFrom": "x"}, {"name": "Y", "valueFrom": "y"}]}]);
        let awsvpc = attrs(json!({"network_mode": "awsvpc"}));
        assert_eq!(
            normalize("containers", &written, &awsvpc),
            normalize("containers", &described, &awsvpc)
        );
        // Under bridge networking a host port equal to the container port is a choice.
        let bridge = attrs(json!({"network_mode": "bridge"}));
        assert_ne!(
            normalize("containers", &written, &bridge),
            normalize("containers", &described, &bridge)
        );
        // Not essential is not the default.
        let mut optional = described.clone();
        optional[0]["essential"] = json!(false);
        assert_ne!(
            normalize("containers", &written, &awsvpc),
            normalize("containers", &optional, &awsvpc)
        );
    }

    #[test]
    fn a_clone_takes_the_source_whole_and_the_overrides_over_it() {
        let mut a = attrs(json!({
            "family": "pre", "clone_of": "arn:td/server:3",
            "containers_override": {"server": {"image": "s:3.2.0",
                "environment": {"DATABASE_HOST": "pre-db"}}},
            SOURCE_DEFINITION: {"cpu": "512", "task_role_arn": "arn:role/task",
                "containers": [
                    {"name": "server", "image": "s:3.1.0",
                     "environment": {"DATABASE_HOST": "prod-db", "LOG": "info"},
                     "healthCheck": {"command": ["CMD", "true"]}},
                    {"name": "sidecar", "image": "x:1"}]}
        }));
        resolve(&mut a).unwrap();
        assert_eq!(
            Value::Object(a),
            json!({"family": "pre", "cpu": "512", "task_role_arn": "arn:role/task",
                "containers": [
                    {"name": "server", "image": "s:3.2.0",
                     "environment": {"DATABASE_HOST": "pre-db", "LOG": "info"},
                     "healthCheck": {"command": ["CMD", "true"]}},
                    {"name": "sidecar", "image": "x:1"}]})
        );
        let mut wrong = attrs(json!({
            "containers_override": {"web": {"image": "w:2"}},
            SOURCE_DEFINITION: {"containers": [{"name": "server"}, {"name": "sidecar"}]}
        }));
        let rule = resolve(&mut wrong).unwrap_err();
        assert!(rule.message.contains("no container `web`"), "{rule:?}");
        assert_eq!(rule.hint, "its containers are: server, sidecar");
    }
}
