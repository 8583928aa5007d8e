//! `ecs_task_definition`: task-definition revisions.
//!
//! ECS can describe task definitions only one at a time, and ListTaskDefinitions has no tag
//! filter, so a scan asks the Resource Groups Tagging API for the revisions tagged
//! `rehearsal:env` and describes only those, in parallel with a bound: the cost follows the
//! environment's revisions, not the account's.

use async_trait::async_trait;
use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, KeyValuePair, NetworkMode, PortMapping, TaskDefinition,
    TaskDefinitionStatus, TransportProtocol,
};
use serde_json::{Map, Value};

use super::{describe_task_definition, ecs_tags, empty, is_missing_task_definition};
use crate::aws::attrs::{Builder, Reader};
use crate::aws::kind::{Actions, AwsKind};
use crate::aws::tags::{self as tagging, TagMap};
use crate::aws::{Clients, Scan, concurrently, errors};
use crate::model::{Address, EnvId, LiveResource, ResourceKind, tags};
use crate::ownership;
use crate::provider::{CreateRequest, DeletePolicy, Operation, ProviderError};
use crate::wait::what;

const KIND: ResourceKind = ResourceKind::EcsTaskDefinition;

/// How many DescribeTaskDefinition calls run at once.
const PARALLELISM: usize = 8;

pub(crate) struct EcsTaskDefinition;

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

