//! RDS: DB snapshots (`rds_snapshot`) and DB instances restored from them (`rds_instance`).
//!
//! RDS can filter neither instances nor snapshots by tag on the server, so `scan` lists them all
//! (paginated) and keeps those whose `TagList` says they belong to the environment.

use aws_sdk_rds::Client;
use aws_sdk_rds::client::Waiters;
use aws_sdk_rds::types::{DbInstance, DbSnapshot, Tag};

use super::attrs::{Builder, Reader};
use super::errors::{self, Wait};
use super::tags::{self as tagging, TagMap};
use super::{Deadline, States, env_matches, what};
use crate::model::{Address, Attributes, LiveResource, ResourceKind, SourceObject, tags};
use crate::provider::{CreateRequest, DeleteOutcome, DeletePolicy, Operation, ProviderError};

const SNAPSHOT: ResourceKind = ResourceKind::RdsSnapshot;
const INSTANCE: ResourceKind = ResourceKind::RdsInstance;

/// Inputs of `rds_instance` that AWS cannot describe back, recorded as tags at creation.
const INSTANCE_INPUTS: &[&str] = &["snapshot", "latest_snapshot_of", "final_snapshot"];
const INSTANCE_BOOL_INPUTS: &[&str] = &["final_snapshot"];

/// States in which RDS refuses to delete an instance; a later teardown pass tries again.
const BUSY: &[&str] = &[
    "backing-up",
    "configuring-enhanced-monitoring",
    "configuring-iam-database-auth",
    "configuring-log-exports",
    "converting-to-vpc",
    "creating",
    "maintenance",
    "modifying",
    "moving-to-vpc",
    "rebooting",
    "renaming",
    "resetting-master-credentials",
    "starting",
    "stopping",
    "upgrading",
];

fn tag_map(list: &[Tag]) -> TagMap {
    tagging::collect(list.iter().map(|t| (t.key(), t.value())))
}

fn rds_tags(all: &TagMap) -> Vec<Tag> {
    all.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

// --- what AWS says, as attributes ---------------------------------------------------------------

pub(crate) fn snapshot_live(snap: &DbSnapshot, address: Address, all: TagMap) -> LiveResource {
    let id = snap.db_snapshot_identifier().unwrap_or_default().to_owned();
    let status = snap.status().unwrap_or_default().to_owned();
    let mut b = Builder::new();
    b.set("identifier", id.as_str())
        .nonempty("source_db", snap.db_instance_identifier())
        .set(
            "keep_after_destroy",
            all.get(tags::KEEP).is_some_and(|v| v == "true"),
        )
        .set("tags", tagging::user_tags_json(&all))
        .set("id", id.as_str())
        .nonempty("arn", snap.db_snapshot_arn())
        .set("status", status.as_str());
    LiveResource {
        address,
        id,
        status,
        attributes: b.into_inner(),
        tags: all,
    }
}

pub(crate) fn instance_live(db: &DbInstance, address: Address, all: TagMap) -> LiveResource {
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
        .opt("backup_retention_days", db.backup_retention_period())
        .set(
            "deletion_protection",
            db.deletion_protection().unwrap_or(false),
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
        .nonempty("engine", db.engine());
    let mut attributes = b.into_inner();
    tagging::read_inputs(&all, &mut attributes, INSTANCE_BOOL_INPUTS);
    LiveResource {
        address,
        id,
        status,
        attributes,
        tags: all,
    }
}

// --- observe --------------------------------------------------------------------------------------

/// Every owned DB instance and manual snapshot (of `env`, or of any environment).
pub(crate) async fn scan(
    client: &Client,
    env: Option<&str>,
) -> Result<Vec<LiveResource>, ProviderError> {
    let instances = async {
        client
            .describe_db_instances()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| errors::sdk("rds:DescribeDBInstances", "DB instances", e))
    };
    let snapshots = async {
        client
            .describe_db_snapshots()
            .snapshot_type("manual")
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| errors::sdk("rds:DescribeDBSnapshots", "DB snapshots", e))
    };
    let (instances, snapshots): (Vec<DbInstance>, Vec<DbSnapshot>) =
        tokio::try_join!(instances, snapshots)?;

    let mut found = vec![];
    for db in &instances {
        let all = tag_map(db.tag_list());
        if let Some((owner, address)) = tagging::ownership(&all, INSTANCE)
            && env_matches(env, &owner)
            && db.db_instance_status() != Some("deleted")
        {
            found.push(instance_live(db, address, all));
        }
    }
    for snap in &snapshots {
        let all = tag_map(snap.tag_list());
        if let Some((owner, address)) = tagging::ownership(&all, SNAPSHOT)
            && env_matches(env, &owner)
            && snap.status() != Some("deleted")
        {
            found.push(snapshot_live(snap, address, all));
        }
    }
    Ok(found)
}

