//! The vocabulary shared by every layer: addresses, kinds, attributes and the live objects a
//! provider reports. Nothing here knows about TOML, plans or AWS.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Attribute values are JSON: the spec, the plan file and the providers all speak it.
pub type Attributes = serde_json::Map<String, serde_json::Value>;

/// Tag keys rehearsal writes at creation time. State lives in AWS, in these tags.
pub mod tags {
    /// The environment that owns a resource. Teardown trusts nothing else.
    pub const ENV: &str = "rehearsal:env";
    /// The resource's address in the spec, e.g. `rds_instance.db`.
    pub const ADDRESS: &str = "rehearsal:address";
    /// RFC 3339 time after which `rehearsal reap` may destroy an ephemeral environment.
    pub const EXPIRES_AT: &str = "rehearsal:expires-at";
    /// `protected` or `ephemeral`: teardown refuses a protected environment even when its spec
    /// file is missing.
    pub const LIFECYCLE: &str = "rehearsal:lifecycle";
    /// `true` on snapshots that outlive a teardown.
    pub const KEEP: &str = "rehearsal:keep";
    /// Prefix of tags that record creation-time inputs AWS cannot describe back.
    pub const INPUT_PREFIX: &str = "rehearsal:input:";
}

/// What rehearsal can own. The order of the variants is the order of creation between kinds;
/// teardown goes the other way (see [`ResourceKind::teardown_rank`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    RdsSnapshot,
    RdsInstance,
    Ec2Instance,
    EcsCluster,
    EcsTaskDefinition,
    EcsService,
}

/// How a replacement is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplaceOrder {
    /// The name is unique (an RDS identifier, an ECS cluster name): the old one must go first.
    DeleteThenCreate,
    /// Nothing clashes (a new task-definition revision): keep the old one until the new one works.
    CreateThenDelete,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 6] = [
        ResourceKind::RdsSnapshot,
        ResourceKind::RdsInstance,
        ResourceKind::Ec2Instance,
        ResourceKind::EcsCluster,
        ResourceKind::EcsTaskDefinition,
        ResourceKind::EcsService,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::RdsSnapshot => "rds_snapshot",
            ResourceKind::RdsInstance => "rds_instance",
            ResourceKind::Ec2Instance => "ec2_instance",
            ResourceKind::EcsCluster => "ecs_cluster",
            ResourceKind::EcsTaskDefinition => "ecs_task_definition",
            ResourceKind::EcsService => "ecs_service",
        }
    }

    /// Attributes a user may set in the spec. Attributes not listed in
    /// [`ResourceKind::in_place_attributes`] force a replacement when they change.
    pub fn input_attributes(self) -> &'static [&'static str] {
        match self {
            ResourceKind::RdsSnapshot => &["identifier", "source_db", "keep_after_destroy", "tags"],
            ResourceKind::RdsInstance => &[
                "identifier",
                "snapshot",
                "latest_snapshot_of",
                "instance_class",
                "subnet_group",
                "security_groups",
                "parameter_group",
                "backup_retention_days",
                "deletion_protection",
                "final_snapshot",
                "tags",
            ],
            ResourceKind::Ec2Instance => &[
                "clone_of",
                "image",
                "subnet",
                "security_groups",
                "instance_type",
                "user_data",
                "key_name",
                "tags",
            ],
            ResourceKind::EcsCluster => &["name", "tags"],
            ResourceKind::EcsTaskDefinition => &[
                "family",
                "cpu",
                "memory",
                "network_mode",
                "requires_compatibilities",
                "execution_role_arn",
                "containers",
                "tags",
            ],
            ResourceKind::EcsService => &[
                "name",
                "cluster",
                "task_definition",
                "desired_count",
                "launch_type",
                "subnets",
                "security_groups",
                "tags",
            ],
        }
    }

    /// Attributes AWS can change on a live resource without replacing it.
    pub fn in_place_attributes(self) -> &'static [&'static str] {
        match self {
            // A snapshot is immutable; only its tags and our own teardown policy can change.
            ResourceKind::RdsSnapshot => &["keep_after_destroy", "tags"],
            // ModifyDBInstance covers these; `final_snapshot` is teardown policy only.
            ResourceKind::RdsInstance => &[
                "instance_class",
                "security_groups",
                "parameter_group",
                "backup_retention_days",
                "deletion_protection",
                "final_snapshot",
                "tags",
            ],
            // Instance type and security groups change with ModifyInstanceAttribute
            // (the type needs a stop and start, which the provider does).
            ResourceKind::Ec2Instance => &["instance_type", "security_groups", "tags"],
            ResourceKind::EcsCluster => &["tags"],
            // Task definitions are immutable: any change is a new revision.
            ResourceKind::EcsTaskDefinition => &["tags"],
            ResourceKind::EcsService => &["task_definition", "desired_count", "tags"],
        }
    }

    /// Attributes a provider reports after creation, which other resources may reference.
    pub fn output_attributes(self) -> &'static [&'static str] {
        match self {
            ResourceKind::RdsSnapshot => &["id", "arn", "status"],
            ResourceKind::RdsInstance => &["id", "arn", "endpoint", "port", "status", "engine"],
            ResourceKind::Ec2Instance => &["id", "private_ip", "public_ip", "state"],
            ResourceKind::EcsCluster => &["id", "arn", "status"],
            ResourceKind::EcsTaskDefinition => &["id", "arn", "revision"],
            ResourceKind::EcsService => &["id", "arn", "status"],
        }
    }

    pub fn has_attribute(self, attribute: &str) -> bool {
        self.input_attributes().contains(&attribute)
            || self.output_attributes().contains(&attribute)
    }

    pub fn replace_order(self) -> ReplaceOrder {
        match self {
            ResourceKind::EcsTaskDefinition | ResourceKind::Ec2Instance => {
                ReplaceOrder::CreateThenDelete
            }
            _ => ReplaceOrder::DeleteThenCreate,
        }
    }

    /// Teardown order between kinds: lower goes first. Services before the task definitions
    /// and clusters they use; instances before the snapshots they were restored from.
    pub fn teardown_rank(self) -> u8 {
        match self {
            ResourceKind::EcsService => 0,
            ResourceKind::Ec2Instance => 1,
            ResourceKind::RdsInstance => 1,
            ResourceKind::EcsTaskDefinition => 2,
            ResourceKind::EcsCluster => 3,
            ResourceKind::RdsSnapshot => 4,
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ResourceKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ResourceKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown resource kind `{s}`"))
    }
}

