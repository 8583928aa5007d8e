//! What each kind does in the fake cloud, one file per kind (as in the AWS layer): the checks AWS makes on a create and
//! the values it fills in, what it reports once ready, what it refuses to delete, and what a
//! delete leaves behind. The registry [`behaviour`] is exhaustive over the kinds.

mod dns_record;
mod ebs_volume;
mod ec2_instance;
mod ecs_cluster;
mod ecs_service;
mod ecs_task_definition;
mod rds_instance;
mod rds_snapshot;
mod security_group;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{BlockDevice, FakeCloud, FakeResource};
use crate::engine::ownership;
use crate::kinds;
use crate::model::{Address, Attributes, EnvId, ResourceKind, SourceKind, SourceQuery};
use crate::provider::{DeletePolicy, ProviderError};

pub(super) trait FakeKind: Sync {
    /// Check a create against the cloud and fill in what AWS would; the new object's id.
    fn create(
        &self,
        cloud: &mut FakeCloud,
        region: &str,
        attributes: &mut Attributes,
    ) -> Result<String, ProviderError>;

    /// What AWS reports only once the resource is ready (an endpoint, an address).
    fn when_ready(&self, _resource: &mut FakeResource, _host: u64) {}

    /// What an update leaves to be done (a parameter group that takes a reboot).
    fn on_update(&self, _resource: &mut FakeResource, _changed: &[String]) {}

    /// The attributes whose values together name an object of the kind on AWS (an ECS service:
    /// its cluster and name), so that a create of a name in use can be found before it is
    /// made. Empty for kinds AWS gives an id of its own choosing.
    fn named_by(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether the create call takes an idempotency token (EC2's RunInstances ClientToken).
    fn honours_client_token(&self) -> bool {
        false
    }

    /// Whether a create of a name in use answers with the existing object instead of an error
    /// (ECS CreateCluster).
    fn answers_with_existing(&self) -> bool {
        false
    }

    /// Whether a describe right after the create may not find it yet (EC2, ECS services).
    fn eventually_consistent(&self) -> bool {
        false
    }

    /// Why AWS would refuse to change it now, if it would.
    fn refuses_update(&self, _resource: &FakeResource) -> Option<String> {
        None
    }

    /// Why AWS would refuse to delete it now, if it would (what else in `cloud` uses it).
    fn refuses_delete(&self, _cloud: &FakeCloud, _resource: &FakeResource) -> Option<String> {
        None
    }

    /// What AWS makes along with it, tagged by the same call (the volumes of an instance).
    fn made_along(
        &self,
        _cloud: &mut FakeCloud,
        _maker: &FakeResource,
        _env: &EnvId,
        _token: &str,
    ) -> Vec<FakeResource> {
        vec![]
    }

    /// What a delete leaves behind (a final snapshot).
    fn after_delete(
        &self,
        _cloud: &mut FakeCloud,
        _resource: &FakeResource,
        _policy: &DeletePolicy,
    ) {
    }
}

/// The registry: each kind's behaviour in the fake cloud.
pub(super) fn behaviour(kind: ResourceKind) -> &'static dyn FakeKind {
    match kind {
        ResourceKind::RdsSnapshot => &RdsSnapshot,
        ResourceKind::RdsInstance => &RdsInstance,
        ResourceKind::Ec2Instance => &Ec2Instance,
        ResourceKind::EbsVolume => &EbsVolume,
        ResourceKind::EcsCluster => &EcsCluster,
        ResourceKind::EcsTaskDefinition => &EcsTaskDefinition,
        ResourceKind::EcsService => &EcsService,
        ResourceKind::SecurityGroup => &SecurityGroup,
        ResourceKind::DnsRecord => &DnsRecord,
    }
}

/// Now, as ECS writes a revision's `registeredAt` and RDS a snapshot's `SnapshotCreateTime`.
fn registered_at() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn str_attr<'a>(attrs: &'a Attributes, key: &str) -> &'a str {
    attrs.get(key).and_then(Value::as_str).unwrap_or_default()
}

const ACCOUNT: &str = "000000000000";

/// RDS refuses to delete an instance or snapshot that is still being made or changed.
fn rds_refuses_delete(resource: &FakeResource) -> Option<String> {
    let lifecycle = kinds::lifecycle(resource.kind);
    let deletable = lifecycle.is_ready(&resource.status)
        || lifecycle.is_stopped(&resource.status)
        || lifecycle.is_failed(&resource.status);
    (!deletable).then(|| format!("it is still {}", resource.status))
}
use dns_record::DnsRecord;
use ebs_volume::EbsVolume;
use ec2_instance::Ec2Instance;
use ecs_cluster::EcsCluster;
use ecs_service::EcsService;
pub(super) use ecs_service::ROLLBACK;
use ecs_task_definition::EcsTaskDefinition;
use rds_instance::RdsInstance;
use rds_snapshot::RdsSnapshot;
use security_group::SecurityGroup;
