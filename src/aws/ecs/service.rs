//! `ecs_service`: ECS services.
//!
//! A scan lists the services of every cluster in the region, not only of the clusters the
//! environment owns: a service rehearsal created in someone else's cluster is still its own to
//! find and destroy.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Deployment, DeploymentCircuitBreaker,
    DeploymentConfiguration, DeploymentRolloutState, LaunchType, NetworkConfiguration, Service,
};
use serde_json::Value;

use super::{
    all_clusters, cluster_name_of, cluster_of_service_arn, describe_services, ecs_tags, empty,
    tag_map,
};
use crate::aws::attrs::{Builder, Reader, rfc3339};
use crate::aws::kind::{self, Actions, AwsKind, Tagging, not_in_place};
use crate::aws::tags::{self as tagging, TagMap};
use crate::aws::{Clients, Scan, concurrently, errors};
use crate::engine::wait::what;
use crate::kinds::ecs_service::ROLLED_BACK_AT;
use crate::model::{Address, LiveResource, ResourceKind, times};
use crate::provider::{CreateRequest, DeletePolicy, Operation, ProviderError};

const KIND: ResourceKind = ResourceKind::EcsService;

/// Inputs AWS cannot describe back as given (it answers with the cluster's ARN).
const INPUTS: &[&str] = &["cluster"];

/// How many ListServices calls run at once.
const PARALLELISM: usize = 8;

pub(crate) struct EcsService;

/// How many of a service's latest events a failed rollout shows.
const EVENTS_SHOWN: usize = 5;

/// A service is ready when its primary deployment's rollout is `COMPLETED` and as many tasks
/// run as are desired (the `services-stable` waiter's test: one deployment, running count =
/// desired count). An ACTIVE service short of that is `deploying`; one with a deployment whose
/// rollout `FAILED` is `FAILED`, also while the circuit breaker's rollback (a new primary
/// deployment of the previous task definition) is under way. Whether the ready service runs the
/// task definition that was asked is the kind's verdict (`kinds::ecs_service`).
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html
/// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
fn service_status(service: &Service) -> String {
    let status = service.status().unwrap_or_default();
    if status != "ACTIVE" {
        return status.to_owned();
    }
    let deployments = service.deployments();
    let Some(primary) = primary_deployment(service) else {
        // No deployment at all: nothing to wait for (not an ECS-controlled service).
        return status.to_owned();
    };
    if deployments
        .iter()
        .any(|d| d.rollout_state() == Some(&DeploymentRolloutState::Failed))
    {
        return "FAILED".to_owned();
    }
    if primary.rollout_state() == Some(&DeploymentRolloutState::InProgress) {
        return "deploying".to_owned();
    }
    let steady = deployments.len() == 1 && service.running_count() == service.desired_count();
    if steady {
        status.to_owned()
    } else {
        "deploying".to_owned()
    }
}

/// The deployment ECS is moving the service to: the one whose status is `PRIMARY`.
fn primary_deployment(service: &Service) -> Option<&Deployment> {
    let deployments = service.deployments();
    deployments
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .or_else(|| deployments.first())
}

/// Whether an event says ECS failed a deployment or rolled one back (the circuit breaker's
/// words: "deployment failed: tasks failed to start", "rolling back to deployment ...").
fn tells_of_rollback(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("rolling back")
        || message.contains("rolled back")
        || message.contains("deployment failed")
        || message.contains("circuit breaker")
}

/// What ECS says about a service, as attributes.
fn live(service: &Service, address: Address, all: TagMap) -> LiveResource {
    let arn = service.service_arn().unwrap_or_default().to_owned();
    let status = service_status(service);
    let mut b = Builder::new();
    b.nonempty("name", service.service_name())
        .opt("cluster", service.cluster_arn().map(cluster_name_of))
        // What runs: the primary deployment's task definition (after a rollback, the old one).
        .nonempty(
            "task_definition",
            primary_deployment(service)
                .and_then(|d| d.task_definition())
                .or(service.task_definition()),
        )
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
    if let Some(vpc) = service
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration())
    {
        b.set(
            "assign_public_ip",
            vpc.assign_public_ip() == Some(&AssignPublicIp::Enabled),
        );
    }
    // The latest events, newest first: what a failed rollout shows. Not an input, and left out
    // of a plan's fingerprint (ECS adds events as it works).
    let mut events: Vec<_> = service.events().iter().collect();
    events.sort_by_key(|e| std::cmp::Reverse(e.created_at().map(|t| t.secs())));
    b.strings(
        "events",
        events.iter().take(EVENTS_SHOWN).filter_map(|e| e.message()),
    );
    b.opt(
        ROLLED_BACK_AT,
        events
            .iter()
            .filter(|e| e.message().is_some_and(tells_of_rollback))
            .filter_map(|e| e.created_at().and_then(|t| u64::try_from(t.secs()).ok()))
            .max(),
    );
    let deployment = primary_deployment(service);
    b.opt(times::CREATED_AT, service.created_at().and_then(rfc3339))
        .opt(
            times::DEPLOYED_AT,
            deployment
                .and_then(|d| d.updated_at().or(d.created_at()))
                .and_then(rfc3339),
        );
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

