//! ECS: what the cluster, task-definition and service kinds share (tags, ARNs, batched
//! describes, the region's cluster list), and the source look-ups.
//!
//! ECS tags come back only when asked for (`include=TAGS`). Clusters and services have batch
//! describe calls (100 and 10 per call); task definitions have none.

pub(crate) mod cluster;
pub(crate) mod definition;
pub(crate) mod service;
pub(crate) mod task_definition;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    Cluster, ClusterField, Service, ServiceField, Tag, TaskDefinition, TaskDefinitionField,
    TaskDefinitionStatus,
};

use super::attrs::Builder;
use super::tags::{self as tagging, TagMap};
use super::{Scan, errors};
use crate::model::{SourceObject, SourceQuery};
use crate::provider::ProviderError;

pub(crate) fn tag_map(list: &[Tag]) -> TagMap {
    tagging::collect(list.iter().map(|t| (t.key(), t.value())))
}

pub(crate) fn ecs_tags(all: &TagMap) -> Vec<Tag> {
    all.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// The cluster name in a cluster ARN (`arn:aws:ecs:region:account:cluster/NAME`).
pub(crate) fn cluster_name_of(arn: &str) -> &str {
    arn.rsplit_once("cluster/").map_or(arn, |(_, name)| name)
}

/// The cluster in a service ARN of the long format (`...:service/CLUSTER/NAME`).
pub(crate) fn cluster_of_service_arn(arn: &str) -> Option<&str> {
    let (_, rest) = arn.rsplit_once(":service/")?;
    let (cluster, _) = rest.split_once('/')?;
    Some(cluster)
}

/// The family and revision in a task-definition ARN (`...:task-definition/FAMILY:REVISION`).
pub(crate) fn family_revision(arn: &str) -> Option<(&str, i64)> {
    let (_, rest) = arn.rsplit_once("task-definition/")?;
    let (family, revision) = rest.rsplit_once(':')?;
    Some((family, revision.parse().ok()?))
}

/// ECS answers an unknown task definition with a generic `ClientException`.
fn is_missing_task_definition<E: aws_sdk_ecs::error::ProvideErrorMetadata>(
    err: &aws_sdk_ecs::error::SdkError<E>,
) -> bool {
    if errors::is_not_found(err) {
        return true;
    }
    match err {
        aws_sdk_ecs::error::SdkError::ServiceError(service) => {
            service.err().code() == Some("ClientException")
                && service.err().message().is_some_and(|m| {
                    let m = m.to_ascii_lowercase();
                    m.contains("unable to describe")
                        || m.contains("not found")
                        || m.contains("does not exist")
                })
        }
        _ => false,
    }
}

/// Clusters by name or ARN, with their tags; unknown ones are left out.
pub(crate) async fn describe_clusters(
    client: &Client,
    ids: &[String],
) -> Result<Vec<Cluster>, ProviderError> {
    let mut out = vec![];
    for chunk in ids.chunks(100) {
        let page = client
            .describe_clusters()
            .set_clusters(Some(chunk.to_vec()))
            .include(ClusterField::Tags)
            .send()
            .await
            .map_err(|e| errors::sdk("ecs:DescribeClusters", "ECS clusters", e))?;
        out.extend(page.clusters().iter().cloned());
    }
    Ok(out)
}

/// Services of one cluster by name or ARN, with their tags; unknown ones are left out.
pub(crate) async fn describe_services(
    client: &Client,
    cluster: &str,
    ids: &[String],
) -> Result<Vec<Service>, ProviderError> {
    let mut out = vec![];
    for chunk in ids.chunks(10) {
        let page = client
            .describe_services()
            .cluster(cluster)
            .set_services(Some(chunk.to_vec()))
            .include(ServiceField::Tags)
            .send()
            .await;
        match page {
            Ok(page) => out.extend(page.services().iter().cloned()),
            // The cluster itself is gone: so are its services.
            Err(e) if errors::is_not_found(&e) => return Ok(out),
            Err(e) => {
                let what = format!("ECS services in {cluster}");
                return Err(errors::sdk("ecs:DescribeServices", &what, e));
            }
        }
    }
    Ok(out)
}

/// One task-definition revision with its tags, or `None` if ECS does not know it.
pub(crate) async fn describe_task_definition(
    client: &Client,
    id: &str,
) -> Result<Option<(TaskDefinition, TagMap)>, ProviderError> {
    match client
        .describe_task_definition()
        .task_definition(id)
        .include(TaskDefinitionField::Tags)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .task_definition()
            .map(|td| (td.clone(), tag_map(out.tags())))),
        Err(e) if is_missing_task_definition(&e) => Ok(None),
        Err(e) => Err(errors::sdk("ecs:DescribeTaskDefinition", id, e)),
    }
}

/// Every cluster in the region (ACTIVE or not), listed once per scan for the cluster and
/// service kinds.
pub(crate) async fn all_clusters<'s>(cx: &'s Scan<'_>) -> Result<&'s [Cluster], ProviderError> {
    let clusters = cx
        .ecs_clusters
        .get_or_try_init(|| async {
            let client = &cx.clients.ecs;
            let arns: Vec<String> = client
                .list_clusters()
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| errors::sdk("ecs:ListClusters", "ECS clusters", e))?;
            describe_clusters(client, &arns).await
        })
        .await?;
    Ok(clusters)
}

