//! A Fargate service the plan creates or changes must be able to pull its image: a plan error
//! at the service's line, rather than a deployment whose tasks stop with
//! `CannotPullContainerError` fifteen minutes into an apply. The rule is
//! `kinds::ecs_service::can_pull`; the provider says how each subnet reaches out.
//!
//! What is checked: the subnet's route table (its own, else its VPC's main one), the VPC's ECR
//! and S3 endpoints, the service's `assign_public_ip`, and where its images come from. What is
//! not: network ACLs, security-group egress rules, DNS resolution, the endpoints' own security
//! groups and policies, and what lies beyond a NAT instance or transit gateway.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{ActionKind, Plan, PlanError, PlannedAction};
use crate::kinds::ecs_service::{Registry, can_pull};
use crate::model::ResourceKind;
use crate::provider::Provider;
use crate::spec::Spec;
use crate::spec::refs::{self, Reference};

/// One Fargate service the plan starts tasks of.
struct Fargate<'a> {
    action: &'a PlannedAction,
    subnets: Vec<String>,
    assign_public_ip: bool,
    registry: Registry,
}

/// Refuse the plan when a Fargate service it creates, replaces or updates (an update starts a
/// new deployment, whose tasks pull the image again) has a subnet that cannot reach its image.
pub async fn check(provider: &dyn Provider, spec: &Spec, plan: &Plan) -> Result<(), PlanError> {
    let services: Vec<Fargate> = plan
        .actions
        .iter()
        .filter(|a| a.address.kind == ResourceKind::EcsService)
        .filter(|a| a.action != ActionKind::Delete)
        .filter_map(|a| fargate(a, plan))
        .collect();
    let subnets: Vec<String> = services
        .iter()
        .flat_map(|s| s.subnets.iter().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if subnets.is_empty() {
        return Ok(());
    }
    let egress = provider
        .subnet_egress(&plan.env.region, &subnets)
        .await
        .map_err(|error| PlanError::Observe {
            env: plan.env.name.clone(),
            error,
        })?;
    for service in &services {
        let stuck: Vec<String> = service
            .subnets
            .iter()
            .filter_map(|subnet| {
                can_pull(
                    egress.get(subnet),
                    service.assign_public_ip,
                    service.registry,
                )
                .err()
                .map(|why| format!("{subnet}: {why}"))
            })
            .collect();
        if stuck.is_empty() {
            continue;
        }
        let address = &service.action.address;
        let location = spec
            .resources
            .get(address)
            .map(|r| r.location.clone())
            .unwrap_or_else(|| spec.path.display().to_string());
        return Err(PlanError::Egress {
            address: address.to_string(),
            location,
            message: format!(
                "its Fargate tasks could not pull their image: {}",
                stuck.join("; ")
            ),
            hint: format!(
                "give its subnets a way to the registry: a 0.0.0.0/0 route to a NAT gateway, \
                 or assign_public_ip = true in subnets whose 0.0.0.0/0 route is to an internet \
                 gateway, or (for an image in ECR) VPC endpoints for \
                 com.amazonaws.{region}.ecr.api and ecr.dkr with an S3 gateway endpoint",
                region = plan.env.region
            ),
        });
    }
    Ok(())
}

/// The service as Fargate will run it, or `None` for one on EC2 (its tasks pull through their
/// container instance) or with no subnet known yet.
fn fargate<'a>(action: &'a PlannedAction, plan: &Plan) -> Option<Fargate<'a>> {
    let desired = action.desired.as_ref()?;
    if desired.get("launch_type").and_then(Value::as_str) != Some("FARGATE") {
        return None;
    }
    // A subnet that is a reference still (to a resource the apply creates) is unknown until
    // apply: it is not checked here.
    let subnets: Vec<String> = desired
        .get("subnets")?
        .as_array()?
        .iter()
        .filter(|s| !refs::has_references(s))
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect();
    if subnets.is_empty() {
        return None;
    }
    Some(Fargate {
        action,
        subnets,
        assign_public_ip: desired
            .get("assign_public_ip")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        registry: registry(desired.get("task_definition"), plan),
    })
}

/// Where the images of the task definition a service runs come from: known when the plan
/// registers that task definition (a reference to it), otherwise not.
fn registry(task_definition: Option<&Value>, plan: &Plan) -> Registry {
    let Some(value) = task_definition else {
        return Registry::Unknown;
    };
    let registered = refs::references_in(value)
        .into_iter()
        .find_map(|r| match r {
            Reference::Resource { address, .. }
                if address.kind == ResourceKind::EcsTaskDefinition =>
            {
                plan.actions
                    .iter()
                    .find(|a| a.address == address && a.action != ActionKind::Delete)
            }
            _ => None,
        });
    let Some(containers) = registered
        .and_then(|a| a.desired.as_ref())
        .and_then(|d| d.get("containers"))
    else {
        return Registry::Unknown;
    };
    let listed: Vec<&Value> = match containers {
        Value::Array(items) => items.iter().collect(),
        Value::Object(named) => named.values().collect(),
        _ => vec![],
    };
    let images: Vec<&str> = listed
        .iter()
        .filter_map(|c| c.get("image").and_then(Value::as_str))
        .collect();
    if images.len() < listed.len() {
        return Registry::Unknown;
    }
    Registry::of(images)
}
