//! ECS: clusters, task definitions and services.
//!
//! ECS tags come back only when asked for (`include=TAGS`). Clusters and services have batch
//! describe calls (100 and 10 per call); task definitions have none, and ListTaskDefinitions has
//! no tag filter, so `observe` asks the Resource Groups Tagging API for the revisions tagged
//! `rehearsal:env` and describes only those, each on its own, in parallel with a bound: the cost
//! follows the environment's revisions, not the account's.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::client::Waiters;
use aws_sdk_ecs::types::{
    AwsVpcConfiguration, Cluster, ClusterField, Compatibility, ContainerDefinition, KeyValuePair,
    LaunchType, NetworkConfiguration, NetworkMode, PortMapping, Service, ServiceField, Tag,
    TaskDefinition, TaskDefinitionField, TaskDefinitionStatus, TransportProtocol,
};
use serde_json::{Map, Value};

use super::attrs::{Builder, Reader};
use super::errors::{self, Wait};
use super::tags::{self as tagging, TagMap};
use super::{States, concurrently, env_matches, what};
use crate::model::{
    Address, Attributes, LiveResource, ResourceKind, SourceObject, SourceQuery, tags,
};
use crate::provider::{CreateRequest, DeleteOutcome, Operation, ProviderError};

const CLUSTER: ResourceKind = ResourceKind::EcsCluster;
const TASK_DEFINITION: ResourceKind = ResourceKind::EcsTaskDefinition;
const SERVICE: ResourceKind = ResourceKind::EcsService;

/// Inputs of `ecs_service` AWS cannot describe back as given (it answers with the cluster's ARN).
const SERVICE_INPUTS: &[&str] = &["cluster"];

/// How many DescribeTaskDefinition (or ListServices) calls run at once.
const PARALLELISM: usize = 8;

fn tag_map(list: &[Tag]) -> TagMap {
    tagging::collect(list.iter().map(|t| (t.key(), t.value())))
}