async fn describe_instance(
    client: &Client,
    id: &str,
    what: &str,
) -> Result<Option<DbInstance>, ProviderError> {
    match client
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .db_instances()
            .iter()
            .find(|db| db.db_instance_identifier() == Some(id))
            .or(out.db_instances().first())
            .cloned()),
        Err(e) if errors::is_not_found(&e) => Ok(None),
        Err(e) => Err(errors::sdk("rds:DescribeDBInstances", what, e)),
    }
}

async fn describe_snapshot(
    client: &Client,
    id: &str,
    what: &str,
) -> Result<Option<DbSnapshot>, ProviderError> {
    match client
        .describe_db_snapshots()
        .db_snapshot_identifier(id)
        .send()
        .await
    {
        Ok(out) => Ok(out.db_snapshots().first().cloned()),
        Err(e) if errors::is_not_found(&e) => Ok(None),
        Err(e) => Err(errors::sdk("rds:DescribeDBSnapshots", what, e)),
    }
}

// --- lookup ---------------------------------------------------------------------------------------

pub(crate) async fn lookup_instance(
    client: &Client,
    id: &str,
    what: &str,
) -> Result<SourceObject, ProviderError> {
    let db = describe_instance(client, id, what)
        .await?
        .ok_or_else(|| ProviderError::NotFound {
            what: what.to_owned(),
        })?;
    let endpoint = db.endpoint();
    let mut b = Builder::new();
    b.nonempty("identifier", db.db_instance_identifier())
        .nonempty("arn", db.db_instance_arn())
        .nonempty("engine", db.engine())
        .nonempty("engine_version", db.engine_version())
        .nonempty("instance_class", db.db_instance_class())
        .nonempty("endpoint", endpoint.and_then(|e| e.address()))
        .opt("port", endpoint.and_then(|e| e.port()).filter(|p| *p > 0))
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
        .nonempty("status", db.db_instance_status());
    Ok(SourceObject {
        attributes: b.into_inner(),
    })
}

// --- create ---------------------------------------------------------------------------------------

pub(crate) async fn create_snapshot(
    client: &Client,
    op: &Operation,
    request: &CreateRequest,
) -> Result<LiveResource, ProviderError> {
    let r = Reader::new(SNAPSHOT, &request.attributes);
    let identifier = r.required_str("identifier")?;
    let source = r.required_str("source_db")?;
    let mut all = tagging::creation_tags(request, &[]);
    if let Some(keep) = r.bool("keep_after_destroy")? {
        all.entry(tags::KEEP.to_owned())
            .or_insert_with(|| keep.to_string());
    }
    let what = what(&op.address, &identifier);
    op.report(&format!("snapshotting {source}"));
    let out = client
        .create_db_snapshot()
        .db_snapshot_identifier(&identifier)
        .db_instance_identifier(&source)
        .set_tags(Some(rds_tags(&all)))
        .send()
        .await
        .map_err(|e| errors::sdk_create("rds:CreateDBSnapshot", &what, e))?;
    let live = match out.db_snapshot() {
        Some(snap) => snapshot_live(snap, op.address.clone(), all),
        None => placeholder(op, &identifier, "creating", all),
    };
    Ok(live)
}

/// The newest available snapshot (manual or automated) of a DB instance: by creation time, then
/// by identifier so that the choice is stable.
async fn latest_snapshot_of(client: &Client, db: &str) -> Result<String, ProviderError> {
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
        .map(|(_, id)| id.to_owned())
        .ok_or_else(|| ProviderError::NotFound {
            what: format!("an available snapshot of DB instance {db}"),
        })
}

