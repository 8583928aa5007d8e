//! `ecs_task_definition`: a task-definition revision.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Anchor, Kind, Name, no_rules};
use crate::model::{ReplaceOrder, ResourceKind};

pub const KIND: Kind = Kind {
    kind: ResourceKind::EcsTaskDefinition,
    inputs: &[
        "family",
        "cpu",
        "memory",
        "network_mode",
        "requires_compatibilities",
        "execution_role_arn",
        "containers",
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
    complete: no_rules,
    names: &[Name {
        attribute: "family",
        check: |family| super::ecs_name("ECS task-definition family", family),
    }],
};

/// `[resources.ecs_task_definition.NAME]`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub family: String,
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
    pub containers: Vec<ContainerSpec>,
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

/// `[[resources.ecs_task_definition.NAME.containers]]`
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<PortMapping>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PortMapping {
    pub container_port: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_port: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}