fn ecs_tags(all: &TagMap) -> Vec<Tag> {
    all.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// The cluster name in a cluster ARN (`arn:aws:ecs:region:account:cluster/NAME`).
fn cluster_name_of(arn: &str) -> &str {
    arn.rsplit_once("cluster/").map_or(arn, |(_, name)| name)
}

/// The cluster in a service ARN of the long format (`...:service/CLUSTER/NAME`).
fn cluster_of_service_arn(arn: &str) -> Option<&str> {
    let (_, rest) = arn.rsplit_once(":service/")?;
    let (cluster, _) = rest.split_once('/')?;
    Some(cluster)
}

/// The family and revision in a task-definition ARN (`...:task-definition/FAMILY:REVISION`).
fn family_revision(arn: &str) -> Option<(&str, i64)> {
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

// --- what AWS says, as attributes ---------------------------------------------------------------

pub(crate) fn cluster_live(cluster: &Cluster, address: Address, all: TagMap) -> LiveResource {
    let arn = cluster.cluster_arn().unwrap_or_default().to_owned();
    let status = cluster.status().unwrap_or_default().to_owned();
    let mut b = Builder::new();
    b.nonempty("name", cluster.cluster_name())
        .set("tags", tagging::user_tags_json(&all))
        .set("id", arn.as_str())
        .set("arn", arn.as_str())
        .set("status", status.as_str());
    LiveResource {
        address,
        id: arn,
        status,
        attributes: b.into_inner(),
        tags: all,
    }
}

fn container_json(c: &ContainerDefinition) -> Value {
    let mut b = Builder::new();
    b.nonempty("name", c.name())
        .nonempty("image", c.image())
        .set("cpu", c.cpu())
        .opt("memory", c.memory())
        .opt("essential", c.essential());
    let environment: Map<String, Value> = c
        .environment()
        .iter()
        .filter_map(|kv| {
            Some((
                kv.name()?.to_owned(),
                Value::String(kv.value().unwrap_or_default().to_owned()),
            ))
        })
        .collect();
    b.set("environment", Value::Object(environment));
    let ports: Vec<Value> = c
        .port_mappings()
        .iter()
        .map(|p| {
            let mut pb = Builder::new();
            pb.opt("container_port", p.container_port())
                .opt("host_port", p.host_port())
                .opt("protocol", p.protocol().map(|t| t.as_str()));
            Value::Object(pb.into_inner())
        })
        .collect();
    b.set("port_mappings", Value::Array(ports));
    if !c.command().is_empty() {
        b.strings("command", c.command().iter().map(String::as_str));
    }
    Value::Object(b.into_inner())
}

pub(crate) fn task_definition_live(
    td: &TaskDefinition,
    address: Address,
    all: TagMap,
) -> LiveResource {
    let arn = td.task_definition_arn().unwrap_or_default().to_owned();
    let status = td
        .status()
        .map(|s| s.as_str())
        .unwrap_or_default()
        .to_owned();
    let mut b = Builder::new();
    b.nonempty("family", td.family())
        .nonempty("cpu", td.cpu())
        .nonempty("memory", td.memory())
        .opt("network_mode", td.network_mode().map(|m| m.as_str()))
        .strings(
            "requires_compatibilities",
            td.requires_compatibilities().iter().map(|c| c.as_str()),
        )
        .nonempty("execution_role_arn", td.execution_role_arn())
        .set(
            "containers",
            Value::Array(
                td.container_definitions()
                    .iter()
                    .map(container_json)
                    .collect(),
            ),
        )
        .set("tags", tagging::user_tags_json(&all))
        .set("id", arn.as_str())
        .set("arn", arn.as_str())
        .set("revision", td.revision())
        .set("status", status.as_str());
    LiveResource {
        address,
        id: arn,
        status,
        attributes: b.into_inner(),
        tags: all,
    }
}

pub(crate) fn service_live(service: &Service, address: Address, all: TagMap) -> LiveResource {
    let arn = service.service_arn().unwrap_or_default().to_owned();
    let status = service.status().unwrap_or_default().to_owned();
    let mut b = Builder::new();
    b.nonempty("name", service.service_name())
        .opt("cluster", service.cluster_arn().map(cluster_name_of))
        .nonempty("task_definition", service.task_definition())
        .set("desired_count", service.desired_count())
        .opt("launch_type", service.launch_type().map(|l| l.as_str()));
    if let Some(vpc) = service
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration())
    {
        b.strings("subnets", vpc.subnets().iter().map(String::as_str))
            .strings(
                "security_groups",
                vpc.security_groups().iter().map(String::as_str),
            );
    }
    b.set("tags", tagging::user_tags_json(&all))
        .set("id", arn.as_str())
        .set("arn", arn.as_str())
        .set("status", status.as_str());
    let mut attributes = b.into_inner();
    // The cluster as the spec named it (a name or an ARN), when it was recorded.
    tagging::read_inputs(&all, &mut attributes, &[]);
    LiveResource {
        address,
        id: arn,
        status,
        attributes,
        tags: all,
    }
}

// --- observe --------------------------------------------------------------------------------------

async fn describe_clusters(
    client: &Client,
    ids: Vec<String>,
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

async fn describe_services(
    client: &Client,
    cluster: &str,
    ids: Vec<String>,
) -> Result<Vec<Service>, ProviderError> {
    let mut out = vec![];
    for chunk in ids.chunks(10) {
        let page = client
            .describe_services()
            .cluster(cluster)
            .set_services(Some(chunk.to_vec()))
            .include(ServiceField::Tags)
            .send()
            .await
            .map_err(|e| {
                errors::sdk(
                    "ecs:DescribeServices",
                    &format!("ECS services in {cluster}"),
                    e,
                )
            })?;
        out.extend(page.services().iter().cloned());
    }
    Ok(out)
}

async fn describe_task_definition(
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

async fn services_of(
    client: &Client,
    cluster: String,
    env: Option<String>,
) -> Result<Vec<LiveResource>, ProviderError> {
    let arns: Vec<String> = client
        .list_services()
        .cluster(&cluster)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| errors::sdk("ecs:ListServices", &format!("ECS services in {cluster}"), e))?;
    let services = describe_services(client, &cluster, arns).await?;
    Ok(services
        .iter()
        .filter(|s| s.status() != Some("INACTIVE"))
        .filter_map(|s| {
            let all = tag_map(s.tags());
            let (owner, address) = tagging::ownership(&all, SERVICE)?;
            env_matches(env.as_deref(), &owner).then(|| service_live(s, address, all))
        })
        .collect())
}

async fn scan_clusters_and_services(
    client: &Client,
    env: Option<&str>,
) -> Result<Vec<LiveResource>, ProviderError> {
    let arns: Vec<String> = client
        .list_clusters()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| errors::sdk("ecs:ListClusters", "ECS clusters", e))?;
    let clusters = describe_clusters(client, arns).await?;
    let owned: Vec<LiveResource> = clusters
        .iter()
        .filter(|c| c.status() != Some("INACTIVE"))
        .filter_map(|c| {
            let all = tag_map(c.tags());
            let (owner, address) = tagging::ownership(&all, CLUSTER)?;
            env_matches(env, &owner).then(|| cluster_live(c, address, all))
        })
        .collect();
    let env_owned = env.map(str::to_owned);
    let services = concurrently(
        owned.iter().map(|c| c.id.clone()).collect(),
        PARALLELISM,
        |cluster| {
            let client = client.clone();
            let env = env_owned.clone();
            async move { services_of(&client, cluster, env).await }
        },
    )
    .await?;
    Ok(owned
        .into_iter()
        .chain(services.into_iter().flatten())
        .collect())
}

/// The ARNs of the task definitions tagged `rehearsal:env` (= `env`, or any value), once each.
/// The Tagging API may still list revisions that are INACTIVE or deleted: describing them tells.
async fn tagged_task_definitions(
    tagging_api: &aws_sdk_resourcegroupstagging::Client,
    env: Option<&str>,
) -> Result<Vec<String>, ProviderError> {
    let filter = aws_sdk_resourcegroupstagging::types::TagFilter::builder()
        .key(tags::ENV)
        .set_values(env.map(|env| vec![env.to_owned()]))
        .build();
    let mappings: Vec<_> = tagging_api
        .get_resources()
        .tag_filters(filter)
        .resource_type_filters("ecs:task-definition")
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| errors::sdk("tag:GetResources", "ECS task definitions", e))?;
    let mut arns: Vec<String> = mappings
        .iter()
        .filter_map(|m| m.resource_arn().map(str::to_owned))
        .collect();
    arns.sort();
    arns.dedup();
    Ok(arns)
}

