//! `rds_instance` in the fake cloud.

use super::*;

pub(super) struct RdsInstance;

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
