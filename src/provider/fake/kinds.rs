//! What each kind does in the fake cloud, in one place: the checks AWS makes on a create and
//! the values it fills in, what it reports once ready, what it refuses to delete, and what a
//! delete leaves behind. The registry [`behaviour`] is exhaustive over the kinds.

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

struct RdsSnapshot;

impl FakeKind for RdsSnapshot {
    fn named_by(&self) -> &'static [&'static str] {
        &["identifier"]
    }

    fn create(
        &self,
        cloud: &mut FakeCloud,
        region: &str,
        attributes: &mut Attributes,
    ) -> Result<String, ProviderError> {
        let source_db = str_attr(attributes, "source_db");
        match cloud.rds_status(region, source_db) {
            None => {
                return Err(ProviderError::NotFound {
                    what: format!("rds_instance {source_db}"),
                });
            }
            // CreateDBSnapshot needs the instance available: InvalidDBInstanceState otherwise
            // (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBSnapshot.html).
            Some(status) if status != "available" => {
                return Err(ProviderError::InvalidState {
                    what: format!("rds_instance {source_db}"),
                    state: status.clone(),
                    message: format!("DB instance {source_db} is {status}, not available"),
                });
            }
            Some(_) => {}
        }
        let id = str_attr(attributes, "identifier").to_string();
        attributes.insert(
            "arn".into(),
            json!(format!("arn:aws:rds:{region}:{ACCOUNT}:snapshot:{id}")),
        );
        attributes.insert("created_at".into(), json!(registered_at()));
        Ok(id)
    }

    fn refuses_delete(&self, _: &FakeCloud, resource: &FakeResource) -> Option<String> {
        rds_refuses_delete(resource)
    }
}

struct RdsInstance;

impl FakeKind for RdsInstance {
    fn named_by(&self) -> &'static [&'static str] {
        &["identifier"]
    }

    fn create(
        &self,
        cloud: &mut FakeCloud,
        region: &str,
        attributes: &mut Attributes,
    ) -> Result<String, ProviderError> {
        let identifier = str_attr(attributes, "identifier").to_string();
        if cloud.rds_exists(region, &identifier) {
            return Err(ProviderError::Api {
                action: "rds:RestoreDBInstanceFromDBSnapshot".into(),
                code: "DBInstanceAlreadyExists".into(),
                message: format!("DB instance {identifier} already exists"),
            });
        }
        if let Some(snapshot) = attributes.get("snapshot").and_then(Value::as_str) {
            let found = cloud
                .resources
                .values()
                .find(|r| r.kind == ResourceKind::RdsSnapshot && r.id == snapshot);
            match found {
                None => {
                    return Err(ProviderError::NotFound {
                        what: format!("rds_snapshot {snapshot}"),
                    });
                }
                // A restore needs the snapshot available: InvalidDBSnapshotState otherwise.
                Some(s) if s.status != "available" => {
                    return Err(ProviderError::InvalidState {
                        what: format!("rds_snapshot {snapshot}"),
                        state: s.status.clone(),
                        message: format!("DB snapshot {snapshot} is {}, not available", s.status),
                    });
                }
                Some(_) => {}
            }
        }
        // Not asked, RDS makes the instance public when its VPC has an internet gateway, as the
        // fake's default VPC does (API_RestoreDBInstanceFromDBSnapshot, PubliclyAccessible).
        attributes
            .entry("publicly_accessible")
            .or_insert(json!(true));
        attributes.insert(
            "arn".into(),
            json!(format!("arn:aws:rds:{region}:{ACCOUNT}:db:{identifier}")),
        );
        Ok(identifier)
    }

    fn when_ready(&self, resource: &mut FakeResource, _host: u64) {
        let endpoint = format!("{}.fake.{}.rds.amazonaws.com", resource.id, resource.region);
        let attrs = &mut resource.attributes;
        attrs.insert("endpoint".into(), json!(endpoint));
        attrs.insert("port".into(), json!(5432));
        attrs.insert("engine".into(), json!("postgres"));
        // A restore keeps the snapshot's engine version: production's (`production.rs`).
        attrs.insert("engine_version".into(), json!("15.4"));
    }

    fn refuses_delete(&self, _: &FakeCloud, resource: &FakeResource) -> Option<String> {
        rds_refuses_delete(resource)
    }

    /// ModifyDBInstance needs the instance available: InvalidDBInstanceState otherwise.
    fn refuses_update(&self, resource: &FakeResource) -> Option<String> {
        (resource.status != "available").then(|| {
            format!(
                "DB instance {} is {}; it can be modified only when available",
                resource.id, resource.status
            )
        })
    }

    /// A new parameter group takes effect after a reboot
    /// (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithParamGroups.html).
    fn on_update(&self, resource: &mut FakeResource, changed: &[String]) {
        if changed.iter().any(|c| c == "parameter_group") {
            resource
                .attributes
                .insert(crate::engine::wait::PENDING_REBOOT.into(), json!(true));
        }
    }

    fn after_delete(&self, cloud: &mut FakeCloud, resource: &FakeResource, policy: &DeletePolicy) {
        let Some(final_id) = &policy.final_snapshot_identifier else {
            return;
        };
        let tags = policy.final_snapshot_tags.clone();
        let attributes = json!({"identifier": final_id, "source_db": resource.id,
                                "keep_after_destroy": true});
        cloud.resources.insert(
            final_id.clone(),
            FakeResource {
                region: resource.region.clone(),
                kind: ResourceKind::RdsSnapshot,
                id: final_id.clone(),
                status: "available".into(),
                attributes: attributes.as_object().cloned().unwrap_or_default(),
                tags,
                transition: None,
                visible_from_ms: None,
            },
        );
    }
}

