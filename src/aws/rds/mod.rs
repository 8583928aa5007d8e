//! RDS: what the snapshot and instance kinds share (tags, describing by identifier), and the
//! source look-up of a DB instance.
//!
//! RDS can filter neither instances nor snapshots by tag on the server, so a scan lists them all
//! (paginated) and keeps those whose `TagList` says they belong to the environment.

pub(crate) mod instance;
pub(crate) mod snapshot;

use aws_sdk_rds::Client;
use aws_sdk_rds::types::{DbInstance, DbSnapshot, Filter, Tag};

use super::attrs::Builder;
use super::errors;
use super::tags::{self as tagging, TagMap};
use crate::model::{SourceObject, SourceQuery};
use crate::provider::ProviderError;

pub(crate) fn tag_map(list: &[Tag]) -> TagMap {
    tagging::collect(list.iter().map(|t| (t.key(), t.value())))
}

pub(crate) fn rds_tags(all: &TagMap) -> Vec<Tag> {
    all.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn filter(name: &str, values: &[&str]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.iter().map(|v| (*v).to_owned()).collect()))
        .build()
}

/// DB instances by identifier (unknown ones left out), or all of them.
pub(crate) async fn describe_instances(
    client: &Client,
    ids: Option<&[&str]>,
    what: &str,
) -> Result<Vec<DbInstance>, ProviderError> {
    client
        .describe_db_instances()
        .set_filters(ids.map(|ids| vec![filter("db-instance-id", ids)]))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| errors::sdk("rds:DescribeDBInstances", what, e))
}

/// Manual DB snapshots by identifier (unknown ones left out), or all of them.
pub(crate) async fn describe_snapshots(
    client: &Client,
    ids: Option<&[&str]>,
    what: &str,
) -> Result<Vec<DbSnapshot>, ProviderError> {
    client
        .describe_db_snapshots()
        .snapshot_type("manual")
        .set_filters(ids.map(|ids| vec![filter("db-snapshot-id", ids)]))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| errors::sdk("rds:DescribeDBSnapshots", what, e))
}

/// A source database: the DB instance with the query's identifier.
pub(crate) async fn lookup(
    client: &Client,
    query: &SourceQuery,
) -> Result<SourceObject, ProviderError> {
    let what = query.describe();
    let id = query.id.as_deref().ok_or_else(|| {
        errors::attribute("rds_instance", "a source DB instance needs an `identifier`")
    })?;
    let found = describe_instances(client, Some(&[id]), &what).await?;
    let db = found
        .iter()
        .find(|db| db.db_instance_identifier() == Some(id))
        .ok_or_else(|| ProviderError::NotFound { what: what.clone() })?;
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
        .nonempty(
            "option_group",
            db.option_group_memberships()
                .first()
                .and_then(|o| o.option_group_name()),
        )
        .set("multi_az", db.multi_az().unwrap_or(false))
        .set("storage_encrypted", db.storage_encrypted().unwrap_or(false))
        .nonempty("status", db.db_instance_status());
    Ok(SourceObject {
        attributes: b.into_inner(),
        ..SourceObject::default()
    })
}

/// Set and remove tags on an RDS resource, by its ARN.
pub(crate) async fn tag(
    client: &Client,
    arn: &str,
    what: &str,
    set: &TagMap,
    remove: &[String],
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
            .set_tag_keys(Some(remove.to_vec()))
            .send()
            .await
            .map_err(|e| errors::sdk("rds:RemoveTagsFromResource", what, e))?;
    }
    Ok(())
}

/// The ARN a tag call needs, from what was described.
pub(crate) fn arn_of(live: &crate::model::LiveResource) -> Result<&str, ProviderError> {
    live.attributes
        .get("arn")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| errors::attribute(live.address.kind, format!("{} has no ARN", live.address)))
}
