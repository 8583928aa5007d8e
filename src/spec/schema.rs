//! The TOML shape of `environments/NAME.toml`, as serde types. Unknown keys are errors
//! (`deny_unknown_fields`), and there is no `flatten` or `untagged` here: they would turn
//! precise messages ("unknown field `instnce_type`, expected one of ...") into vague ones.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpec {
    pub environment: RawEnvironment,
    #[serde(default)]
    pub variables: BTreeMap<String, RawVariable>,
    #[serde(default)]
    pub sources: RawSources,
    #[serde(default)]
    pub resources: RawResources,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    /// Never destroyed by rehearsal (production, staging).
    Protected,
    /// Temporary: carries an expiry and may be reaped.
    Ephemeral,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnvironment {
    pub name: String,
    pub region: String,
    pub lifecycle: Lifecycle,
    /// Time to live of an ephemeral environment, e.g. `"24h"`, `"90m"`, `"7d"`.
    pub ttl: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVariable {
    pub description: Option<String>,
    pub default: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSources {
    #[serde(default)]
    pub ec2_instance: BTreeMap<String, Ec2InstanceSource>,
    #[serde(default)]
    pub rds_instance: BTreeMap<String, RdsInstanceSource>,
    #[serde(default)]
    pub ecs_cluster: BTreeMap<String, EcsClusterSource>,
    #[serde(default)]
    pub ecs_service: BTreeMap<String, EcsServiceSource>,
    #[serde(default)]
    pub ecs_task_definition: BTreeMap<String, EcsTaskDefinitionSource>,
}

/// An EC2 instance found by `id`, or by `tags` that exactly one instance carries.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ec2InstanceSource {
    pub id: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RdsInstanceSource {
    pub identifier: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcsClusterSource {
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcsServiceSource {
    pub cluster: String,
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcsTaskDefinitionSource {
    pub family: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawResources {
    #[serde(default)]
    pub rds_snapshot: BTreeMap<String, RdsSnapshotSpec>,
    #[serde(default)]
    pub rds_instance: BTreeMap<String, RdsInstanceSpec>,
    #[serde(default)]
    pub ec2_instance: BTreeMap<String, Ec2InstanceSpec>,
    #[serde(default)]
    pub ecs_cluster: BTreeMap<String, EcsClusterSpec>,
    #[serde(default)]
    pub ecs_task_definition: BTreeMap<String, EcsTaskDefinitionSpec>,
    #[serde(default)]
    pub ecs_service: BTreeMap<String, EcsServiceSpec>,
}

// Every resource kind has `depends_on` (extra ordering edges) and `timeout` (how long a wait may
// take). They are engine settings, not attributes, and are taken out before diffing.

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RdsSnapshotSpec {
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
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RdsInstanceSpec {
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
    pub security_groups: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter_group: Option<String>,
    #[serde(default)]
    pub backup_retention_days: i64,
    #[serde(default)]
    pub deletion_protection: bool,
    /// Take a final snapshot when the environment is destroyed.
    #[serde(default)]
    pub final_snapshot: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing)]
    pub depends_on: Vec<String>,
    #[serde(default, skip_serializing)]
    pub timeout: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Ec2InstanceSpec {
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

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EcsClusterSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing)]
    pub depends_on: Vec<String>,
    #[serde(default, skip_serializing)]
    pub timeout: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EcsTaskDefinitionSpec {
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
}

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

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EcsServiceSpec {
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
}

fn one() -> i64 {
    1
}