/// Existing resources rehearsal only reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Ec2Instance,
    RdsInstance,
    EcsCluster,
    EcsService,
    EcsTaskDefinition,
}

impl SourceKind {
    pub const ALL: [SourceKind; 5] = [
        SourceKind::Ec2Instance,
        SourceKind::RdsInstance,
        SourceKind::EcsCluster,
        SourceKind::EcsService,
        SourceKind::EcsTaskDefinition,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Ec2Instance => "ec2_instance",
            SourceKind::RdsInstance => "rds_instance",
            SourceKind::EcsCluster => "ecs_cluster",
            SourceKind::EcsService => "ecs_service",
            SourceKind::EcsTaskDefinition => "ecs_task_definition",
        }
    }

    /// Attributes a look-up returns.
    pub fn attributes(self) -> &'static [&'static str] {
        match self {
            SourceKind::Ec2Instance => &[
                "id",
                "image",
                "subnet",
                "vpc",
                "security_groups",
                "instance_type",
                "private_ip",
                "key_name",
                "state",
            ],
            SourceKind::RdsInstance => &[
                "identifier",
                "arn",
                "engine",
                "engine_version",
                "instance_class",
                "endpoint",
                "port",
                "subnet_group",
                "security_groups",
                "parameter_group",
                "status",
            ],
            SourceKind::EcsCluster => &["name", "arn", "status"],
            SourceKind::EcsService => {
                &["name", "arn", "cluster", "task_definition", "desired_count"]
            }
            SourceKind::EcsTaskDefinition => &["family", "arn", "revision", "image"],
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SourceKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SourceKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown source kind `{s}`"))
    }
}

/// `kind.name`: how a resource is named in the spec, the plan and the tags.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    pub kind: ResourceKind,
    pub name: String,
}

impl Address {
    pub fn new(kind: ResourceKind, name: impl Into<String>) -> Self {
        Address {
            kind,
            name: name.into(),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.name)
    }
}

impl FromStr for Address {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, name) = s
            .split_once('.')
            .ok_or_else(|| format!("`{s}` is not an address like `rds_instance.db`"))?;
        if name.is_empty() || name.contains('.') {
            return Err(format!("`{s}` is not an address like `rds_instance.db`"));
        }
        Ok(Address::new(kind.parse()?, name))
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// `source.kind.name`: a read-only look-up in the spec.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceAddress {
    pub kind: SourceKind,
    pub name: String,
}

impl fmt::Display for SourceAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "source.{}.{}", self.kind, self.name)
    }
}

impl Serialize for SourceAddress {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The environment a command acts on: its name and the region it lives in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvId {
    pub name: String,
    pub region: String,
}

/// A resource found live, owned by an environment (it carries the environment's tags).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveResource {
    /// From the `rehearsal:address` tag.
    pub address: Address,
    /// The AWS id a delete or update needs (instance id, DB identifier, ARN...).
    pub id: String,
    /// A lifecycle word from AWS: `available`, `running`, `deleting`, `ACTIVE`...
    pub status: String,
    /// Spec attributes (as far as they can be read back) and outputs.
    pub attributes: Attributes,
    /// Every tag on the resource, rehearsal's own included.
    pub tags: BTreeMap<String, String>,
}

impl LiveResource {
    /// True when AWS is already removing it or has removed it.
    pub fn is_going_away(&self) -> bool {
        matches!(
            self.status.to_ascii_lowercase().as_str(),
            "deleting" | "shutting-down" | "terminated" | "deleted" | "inactive" | "deprovisioning"
        )
    }

    pub fn keep_after_destroy(&self) -> bool {
        self.tags.get(tags::KEEP).map(String::as_str) == Some("true")
    }
}

/// How to find a source. Exactly the fields the spec allows for its kind are set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceQuery {
    pub kind: SourceKind,
    /// EC2 instance id, RDS identifier, ECS cluster or service name, task-definition family.
    pub id: Option<String>,
    /// EC2 instances may be found by tags instead; exactly one must match.
    pub tags: BTreeMap<String, String>,
    /// ECS services live in a cluster.
    pub cluster: Option<String>,
}

impl SourceQuery {
    pub fn describe(&self) -> String {
        let mut parts = vec![];
        if let Some(id) = &self.id {
            parts.push(id.clone());
        }
        for (k, v) in &self.tags {
            parts.push(format!("tag {k}={v}"));
        }
        if let Some(c) = &self.cluster {
            parts.push(format!("in cluster {c}"));
        }
        format!("{} {}", self.kind, parts.join(", "))
    }
}

/// What a source look-up found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceObject {
    pub attributes: Attributes,
}