/// The most characters ECS takes in a `clientToken` ("Up to 36 ASCII characters in the range of
/// 33-126": https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html).
const ECS_CLIENT_TOKEN_MAX: usize = 36;

/// The plan's idempotency token as ECS takes it: its first 36 characters (it is a hex digest,
/// so a prefix stays unique per plan and address, and stable across retries).
fn ecs_client_token(token: &str) -> &str {
    token.get(..ECS_CLIENT_TOKEN_MAX).unwrap_or(token)
}

/// The cluster a service lives in: as the spec named it, else from the service's ARN.
fn cluster_of(resource: &LiveResource) -> Result<String, ProviderError> {
    resource
        .attributes
        .get("cluster")
        .and_then(Value::as_str)
        .or_else(|| cluster_of_service_arn(&resource.id))
        .map(str::to_owned)
        .ok_or_else(|| {
            errors::attribute(
                KIND,
                format!("{} does not say which cluster it is in", resource.address),
            )
        })
}

async fn services_of(
    client: &aws_sdk_ecs::Client,
    cluster: String,
) -> Result<Vec<Service>, ProviderError> {
    let arns: Vec<String> = client
        .list_services()
        .cluster(&cluster)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| errors::sdk("ecs:ListServices", &format!("ECS services in {cluster}"), e))?;
    describe_services(client, &cluster, &arns).await
}

#[async_trait]
impl AwsKind for EcsService {
    fn kind(&self) -> ResourceKind {
        KIND
    }

    fn actions(&self) -> Actions {
        Actions {
            modify: "ecs:UpdateService",
            delete: "ecs:DeleteService",
        }
    }

    async fn scan(&self, cx: &Scan<'_>) -> Result<Vec<LiveResource>, ProviderError> {
        let clusters: Vec<String> = all_clusters(cx)
            .await?
            .iter()
            .filter(|c| c.status() == Some("ACTIVE"))
            .filter_map(|c| c.cluster_arn().map(str::to_owned))
            .collect();
        let client = &cx.clients.ecs;
        let services = concurrently(clusters, PARALLELISM, |cluster| {
            let client = client.clone();
            async move { services_of(&client, cluster).await }
        })
        .await?;
        let present = services
            .iter()
            .flatten()
            .filter(|s| s.status() != Some("INACTIVE"));
        Ok(kind::owned(
            cx,
            KIND,
            present,
            |s| tag_map(s.tags()),
            |s, a, all| live(s, a, all),
        ))
    }

    async fn describe(
        &self,
        c: &Clients,
        targets: &[LiveResource],
    ) -> Result<Vec<Option<LiveResource>>, ProviderError> {
        let mut by_cluster: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for t in targets {
            by_cluster
                .entry(cluster_of(t)?)
                .or_default()
                .push(t.id.clone());
        }
        let mut found = vec![];
        for (cluster, ids) in by_cluster {
            found.extend(describe_services(&c.ecs, &cluster, &ids).await?);
        }
        let mut described = kind::in_order_of(
            targets,
            &found,
            |s| s.service_arn(),
            |s, a| live(s, a, tag_map(s.tags())),
        );
        // The target's `cluster`, as the spec named it: ECS answers with the cluster's ARN.
        for (t, d) in targets.iter().zip(described.iter_mut()) {
            if let (Some(d), Some(cluster)) = (d, t.attributes.get("cluster")) {
                d.attributes.insert("cluster".into(), cluster.clone());
            }
        }
        Ok(described)
    }

