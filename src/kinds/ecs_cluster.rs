//! `ecs_cluster`: an ECS cluster.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Anchor, Kind, Name, no_rules};
use crate::model::{ReplaceOrder, ResourceKind};

pub const KIND: Kind = Kind {
    kind: ResourceKind::EcsCluster,
    inputs: &["name", "tags"],
    in_place: &["tags"],
    outputs: &["id", "arn", "status"],
    sets: &[],
    exact_maps: &["tags"],
    set_after_create: &[],
    // The name is unique in the region.
    digested: &[],
    replace_order: ReplaceOrder::DeleteThenCreate,
    anchor: Anchor::Attribute("name"),
    deleted_after: &[ResourceKind::EcsService],
    by_product: None,
    complete: no_rules,
    documents: None,
    names: &[Name {
        attribute: "name",
        check: |name| super::ecs_name("ECS cluster name", name),
    }],
    verdict: None,
    create_note: None,
    set_item: None,
    cycle_hint: None,
    final_snapshot: None,
    found_by: None,
    holds_data: None,
};

/// `[resources.ecs_cluster.NAME]`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub name: String,
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