async fn scan_task_definitions(
    client: &Client,
    tagging_api: &aws_sdk_resourcegroupstagging::Client,
    env: Option<&str>,
) -> Result<Vec<LiveResource>, ProviderError> {
    let arns = tagged_task_definitions(tagging_api, env).await?;
    // The tags that decide ownership are the ones ECS describes, not the Tagging API's copy.
    let described = concurrently(arns, PARALLELISM, |arn| {
        let client = client.clone();
        async move { describe_task_definition(&client, &arn).await }
    })
    .await?;
    Ok(described
        .into_iter()
        .flatten()
        .filter(|(td, _)| td.status() == Some(&TaskDefinitionStatus::Active))
        .filter_map(|(td, all)| {
            let (owner, address) = tagging::ownership(&all, TASK_DEFINITION)?;
            env_matches(env, &owner).then(|| task_definition_live(&td, address, all))
        })
        .collect())
}

pub(crate) async fn scan(
    client: &Client,
    tagging_api: &aws_sdk_resourcegroupstagging::Client,
    env: Option<&str>,
) -> Result<Vec<LiveResource>, ProviderError> {
    let (mut found, task_definitions) = tokio::try_join!(
        scan_clusters_and_services(client, env),
        scan_task_definitions(client, tagging_api, env)
    )?;
    found.extend(task_definitions);
    Ok(found)
}

