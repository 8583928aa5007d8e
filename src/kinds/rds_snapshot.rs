//! `rds_snapshot`: a manual snapshot of a DB instance (production's, usually).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Anchor, Kind, Name, Rule, SpecContext};
use crate::model::{Attributes, ReplaceOrder, ResourceKind};

pub const KIND: Kind = Kind {
    kind: ResourceKind::RdsSnapshot,
    inputs: &["identifier", "source_db", "keep_after_destroy", "tags"],
    // A snapshot is immutable; only its tags and rehearsal's own teardown policy can change.
    in_place: &["keep_after_destroy", "tags"],
    outputs: &["id", "arn", "status"],
    sets: &[],
    exact_maps: &["tags"],
    set_after_create: &[],
    digested: &[],
    replace_order: ReplaceOrder::DeleteThenCreate,
    anchor: Anchor::Attribute("identifier"),
    // A snapshot outlives the databases restored from it.
    deleted_after: &[ResourceKind::RdsInstance],
    by_product: None,
    complete: default_identifier,
    documents: None,
    names: &[Name {
        attribute: "identifier",
        check: |identifier| {
            super::rds_instance::rds_identifier(
                "RDS DB snapshot identifier",
                255,
                "snapshot",
                identifier,
            )
        },
    }],
    verdict: None,
    // https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_CreateSnapshot.html
    create_note: Some(
        "while RDS takes this snapshot, a Single-AZ source database suspends its I/O for a few \
         seconds to a few minutes; `latest_snapshot_of` on the database restores from its newest \
         existing snapshot instead (see README.md)",
    ),
    set_item: None,
    cycle_hint: None,
    final_snapshot: None,
    found_by: None,
    holds_data: Some("snapshot"),
};

/// `[resources.rds_snapshot.NAME]`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// The DB instance identifier to snapshot, usually `${source.rds_instance.X.identifier}`.
    pub source_db: String,
    /// Keep the snapshot when the environment is destroyed.
    #[serde(default)]
    pub keep_after_destroy: bool,
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

/// RDS names are unique per account and region: without one, `ENV-NAME`.
pub fn default_identifier(attrs: &mut Attributes, cx: &SpecContext) -> Result<(), Rule> {
    attrs
        .entry("identifier")
        .or_insert_with(|| Value::String(format!("{}-{}", cx.env.name, cx.aws_name)));
    Ok(())
}