pub(crate) async fn create_instance(
    client: &Client,
    op: &Operation,
    request: &CreateRequest,
) -> Result<LiveResource, ProviderError> {
    let r = Reader::new(INSTANCE, &request.attributes);
    let identifier = r.required_str("identifier")?;
    let snapshot = match (r.str("snapshot")?, r.str("latest_snapshot_of")?) {
        (Some(snapshot), None) => snapshot,
        (None, Some(db)) => {
            let snapshot = latest_snapshot_of(client, &db).await?;
            op.report(&format!("newest snapshot of {db} is {snapshot}"));
            snapshot
        }
        _ => {
            return Err(errors::attribute(
                INSTANCE,
                "exactly one of `snapshot` and `latest_snapshot_of` must be given",
            ));
        }
    };
    let backup_retention = r.i32("backup_retention_days")?;
    let deletion_protection = r.bool("deletion_protection")?;
    let all = tagging::creation_tags(request, INSTANCE_INPUTS);
    let what = what(&op.address, &identifier);
    op.report(&format!("restoring from {snapshot}"));
    // Tags are explicit: without them a restored clone inherits the source's tags on some
    // implementations (moto does), and rehearsal's ownership must be there from the first moment.
    let out = client
        .restore_db_instance_from_db_snapshot()
        .db_instance_identifier(&identifier)
        .db_snapshot_identifier(&snapshot)
        .set_db_instance_class(r.str("instance_class")?)
        .set_db_subnet_group_name(r.str("subnet_group")?)
        .set_vpc_security_group_ids(r.str_list("security_groups")?)
        .set_db_parameter_group_name(r.str("parameter_group")?)
        .set_backup_retention_period(backup_retention)
        .set_deletion_protection(deletion_protection)
        .set_tags(Some(rds_tags(&all)))
        .send()
        .await
        .map_err(|e| errors::sdk_create("rds:RestoreDBInstanceFromDBSnapshot", &what, e))?;
    let mut live = match out.db_instance() {
        Some(db) => instance_live(db, op.address.clone(), all),
        None => placeholder(op, &identifier, "creating", all),
    };
    // Settings a restore may not apply (older API versions and moto ignore them; moto also copies
    // the source's deletion protection): the returned resource carries the requested values, and
    // `wait_instance_ready` sets them with ModifyDBInstance once the instance is available.
    if let Some(days) = backup_retention {
        live.attributes
            .insert("backup_retention_days".into(), days.into());
    }
    if let Some(protect) = deletion_protection {
        live.attributes
            .insert("deletion_protection".into(), protect.into());
    }
    Ok(live)
}

fn placeholder(op: &Operation, id: &str, status: &str, all: TagMap) -> LiveResource {
    let mut attributes = Attributes::new();
    attributes.insert("identifier".into(), id.into());
    attributes.insert("id".into(), id.into());
    attributes.insert("status".into(), status.into());
    attributes.insert("tags".into(), tagging::user_tags_json(&all));
    LiveResource {
        address: op.address.clone(),
        id: id.to_owned(),
        status: status.to_owned(),
        attributes,
        tags: all,
    }
}

// --- wait -----------------------------------------------------------------------------------------

pub(crate) async fn wait_snapshot_ready(
    client: &Client,
    op: &Operation,
    resource: &LiveResource,
) -> Result<LiveResource, ProviderError> {
    let what = what(&resource.address, &resource.id);
    let states = States::new(op);
    states.report(&resource.status);
    let wait = Wait {
        action: "rds:DescribeDBSnapshots",
        what: &what,
        target: "available",
        timeout: op.timeout,
    };
    let poll = client
        .wait_until_db_snapshot_available()
        .db_snapshot_identifier(&resource.id)
        .wait(op.timeout)
        .await
        .map_err(|e| {
            errors::waiter(&wait, e, |out| {
                out.db_snapshots()
                    .first()
                    .and_then(|s| s.status())
                    .map(str::to_owned)
            })
        })?;
    let out = poll
        .into_result()
        .map_err(|e| errors::sdk("rds:DescribeDBSnapshots", &what, e))?;
    let snap = out
        .db_snapshots()
        .first()
        .ok_or_else(|| ProviderError::NotFound { what: what.clone() })?;
    let live = snapshot_live(snap, resource.address.clone(), tag_map(snap.tag_list()));
    states.report(&live.status);
    Ok(live)
}