struct Ec2Instance;

impl FakeKind for Ec2Instance {
    fn honours_client_token(&self) -> bool {
        true
    }

    fn eventually_consistent(&self) -> bool {
        true
    }

    /// A clone takes what the spec does not set from its source, as EC2 would launch it.
    fn create(
        &self,
        cloud: &mut FakeCloud,
        region: &str,
        attributes: &mut Attributes,
    ) -> Result<String, ProviderError> {
        let query = SourceQuery {
            kind: SourceKind::Ec2Instance,
            id: Some(str_attr(attributes, "clone_of").to_string()),
            tags: BTreeMap::new(),
            cluster: None,
        };
        let source = cloud.find_source(region, &query)?.attributes.clone();
        let cloned = crate::kinds::ec2_instance::CLONED;
        for key in ["image", "subnet", "security_groups"].iter().chain(cloned) {
            if !attributes.contains_key(*key) {
                attributes.insert(
                    (*key).into(),
                    source.get(*key).cloned().unwrap_or(Value::Null),
                );
            }
        }
        Ok(cloud.fresh_id("i-"))
    }

    fn when_ready(&self, resource: &mut FakeResource, host: u64) {
        let address = format!("10.0.1.{host}");
        resource
            .attributes
            .insert("private_ip".into(), json!(address));
    }

    /// The volumes of the image's block device mapping, attached and tagged by RunInstances.
    fn made_along(
        &self,
        cloud: &mut FakeCloud,
        instance: &FakeResource,
        env: &EnvId,
        token: &str,
    ) -> Vec<FakeResource> {
        let image = str_attr(&instance.attributes, "image");
        let mapping = cloud
            .images
            .get(image)
            .cloned()
            .unwrap_or_else(|| vec![BlockDevice::root()]);
        let Some(name) = instance
            .tags
            .get(crate::model::tags::ADDRESS)
            .and_then(|a| a.parse::<Address>().ok())
            .map(|a| a.name)
        else {
            return vec![];
        };
        let address = Address::new(ResourceKind::EbsVolume, name);
        let volume_tags = ownership::by_product_tags(env, &instance.tags, &address, token);
        mapping
            .into_iter()
            .map(|device| {
                let id = cloud.fresh_id("vol-");
                let attributes = json!({
                    "id": id,
                    "size": device.size_gib,
                    "volume_type": "gp3",
                    "device": device.device,
                    "attached_to": instance.id,
                    "delete_on_termination": device.delete_on_termination,
                });
                FakeResource {
                    region: instance.region.clone(),
                    kind: ResourceKind::EbsVolume,
                    id,
                    status: "in-use".into(),
                    attributes: attributes.as_object().cloned().unwrap_or_default(),
                    tags: volume_tags.clone(),
                    transition: None,
                    visible_from_ms: None,
                }
            })
            .collect()
    }

    /// EC2 deletes the volumes marked DeleteOnTermination and detaches the others, which stay,
    /// `available` (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-detaching-volume.html).
    fn after_delete(&self, cloud: &mut FakeCloud, instance: &FakeResource, _: &DeletePolicy) {
        let attached: Vec<String> = cloud
            .resources
            .values()
            .filter(|r| {
                r.kind == ResourceKind::EbsVolume
                    && r.attributes.get("attached_to") == Some(&json!(instance.id))
            })
            .map(|r| r.id.clone())
            .collect();
        for id in attached {
            let Some(volume) = cloud.resources.get_mut(&id) else {
                continue;
            };
            if volume.attributes.get("delete_on_termination") == Some(&json!(true)) {
                cloud.resources.remove(&id);
            } else {
                volume.status = "available".into();
                volume.attributes.remove("attached_to");
            }
        }
    }
}

