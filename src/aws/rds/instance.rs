//! `rds_instance`: DB instances restored from a snapshot.

use async_trait::async_trait;
use aws_sdk_rds::types::{DbInstance, DbSnapshot};

use super::{describe_instances, rds_tags, tag_map};
use crate::aws::attrs::{Builder, Reader, rfc3339};
use crate::aws::kind::{self, Actions, AwsKind, Tagging, not_in_place};
use crate::aws::tags::{self as tagging, TagMap};
use crate::aws::{Clients, Scan, errors};
use crate::engine::wait::{self, what};
use crate::kinds;
use crate::model::{Address, Attributes, LiveResource, ResourceKind, tags, times};
use crate::provider::{CreateRequest, DeletePolicy, Operation, ProviderError};

const KIND: ResourceKind = ResourceKind::RdsInstance;

/// Inputs AWS cannot describe back, recorded as tags at creation.
const INPUTS: &[&str] = &["snapshot", "latest_snapshot_of", "final_snapshot"];
const BOOL_INPUTS: &[&str] = &["final_snapshot"];

pub(crate) struct RdsInstance;

/// What RDS says about a DB instance, as attributes.
fn live(db: &DbInstance, address: Address, all: TagMap) -> LiveResource {
    let id = db.db_instance_identifier().unwrap_or_default().to_owned();
    let status = db.db_instance_status().unwrap_or_default().to_owned();
    let endpoint = db.endpoint();
    let mut b = Builder::new();
    b.set("identifier", id.as_str())
        .nonempty("instance_class", db.db_instance_class())
        .nonempty(
            "subnet_group",
            db.db_subnet_group().and_then(|g| g.db_subnet_group_name()),
        )
        .strings(
            "security_groups",
            db.vpc_security_groups()
                .iter()
                .filter_map(|g| g.vpc_security_group_id()),
        )
        .nonempty(
            "parameter_group",
            db.db_parameter_groups()
                .first()
                .and_then(|g| g.db_parameter_group_name()),
        )
        .nonempty(
            "option_group",
            db.option_group_memberships()
                .first()
                .and_then(|o| o.option_group_name()),
        )
        .set("storage_encrypted", db.storage_encrypted().unwrap_or(false))
        .nonempty("kms_key_id", db.kms_key_id())
        .opt("backup_retention_days", db.backup_retention_period())
        .set(
            "deletion_protection",
            db.deletion_protection().unwrap_or(false),
        )
        .set(
            "publicly_accessible",
            db.publicly_accessible().unwrap_or(false),
        )
        .set("tags", tagging::user_tags_json(&all))
        .set("id", id.as_str())
        .nonempty("arn", db.db_instance_arn())
        .nonempty("endpoint", endpoint.and_then(|e| e.address()))
        .opt(
            "port",
            endpoint
                .and_then(|e| e.port())
                .or(db.db_instance_port())
                .filter(|p| *p > 0),
        )
        .set("status", status.as_str())
        .nonempty("engine", db.engine())
        .nonempty("engine_version", db.engine_version())
        .opt(
            times::CREATED_AT,
            db.instance_create_time().and_then(rfc3339),
        );
    let mut attributes = b.into_inner();
    tagging::read_inputs(&all, &mut attributes, BOOL_INPUTS);
    let pending = pending_changes(db);
    if !pending.is_empty() {
        attributes.insert(wait::PENDING.into(), pending.into());
    }
    let needs_reboot = db
        .db_parameter_groups()
        .iter()
        .any(|g| g.parameter_apply_status() == Some("pending-reboot"));
    if needs_reboot {
        attributes.insert(wait::PENDING_REBOOT.into(), true.into());
    }
    LiveResource {
        address,
        id,
        status,
        attributes,
        tags: all,
    }
}

