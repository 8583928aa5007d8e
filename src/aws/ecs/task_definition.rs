//! `ecs_task_definition`: task-definition revisions.
//!
//! ECS can describe task definitions only one at a time, and ListTaskDefinitions has no tag
//! filter, so a scan asks the Resource Groups Tagging API for the revisions tagged
//! `rehearsal:env` and describes only those, in parallel with a bound: the cost follows the
//! environment's revisions, not the account's.

use async_trait::async_trait;
use aws_sdk_ecs::types::{
    Compatibility, IpcMode, NetworkMode, PidMode, TaskDefinition, TaskDefinitionStatus,
};
use serde_json::Value;

use super::{definition, describe_task_definition, ecs_tags, empty, is_missing_task_definition};
use crate::aws::attrs::{Builder, Reader, rfc3339};
use crate::aws::kind::{self, Actions, AwsKind, Tagging};
use crate::aws::tags::{self as tagging, TagMap};
use crate::aws::{Clients, Scan, concurrently, errors};
use crate::engine::wait::what;
use crate::model::{Address, Attributes, EnvId, LiveResource, ResourceKind, tags, times};
use crate::provider::{CreateRequest, DeletePolicy, Operation, ProviderError};

const KIND: ResourceKind = ResourceKind::EcsTaskDefinition;

/// How many DescribeTaskDefinition calls run at once.
const PARALLELISM: usize = 8;

pub(crate) struct EcsTaskDefinition;

/// What a revision registers, as the kind's attributes (snake_case at the top, as the spec
/// writes them; the documents inside in the ECS API's own shape, see `definition`). A source
/// look-up hands these to a clone, and a describe reads them back to compare.
pub(crate) fn definition_attributes(td: &TaskDefinition) -> Attributes {
    let mut b = Builder::new();
    b.nonempty("cpu", td.cpu())
        .nonempty("memory", td.memory())
        .opt("network_mode", td.network_mode().map(|m| m.as_str()))
        .strings(
            "requires_compatibilities",
            td.requires_compatibilities().iter().map(|c| c.as_str()),
        )
        .nonempty("execution_role_arn", td.execution_role_arn())
        .nonempty("task_role_arn", td.task_role_arn())
        .opt("pid_mode", td.pid_mode().map(|m| m.as_str()))
        .opt("ipc_mode", td.ipc_mode().map(|m| m.as_str()))
        .opt(
            "runtime_platform",
            td.runtime_platform().map(definition::runtime_platform_json),
        )
        .opt(
            "ephemeral_storage",
            td.ephemeral_storage()
                .map(definition::ephemeral_storage_json),
        )
        .opt("enable_fault_injection", td.enable_fault_injection())
        .set(
            "containers",
            Value::Array(
                td.container_definitions()
                    .iter()
                    .map(definition::container_json)
                    .collect(),
            ),
        );
    if !td.volumes().is_empty() {
        b.set(
            "volumes",
            Value::Array(td.volumes().iter().map(definition::volume_json).collect()),
        );
    }
    if !td.placement_constraints().is_empty() {
        b.set(
            "placement_constraints",
            Value::Array(
                td.placement_constraints()
                    .iter()
                    .map(definition::placement_json)
                    .collect(),
            ),
        );
    }
    // Rare and not registered by rehearsal: named, so a clone of one is refused, not thinned.
    if td.proxy_configuration().is_some() {
        b.set("proxy_configuration", "(not copied by rehearsal)");
    }
    if !td.inference_accelerators().is_empty() {
        b.set("inference_accelerators", "(not copied by rehearsal)");
    }
    b.into_inner()
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
    b.nonempty("family", td.family());
    for (key, value) in definition_attributes(td) {
        b.set(&key, value);
    }
    b.set("tags", tagging::user_tags_json(&all))
        .set("id", arn.as_str())
        .set("arn", arn.as_str())
        .set("revision", td.revision())
        .opt(times::CREATED_AT, td.registered_at().and_then(rfc3339))
        .set("status", status.as_str());
    // When ECS registered it (`registeredAt`), for `rehearsal revisions`.
    // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TaskDefinition.html
    if let Some(at) = td
        .registered_at()
        .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
    {
        b.set("registered_at", at.as_str());
    }
    LiveResource {
        address,
        id: arn,
        status,
        attributes: b.into_inner(),
        tags: all,
    }
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
        for family in cx.declared.of(KIND) {
            arns.extend(family_revisions(&cx.clients.ecs, family).await?);
        }
        arns.sort();
        arns.dedup();
        // The tags that decide ownership are the ones ECS describes, not the Tagging API's copy.
        let described = describe_many(&cx.clients.ecs, arns).await?;
        let active = described
            .into_iter()
            .flatten()
            .filter(|(td, _)| td.status() == Some(&TaskDefinitionStatus::Active));
        Ok(kind::owned(
            cx,
            KIND,
            active,
            |(_, all)| all.clone(),
            |(td, _), a, all| live(td, a, all),
        ))
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

    async fn existing(
        &self,
        c: &Clients,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<Option<LiveResource>, ProviderError> {
        // A family answers with its newest ACTIVE revision: a family with revisions someone else
        // registered is theirs, and a new revision of it would be listed among theirs.
        let family = Reader::new(KIND, &request.attributes).required_str("family")?;
        Ok(describe_task_definition(&c.ecs, &family)
            .await?
            .filter(|(td, _)| td.status().is_some_and(|s| s.as_str() == "ACTIVE"))
            .map(|(td, all)| live(&td, op.address.clone(), all)))
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
            .map(definition::container_definition)
            .collect::<Result<Vec<_>, _>>()?;
        let compatibilities = r.str_list("requires_compatibilities")?.map(|list| {
            list.iter()
                .map(|c| Compatibility::from(c.as_str()))
                .collect()
        });
        let volumes = r
            .array("volumes")?
            .iter()
            .map(definition::volume)
            .collect::<Result<Vec<_>, _>>()?;
        let placement = r
            .array("placement_constraints")?
            .iter()
            .map(definition::placement_constraint)
            .collect::<Result<Vec<_>, _>>()?;
        let attr = |key: &str| request.attributes.get(key).filter(|v| !v.is_null());
        for unsupported in ["proxy_configuration", "inference_accelerators"] {
            if attr(unsupported).is_some() {
                return Err(errors::attribute(
                    KIND,
                    format!("{unsupported} is not something rehearsal can register yet"),
                ));
            }
        }
        let runtime_platform = attr("runtime_platform")
            .map(definition::runtime_platform)
            .transpose()?;
        let ephemeral_storage = attr("ephemeral_storage")
            .map(definition::ephemeral_storage)
            .transpose()?;
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
            .set_task_role_arn(r.str("task_role_arn")?)
            .set_pid_mode(r.str("pid_mode")?.as_deref().map(PidMode::from))
            .set_ipc_mode(r.str("ipc_mode")?.as_deref().map(IpcMode::from))
            .set_runtime_platform(runtime_platform)
            .set_ephemeral_storage(ephemeral_storage)
            .set_enable_fault_injection(r.bool("enable_fault_injection")?)
            .set_volumes((!volumes.is_empty()).then_some(volumes))
            .set_placement_constraints((!placement.is_empty()).then_some(placement))
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

    fn tagging(&self) -> Tagging {
        Tagging::Ecs
    }
}