// --- lookup ---------------------------------------------------------------------------------------

pub(crate) async fn lookup_cluster(
    client: &Client,
    query: &SourceQuery,
) -> Result<SourceObject, ProviderError> {
    let what = query.describe();
    let name = query
        .id
        .clone()
        .ok_or_else(|| errors::attribute(CLUSTER, "a source cluster needs a `name`"))?;
    let clusters = describe_clusters(client, vec![name]).await?;
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
    })
}

pub(crate) async fn lookup_service(
    client: &Client,
    query: &SourceQuery,
) -> Result<SourceObject, ProviderError> {
    let what = query.describe();
    let (Some(name), Some(cluster)) = (query.id.clone(), query.cluster.clone()) else {
        return Err(errors::attribute(
            SERVICE,
            "a source service needs a `cluster` and a `name`",
        ));
    };
    let services = match describe_services(client, &cluster, vec![name]).await {
        Ok(services) => services,
        Err(ProviderError::NotFound { .. }) => vec![],
        Err(e) => return Err(e),
    };
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
        errors::attribute(TASK_DEFINITION, "a source task definition needs a `family`")
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
        );
    Ok(SourceObject {
        attributes: b.into_inner(),
    })
}

// --- create ---------------------------------------------------------------------------------------

pub(crate) async fn create_cluster(
    client: &Client,
    op: &Operation,
    request: &CreateRequest,
) -> Result<LiveResource, ProviderError> {
    let r = Reader::new(CLUSTER, &request.attributes);
    let name = r.required_str("name")?;
    let all = tagging::creation_tags(request, &[]);
    let what = what(&op.address, &name);
    op.report("creating");
    let out = client
        .create_cluster()
        .cluster_name(&name)
        .set_tags(Some(ecs_tags(&all)))
        .send()
        .await
        .map_err(|e| errors::sdk_create("ecs:CreateCluster", &what, e))?;
    let cluster = out.cluster().ok_or_else(|| empty("ecs:CreateCluster"))?;
    Ok(cluster_live(cluster, op.address.clone(), all))
}

fn empty(action: &str) -> ProviderError {
    ProviderError::Api {
        action: action.to_owned(),
        code: "EmptyResponse".to_owned(),
        message: "AWS accepted the call but described nothing".to_owned(),
    }
}

fn container_definition(value: &Value) -> Result<ContainerDefinition, ProviderError> {
    let obj = value.as_object().ok_or_else(|| {
        errors::attribute(
            TASK_DEFINITION,
            format!("each of `containers` must be a table, not {value}"),
        )
    })?;
    let r = Reader::new(TASK_DEFINITION, obj);
    let environment = match obj.get("environment") {
        None | Some(Value::Null) => None,
        Some(Value::Object(env)) => Some(
            env.iter()
                .map(|(k, v)| {
                    let value = tagging::scalar_string(v).ok_or_else(|| {
                        errors::attribute(
                            TASK_DEFINITION,
                            format!("environment variable `{k}` must be a string"),
                        )
                    })?;
                    Ok(KeyValuePair::builder().name(k).value(value).build())
                })
                .collect::<Result<Vec<_>, ProviderError>>()?,
        ),
        Some(other) => {
            return Err(errors::attribute(
                TASK_DEFINITION,
                format!("`environment` must be a table of names to values, not {other}"),
            ));
        }
    };
    let mut ports = vec![];
    for port in r.array("port_mappings")? {
        let p = port.as_object().ok_or_else(|| {
            errors::attribute(
                TASK_DEFINITION,
                format!("each of `port_mappings` must be a table, not {port}"),
            )
        })?;
        let pr = Reader::new(TASK_DEFINITION, p);
        ports.push(
            PortMapping::builder()
                .set_container_port(pr.i32("container_port")?)
                .set_host_port(pr.i32("host_port")?)
                .set_protocol(pr.str("protocol")?.as_deref().map(TransportProtocol::from))
                .build(),
        );
    }
    Ok(ContainerDefinition::builder()
        .name(r.required_str("name")?)
        .image(r.required_str("image")?)
        .set_cpu(r.i32("cpu")?)
        .set_memory(r.i32("memory")?)
        .set_essential(r.bool("essential")?)
        .set_environment(environment)
        .set_port_mappings((!ports.is_empty()).then_some(ports))
        .set_command(r.str_list("command")?)
        .build())
}