/// What ECS says about a revision, as attributes.
fn live(td: &TaskDefinition, address: Address, all: TagMap) -> LiveResource {
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

fn container_definition(value: &Value) -> Result<ContainerDefinition, ProviderError> {
    let obj = value.as_object().ok_or_else(|| {
        errors::attribute(
            KIND,
            format!("each of `containers` must be a table, not {value}"),
        )
    })?;
    let r = Reader::new(KIND, obj);
    let environment = match obj.get("environment") {
        None | Some(Value::Null) => None,
        Some(Value::Object(env)) => Some(
            env.iter()
                .map(|(k, v)| {
                    let value = tagging::scalar_string(v).ok_or_else(|| {
                        errors::attribute(
                            KIND,
                            format!("environment variable `{k}` must be a string"),
                        )
                    })?;
                    Ok(KeyValuePair::builder().name(k).value(value).build())
                })
                .collect::<Result<Vec<_>, ProviderError>>()?,
        ),
        Some(other) => {
            return Err(errors::attribute(
                KIND,
                format!("`environment` must be a table of names to values, not {other}"),
            ));
        }
    };
    let mut ports = vec![];
    for port in r.array("port_mappings")? {
        let p = port.as_object().ok_or_else(|| {
            errors::attribute(
                KIND,
                format!("each of `port_mappings` must be a table, not {port}"),
            )
        })?;
        let pr = Reader::new(KIND, p);
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

/// The ARNs of the task definitions tagged `rehearsal:env` (= `env`, or any value), once each.
/// The Tagging API may still list revisions that are INACTIVE or deleted: describing them tells.
async fn tagged_task_definitions(
    tagging_api: &aws_sdk_resourcegroupstagging::Client,
    env: Option<&EnvId>,
) -> Result<Vec<String>, ProviderError> {
    let tag = |key: &str, value: Option<&str>| {
        aws_sdk_resourcegroupstagging::types::TagFilter::builder()
            .key(key)
            .set_values(value.map(|v| vec![v.to_owned()]))
            .build()
    };
    let filters = match env {
        Some(env) => vec![
            tag(tags::PROJECT, Some(&env.project)),
            tag(tags::ENV, Some(&env.name)),
        ],
        None => vec![tag(tags::ENV, None)],
    };
    let mappings: Vec<_> = tagging_api
        .get_resources()
        .set_tag_filters(Some(filters))
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

/// The ACTIVE revisions of exactly this family.
async fn family_revisions(
    client: &aws_sdk_ecs::Client,
    family: &str,
) -> Result<Vec<String>, ProviderError> {
    let arns: Vec<String> = client
        .list_task_definitions()
        .family_prefix(family)
        .status(TaskDefinitionStatus::Active)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| errors::sdk("ecs:ListTaskDefinitions", family, e))?;
    Ok(arns
        .into_iter()
        .filter(|arn| super::family_revision(arn).is_some_and(|(f, _)| f == family))
        .collect())
}

async fn describe_many(
    client: &aws_sdk_ecs::Client,
    arns: Vec<String>,
) -> Result<Vec<Option<(TaskDefinition, TagMap)>>, ProviderError> {
    concurrently(arns, PARALLELISM, |arn| {
        let client = client.clone();
        async move { describe_task_definition(&client, &arn).await }
    })
    .await
}

#[async_trait]
impl AwsKind for EcsTaskDefinition {
    fn kind(&self) -> ResourceKind {
        KIND
    }

    fn actions(&self) -> Actions {
        Actions {
            modify: "ecs:TagResource",
            delete: "ecs:DeregisterTaskDefinition",
        }
    }

    async fn scan(&self, cx: &Scan<'_>) -> Result<Vec<LiveResource>, ProviderError> {
        let mut arns = tagged_task_definitions(&cx.clients.tagging, cx.env).await?;
        // The Tagging API lists a new revision only after a delay; the families the spec
        // declares are listed by name as well, which ECS answers consistently.
        for family in &cx.declared.task_definition_families {
            arns.extend(family_revisions(&cx.clients.ecs, family).await?);
        }
        arns.sort();
        arns.dedup();
        // The tags that decide ownership are the ones ECS describes, not the Tagging API's copy.
        let described = describe_many(&cx.clients.ecs, arns).await?;
        Ok(described
            .into_iter()
            .flatten()
            .filter(|(td, _)| td.status() == Some(&TaskDefinitionStatus::Active))
            .filter_map(|(td, all)| {
                let address = ownership::claimed_address(&all, KIND)?;
                Some(live(&td, address, all)).filter(|r| cx.wants(r))
            })
            .collect())
    }

    async fn describe(
        &self,
        c: &Clients,
        targets: &[LiveResource],
    ) -> Result<Vec<Option<LiveResource>>, ProviderError> {
        let arns = targets.iter().map(|t| t.id.clone()).collect();
        let described = describe_many(&c.ecs, arns).await?;
        Ok(targets
            .iter()
            .zip(described)
            .map(|(t, found)| found.map(|(td, all)| live(&td, t.address.clone(), all)))
            .collect())
    }

    async fn create(
        &self,
        c: &Clients,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<LiveResource, ProviderError> {
        let r = Reader::new(KIND, &request.attributes);
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
        let what = format!("{} ({family})", op.address);
        op.report("registering");
        let out = c
            .ecs
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
        Ok(live(td, op.address.clone(), all))
    }

    async fn delete(
        &self,
        c: &Clients,
        op: &Operation,
        live: &LiveResource,
        _: &DeletePolicy,
    ) -> Result<(), ProviderError> {
        let what = what(live);
        op.report("deregistering");
        match c
            .ecs
            .deregister_task_definition()
            .task_definition(&live.id)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if is_missing_task_definition(&e) => return Ok(()),
            Err(e) => return Err(errors::sdk("ecs:DeregisterTaskDefinition", &what, e)),
        }
        // A deregistered revision is gone for rehearsal (INACTIVE); deleting it as well keeps the
        // account's list of revisions from growing with every rehearsal. Best effort: the
        // deregistration is what counts.
        if let Err(e) = c
            .ecs
            .delete_task_definitions()
            .task_definitions(&live.id)
            .send()
            .await
        {
            tracing::warn!(
                "deregistered {what} but could not delete it: {}",
                errors::sdk("ecs:DeleteTaskDefinitions", &what, e)
            );
        }
        Ok(())
    }

    async fn tag(
        &self,
        c: &Clients,
        live: &LiveResource,
        set: &TagMap,
        remove: &[String],
    ) -> Result<(), ProviderError> {
        super::tag(&c.ecs, &live.id, &what(live), set, remove).await
    }
}
