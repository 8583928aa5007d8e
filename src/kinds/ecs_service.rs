//! `ecs_service`: an ECS service running a task definition in a cluster.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Anchor, Kind, Name, Rule, SpecContext};
use crate::model::Attributes;
use crate::model::{ReplaceOrder, ResourceKind};

pub const KIND: Kind = Kind {
    kind: ResourceKind::EcsService,
    inputs: &[
        "name",
        "cluster",
        "task_definition",
        "desired_count",
        "launch_type",
        "subnets",
        "security_groups",
        "assign_public_ip",
        "tags",
    ],
    in_place: &["task_definition", "desired_count", "tags"],
    outputs: &["id", "arn", "status"],
    sets: &["subnets", "security_groups"],
    exact_maps: &["tags"],
    set_after_create: &[],
    // The name is unique in its cluster.
    digested: &[],
    replace_order: ReplaceOrder::DeleteThenCreate,
    anchor: Anchor::Attribute("name"),
    deleted_after: &[],
    by_product: None,
    complete: network_defaults,
    documents: None,
    names: &[Name {
        attribute: "name",
        check: |name| super::ecs_name("ECS service name", name),
    }],
};

/// `[resources.ecs_service.NAME]`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub name: String,
    pub cluster: String,
    pub task_definition: String,
    #[serde(default = "one")]
    pub desired_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnets: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<Vec<String>>,
    /// awsvpc only (with `subnets`): whether tasks get a public address. Default false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assign_public_ip: Option<bool>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing)]
    pub depends_on: Vec<String>,
    #[serde(default, skip_serializing)]
    pub timeout: Option<String>,
    /// `count = N`: N copies of this resource (see the README's "Several of a kind").
    #[serde(default, skip_serializing)]
    pub count: Option<u32>,
}

fn one() -> i64 {
    1
}

/// With `subnets` the service uses awsvpc networking, and its tasks get no public address
/// unless the spec says so (AWS's default, written out so the plan shows it and compares it).
/// Fargate needs awsvpc: `launch_type = "FARGATE"` without subnets could never place a task.
fn network_defaults(attrs: &mut Attributes, _: &SpecContext) -> Result<(), Rule> {
    let has_subnets = attrs.contains_key("subnets");
    if has_subnets {
        attrs
            .entry("assign_public_ip")
            .or_insert(serde_json::Value::Bool(false));
    } else if attrs.contains_key("assign_public_ip") {
        return Err(Rule {
            message: "`assign_public_ip` needs `subnets`: it is part of awsvpc networking".into(),
            hint: "give the subnets (and security_groups) the tasks run in".into(),
        });
    }
    let fargate = attrs.get("launch_type").and_then(serde_json::Value::as_str) == Some("FARGATE");
    if fargate && !has_subnets {
        return Err(Rule {
            message: "a FARGATE service needs `subnets` (and `security_groups`)".into(),
            hint: "Fargate tasks use awsvpc networking: write subnets = [...] and \
                   security_groups = [...], for example production's \
                   `${source.ec2_instance.prod_server.subnet}`"
                .into(),
        });
    }
    Ok(())
}