async fn wait_available(
    client: &Client,
    op: &Operation,
    deadline: &Deadline,
    id: &str,
    what: &str,
) -> Result<DbInstance, ProviderError> {
    let wait = Wait {
        action: "rds:DescribeDBInstances",
        what,
        target: "available",
        timeout: op.timeout,
    };
    let poll = client
        .wait_until_db_instance_available()
        .db_instance_identifier(id)
        .wait(deadline.remaining())
        .await
        .map_err(|e| {
            errors::waiter(&wait, e, |out| {
                out.db_instances()
                    .first()
                    .and_then(|d| d.db_instance_status())
                    .map(str::to_owned)
            })
        })?;
    let out = poll
        .into_result()
        .map_err(|e| errors::sdk("rds:DescribeDBInstances", what, e))?;
    out.db_instances()
        .first()
        .cloned()
        .ok_or_else(|| ProviderError::NotFound {
            what: what.to_owned(),
        })
}

pub(crate) async fn wait_instance_ready(
    client: &Client,
    op: &Operation,
    resource: &LiveResource,
) -> Result<LiveResource, ProviderError> {
    let what = what(&resource.address, &resource.id);
    let states = States::new(op);
    states.report(&resource.status);
    let deadline = Deadline::new(op);
    let mut db = wait_available(client, op, &deadline, &resource.id, &what).await?;

    // Apply what the restore was asked for but did not set (see `create_instance`).
    let wanted = Reader::new(INSTANCE, &resource.attributes);
    let retention = wanted
        .i32("backup_retention_days")?
        .filter(|days| db.backup_retention_period() != Some(*days));
    let protection = wanted
        .bool("deletion_protection")?
        .filter(|p| db.deletion_protection().unwrap_or(false) != *p);
    if retention.is_some() || protection.is_some() {
        states.report("modifying");
        client
            .modify_db_instance()
            .db_instance_identifier(&resource.id)
            .apply_immediately(true)
            .set_backup_retention_period(retention)
            .set_deletion_protection(protection)
            .send()
            .await
            .map_err(|e| errors::sdk("rds:ModifyDBInstance", &what, e))?;
        db = wait_available(client, op, &deadline, &resource.id, &what).await?;
    }
    let live = instance_live(&db, resource.address.clone(), tag_map(db.tag_list()));
    states.report(&live.status);
    Ok(live)
}

// --- update ---------------------------------------------------------------------------------------