/// What RDS has accepted but not made yet. Right after ModifyDBInstance the instance still
/// reports `available`, with the new values under PendingModifiedValues (and security groups
/// `adding`, a parameter group `applying`) until the modification is over:
/// https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.DBInstance.Modifying.html
fn pending_changes(db: &DbInstance) -> Vec<&'static str> {
    let mut pending = vec![];
    if let Some(values) = db.pending_modified_values() {
        if values.db_instance_class().is_some() {
            pending.push("instance_class");
        }
        if values.backup_retention_period().is_some() {
            pending.push("backup_retention_days");
        }
        if values.db_subnet_group_name().is_some() {
            pending.push("subnet_group");
        }
    }
    let groups_changing = db
        .vpc_security_groups()
        .iter()
        .any(|g| g.status().is_some_and(|s| s != "active"));
    if groups_changing {
        pending.push("security_groups");
    }
    if db
        .db_parameter_groups()
        .iter()
        .any(|g| g.parameter_apply_status() == Some("applying"))
    {
        pending.push("parameter_group");
    }
    pending
}

/// The parameter and option groups a restore is given: the spec's, else those of the database
/// the snapshot was taken of, as RDS leaves a restore on the engine's defaults otherwise
/// ("DBParameterGroupName ... If you don't specify a value, the default DB parameter group for
/// the specified DB engine is used": API_RestoreDBInstanceFromDBSnapshot.html). Encryption
/// needs no choice: a restore is encrypted with the snapshot's key.
async fn groups_of_the_copy(
    c: &Clients,
    r: &Reader<'_>,
    snapshot: &str,
) -> Result<(Option<String>, Option<String>), ProviderError> {
    let (parameter_group, option_group) = (r.str("parameter_group")?, r.str("option_group")?);
    if parameter_group.is_some() && option_group.is_some() {
        return Ok((parameter_group, option_group));
    }
    let snapshots = describe_snapshots_any(&c.rds, snapshot).await?;
    let source = snapshots
        .iter()
        .find_map(|s| s.db_instance_identifier())
        .map(str::to_owned);
    let option_of_snapshot = snapshots.iter().find_map(|s| s.option_group_name());
    let source_db = match &source {
        Some(id) => describe_instances(&c.rds, Some(&[id.as_str()]), "the snapshot's database")
            .await?
            .into_iter()
            .next(),
        None => None,
    };
    let parameter_group = parameter_group.or_else(|| {
        source_db.as_ref().and_then(|db| {
            db.db_parameter_groups()
                .first()
                .and_then(|g| g.db_parameter_group_name())
                .map(str::to_owned)
        })
    });
    let option_group = option_group.or_else(|| {
        source_db
            .as_ref()
            .and_then(|db| db.option_group_memberships().first())
            .and_then(|o| o.option_group_name())
            .or(option_of_snapshot)
            .map(str::to_owned)
    });
    Ok((parameter_group, option_group))
}

/// A snapshot by identifier, manual or automated (a restore may name either).
async fn describe_snapshots_any(
    client: &aws_sdk_rds::Client,
    identifier: &str,
) -> Result<Vec<DbSnapshot>, ProviderError> {
    match client
        .describe_db_snapshots()
        .db_snapshot_identifier(identifier)
        .send()
        .await
    {
        Ok(out) => Ok(out.db_snapshots().to_vec()),
        Err(e) if errors::is_not_found(&e) => Ok(vec![]),
        Err(e) => Err(errors::sdk("rds:DescribeDBSnapshots", identifier, e)),
    }
}

/// Give a final snapshot, once RDS lists it, the tags the delete policy chose for it.
async fn tag_final_snapshot(
    c: &Clients,
    op: &Operation,
    identifier: &str,
    tags: &TagMap,
) -> Result<(), ProviderError> {
    let found = wait::poll(op, identifier, "listed", |_| async {
        let snapshots = describe_snapshots_any(&c.rds, identifier).await?;
        Ok(match snapshots.into_iter().next() {
            Some(snapshot) => wait::Check::Done(snapshot),
            None => wait::Check::Pending("final snapshot not listed yet".into()),
        })
    })
    .await?;
    let arn = found.db_snapshot_arn().ok_or_else(|| {
        errors::attribute(
            ResourceKind::RdsSnapshot,
            format!("RDS described {identifier} without an ARN"),
        )
    })?;
    op.report(&format!("tagging final snapshot {identifier}"));
    super::tag(&c.rds, arn, identifier, tags, &[]).await
}

