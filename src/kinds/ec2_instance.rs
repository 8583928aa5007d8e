//! `ec2_instance`: a server cloned from a production instance.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Anchor, Kind, Rule, SpecContext};
use crate::model::{Attributes, ReplaceOrder, ResourceKind};

pub const KIND: Kind = Kind {
    kind: ResourceKind::Ec2Instance,
    inputs: &[
        "clone_of",
        "image",
        "subnet",
        "security_groups",
        "instance_type",
        "user_data",
        "key_name",
        "tags",
    ],
    // Instance type and security groups change with ModifyInstanceAttribute (the type needs a
    // stop and start, which the provider does).
    in_place: &["instance_type", "security_groups", "tags"],
    outputs: &["id", "private_ip", "public_ip", "state"],
    sets: &["security_groups"],
    exact_maps: &["tags"],
    set_after_create: &[],
    // Nothing clashes: the new server runs before the old one goes.
    replace_order: ReplaceOrder::CreateThenDelete,
    anchor: Anchor::ClientToken,
    deleted_after: &[],
    by_product: None,
    complete: clone_defaults,
    documents: None,
    names: &[],
};

/// `[resources.ec2_instance.NAME]`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Instance id to clone: its image, subnet, security groups and key pair are used unless
    /// set here.
    pub clone_of: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<Vec<String>>,
    pub instance_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing)]
    pub depends_on: Vec<String>,
    #[serde(default, skip_serializing)]
    pub timeout: Option<String>,
}

/// A clone of a source server launches from its image into its subnet and security groups
/// unless the spec says otherwise. Spelled out as references, the plan shows what will be
/// launched, and a later plan notices when production's server moved on.
fn clone_defaults(attrs: &mut Attributes, _: &SpecContext) -> Result<(), Rule> {
    let Some(source) = attrs
        .get("clone_of")
        .and_then(Value::as_str)
        .and_then(|c| c.strip_prefix("${source.ec2_instance."))
        .and_then(|c| c.strip_suffix(".id}"))
        .filter(|name| !name.contains(['.', '$', '{', '}']))
        .map(str::to_string)
    else {
        return Ok(());
    };
    let from_source = |attribute: &str| format!("${{source.ec2_instance.{source}.{attribute}}}");
    attrs
        .entry("image")
        .or_insert_with(|| Value::String(from_source("image")));
    attrs
        .entry("subnet")
        .or_insert_with(|| Value::String(from_source("subnet")));
    attrs
        .entry("security_groups")
        .or_insert_with(|| Value::Array(vec![Value::String(from_source("security_groups"))]));
    Ok(())
}