async fn retag(
    client: &Client,
    arn: &str,
    what: &str,
    set: &TagMap,
    remove: Vec<String>,
) -> Result<(), ProviderError> {
    if !set.is_empty() {
        client
            .add_tags_to_resource()
            .resource_name(arn)
            .set_tags(Some(rds_tags(set)))
            .send()
            .await
            .map_err(|e| errors::sdk("rds:AddTagsToResource", what, e))?;
    }
    if !remove.is_empty() {
        client
            .remove_tags_from_resource()
            .resource_name(arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(|e| errors::sdk("rds:RemoveTagsFromResource", what, e))?;
    }
    Ok(())
}

fn not_updatable(kind: ResourceKind, key: &str) -> ProviderError {
    errors::attribute(kind, format!("`{key}` cannot be changed in place"))
}

pub(crate) async fn update_snapshot(
    client: &Client,
    op: &Operation,
    current: &LiveResource,
    desired: &Attributes,
    changed: &[String],
) -> Result<LiveResource, ProviderError> {
    let what = what(&current.address, &current.id);
    let snap = describe_snapshot(client, &current.id, &what)
        .await?
        .ok_or_else(|| ProviderError::NotFound { what: what.clone() })?;
    let live_tags = tag_map(snap.tag_list());
    tagging::ensure_owned(&live_tags, &op.env.name, &what, "rds:AddTagsToResource")?;
    let r = Reader::new(SNAPSHOT, desired);
    let mut set = TagMap::new();
    let mut remove = vec![];
    for key in changed {
        match key.as_str() {
            "keep_after_destroy" => {
                let keep = r.bool("keep_after_destroy")?.unwrap_or(false);
                set.insert(tags::KEEP.to_owned(), keep.to_string());
            }
            "tags" => {
                let (s, rm) = tagging::user_tag_changes(
                    &live_tags,
                    &tagging::desired_user_tags(desired.get("tags")),
                );
                set.extend(s);
                remove = rm;
            }
            other => return Err(not_updatable(SNAPSHOT, other)),
        }
    }
    let arn = snap.db_snapshot_arn().unwrap_or_default();
    op.report("tagging");
    retag(client, arn, &what, &set, remove).await?;
    let snap = describe_snapshot(client, &current.id, &what)
        .await?
        .ok_or_else(|| ProviderError::NotFound { what: what.clone() })?;
    Ok(snapshot_live(
        &snap,
        current.address.clone(),
        tag_map(snap.tag_list()),
    ))
}

pub(crate) async fn update_instance(
    client: &Client,
    op: &Operation,
    current: &LiveResource,
    desired: &Attributes,
    changed: &[String],
) -> Result<LiveResource, ProviderError> {
    let what = what(&current.address, &current.id);
    let db = describe_instance(client, &current.id, &what)
        .await?
        .ok_or_else(|| ProviderError::NotFound { what: what.clone() })?;
    let live_tags = tag_map(db.tag_list());
    tagging::ensure_owned(&live_tags, &op.env.name, &what, "rds:ModifyDBInstance")?;

    let r = Reader::new(INSTANCE, desired);
    let mut modify = client
        .modify_db_instance()
        .db_instance_identifier(&current.id)
        .apply_immediately(true);
    let mut modified = false;
    let mut set = TagMap::new();
    let mut remove = vec![];
    for key in changed {
        match key.as_str() {
            "instance_class" => {
                modify = modify.set_db_instance_class(r.str("instance_class")?);
                modified = true;
            }
            "security_groups" => {
                modify = modify.set_vpc_security_group_ids(r.str_list("security_groups")?);
                modified = true;
            }
            "parameter_group" => {
                modify = modify.set_db_parameter_group_name(r.str("parameter_group")?);
                modified = true;
            }
            "backup_retention_days" => {
                modify = modify.set_backup_retention_period(r.i32("backup_retention_days")?);
                modified = true;
            }
            "deletion_protection" => {
                modify = modify.set_deletion_protection(r.bool("deletion_protection")?);
                modified = true;
            }
            // Teardown policy only: nothing in AWS changes but the recorded input.
            "final_snapshot" => {
                let value = r.bool("final_snapshot")?.unwrap_or(false);
                set.insert(tagging::input_key("final_snapshot"), value.to_string());
            }
            "tags" => {
                let (s, rm) = tagging::user_tag_changes(
                    &live_tags,
                    &tagging::desired_user_tags(desired.get("tags")),
                );
                set.extend(s);
                remove = rm;
            }
            other => return Err(not_updatable(INSTANCE, other)),
        }
    }
    if modified {
        op.report("modifying");
        modify
            .send()
            .await
            .map_err(|e| errors::sdk("rds:ModifyDBInstance", &what, e))?;
    }
    retag(
        client,
        db.db_instance_arn().unwrap_or_default(),
        &what,
        &set,
        remove,
    )
    .await?;
    let db = wait_available(client, op, &Deadline::new(op), &current.id, &what).await?;
    let live = instance_live(&db, current.address.clone(), tag_map(db.tag_list()));
    op.report(&live.status);
    Ok(live)
}

// --- delete ---------------------------------------------------------------------------------------

pub(crate) async fn delete_snapshot(
    client: &Client,
    op: &Operation,
    resource: &LiveResource,
) -> Result<DeleteOutcome, ProviderError> {
    let what = what(&resource.address, &resource.id);
    let Some(snap) = describe_snapshot(client, &resource.id, &what).await? else {
        return Ok(DeleteOutcome::Accepted);
    };
    tagging::ensure_owned(
        &tag_map(snap.tag_list()),
        &op.env.name,
        &what,
        "rds:DeleteDBSnapshot",
    )?;
    match snap.status().unwrap_or_default() {
        "deleting" | "deleted" => return Ok(DeleteOutcome::Accepted),
        "creating" => {
            return Ok(DeleteOutcome::NotYet {
                reason: "the snapshot is still being created".to_owned(),
            });
        }
        _ => {}
    }
    op.report("deleting");
    match client
        .delete_db_snapshot()
        .db_snapshot_identifier(&resource.id)
        .send()
        .await
    {
        Ok(_) => Ok(DeleteOutcome::Accepted),
        Err(e) if errors::is_not_found(&e) => Ok(DeleteOutcome::Accepted),
        Err(e) => match errors::sdk("rds:DeleteDBSnapshot", &what, e) {
            ProviderError::InvalidState { message, .. } => {
                Ok(DeleteOutcome::NotYet { reason: message })
            }
            other => Err(other),
        },
    }
}

pub(crate) async fn delete_instance(
    client: &Client,
    op: &Operation,
    resource: &LiveResource,
    policy: &DeletePolicy,
) -> Result<DeleteOutcome, ProviderError> {
    let what = what(&resource.address, &resource.id);
    let Some(db) = describe_instance(client, &resource.id, &what).await? else {
        return Ok(DeleteOutcome::Accepted);
    };
    tagging::ensure_owned(
        &tag_map(db.tag_list()),
        &op.env.name,
        &what,
        "rds:DeleteDBInstance",
    )?;
    let status = db.db_instance_status().unwrap_or_default();
    match status {
        "deleting" | "deleted" => return Ok(DeleteOutcome::Accepted),
        "stopped" => {
            op.report("starting");
            client
                .start_db_instance()
                .db_instance_identifier(&resource.id)
                .send()
                .await
                .map_err(|e| errors::sdk("rds:StartDBInstance", &what, e))?;
            return Ok(DeleteOutcome::NotYet {
                reason: "it was stopped and RDS cannot delete a stopped instance; starting it"
                    .to_owned(),
            });
        }
        s if BUSY.contains(&s) || s.starts_with("configuring") => {
            return Ok(DeleteOutcome::NotYet {
                reason: format!("it is {s}"),
            });
        }
        _ => {}
    }
    if db.deletion_protection().unwrap_or(false) {
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
        client
            .modify_db_instance()
            .db_instance_identifier(&resource.id)
            .deletion_protection(false)
            .apply_immediately(true)
            .send()
            .await
            .map_err(|e| errors::sdk("rds:ModifyDBInstance", &what, e))?;
    }
    op.report("deleting");
    let request = client
        .delete_db_instance()
        .db_instance_identifier(&resource.id)
        .delete_automated_backups(true);
    let request = match &policy.final_snapshot_identifier {
        Some(snapshot) => request
            .skip_final_snapshot(false)
            .final_db_snapshot_identifier(snapshot),
        None => request.skip_final_snapshot(true),
    };
    match request.send().await {
        Ok(_) => Ok(DeleteOutcome::Accepted),
        Err(e) if errors::is_not_found(&e) => Ok(DeleteOutcome::Accepted),
        Err(e) => match errors::sdk("rds:DeleteDBInstance", &what, e) {
            ProviderError::InvalidState { message, .. } => {
                Ok(DeleteOutcome::NotYet { reason: message })
            }
            other => Err(other),
        },
    }
}

pub(crate) async fn wait_snapshot_deleted(
    client: &Client,
    op: &Operation,
    resource: &LiveResource,
) -> Result<(), ProviderError> {
    let what = what(&resource.address, &resource.id);
    let wait = Wait {
        action: "rds:DescribeDBSnapshots",
        what: &what,
        target: "deleted",
        timeout: op.timeout,
    };
    client
        .wait_until_db_snapshot_deleted()
        .db_snapshot_identifier(&resource.id)
        .wait(op.timeout)
        .await
        .map_err(|e| {
            errors::waiter(&wait, e, |out| {
                out.db_snapshots()
                    .first()
                    .and_then(|s| s.status())
                    .map(str::to_owned)
            })
        })?;
    op.report("deleted");
    Ok(())
}

pub(crate) async fn wait_instance_deleted(
    client: &Client,
    op: &Operation,
    resource: &LiveResource,
) -> Result<(), ProviderError> {
    let what = what(&resource.address, &resource.id);
    let wait = Wait {
        action: "rds:DescribeDBInstances",
        what: &what,
        target: "deleted",
        timeout: op.timeout,
    };
    client
        .wait_until_db_instance_deleted()
        .db_instance_identifier(&resource.id)
        .wait(op.timeout)
        .await
        .map_err(|e| {
            errors::waiter(&wait, e, |out| {
                out.db_instances()
                    .first()
                    .and_then(|d| d.db_instance_status())
                    .map(str::to_owned)
            })
        })?;
    op.report("deleted");
    Ok(())
}