pub(crate) async fn create_task_definition(
    client: &Client,
    op: &Operation,
    request: &CreateRequest,
) -> Result<LiveResource, ProviderError> {
    let r = Reader::new(TASK_DEFINITION, &request.attributes);
    let family = r.required_str("family")?;
    let containers = r
        .array("containers")?
        .iter()
        .map(container_definition)
        .collect::<Result<Vec<_>, _>>()?;
    let compatibilities = r.str_list("requires_compatibilities")?.map(|list| {
        list.iter()
            .map(|c| Compatibility::from(c.as_str()))
            .collect()
    });
    let all = tagging::creation_tags(request, &[]);
    let what = what(&op.address, &family);
    op.report("registering");
    let out = client
        .register_task_definition()
        .family(&family)
        .set_cpu(r.str_or_number("cpu")?)
        .set_memory(r.str_or_number("memory")?)
        .set_network_mode(r.str("network_mode")?.as_deref().map(NetworkMode::from))
        .set_requires_compatibilities(compatibilities)
        .set_execution_role_arn(r.str("execution_role_arn")?)
        .set_container_definitions(Some(containers))
        .set_tags(Some(ecs_tags(&all)))
        .send()
        .await
        .map_err(|e| errors::sdk_create("ecs:RegisterTaskDefinition", &what, e))?;
    let td = out
        .task_definition()
        .ok_or_else(|| empty("ecs:RegisterTaskDefinition"))?;
    Ok(task_definition_live(td, op.address.clone(), all))
}

pub(crate) async fn create_service(
    client: &Client,
    op: &Operation,
    request: &CreateRequest,
) -> Result<LiveResource, ProviderError> {
    let r = Reader::new(SERVICE, &request.attributes);
    let name = r.required_str("name")?;
    let cluster = r.required_str("cluster")?;
    let network = match r.str_list("subnets")? {
        // awsvpc networking only when the spec gives subnets.
        Some(subnets) if !subnets.is_empty() => {
            let vpc = AwsVpcConfiguration::builder()
                .set_subnets(Some(subnets))
                .set_security_groups(r.str_list("security_groups")?)
                .build()
                .map_err(|e| errors::build("ecs:CreateService", e))?;
            Some(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(vpc)
                    .build(),
            )
        }
        _ => None,
    };
    let all = tagging::creation_tags(request, SERVICE_INPUTS);
    let what = what(&op.address, &name);
    op.report("creating");
    let out = client
        .create_service()
        .cluster(&cluster)
        .service_name(&name)
        .task_definition(r.required_str("task_definition")?)
        .set_desired_count(r.i32("desired_count")?)
        .set_launch_type(r.str("launch_type")?.as_deref().map(LaunchType::from))
        .set_network_configuration(network)
        .set_tags(Some(ecs_tags(&all)))
        .send()
        .await
        .map_err(|e| errors::sdk_create("ecs:CreateService", &what, e))?;
    let service = out.service().ok_or_else(|| empty("ecs:CreateService"))?;
    Ok(service_live(service, op.address.clone(), all))
}

// --- wait -----------------------------------------------------------------------------------------

async fn describe_cluster(client: &Client, id: &str) -> Result<Option<Cluster>, ProviderError> {
    Ok(describe_clusters(client, vec![id.to_owned()])
        .await?
        .into_iter()
        .next())
}

/// The cluster a service lives in: as the spec named it, else from the service's ARN.
fn service_cluster(resource: &LiveResource) -> Result<String, ProviderError> {
    resource
        .attributes
        .get("cluster")
        .and_then(Value::as_str)
        .or_else(|| cluster_of_service_arn(&resource.id))
        .map(str::to_owned)
        .ok_or_else(|| {
            errors::attribute(
                SERVICE,
                format!("{} does not say which cluster it is in", resource.address),
            )
        })
}