/// What a create answered when AWS described nothing back.
pub(crate) fn placeholder(op: &Operation, id: &str, all: TagMap) -> LiveResource {
    let mut attributes = Attributes::new();
    attributes.insert("identifier".into(), id.into());
    attributes.insert("id".into(), id.into());
    attributes.insert("status".into(), "creating".into());
    attributes.insert("tags".into(), tagging::user_tags_json(&all));
    LiveResource {
        address: op.address.clone(),
        id: id.to_owned(),
        status: "creating".to_owned(),
        attributes,
        tags: all,
    }
}

/// The newest available snapshot (manual or automated) of a DB instance: by creation time, then
/// by identifier so that the choice is stable. With its creation time, when RDS gives one.
async fn latest_snapshot_of(
    client: &aws_sdk_rds::Client,
    db: &str,
) -> Result<(String, Option<String>), ProviderError> {
    let snapshots: Vec<DbSnapshot> = client
        .describe_db_snapshots()
        .db_instance_identifier(db)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| errors::sdk("rds:DescribeDBSnapshots", &format!("snapshots of {db}"), e))?;
    snapshots
        .iter()
        .filter(|s| s.status() == Some("available") && s.db_instance_identifier() == Some(db))
        .filter_map(|s| {
            Some((
                s.snapshot_create_time().copied(),
                s.db_snapshot_identifier()?,
            ))
        })
        .max()
        .map(|(at, id)| (id.to_owned(), at.as_ref().and_then(rfc3339)))
        .ok_or_else(|| ProviderError::NotFound {
            what: format!("an available snapshot of DB instance {db}"),
        })
}

#[async_trait]
impl AwsKind for RdsInstance {
    fn kind(&self) -> ResourceKind {
        KIND
    }

    fn actions(&self) -> Actions {
        Actions {
            modify: "rds:ModifyDBInstance",
            delete: "rds:DeleteDBInstance",
        }
    }

    async fn scan(&self, cx: &Scan<'_>) -> Result<Vec<LiveResource>, ProviderError> {
        let instances = describe_instances(&cx.clients.rds, None, "DB instances").await?;
        let present = instances
            .iter()
            .filter(|db| db.db_instance_status() != Some("deleted"));
        Ok(kind::owned(
            cx,
            KIND,
            present,
            |db| tag_map(db.tag_list()),
            |db, a, all| live(db, a, all),
        ))
    }

    async fn describe(
        &self,
        c: &Clients,
        targets: &[LiveResource],
    ) -> Result<Vec<Option<LiveResource>>, ProviderError> {
        let ids: Vec<&str> = targets.iter().map(|t| t.id.as_str()).collect();
        let found = describe_instances(&c.rds, Some(&ids), "DB instances").await?;
        Ok(kind::in_order_of(
            targets,
            &found,
            |db| db.db_instance_identifier(),
            |db, a| live(db, a, tag_map(db.tag_list())),
        ))
    }

