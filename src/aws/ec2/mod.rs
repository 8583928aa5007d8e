//! EC2: what the instance and volume kinds and the source look-up share (tags, filters, describing
//! instances), and the source look-up itself.

pub(crate) mod instance;
pub(crate) mod security_group;
pub(crate) mod volume;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Filter, Instance, Tag};

use super::attrs::Builder;
use super::errors;
use super::tags::{self as tagging, TagMap};
use crate::model::{SourceObject, SourceQuery};
use crate::provider::ProviderError;

/// States a source may be in: neither terminated nor on its way there.
const SOURCE_STATES: &[&str] = &["pending", "running", "stopping", "stopped"];

pub(crate) fn tag_map(list: &[Tag]) -> TagMap {
    tagging::collect(list.iter().map(|t| (t.key(), t.value())))
}

pub(crate) fn ec2_tags(all: &TagMap) -> Vec<Tag> {
    all.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

pub(crate) fn state_of(instance: &Instance) -> &str {
    instance
        .state()
        .and_then(|s| s.name())
        .map(|n| n.as_str())
        .unwrap_or_default()
}

pub(crate) fn filter(name: &str, values: &[&str]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.iter().map(|v| (*v).to_owned()).collect()))
        .build()
}

/// Instances matching `filters`, across all pages. Filters never answer "not found".
pub(crate) async fn describe_instances(
    client: &Client,
    filters: Vec<Filter>,
    what: &str,
) -> Result<Vec<Instance>, ProviderError> {
    let reservations: Vec<_> = client
        .describe_instances()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| errors::sdk("ec2:DescribeInstances", what, e))?;
    Ok(reservations
        .iter()
        .flat_map(|r| r.instances().iter().cloned())
        .collect())
}

/// A source server: the one instance its id or tags select.
pub(crate) async fn lookup(
    client: &Client,
    query: &SourceQuery,
) -> Result<SourceObject, ProviderError> {
    let what = query.describe();
    if query.id.is_none() && query.tags.is_empty() {
        return Err(errors::attribute(
            "ec2_instance",
            "a source instance needs an `id` or `tags`",
        ));
    }
    let mut filters: Vec<Filter> = query
        .tags
        .iter()
        .map(|(k, v)| filter(&format!("tag:{k}"), &[v.as_str()]))
        .collect();
    filters.push(filter("instance-state-name", SOURCE_STATES));
    if let Some(id) = &query.id {
        filters.push(filter("instance-id", &[id.as_str()]));
    }
    let found = describe_instances(client, filters, &what).await?;
    let instance = match found.as_slice() {
        [] => return Err(ProviderError::NotFound { what }),
        [one] => one,
        many => {
            let ids: Vec<&str> = many.iter().filter_map(|i| i.instance_id()).collect();
            return Err(ProviderError::Api {
                action: "ec2:DescribeInstances".to_owned(),
                code: "AmbiguousSource".to_owned(),
                message: format!(
                    "{} instances match {what}: {}; a source must match exactly one",
                    many.len(),
                    ids.join(", ")
                ),
            });
        }
    };
    let mut b = Builder::new();
    b.nonempty("id", instance.instance_id())
        .nonempty("image", instance.image_id())
        .nonempty("subnet", instance.subnet_id())
        .nonempty("vpc", instance.vpc_id())
        .strings(
            "security_groups",
            instance
                .security_groups()
                .iter()
                .filter_map(|g| g.group_id()),
        )
        .opt(
            "instance_type",
            instance.instance_type().map(|t| t.as_str()),
        )
        .nonempty("private_ip", instance.private_ip_address())
        .nonempty("key_name", instance.key_name())
        .set("state", state_of(instance));
    Ok(SourceObject {
        attributes: b.into_inner(),
    })
}

/// Set and remove tags on EC2 resources.
pub(crate) async fn tag(
    client: &Client,
    id: &str,
    what: &str,
    set: &TagMap,
    remove: &[String],
) -> Result<(), ProviderError> {
    if !set.is_empty() {
        client
            .create_tags()
            .resources(id)
            .set_tags(Some(ec2_tags(set)))
            .send()
            .await
            .map_err(|e| errors::sdk("ec2:CreateTags", what, e))?;
    }
    if !remove.is_empty() {
        client
            .delete_tags()
            .resources(id)
            .set_tags(Some(
                remove
                    .iter()
                    .map(|k| Tag::builder().key(k).build())
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| errors::sdk("ec2:DeleteTags", what, e))?;
    }
    Ok(())
}