async fn describe_service(
    client: &Client,
    cluster: &str,
    id: &str,
) -> Result<Option<Service>, ProviderError> {
    match describe_services(client, cluster, vec![id.to_owned()]).await {
        Ok(services) => Ok(services.into_iter().next()),
        Err(ProviderError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) async fn wait_ready(
    client: &Client,
    op: &Operation,
    resource: &LiveResource,
) -> Result<LiveResource, ProviderError> {
    let what = what(&resource.address, &resource.id);
    let states = States::new(op);
    states.report(&resource.status);
    let (live, target) = match resource.address.kind {
        // Clusters without capacity providers and task definitions are ACTIVE as soon as the
        // create call returns; ECS has no waiter for them, so one look confirms it.
        ResourceKind::EcsCluster => {
            let cluster = describe_cluster(client, &resource.id).await?;
            let cluster = cluster.ok_or_else(|| ProviderError::NotFound { what: what.clone() })?;
            (
                cluster_live(&cluster, resource.address.clone(), tag_map(cluster.tags())),
                "ACTIVE",
            )
        }
        ResourceKind::EcsTaskDefinition => {
            let (td, all) = describe_task_definition(client, &resource.id)
                .await?
                .ok_or_else(|| ProviderError::NotFound { what: what.clone() })?;
            (
                task_definition_live(&td, resource.address.clone(), all),
                "ACTIVE",
            )
        }
        // A service is ready when it is ACTIVE, not when it reaches a steady state: a steady state
        // depends on tasks being placed and passing health checks, which is the deployment's
        // business (and can take as long as the image takes to start, or never, with no capacity
        // in the cluster; the emulator never gets there at all). rehearsal provisions; `ecs wait
        // services-stable` is one command away for whoever wants the rollout watched.
        _ => {
            let cluster = service_cluster(resource)?;
            let service = describe_service(client, &cluster, &resource.id)
                .await?
                .ok_or_else(|| ProviderError::NotFound { what: what.clone() })?;
            (
                service_live(&service, resource.address.clone(), tag_map(service.tags())),
                "ACTIVE",
            )
        }
    };
    states.report(&live.status);
    if live.status == target {
        return Ok(live);
    }
    if live.status == "PROVISIONING" {
        return Err(ProviderError::InvalidState {
            what,
            state: live.status,
            message: "the cluster is still being provisioned; run the command again shortly"
                .to_owned(),
        });
    }
    Err(ProviderError::FailedState {
        what,
        state: live.status,
        target: target.to_owned(),
    })
}

// --- update ---------------------------------------------------------------------------------------

async fn retag(
    client: &Client,
    arn: &str,
    what: &str,
    current: &TagMap,
    desired: &Attributes,
) -> Result<(), ProviderError> {
    let (set, remove) =
        tagging::user_tag_changes(current, &tagging::desired_user_tags(desired.get("tags")));
    if !set.is_empty() {
        client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(ecs_tags(&set)))
            .send()
            .await
            .map_err(|e| errors::sdk("ecs:TagResource", what, e))?;
    }
    if !remove.is_empty() {
        client
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(|e| errors::sdk("ecs:UntagResource", what, e))?;
    }
    Ok(())
}

pub(crate) async fn update(
    client: &Client,
    op: &Operation,
    current: &LiveResource,
    desired: &Attributes,
    changed: &[String],
) -> Result<LiveResource, ProviderError> {
    let kind = current.address.kind;
    let what = what(&current.address, &current.id);
    let allowed: &[&str] = match kind {
        ResourceKind::EcsService => &["task_definition", "desired_count", "tags"],
        _ => &["tags"],
    };
    if let Some(other) = changed.iter().find(|c| !allowed.contains(&c.as_str())) {
        return Err(errors::attribute(
            kind,
            format!("`{other}` cannot be changed in place"),
        ));
    }
    // The live tags, which also proves the resource is this environment's.
    let live_tags = match kind {
        ResourceKind::EcsCluster => describe_cluster(client, &current.id)
            .await?
            .map(|c| tag_map(c.tags())),
        ResourceKind::EcsTaskDefinition => describe_task_definition(client, &current.id)
            .await?
            .map(|(_, t)| t),
        _ => describe_service(client, &service_cluster(current)?, &current.id)
            .await?
            .map(|s| tag_map(s.tags())),
    }
    .ok_or_else(|| ProviderError::NotFound { what: what.clone() })?;
    let action = match kind {
        ResourceKind::EcsService => "ecs:UpdateService",
        _ => "ecs:TagResource",
    };
    tagging::ensure_owned(&live_tags, &op.env.name, &what, action)?;

    if kind == ResourceKind::EcsService {
        let r = Reader::new(SERVICE, desired);
        let task_definition = if changed.iter().any(|c| c == "task_definition") {
            r.str("task_definition")?
        } else {
            None
        };
        let desired_count = if changed.iter().any(|c| c == "desired_count") {
            r.i32("desired_count")?
        } else {
            None
        };
        if task_definition.is_some() || desired_count.is_some() {
            op.report("updating");
            client
                .update_service()
                .cluster(service_cluster(current)?)
                .service(&current.id)
                .set_task_definition(task_definition)
                .set_desired_count(desired_count)
                .send()
                .await
                .map_err(|e| errors::sdk("ecs:UpdateService", &what, e))?;
        }
    }
    if changed.iter().any(|c| c == "tags") {
        op.report("tagging");
        retag(client, &current.id, &what, &live_tags, desired).await?;
    }
    wait_ready(client, op, current).await
}

// --- delete ---------------------------------------------------------------------------------------

pub(crate) async fn delete(
    client: &Client,
    op: &Operation,
    resource: &LiveResource,
) -> Result<DeleteOutcome, ProviderError> {
    let what = what(&resource.address, &resource.id);
    match resource.address.kind {
        ResourceKind::EcsCluster => {
            let Some(cluster) = describe_cluster(client, &resource.id).await? else {
                return Ok(DeleteOutcome::Accepted);
            };
            if cluster.status() == Some("INACTIVE") {
                return Ok(DeleteOutcome::Accepted);
            }
            tagging::ensure_owned(
                &tag_map(cluster.tags()),
                &op.env.name,
                &what,
                "ecs:DeleteCluster",
            )?;
            op.report("deleting");
            match client.delete_cluster().cluster(&resource.id).send().await {
                Ok(_) => Ok(DeleteOutcome::Accepted),
                Err(e) if errors::is_not_found(&e) => Ok(DeleteOutcome::Accepted),
                Err(e) => Err(errors::sdk("ecs:DeleteCluster", &what, e)),
            }
        }
        ResourceKind::EcsTaskDefinition => {
            let Some((td, all)) = describe_task_definition(client, &resource.id).await? else {
                return Ok(DeleteOutcome::Accepted);
            };
            if td.status() != Some(&TaskDefinitionStatus::Active) {
                return Ok(DeleteOutcome::Accepted);
            }
            tagging::ensure_owned(&all, &op.env.name, &what, "ecs:DeregisterTaskDefinition")?;
            op.report("deregistering");
            match client
                .deregister_task_definition()
                .task_definition(&resource.id)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if is_missing_task_definition(&e) => return Ok(DeleteOutcome::Accepted),
                Err(e) => return Err(errors::sdk("ecs:DeregisterTaskDefinition", &what, e)),
            }
            // A deregistered revision is gone for rehearsal (INACTIVE); deleting it as well keeps
            // the account's list of revisions from growing with every rehearsal. Best effort: the
            // deregistration is what counts.
            if let Err(e) = client
                .delete_task_definitions()
                .task_definitions(&resource.id)
                .send()
                .await
            {
                tracing::warn!(
                    "deregistered {what} but could not delete it: {}",
                    errors::sdk("ecs:DeleteTaskDefinitions", &what, e)
                );
            }
            Ok(DeleteOutcome::Accepted)
        }
        _ => {
            let cluster = service_cluster(resource)?;
            let Some(service) = describe_service(client, &cluster, &resource.id).await? else {
                return Ok(DeleteOutcome::Accepted);
            };
            if matches!(service.status(), Some("INACTIVE") | Some("DRAINING")) {
                return Ok(DeleteOutcome::Accepted);
            }
            tagging::ensure_owned(
                &tag_map(service.tags()),
                &op.env.name,
                &what,
                "ecs:DeleteService",
            )?;
            let gone = |e: &ProviderError| {
                matches!(
                    e,
                    ProviderError::NotFound { .. } | ProviderError::InvalidState { .. }
                )
            };
            if service.desired_count() > 0 {
                op.report("scaling to 0");
                if let Err(e) = client
                    .update_service()
                    .cluster(&cluster)
                    .service(&resource.id)
                    .desired_count(0)
                    .send()
                    .await
                {
                    let e = errors::sdk("ecs:UpdateService", &what, e);
                    if gone(&e) {
                        return Ok(DeleteOutcome::Accepted);
                    }
                    return Err(e);
                }
            }
            op.report("deleting");
            match client
                .delete_service()
                .cluster(&cluster)
                .service(&resource.id)
                .force(true)
                .send()
                .await
            {
                Ok(_) => Ok(DeleteOutcome::Accepted),
                Err(e) => {
                    let e = errors::sdk("ecs:DeleteService", &what, e);
                    if gone(&e) {
                        Ok(DeleteOutcome::Accepted)
                    } else {
                        Err(e)
                    }
                }
            }
        }
    }
}