    async fn existing(
        &self,
        c: &Clients,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<Option<LiveResource>, ProviderError> {
        let identifier = Reader::new(KIND, &request.attributes).required_str("identifier")?;
        let found =
            describe_instances(&c.rds, Some(&[identifier.as_str()]), "DB instances").await?;
        Ok(found
            .iter()
            .find(|db| {
                db.db_instance_identifier()
                    .is_some_and(|id| id.eq_ignore_ascii_case(&identifier))
            })
            .map(|db| live(db, op.address.clone(), tag_map(db.tag_list()))))
    }

    async fn create(
        &self,
        c: &Clients,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<LiveResource, ProviderError> {
        let r = Reader::new(KIND, &request.attributes);
        let identifier = r.required_str("identifier")?;
        // Which snapshot a restore from the newest one chose, recorded on the instance (RDS
        // does not describe it back): `status` shows what the database came from.
        let mut chosen = TagMap::new();
        let snapshot = match (r.str("snapshot")?, r.str("latest_snapshot_of")?) {
            (Some(snapshot), None) => snapshot,
            (None, Some(db)) => {
                let (snapshot, taken_at) = latest_snapshot_of(&c.rds, &db).await?;
                op.report(&format!("newest snapshot of {db} is {snapshot}"));
                chosen.insert(tags::RESTORED_FROM.to_owned(), snapshot.clone());
                if let Some(at) = taken_at {
                    chosen.insert(tags::RESTORED_FROM_CREATED_AT.to_owned(), at);
                }
                snapshot
            }
            _ => {
                return Err(errors::attribute(
                    KIND,
                    "exactly one of `snapshot` and `latest_snapshot_of` must be given",
                ));
            }
        };
        let mut all = tagging::creation_tags(request, INPUTS);
        all.extend(chosen);
        let what = format!("{} ({identifier})", op.address);
        let (parameter_group, option_group) = groups_of_the_copy(c, &r, &snapshot).await?;
        op.report(&format!("restoring from {snapshot}"));
        // Tags are explicit: without them a restored clone inherits the source's tags on some
        // implementations (moto does), and rehearsal's ownership must be there from the first
        // moment. Backup retention and deletion protection may be ignored by a restore; the
        // engine sets them once the instance is available (`set_after_create`).
        let out = c
            .rds
            .restore_db_instance_from_db_snapshot()
            .db_instance_identifier(&identifier)
            .db_snapshot_identifier(&snapshot)
            .set_db_instance_class(r.str("instance_class")?)
            .set_db_subnet_group_name(r.str("subnet_group")?)
            .set_vpc_security_group_ids(r.str_list("security_groups")?)
            .set_db_parameter_group_name(parameter_group)
            .set_backup_retention_period(r.i32("backup_retention_days")?)
            .set_deletion_protection(r.bool("deletion_protection")?)
            // Always sent: left out, RDS makes the instance publicly accessible when its subnet
            // group is the default VPC's or is not given, and this is a copy of production's
            // data with production's password ("PubliclyAccessible" in
            // https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RestoreDBInstanceFromDBSnapshot.html).
            .publicly_accessible(r.bool("publicly_accessible")?.unwrap_or(false))
            // Production's option group, unless the spec names one: left out, RDS applies
            // the engine's default and the copy is not production's database.
            .set_option_group_name(option_group)
            // A final snapshot is a full copy of production's data: it starts with the
            // instance's tags (the project's, which the IAM policy asks for to re-tag it), and
            // the delete gives it ownership of its own.
            .copy_tags_to_snapshot(true)
            .set_tags(Some(rds_tags(&all)))
            .send()
            .await
            .map_err(|e| errors::sdk_create("rds:RestoreDBInstanceFromDBSnapshot", &what, e))?;
        Ok(match out.db_instance() {
            Some(db) => live(db, op.address.clone(), all),
            None => placeholder(op, &identifier, all),
        })
    }

    async fn modify(
        &self,
        c: &Clients,
        op: &Operation,
        current: &LiveResource,
        desired: &Reader<'_>,
        changed: &[&str],
    ) -> Result<(), ProviderError> {
        let mut modify = c
            .rds
            .modify_db_instance()
            .db_instance_identifier(&current.id)
            .apply_immediately(true);
        let mut modified = false;
        for key in changed {
            match *key {
                "instance_class" => {
                    modify = modify.set_db_instance_class(desired.str("instance_class")?);
                    modified = true;
                }
                "security_groups" => {
                    modify =
                        modify.set_vpc_security_group_ids(desired.str_list("security_groups")?);
                    modified = true;
                }
                "parameter_group" => {
                    modify = modify.set_db_parameter_group_name(desired.str("parameter_group")?);
                    modified = true;
                }
                "option_group" => {
                    modify = modify.set_option_group_name(desired.str("option_group")?);
                    modified = true;
                }
                "backup_retention_days" => {
                    modify =
                        modify.set_backup_retention_period(desired.i32("backup_retention_days")?);
                    modified = true;
                }
                "deletion_protection" => {
                    modify = modify.set_deletion_protection(desired.bool("deletion_protection")?);
                    modified = true;
                }
                "publicly_accessible" => {
                    modify = modify
                        .publicly_accessible(desired.bool("publicly_accessible")?.unwrap_or(false));
                    modified = true;
                }
                // Teardown policy only: nothing in AWS changes but the recorded input.
                "final_snapshot" => {
                    let value = desired.bool("final_snapshot")?.unwrap_or(false);
                    let set =
                        TagMap::from([(tagging::input_key("final_snapshot"), value.to_string())]);
                    kind::tag(self, c, current, &set, &[]).await?;
                }
                other => return Err(not_in_place(KIND, other)),
            }
        }
        if modified {
            op.report("modifying");
            modify
                .send()
                .await
                .map_err(|e| errors::sdk("rds:ModifyDBInstance", &what(current), e))?;
        }
        Ok(())
    }

    /// RDS deletes an instance that is available, stopped (as it is, without starting it:
    /// https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_StopInstance.html) or failed,
    /// and refuses while it is being created, backed up, modified or started.
    fn not_deletable(&self, live: &LiveResource) -> Option<String> {
        let lifecycle = kinds::lifecycle(KIND);
        let deletable = lifecycle.is_ready(&live.status)
            || lifecycle.is_stopped(&live.status)
            || lifecycle.is_failed(&live.status);
        (!deletable).then(|| format!("it is {}", live.status))
    }

    async fn delete(
        &self,
        c: &Clients,
        op: &Operation,
        live: &LiveResource,
        policy: &DeletePolicy,
    ) -> Result<(), ProviderError> {
        let what = what(live);
        if live.attributes.get("deletion_protection") == Some(&true.into()) {
            if !policy.disable_deletion_protection {
                return Err(ProviderError::Api {
                    action: "rds:DeleteDBInstance".to_owned(),
                    code: "DeletionProtectionEnabled".to_owned(),
                    message: format!(
                        "{what} has deletion protection on, and this teardown may not switch it off"
                    ),
                });
            }
            op.report("disabling deletion protection");
            c.rds
                .modify_db_instance()
                .db_instance_identifier(&live.id)
                .deletion_protection(false)
                .apply_immediately(true)
                .send()
                .await
                .map_err(|e| errors::sdk("rds:ModifyDBInstance", &what, e))?;
        }
        op.report("deleting");
        let request = c
            .rds
            .delete_db_instance()
            .db_instance_identifier(&live.id)
            .delete_automated_backups(true);
        let request = match &policy.final_snapshot_identifier {
            Some(snapshot) => request
                .skip_final_snapshot(false)
                .final_db_snapshot_identifier(snapshot),
            None => request.skip_final_snapshot(true),
        };
        request
            .send()
            .await
            .map_err(|e| errors::sdk("rds:DeleteDBInstance", &what, e))?;
        if let Some(snapshot) = &policy.final_snapshot_identifier {
            tag_final_snapshot(c, op, snapshot, &policy.final_snapshot_tags).await?;
        }
        Ok(())
    }

    fn tagging(&self) -> Tagging {
        Tagging::Rds
    }

    fn recorded_inputs(&self) -> &'static [&'static str] {
        INPUTS
    }
}
