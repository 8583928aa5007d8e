//! `rds_instance`: a DB instance restored from a snapshot.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Anchor, Kind, Name, Rule, SpecContext};
use crate::model::{Attributes, ReplaceOrder, ResourceKind};

pub const KIND: Kind = Kind {
    kind: ResourceKind::RdsInstance,
    inputs: &[
        "identifier",
        "snapshot",
        "latest_snapshot_of",
        "instance_class",
        "subnet_group",
        "security_groups",
        "parameter_group",
        "option_group",
        "backup_retention_days",
        "deletion_protection",
        "publicly_accessible",
        "final_snapshot",
        "tags",
    ],
    // ModifyDBInstance covers these; `final_snapshot` is teardown policy only.
    in_place: &[
        "instance_class",
        "security_groups",
        "parameter_group",
        "option_group",
        "backup_retention_days",
        "deletion_protection",
        "publicly_accessible",
        "final_snapshot",
        "tags",
    ],
    outputs: &["id", "arn", "endpoint", "port", "status", "engine"],
    sets: &["security_groups"],
    exact_maps: &["tags"],
    // A restore may ignore these (older API versions, and moto, copy the source's: a public
    // production would make a public copy), so they are checked, and set if need be, once the
    // instance is available.
    set_after_create: &[
        "backup_retention_days",
        "deletion_protection",
        "publicly_accessible",
    ],
    digested: &[],
    replace_order: ReplaceOrder::DeleteThenCreate,
    anchor: Anchor::Attribute("identifier"),
    deleted_after: &[],
    by_product: None,
    complete,
    documents: None,
    names: &[Name {
        attribute: "identifier",
        check: |identifier| {
            rds_identifier("RDS DB instance identifier", 63, "database", identifier)
        },
    }],
    verdict: None,
    create_note: None,
    set_item: None,
    cycle_hint: None,
    final_snapshot: Some(&super::final_snapshot::FinalSnapshots {
        asked_by: "final_snapshot",
        noun: "database",
        kind: ResourceKind::RdsSnapshot,
    }),
    found_by: None,
    holds_data: Some("database"),
};

/// `[resources.rds_instance.NAME]`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Restore from this snapshot identifier...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// ...or from the newest snapshot of this DB instance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_snapshot_of: Option<String>,
    pub instance_class: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet_group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<crate::spec::refs::StringList>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter_group: Option<String>,
    /// Left out: production's (the option group of the database the snapshot was taken of).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub option_group: Option<String>,
    #[serde(default)]
    pub backup_retention_days: i64,
    #[serde(default)]
    pub deletion_protection: bool,
    /// A public endpoint for a copy of production's data: off unless the spec turns it on.
    /// Always sent, because RDS defaults it to on in a default VPC (see `aws::rds::instance`).
    #[serde(default)]
    pub publicly_accessible: bool,
    /// Take a final snapshot when the environment is destroyed.
    #[serde(default)]
    pub final_snapshot: bool,
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

fn complete(attrs: &mut Attributes, cx: &SpecContext) -> Result<(), Rule> {
    super::rds_snapshot::default_identifier(attrs, cx)?;
    if attrs.contains_key("snapshot") == attrs.contains_key("latest_snapshot_of") {
        return Err(Rule {
            message: format!(
                "rds_instance.{} needs exactly one of `snapshot` or `latest_snapshot_of`",
                cx.name
            ),
            hint: "restore from snapshot = \"${rds_snapshot.NAME.identifier}\", or from \
                   latest_snapshot_of = \"${source.rds_instance.NAME.identifier}\""
                .into(),
        });
    }
    Ok(())
}

/// AWS's rule for RDS identifiers (DB instances: at most 63 characters, DB snapshots: 255):
/// letters, digits and hyphens, a letter first, no two hyphens in a row and none at the end.
/// RDS stores an identifier in lowercase, so one with uppercase letters would never match what
/// AWS reports, and every plan would replace the `resource` it names: that is refused too.
pub fn rds_identifier(what: &str, max: usize, resource: &str, value: &str) -> Result<(), Rule> {
    let broken = |reason: String, hint: String| {
        Err(Rule {
            message: format!("`{value}` is not a valid {what}: {reason}"),
            hint,
        })
    };
    let rule =
        format!("an {what} is 1 to {max} letters, digits and hyphens, starting with a letter");
    let length = value.chars().count();
    if length == 0 {
        return broken("it is empty".into(), rule);
    }
    if length > max {
        return broken(
            format!("it is {length} characters long, and the most is {max}"),
            rule,
        );
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return broken(format!("{} is not allowed", super::shown_char(c)), rule);
    }
    if !value.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return broken("it does not start with a letter".into(), rule);
    }
    if value.contains("--") {
        return broken("it has two hyphens in a row".into(), rule);
    }
    if value.ends_with('-') {
        return broken("it ends with a hyphen".into(), rule);
    }
    if value.chars().any(|c| c.is_ascii_uppercase()) {
        let lower = value.to_ascii_lowercase();
        return broken(
            "RDS keeps it in lowercase".into(),
            format!(
                "write `{lower}`: AWS would report `{lower}`, which never matches `{value}`, \
                 and every apply would replace the {resource}"
            ),
        );
    }
    Ok(())
}
