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
    /// The project an environment belongs to: two projects may both have a `prerelease`.
    pub const PROJECT: &str = "rehearsal:project";
    /// The environment that owns a resource.
    pub const ENV: &str = "rehearsal:env";
    /// A digest binding project, environment and address to the resource's own anchor (its
    /// identifier, name, family or launch token): tags copied onto another resource do not
    /// prove it is ours. See `ownership`.
    pub const IDENTITY: &str = "rehearsal:identity";
    /// On what AWS makes for a resource (the volumes of an instance): the create call's token,
    /// the anchor of their identity. See `ownership`.
    pub const LAUNCH: &str = "rehearsal:launch";
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
    /// On a database restored from the newest snapshot of another (`latest_snapshot_of`): the
    /// snapshot the restore chose. RDS does not say which snapshot an instance was restored
    /// from (DescribeDBInstances has no such field), and the spec names only the database.
    pub const RESTORED_FROM: &str = "rehearsal:restored-from";
    /// Beside [`RESTORED_FROM`]: when that snapshot was taken (RFC 3339), for its age.
    pub const RESTORED_FROM_CREATED_AT: &str = "rehearsal:restored-from-created-at";

    /// rehearsal's own namespace: tags a spec may not write.
    pub const RESERVED_PREFIX: &str = "rehearsal:";
    /// AWS's namespace: AWS refuses such keys in a request.
    pub const AWS_PREFIX: &str = "aws:";

    /// Whether a tag key is in a namespace a spec may not write (case-insensitive, as AWS
    /// compares the `aws:` prefix).
    pub fn is_reserved(key: &str) -> bool {
        let lower = key.to_ascii_lowercase();
        lower.starts_with(RESERVED_PREFIX) || lower.starts_with(AWS_PREFIX)
    }
}

/// Declares the resource kinds once: the enum, its complete list and its spec names. Adding a
/// variant here makes every registry's exhaustive `match` fail to compile until the kind has
/// its description (`kinds`), its fake behaviour and its AWS module (see CONTRIBUTING.md).
macro_rules! resource_kinds {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// What rehearsal can own. Everything about one kind lives in `kinds::<name>`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum ResourceKind {
            $(#[serde(rename = $name)] $variant),+
        }

        impl ResourceKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [ResourceKind] = &[$(ResourceKind::$variant),+];

            /// The name used in specs, addresses and tags: `rds_instance`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ResourceKind::$variant => $name),+
                }
            }
        }
    };
}

resource_kinds! {
    RdsSnapshot => "rds_snapshot",
    RdsInstance => "rds_instance",
    Ec2Instance => "ec2_instance",
    EbsVolume => "ebs_volume",
    EcsCluster => "ecs_cluster",
    EcsTaskDefinition => "ecs_task_definition",
    EcsService => "ecs_service",
    SecurityGroup => "security_group",
    DnsRecord => "dns_record",
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

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ResourceKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ResourceKind::ALL
            .iter()
            .copied()
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
                "instance_profile",
                "metadata_options",
                "monitoring",
                "ebs_optimized",
                "volumes",
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
            // `definition`: everything a clone copies (see `ecs_task_definition`'s `clone_of`).
            SourceKind::EcsTaskDefinition => &["family", "arn", "revision", "image", "definition"],
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

    /// One of the copies of a resource declared with `count`: `server[2]`.
    pub fn indexed(kind: ResourceKind, base: &str, index: u32) -> Self {
        Address::new(kind, format!("{base}[{index}]"))
    }

    /// The name the spec declares: `server` of `server[2]`.
    pub fn base_name(&self) -> &str {
        self.name.split('[').next().unwrap_or(&self.name)
    }

    /// The copy's index, for a resource declared with `count`.
    pub fn index(&self) -> Option<&str> {
        self.name
            .split_once('[')
            .and_then(|(_, rest)| rest.strip_suffix(']'))
    }

    /// The name as AWS accepts it in a default identifier: `server-2` for `server[2]`,
    /// hyphens for underscores.
    pub fn name_for_aws(&self) -> String {
        let base = self.base_name().replace('_', "-");
        match self.index() {
            Some(index) => format!("{base}-{index}"),
            None => base,
        }
    }

    /// The `rehearsal:address` tag: `ec2_instance.server.2` for `ec2_instance.server[2]`,
    /// since RDS tag values cannot hold brackets (letters, digits, spaces and `_.:/=+-@`:
    /// https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Tagging.html). It parses
    /// back to the same address.
    pub fn tag_value(&self) -> String {
        match self.index() {
            Some(index) => format!("{}.{}.{index}", self.kind, self.base_name()),
            None => self.to_string(),
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
        let bad = || format!("`{s}` is not an address like `rds_instance.db`");
        let (kind, name) = s.split_once('.').ok_or_else(bad)?;
        let kind = kind.parse()?;
        // `server[2]` as written, or `server.2` as tagged (see `tag_value`).
        let (base, index) = match name.split_once('.') {
            Some((base, index)) => (base, Some(index)),
            None => match name.split_once('[') {
                Some((base, rest)) => (base, Some(rest.strip_suffix(']').ok_or_else(bad)?)),
                None => (name, None),
            },
        };
        let plain = |t: &str| !t.is_empty() && !t.contains(['.', '[', ']']);
        match index {
            None if plain(base) => Ok(Address::new(kind, base)),
            Some(index)
                if plain(base)
                    && !index.is_empty()
                    && index.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Ok(Address::new(kind, format!("{base}[{index}]")))
            }
            _ => Err(bad()),
        }
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

/// `source.kind.name`, as [`SourceAddress`] displays it: a saved plan's spec names its sources
/// so.
impl<'de> Deserialize<'de> for SourceAddress {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let bad = || {
            serde::de::Error::custom(format!(
                "`{s}` is not an address like `source.rds_instance.prod`"
            ))
        };
        let (kind, name) = s
            .strip_prefix("source.")
            .and_then(|rest| rest.split_once('.'))
            .ok_or_else(bad)?;
        let kind = kind.parse().map_err(serde::de::Error::custom)?;
        if name.is_empty() {
            return Err(bad());
        }
        Ok(SourceAddress {
            kind,
            name: name.to_string(),
        })
    }
}

/// The environment a command acts on: the project it belongs to, its name, and the region it
/// lives in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvId {
    pub project: String,
    pub name: String,
    pub region: String,
}