/// A volume is made by RunInstances, never on its own; attached, EC2 refuses to delete it.
struct EbsVolume;

impl FakeKind for EbsVolume {
    fn create(
        &self,
        _: &mut FakeCloud,
        _: &str,
        _: &mut Attributes,
    ) -> Result<String, ProviderError> {
        Err(ProviderError::Api {
            action: "ec2:CreateVolume".into(),
            code: "Unsupported".into(),
            message: "rehearsal never creates a volume; instances launch with theirs".into(),
        })
    }

    fn refuses_delete(&self, _: &FakeCloud, volume: &FakeResource) -> Option<String> {
        (volume.status == "in-use").then(|| {
            format!(
                "volume {} is attached to {} (VolumeInUse)",
                volume.id,
                str_attr(&volume.attributes, "attached_to")
            )
        })
    }
}

struct EcsCluster;

impl FakeKind for EcsCluster {
    fn named_by(&self) -> &'static [&'static str] {
        &["name"]
    }

    fn answers_with_existing(&self) -> bool {
        true
    }

    fn create(
        &self,
        _: &mut FakeCloud,
        region: &str,
        attributes: &mut Attributes,
    ) -> Result<String, ProviderError> {
        let name = str_attr(attributes, "name");
        let arn = format!("arn:aws:ecs:{region}:{ACCOUNT}:cluster/{name}");
        attributes.insert("arn".into(), json!(arn));
        Ok(arn)
    }
}

struct EcsTaskDefinition;

impl FakeKind for EcsTaskDefinition {
    fn named_by(&self) -> &'static [&'static str] {
        &["family"]
    }

    /// Each registration is the family's next revision.
    fn create(
        &self,
        cloud: &mut FakeCloud,
        region: &str,
        attributes: &mut Attributes,
    ) -> Result<String, ProviderError> {
        let family = str_attr(attributes, "family").to_string();
        // ECS never reuses a revision number, even once the revision is deregistered and
        // deleted: the family's next one is after every one it ever had.
        let counter = format!("fake:revisions:{family}");
        let revision = cloud.counters.get(&counter).copied().unwrap_or(0).max(
            cloud
                .resources
                .values()
                .filter(|r| {
                    r.kind == ResourceKind::EcsTaskDefinition
                        && str_attr(&r.attributes, "family") == family
                })
                .filter_map(|r| r.attributes.get("revision").and_then(Value::as_u64))
                .max()
                .unwrap_or(0),
        ) + 1;
        cloud.counters.insert(counter, revision);
        attributes.insert("registered_at".into(), json!(registered_at()));
        let arn = format!("arn:aws:ecs:{region}:{ACCOUNT}:task-definition/{family}:{revision}");
        attributes.insert("revision".into(), json!(revision));
        attributes.insert("arn".into(), json!(arn));
        Ok(arn)
    }
}

struct EcsService;

/// A rollback the fake will play on a service's next deployment (see
/// `FakeProvider::roll_back_next_deployment`): its events, the task definition it goes back to,
/// and whether that deployment started.
pub(super) const ROLLBACK: &str = "fake:rollback";

impl FakeKind for EcsService {
    fn named_by(&self) -> &'static [&'static str] {
        &["cluster", "name"]
    }

    fn eventually_consistent(&self) -> bool {
        true
    }

    fn on_update(&self, service: &mut FakeResource, changed: &[String]) {
        if let (Some(rollback), true) = (
            service
                .attributes
                .get_mut(ROLLBACK)
                .and_then(Value::as_object_mut),
            changed.iter().any(|c| c == "task_definition"),
        ) {
            rollback.insert("deploying".into(), json!(true));
        }
    }

    /// The rollout ended: a deployment set to fail is rolled back to what ran before.
    fn when_ready(&self, service: &mut FakeResource, _: u64) {
        let Some(rollback) = service.attributes.get(ROLLBACK).cloned() else {
            return;
        };
        if rollback.get("deploying") != Some(&json!(true)) {
            return;
        }
        let to = rollback["to"].clone();
        service.attributes.remove(ROLLBACK);
        let now = kinds::now();
        service.attributes.insert("task_definition".into(), to);
        service
            .attributes
            .insert("events".into(), rollback["events"].clone());
        service
            .attributes
            .insert(kinds::ecs_service::ROLLED_BACK_AT.into(), json!(now));
    }

    fn create(
        &self,
        _: &mut FakeCloud,
        region: &str,
        attributes: &mut Attributes,
    ) -> Result<String, ProviderError> {
        let arn = format!(
            "arn:aws:ecs:{region}:{ACCOUNT}:service/{}/{}",
            str_attr(attributes, "cluster"),
            str_attr(attributes, "name")
        );
        attributes.insert("arn".into(), json!(arn));
        Ok(arn)
    }
}