    async fn existing(
        &self,
        c: &Clients,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<Option<LiveResource>, ProviderError> {
        let r = Reader::new(KIND, &request.attributes);
        let (name, cluster) = (r.required_str("name")?, r.required_str("cluster")?);
        // A deleted service stays described as INACTIVE for a while; its name is free again.
        let found = describe_services(&c.ecs, &cluster, &[name]).await?;
        Ok(found
            .iter()
            .find(|s| s.status() != Some("INACTIVE"))
            .map(|s| live(s, op.address.clone(), tag_map(s.tags()))))
    }

    async fn create(
        &self,
        c: &Clients,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<LiveResource, ProviderError> {
        let r = Reader::new(KIND, &request.attributes);
        let name = r.required_str("name")?;
        let cluster = r.required_str("cluster")?;
        let network = match r.str_list("subnets")? {
            // awsvpc networking only when the spec gives subnets.
            Some(subnets) if !subnets.is_empty() => {
                // A task gets a public address only when asked (AWS's default is DISABLED).
                let public = if r.bool("assign_public_ip")?.unwrap_or(false) {
                    AssignPublicIp::Enabled
                } else {
                    AssignPublicIp::Disabled
                };
                let vpc = AwsVpcConfiguration::builder()
                    .set_subnets(Some(subnets))
                    .set_security_groups(r.str_list("security_groups")?)
                    .assign_public_ip(public)
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
        let all = tagging::creation_tags(request, INPUTS);
        let what = format!("{} ({name})", op.address);
        op.report("creating");
        let out = c
            .ecs
            .create_service()
            .cluster(&cluster)
            .service_name(&name)
            .task_definition(r.required_str("task_definition")?)
            .set_desired_count(r.i32("desired_count")?)
            .set_launch_type(r.str("launch_type")?.as_deref().map(LaunchType::from))
            .set_network_configuration(network)
            // A rollout whose tasks keep failing stops, and rolls back, instead of retrying
            // for hours: the apply fails with the service's events.
            .deployment_configuration(
                DeploymentConfiguration::builder()
                    .deployment_circuit_breaker(
                        DeploymentCircuitBreaker::builder()
                            .enable(true)
                            .rollback(true)
                            .build(),
                    )
                    .build(),
            )
            .set_tags(Some(ecs_tags(&all)))
            // A create retried after a lost answer gets the service it made, not an error.
            .client_token(ecs_client_token(&op.idempotency_token))
            .send()
            .await
            .map_err(|e| errors::sdk_create("ecs:CreateService", &what, e))?;
        let service = out.service().ok_or_else(|| empty("ecs:CreateService"))?;
        Ok(live(service, op.address.clone(), all))
    }

    async fn modify(
        &self,
        c: &Clients,
        op: &Operation,
        current: &LiveResource,
        desired: &Reader<'_>,
        changed: &[&str],
    ) -> Result<(), ProviderError> {
        let mut task_definition = None;
        let mut desired_count = None;
        for key in changed {
            match *key {
                "task_definition" => task_definition = desired.str("task_definition")?,
                "desired_count" => desired_count = desired.i32("desired_count")?,
                other => return Err(not_in_place(KIND, other)),
            }
        }
        op.report("updating");
        c.ecs
            .update_service()
            .cluster(cluster_of(current)?)
            .service(&current.id)
            .set_task_definition(task_definition)
            .set_desired_count(desired_count)
            .send()
            .await
            .map_err(|e| errors::sdk("ecs:UpdateService", &what(current), e))?;
        Ok(())
    }

    /// Scale to zero, then delete; a service ECS no longer considers active is gone already.
    async fn delete(
        &self,
        c: &Clients,
        op: &Operation,
        live: &LiveResource,
        _: &DeletePolicy,
    ) -> Result<(), ProviderError> {
        let what = what(live);
        let cluster = cluster_of(live)?;
        let gone = |e: ProviderError| match e {
            ProviderError::NotFound { .. } | ProviderError::InvalidState { .. } => Ok(()),
            other => Err(other),
        };
        if live.attributes.get("desired_count").and_then(Value::as_i64) != Some(0) {
            op.report("scaling to 0");
            if let Err(e) = c
                .ecs
                .update_service()
                .cluster(&cluster)
                .service(&live.id)
                .desired_count(0)
                .send()
                .await
            {
                return gone(errors::sdk("ecs:UpdateService", &what, e));
            }
        }
        op.report("deleting");
        match c
            .ecs
            .delete_service()
            .cluster(&cluster)
            .service(&live.id)
            .force(true)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => gone(errors::sdk("ecs:DeleteService", &what, e)),
        }
    }

    fn tagging(&self) -> Tagging {
        Tagging::Ecs
    }

    fn recorded_inputs(&self) -> &'static [&'static str] {
        INPUTS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::idempotency_token;
    use crate::engine::graph::StepOp;

    #[test]
    fn the_client_token_ecs_gets_is_at_most_36_printable_characters_and_stable() {
        let address: Address = "ecs_service.server".parse().unwrap();
        let token = idempotency_token("plan-a", &address, StepOp::Create);
        let sent = ecs_client_token(&token);
        assert_eq!(
            sent.len(),
            ECS_CLIENT_TOKEN_MAX,
            "{token} is longer than ECS takes"
        );
        assert!(sent.bytes().all(|b| (33..=126).contains(&b)));
        assert_eq!(
            sent,
            ecs_client_token(&idempotency_token("plan-a", &address, StepOp::Create))
        );
        assert_ne!(
            sent,
            ecs_client_token(&idempotency_token("plan-b", &address, StepOp::Create))
        );
    }
}
