//! The TOML shape of `environments/NAME.toml`, as serde types. Unknown keys are errors
//! (`deny_unknown_fields`), and there is no `flatten` or `untagged` here: they would turn
//! precise messages ("unknown field `instnce_type`, expected one of ...") into vague ones.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::kinds;

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
    #[serde(default)]
    pub checks: BTreeMap<String, RawCheck>,
    /// `[snapshots]`: safety snapshots of the environment's databases (see `crate::engine::snapshot`).
    pub snapshots: Option<RawSnapshots>,
    /// `[window]`: when the environment may change (see `crate::rules::window`).
    pub window: Option<RawWindow>,
}

/// `[window]`: the days (`["mon", "tue"]`), the hours (`"10:00-18:00"`) and the IANA time zone
/// (`"Asia/Kolkata"`) in which commands may change the environment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    pub days: Vec<String>,
    pub hours: String,
    pub time_zone: String,
}

/// `[snapshots]`: a snapshot of each database before any apply that changes something
/// (`before_apply`, protected environments only), and how many of the safety snapshots
/// rehearsal takes to keep per database (`keep`; all of them when left out).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSnapshots {
    pub before_apply: Option<bool>,
    pub keep: Option<u32>,
}

/// `[checks.NAME]`: one of `http` or `command`, retried every `interval` until it passes or
/// `timeout` runs out.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    /// A URL that must answer 2xx.
    pub http: Option<String>,
    /// A program and its arguments (no shell) that must exit 0.
    pub command: Option<Vec<String>>,
    pub timeout: Option<String>,
    pub interval: Option<String>,
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
    /// The project the environment belongs to: written on everything it creates, so that two
    /// projects' environments of the same name never see each other's resources.
    pub project: String,
    pub name: String,
    pub region: String,
    pub lifecycle: Lifecycle,
    /// Time to live of an ephemeral environment, e.g. `"24h"`, `"90m"`, `"7d"`.
    pub ttl: Option<String>,
    /// The DynamoDB table a team shares its locks, journal and pauses in (see `crate::team`).
    pub team_table: Option<String>,
    /// How many people other than the one applying must approve a plan (protected only).
    pub approvals: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVariable {
    pub description: Option<String>,
    pub default: Option<String>,
    /// A file holding the value (a release version), relative to the project root: read when
    /// neither `--var` nor `REHEARSAL_VAR_<name>` gives one. A variable has this or a default.
    pub from_file: Option<String>,
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

/// `[resources.KIND.NAME]`: one map per kind, each table typed by its kind's module.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawResources {
    #[serde(default)]
    pub rds_snapshot: BTreeMap<String, kinds::rds_snapshot::Spec>,
    #[serde(default)]
    pub rds_instance: BTreeMap<String, kinds::rds_instance::Spec>,
    #[serde(default)]
    pub ec2_instance: BTreeMap<String, kinds::ec2_instance::Spec>,
    #[serde(default)]
    pub ecs_cluster: BTreeMap<String, kinds::ecs_cluster::Spec>,
    #[serde(default)]
    pub ecs_task_definition: BTreeMap<String, kinds::ecs_task_definition::Spec>,
    #[serde(default)]
    pub ecs_service: BTreeMap<String, kinds::ecs_service::Spec>,
    #[serde(default)]
    pub security_group: BTreeMap<String, kinds::security_group::Spec>,
    #[serde(default)]
    pub dns_record: BTreeMap<String, kinds::dns_record::Spec>,
}

/// What every kind's table has besides its attributes: `depends_on` (extra ordering edges) and
/// `timeout` (how long a wait may take). They are engine settings, taken out before diffing.
pub trait ResourceTable: Serialize {
    fn depends_on(&self) -> &[String];
    fn timeout(&self) -> Option<&str>;
    /// `count = N`: N copies, `name[0]` to `name[N-1]`.
    fn count(&self) -> Option<u32>;
}

macro_rules! resource_tables {
    ($($spec:ty),+ $(,)?) => {
        $(impl ResourceTable for $spec {
            fn depends_on(&self) -> &[String] {
                &self.depends_on
            }
            fn timeout(&self) -> Option<&str> {
                self.timeout.as_deref()
            }
            fn count(&self) -> Option<u32> {
                self.count
            }
        })+
    };
}

resource_tables!(
    kinds::rds_snapshot::Spec,
    kinds::rds_instance::Spec,
    kinds::ec2_instance::Spec,
    kinds::ecs_cluster::Spec,
    kinds::ecs_task_definition::Spec,
    kinds::ecs_service::Spec,
    kinds::security_group::Spec,
    kinds::dns_record::Spec,
);
