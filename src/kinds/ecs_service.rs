//! `ecs_service`: an ECS service running a task definition in a cluster.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Anchor, Kind, Name, no_rules};
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
    complete: no_rules,
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