/// A security group: made without rules but AWS's allow-all egress; refused deletion while
/// anything in the cloud uses it or a rule of another group names it (DependencyViolation,
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSecurityGroup.html).
struct SecurityGroup;

impl FakeKind for SecurityGroup {
    fn named_by(&self) -> &'static [&'static str] {
        &["vpc_id", "name"]
    }

    fn create(
        &self,
        cloud: &mut FakeCloud,
        region: &str,
        attributes: &mut Attributes,
    ) -> Result<String, ProviderError> {
        let name = str_attr(attributes, "name").to_string();
        let vpc = str_attr(attributes, "vpc_id").to_string();
        let taken = cloud.resources.values().any(|r| {
            r.kind == ResourceKind::SecurityGroup
                && str_attr(&r.attributes, "name") == name
                && str_attr(&r.attributes, "vpc_id") == vpc
        });
        if taken {
            return Err(ProviderError::Api {
                action: "ec2:CreateSecurityGroup".into(),
                code: "InvalidGroup.Duplicate".into(),
                message: format!("The security group '{name}' already exists for VPC '{vpc}'"),
            });
        }
        let id = cloud.fresh_id("sg-");
        // CreateSecurityGroup takes no rules; AWS adds one egress rule.
        attributes.insert("ingress".into(), json!([]));
        attributes.insert(
            "egress".into(),
            json!([kinds::security_group::rule(
                "-1",
                None,
                None,
                &kinds::security_group::Peer::Cidr("0.0.0.0/0".into())
            )]),
        );
        attributes.insert(
            "arn".into(),
            json!(format!(
                "arn:aws:ec2:{region}:{ACCOUNT}:security-group/{id}"
            )),
        );
        Ok(id)
    }

    /// A rule of another group of the same environment does not hold it: the provider revokes
    /// those first (`after_delete` does it here), as `aws::ec2::security_group` does.
    fn refuses_delete(&self, cloud: &FakeCloud, group: &FakeResource) -> Option<String> {
        let id = json!(group.id);
        let env_of = |r: &FakeResource| {
            (
                r.tags.get(crate::model::tags::PROJECT).cloned(),
                r.tags.get(crate::model::tags::ENV).cloned(),
            )
        };
        let user = cloud.resources.values().find(|r| {
            let gone = kinds::lifecycle(r.kind).is_gone(&r.status);
            let member = r
                .attributes
                .get("security_groups")
                .and_then(Value::as_array)
                .is_some_and(|groups| groups.contains(&id));
            let referring = r.kind == ResourceKind::SecurityGroup
                && r.id != group.id
                && env_of(r) != env_of(group)
                && ["ingress", "egress"].iter().any(|list| {
                    r.attributes
                        .get(*list)
                        .and_then(Value::as_array)
                        .is_some_and(|rules| {
                            rules
                                .iter()
                                .any(|rule| rule.get("security_group") == Some(&id))
                        })
                });
            !gone && (member || referring)
        })?;
        Some(format!(
            "security group {} is in use by {} {} (DependencyViolation)",
            group.id, user.kind, user.id
        ))
    }

    fn after_delete(&self, cloud: &mut FakeCloud, group: &FakeResource, _: &DeletePolicy) {
        let id = json!(group.id);
        for other in cloud.resources.values_mut() {
            if other.kind != ResourceKind::SecurityGroup {
                continue;
            }
            for list in ["ingress", "egress"] {
                if let Some(Value::Array(rules)) = other.attributes.get_mut(list) {
                    rules.retain(|rule| rule.get("security_group") != Some(&id));
                }
            }
        }
    }
}

/// A Route 53 record: refused when the zone already has one of that name and type (CREATE,
/// never UPSERT), PENDING until INSYNC.
struct DnsRecord;

impl FakeKind for DnsRecord {
    fn create(
        &self,
        cloud: &mut FakeCloud,
        _: &str,
        attributes: &mut Attributes,
    ) -> Result<String, ProviderError> {
        let zone = str_attr(attributes, "zone");
        let id = format!(
            "{zone}/{}/{}",
            str_attr(attributes, "name"),
            str_attr(attributes, "type")
        );
        if cloud.resources.contains_key(&id) {
            return Err(ProviderError::Api {
                action: "route53:ChangeResourceRecordSets".into(),
                code: "InvalidChangeBatch".into(),
                message: format!("Tried to create resource record set {id} but it already exists"),
            });
        }
        attributes.insert("zone_id".into(), json!(format!("Z{}", zone.len())));
        Ok(id)
    }
}