/// What a spec (or a saved plan) declares, by name: for each kind that has one, the values of
/// the attribute its resources are found by (`kinds::Kind::found_by`, computed by
/// `kinds::declared`). A provider uses them where listing alone falls short: to find by name
/// what an eventually consistent index may not list yet, or to list only where the spec's
/// resources can be rather than everything in the account. Empty: nothing is known by name
/// (no spec: `destroy` without one, `status`, `reap`), and everything is listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Declared {
    pub names: BTreeMap<ResourceKind, std::collections::BTreeSet<String>>,
    /// List everywhere all the same, and use the names only to find more: a teardown must find
    /// what the spec no longer says where to look for (a record since moved to another zone).
    pub list_everywhere: bool,
}

impl Declared {
    /// The same names, for a teardown: found by name as well, never listed only by name.
    pub fn listing_everywhere(self) -> Self {
        Declared {
            list_everywhere: true,
            ..self
        }
    }

    /// The names a provider may list only by: none when it must list everywhere.
    pub fn only(&self, kind: ResourceKind) -> impl Iterator<Item = &str> {
        self.of(kind).filter(|_| !self.list_everywhere)
    }

    /// The names declared for a kind, sorted; none for a kind the spec has no resource of.
    pub fn of(&self, kind: ResourceKind) -> impl Iterator<Item = &str> {
        self.names
            .get(&kind)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }
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
    /// True when AWS is already removing it or has removed it (its kind's lifecycle says which
    /// states those are).
    pub fn is_going_away(&self) -> bool {
        crate::kinds::lifecycle(self.address.kind).is_going_away(&self.status)
    }

    /// What AWS said last about it, newest first (a service's `events`), if it says anything.
    pub fn events(&self) -> Vec<String> {
        self.attributes
            .get("events")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(serde_json::Value::as_str)
            .map(str::to_owned)
            .collect()
    }

    /// True when it is in a state its kind never recovers from (`incompatible-restore`, ...).
    pub fn has_failed(&self) -> bool {
        crate::kinds::lifecycle(self.address.kind).is_failed(&self.status)
    }

    pub fn keep_after_destroy(&self) -> bool {
        self.tags.get(tags::KEEP).map(String::as_str) == Some("true")
    }
}

/// When AWS made what a live resource is, read back as RFC 3339 time attributes (`status`
/// shows them). They are observations, not inputs: a plan never compares them, and a plan's
/// fingerprint leaves them out (an ECS deployment's time moves while it rolls out; an EC2
/// instance's launch time moves when it is stopped and started).
pub mod times {
    /// When it was created: an RDS instance's `InstanceCreateTime`, a snapshot's
    /// `SnapshotCreateTime`, an ECS service's `createdAt`, a task definition's `registeredAt`,
    /// an EBS volume's `CreateTime`; an EC2 instance's `LaunchTime` (its last start).
    pub const CREATED_AT: &str = "created_at";
    /// An ECS service: when its primary deployment last changed (`updatedAt`, else `createdAt`).
    pub const DEPLOYED_AT: &str = "deployed_at";
    /// Every time attribute, left out of fingerprints.
    pub const ALL: &[&str] = &[CREATED_AT, DEPLOYED_AT];
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceObject {
    pub attributes: Attributes,
    /// Attributes AWS still reports but that can no longer be used, and why: the image a
    /// server was launched from, deregistered since. A resource that takes one from the source
    /// is a plan error, with a hint to set it in the spec instead.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unusable: BTreeMap<String, String>,
}

/// Creation-time inputs AWS does not describe back cheaply (EC2 user data costs one
/// DescribeInstanceAttribute per instance): the provider records a digest of each at creation
/// (in a `rehearsal:input:` tag) and reports that instead of the value, so a plan compares
/// digests at a cost that does not grow with the number of resources. Terraform keeps user
/// data as a hash in its state for the same reason.
pub mod input_digest {
    use serde_json::Value;
    use sha2::{Digest, Sha256};

    const PREFIX: &str = "sha256:";

    /// The digest of a value: of its text for a string, of its JSON otherwise (serde_json's
    /// maps are ordered, so the JSON is canonical).
    pub fn of(value: &Value) -> String {
        let bytes = match value {
            Value::String(s) => s.as_bytes().to_vec(),
            other => serde_json::to_vec(other).expect("JSON values serialize"),
        };
        format!("{PREFIX}{}", hex::encode(Sha256::digest(bytes)))
    }

    /// The hex digest a live attribute holds, when it is one.
    pub fn recorded(value: &Value) -> Option<&str> {
        let hex = value.as_str()?.strip_prefix(PREFIX)?;
        (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
    }

    /// Does the recorded digest stand for this value?
    pub fn matches(want: &Value, recorded_hex: &str) -> bool {
        of(want).strip_prefix(PREFIX) == Some(recorded_hex)
    }
}
