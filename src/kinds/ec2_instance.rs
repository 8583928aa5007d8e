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
        "instance_profile",
        "metadata_options",
        "monitoring",
        "ebs_optimized",
        "volumes",
        "tags",
    ],
    // Instance type and security groups change with ModifyInstanceAttribute (the type needs a
    // stop and start, which the provider does).
    in_place: &["instance_type", "security_groups", "tags"],
    outputs: &["id", "private_ip", "public_ip", "state"],
    sets: &["security_groups"],
    exact_maps: &["tags"],
    set_after_create: &[],
    // DescribeInstances does not return user data (one DescribeInstanceAttribute per instance
    // does), nor the volumes' sizes and types (DescribeVolumes): compared by the digest
    // recorded at creation, so a re-plan costs the same for 1 server or 100.
    digested: &["user_data", "volumes"],
    // Nothing clashes: the new server runs before the old one goes.
    replace_order: ReplaceOrder::CreateThenDelete,
    anchor: Anchor::ClientToken,
    deleted_after: &[],
    by_product: None,
    complete: clone_defaults,
    documents: None,
    names: &[],
    verdict: None,
    create_note: None,
    set_item: None,
    cycle_hint: None,
    final_snapshot: None,
    found_by: None,
    holds_data: None,
};

/// `[resources.ec2_instance.NAME]`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Instance id to clone: its image, subnet, security groups, key pair, instance profile,
    /// metadata options, monitoring, EBS optimisation and volumes are used unless set here.
    pub clone_of: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<crate::spec::refs::StringList>,
    pub instance_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    /// The instance profile's ARN (its role is what the server's software acts as).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata_options: Option<MetadataOptions>,
    /// Detailed (one-minute) CloudWatch monitoring.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ebs_optimized: Option<bool>,
    /// The EBS volumes to launch with, by device: the image's own devices take its snapshot at
    /// this size and type; other devices are new, empty volumes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<Volume>>,
    /// What of the source's that reaches production the clone keeps, by name
    /// (`instance_profile`): see `kinds::isolation`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keep_from_production: Vec<String>,
    /// What of the source's the clone launches without, named alike.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop_from_production: Vec<String>,
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

/// The instance metadata service's options (EC2 `InstanceMetadataOptionsRequest`).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataOptions {
    /// `required` (IMDSv2 only) or `optional`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_tokens: Option<String>,
    /// How many network hops a metadata response may travel (1 to 64; 2 for containers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hop_limit: Option<u8>,
    /// `enabled` or `disabled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_endpoint: Option<String>,
    /// Whether the instance's tags are readable from its metadata: `enabled` or `disabled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_metadata_tags: Option<String>,
}

/// One EBS volume of the launch (EC2 `BlockDeviceMapping`).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    /// `/dev/xvda`, `/dev/sdf`...
    pub device: String,
    /// GiB.
    pub size: u32,
    /// `gp3`, `gp2`, `io2`...
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iops: Option<u32>,
    /// MiB/s (gp3 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throughput: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_on_termination: Option<bool>,
}

/// What a clone copies from its source unless the spec sets it, beside the image, subnet and
/// security groups.
pub const CLONED: &[&str] = &[
    "key_name",
    "instance_profile",
    "metadata_options",
    "monitoring",
    "ebs_optimized",
    "volumes",
];

/// A clone of a source server launches from its image into its subnet and security groups,
/// with its key pair, instance profile, metadata options, monitoring, EBS optimisation and
/// volumes, unless the spec says otherwise. Spelled out as references, the plan shows what will be
/// launched, and a later plan notices when production's server moved on.
fn clone_defaults(attrs: &mut Attributes, _: &SpecContext) -> Result<(), Rule> {
    super::isolation::check_spec(KIND.kind, attrs)?;
    let Some(source) = attrs
        .get("clone_of")
        .and_then(Value::as_str)
        .and_then(|c| c.strip_prefix("${source.ec2_instance."))
        .and_then(|c| c.strip_suffix(".id}"))
        .filter(|name| !name.contains(['.', '$', '{', '}']))
        .map(str::to_string)
    else {
        return bare_instance_profile_decided(attrs);
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
    for attribute in CLONED {
        attrs
            .entry(*attribute)
            .or_insert_with(|| Value::String(from_source(attribute)));
    }
    Ok(())
}

/// A clone of a bare instance id takes the instance's profile at launch, unread by the plan:
/// whether it keeps it is decided in the spec, whatever the instance has.
fn bare_instance_profile_decided(attrs: &Attributes) -> Result<(), Rule> {
    use super::isolation::{DROP, KEEP};
    let named = |list: &str| {
        attrs
            .get(list)
            .and_then(Value::as_array)
            .is_some_and(|l| l.iter().any(|n| n == "instance_profile"))
    };
    if !attrs.contains_key("clone_of")
        || attrs.contains_key("instance_profile")
        || named(KEEP)
        || named(DROP)
    {
        return Ok(());
    }
    Err(Rule {
        message: "a clone of a bare instance id would launch with that instance's instance \
                  profile, unsaid: its role reaches production"
            .into(),
        hint: format!(
            "decide it: keep it, {KEEP} = [\"instance_profile\"]; or override it, \
             instance_profile = \"arn:aws:iam::...:instance-profile/...\"; or drop it, \
             {DROP} = [\"instance_profile\"]"
        ),
    })
}