pub(crate) async fn wait_deleted(
    client: &Client,
    op: &Operation,
    resource: &LiveResource,
) -> Result<(), ProviderError> {
    let what = what(&resource.address, &resource.id);
    match resource.address.kind {
        // DeleteCluster and DeregisterTaskDefinition take effect at once (INACTIVE); there is no
        // waiter for them, so one look confirms it, and anything else is worth another pass.
        ResourceKind::EcsCluster => {
            let status = describe_cluster(client, &resource.id)
                .await?
                .and_then(|c| c.status().map(str::to_owned));
            match status.as_deref() {
                None | Some("INACTIVE") => Ok(()),
                Some(state) => Err(ProviderError::InvalidState {
                    what,
                    state: state.to_owned(),
                    message: "ECS has not finished deleting the cluster yet".to_owned(),
                }),
            }
        }
        ResourceKind::EcsTaskDefinition => {
            match describe_task_definition(client, &resource.id).await? {
                Some((td, _)) if td.status() == Some(&TaskDefinitionStatus::Active) => {
                    Err(ProviderError::InvalidState {
                        what,
                        state: "ACTIVE".to_owned(),
                        message: "the task definition is still registered".to_owned(),
                    })
                }
                _ => Ok(()),
            }
        }
        _ => {
            let cluster = service_cluster(resource)?;
            let wait = Wait {
                action: "ecs:DescribeServices",
                what: &what,
                target: "INACTIVE",
                timeout: op.timeout,
            };
            let result = client
                .wait_until_services_inactive()
                .cluster(&cluster)
                .services(&resource.id)
                .wait(op.timeout)
                .await
                .map_err(|e| {
                    errors::waiter(&wait, e, |out| {
                        out.failures()
                            .first()
                            .and_then(|f| f.reason())
                            .or_else(|| out.services().first().and_then(|s| s.status()))
                            .map(str::to_owned)
                    })
                });
            match result {
                // MISSING: ECS has forgotten it altogether, which is gone too.
                Ok(_) | Err(ProviderError::NotFound { .. }) => {}
                Err(ProviderError::FailedState { state, .. }) if state == "MISSING" => {}
                Err(e) => return Err(e),
            }
            op.report("INACTIVE");
            Ok(())
        }
    }
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