/// Set and remove tags on an ECS resource, by its ARN.
pub(crate) async fn tag(
    client: &Client,
    arn: &str,
    what: &str,
    set: &TagMap,
    remove: &[String],
) -> Result<(), ProviderError> {
    if !set.is_empty() {
        client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(ecs_tags(set)))
            .send()
            .await
            .map_err(|e| errors::sdk("ecs:TagResource", what, e))?;
    }
    if !remove.is_empty() {
        client
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(remove.to_vec()))
            .send()
            .await
            .map_err(|e| errors::sdk("ecs:UntagResource", what, e))?;
    }
    Ok(())
}

pub(crate) fn empty(action: &str) -> ProviderError {
    ProviderError::Api {
        action: action.to_owned(),
        code: "EmptyResponse".to_owned(),
        message: "AWS accepted the call but described nothing".to_owned(),
    }
}

// --- sources --------------------------------------------------------------------------------

pub(crate) async fn lookup_cluster(
    client: &Client,
    query: &SourceQuery,
) -> Result<SourceObject, ProviderError> {
    let what = query.describe();
    let name = query
        .id
        .clone()
        .ok_or_else(|| errors::attribute("ecs_cluster", "a source cluster needs a `name`"))?;
    let clusters = describe_clusters(client, &[name]).await?;
    let cluster = clusters
        .iter()
        .find(|c| c.status() == Some("ACTIVE"))
        .ok_or(ProviderError::NotFound { what })?;
    let mut b = Builder::new();
    b.nonempty("name", cluster.cluster_name())
        .nonempty("arn", cluster.cluster_arn())
        .nonempty("status", cluster.status());
    Ok(SourceObject {
        attributes: b.into_inner(),
        ..SourceObject::default()
    })
}

pub(crate) async fn lookup_service(
    client: &Client,
    query: &SourceQuery,
) -> Result<SourceObject, ProviderError> {
    let what = query.describe();
    let (Some(name), Some(cluster)) = (query.id.clone(), query.cluster.clone()) else {
        return Err(errors::attribute(
            "ecs_service",
            "a source service needs a `cluster` and a `name`",
        ));
    };
    let services = describe_services(client, &cluster, &[name]).await?;
    let service = services
        .iter()
        .find(|s| s.status() == Some("ACTIVE"))
        .ok_or(ProviderError::NotFound { what })?;
    let mut b = Builder::new();
    b.nonempty("name", service.service_name())
        .nonempty("arn", service.service_arn())
        .set("cluster", cluster.as_str())
        .nonempty("task_definition", service.task_definition())
        .set("desired_count", service.desired_count());
    Ok(SourceObject {
        attributes: b.into_inner(),
        ..SourceObject::default()
    })
}

/// The newest ACTIVE revision of a family. ListTaskDefinitions' `sort` is not relied on (some
/// implementations ignore it): the highest revision number wins.
pub(crate) async fn lookup_task_definition(
    client: &Client,
    query: &SourceQuery,
) -> Result<SourceObject, ProviderError> {
    let what = query.describe();
    let family = query.id.clone().ok_or_else(|| {
        errors::attribute(
            "ecs_task_definition",
            "a source task definition needs a `family`",
        )
    })?;
    let arns: Vec<String> = client
        .list_task_definitions()
        .family_prefix(&family)
        .status(TaskDefinitionStatus::Active)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| errors::sdk("ecs:ListTaskDefinitions", &what, e))?;
    let newest = arns
        .iter()
        .filter_map(|arn| {
            let (f, revision) = family_revision(arn)?;
            (f == family).then_some((revision, arn))
        })
        .max()
        .map(|(_, arn)| arn.clone())
        .ok_or_else(|| ProviderError::NotFound { what: what.clone() })?;
    let (td, _) = describe_task_definition(client, &newest)
        .await?
        .ok_or(ProviderError::NotFound { what })?;
    let mut b = Builder::new();
    b.nonempty("family", td.family())
        .nonempty("arn", td.task_definition_arn())
        .set("revision", td.revision())
        .nonempty(
            "image",
            td.container_definitions().first().and_then(|c| c.image()),
        )
        // Everything a clone copies (`clone_of`), as the resource kind's attributes.
        .set(
            "definition",
            serde_json::Value::Object(task_definition::definition_attributes(&td)),
        );
    Ok(SourceObject {
        attributes: b.into_inner(),
        ..SourceObject::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_are_taken_apart() {
        assert_eq!(
            cluster_name_of("arn:aws:ecs:eu-west-1:1:cluster/pre"),
            "pre"
        );
        assert_eq!(
            cluster_of_service_arn("arn:aws:ecs:eu-west-1:1:service/pre/server"),
            Some("pre")
        );
        assert_eq!(
            cluster_of_service_arn("arn:aws:ecs:eu-west-1:1:service/server"),
            None
        );
        assert_eq!(
            family_revision("arn:aws:ecs:eu-west-1:1:task-definition/pre-server:12"),
            Some(("pre-server", 12))
        );
    }
}
