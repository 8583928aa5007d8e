//! `ecs_service`: an ECS service running a task definition in a cluster.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use serde_json::Value;

use super::{Anchor, Judgement, Kind, Name, Rule, Since, SpecContext, Verdict};
use crate::model::{Attributes, LiveResource, ReplaceOrder, ResourceKind};
use crate::provider::SubnetEgress;

pub const KIND: Kind = Kind {
    kind: ResourceKind::EcsService,
    inputs: &[
        "name",
        "cluster",
        "task_definition",
        "desired_count",
        "launch_type",
        "subnets",
        "security_groups",
        "assign_public_ip",
        "tags",
    ],
    in_place: &["task_definition", "desired_count", "tags"],
    outputs: &["id", "arn", "status"],
    sets: &["subnets", "security_groups"],
    exact_maps: &["tags"],
    set_after_create: &[],
    // The name is unique in its cluster.
    digested: &[],
    replace_order: ReplaceOrder::DeleteThenCreate,
    anchor: Anchor::Attribute("name"),
    deleted_after: &[],
    by_product: None,
    complete: network_defaults,
    documents: None,
    names: &[Name {
        attribute: "name",
        check: |name| super::ecs_name("ECS service name", name),
    }],
    verdict: Some(&Judgement {
        reads: &["task_definition"],
        judge: runs_what_was_asked,
    }),
    create_note: None,
    set_item: None,
    cycle_hint: None,
    final_snapshot: None,
    found_by: None,
    holds_data: None,
};

/// `[resources.ecs_service.NAME]`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub name: String,
    pub cluster: String,
    pub task_definition: String,
    #[serde(default = "one")]
    pub desired_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnets: Option<crate::spec::refs::StringList>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<crate::spec::refs::StringList>,
    /// awsvpc only (with `subnets`): whether tasks get a public address. Default false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assign_public_ip: Option<bool>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing)]
    pub depends_on: Vec<String>,
    #[serde(default, skip_serializing)]
    pub timeout: Option<String>,
    /// `count = N`: N copies of this resource (see the README's "Several of a kind").
    #[serde(default, skip_serializing)]
    pub count: Option<u32>,
}

fn one() -> i64 {
    1
}

/// With `subnets` the service uses awsvpc networking, and its tasks get no public address
/// unless the spec says so (AWS's default, written out so the plan shows it and compares it).
/// Fargate needs awsvpc: `launch_type = "FARGATE"` without subnets could never place a task.
fn network_defaults(attrs: &mut Attributes, _: &SpecContext) -> Result<(), Rule> {
    let has_subnets = attrs.contains_key("subnets");
    if has_subnets {
        attrs
            .entry("assign_public_ip")
            .or_insert(serde_json::Value::Bool(false));
    } else if attrs.contains_key("assign_public_ip") {
        return Err(Rule {
            message: "`assign_public_ip` needs `subnets`: it is part of awsvpc networking".into(),
            hint: "give the subnets (and security_groups) the tasks run in".into(),
        });
    }
    let fargate = attrs.get("launch_type").and_then(serde_json::Value::as_str) == Some("FARGATE");
    if fargate && !has_subnets {
        return Err(Rule {
            message: "a FARGATE service needs `subnets` (and `security_groups`)".into(),
            hint: "Fargate tasks use awsvpc networking: write subnets = [...] and \
                   security_groups = [...], for example production's \
                   `${source.ec2_instance.prod_server.subnet}`"
                .into(),
        });
    }
    Ok(())
}

/// The attribute in which a provider reports when ECS last said it rolled a deployment back
/// or that one failed (seconds since the Unix epoch, from the service's events).
pub const ROLLED_BACK_AT: &str = "rolled_back_at";

/// ECS's verdict on a deployment, the one judgement `apply` and `check` use: the service is
/// ready (its kind's lifecycle: the primary deployment's rollout `COMPLETED`, running =
/// desired) *and* that primary deployment runs the task definition that was asked for.
///
/// Ready alone is not enough: when a new task definition's tasks keep failing, the deployment
/// circuit breaker starts a new primary deployment of the last one that completed, and that
/// one completes: a service that is ready on the old revision.
/// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
/// A rollback ECS reported since the change was asked fails at once; a service that still shows
/// the old revision without one is waited for (AWS's APIs are eventually consistent), and the
/// wait fails once its grace is over: no grace turns a wrong revision into success.
pub fn runs_what_was_asked(desired: &Attributes, live: &LiveResource, since: Since) -> Verdict {
    let Some(asked) = desired.get("task_definition") else {
        return Verdict::Done;
    };
    let running = live.attributes.get("task_definition");
    if running == Some(asked) {
        return Verdict::Done;
    }
    let shown = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("nothing").to_string();
    let rolled_back = live
        .attributes
        .get(ROLLED_BACK_AT)
        .and_then(Value::as_u64)
        .is_some_and(|at| at >= since);
    if rolled_back {
        Verdict::Failed(format!(
            "ECS rolled the deployment of {} back: the service runs {} (its deployment circuit \
             breaker stopped the new tasks)",
            shown(Some(asked)),
            shown(running)
        ))
    } else {
        Verdict::Pending(format!(
            "runs {}, waiting for {}",
            super::ecs_task_definition::family_revision(&shown(running)),
            super::ecs_task_definition::family_revision(&shown(Some(asked)))
        ))
    }
}

/// Where a service's images come from, as far as a plan can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registry {
    /// Every image is in a private ECR repository (`ACCOUNT.dkr.ecr.REGION.amazonaws.com/...`):
    /// ECR's VPC endpoints reach it.
    Ecr,
    /// An image comes from another registry (Docker Hub, `public.ecr.aws`, ghcr.io...): only
    /// the internet reaches it.
    Elsewhere,
    /// Not known when planning (a task definition the plan does not change).
    Unknown,
}

impl Registry {
    /// The registry of a set of image references (`[host/]repository[:tag|@digest]`).
    pub fn of<'a>(images: impl IntoIterator<Item = &'a str>) -> Registry {
        let mut seen = false;
        for image in images {
            if image.contains("${") {
                return Registry::Unknown;
            }
            seen = true;
            // Without a host (`nginx`, `example/server`) an image is Docker Hub's.
            let host = image.split('/').next().filter(|_| image.contains('/'));
            let ecr = host.is_some_and(|h| {
                h.contains(".dkr.ecr")
                    && (h.ends_with(".amazonaws.com") || h.ends_with(".amazonaws.com.cn"))
            });
            if !ecr {
                return Registry::Elsewhere;
            }
        }
        if seen {
            Registry::Ecr
        } else {
            Registry::Unknown
        }
    }
}

/// Whether a Fargate task whose network interface is in a subnet with this egress can pull its
/// image (and, with it, reach CloudWatch Logs and Secrets Manager), or why not, in a phrase.
///
/// A Fargate task pulls its image over its own network interface
/// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html):
/// through an internet gateway only with a public address (`assign_public_ip`), through a NAT
/// gateway without one, or, for an image in ECR, through the VPC endpoints `ecr.api`, `ecr.dkr`
/// and the S3 gateway endpoint that holds the image's layers
/// (https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html). A default route
/// to anything but an internet gateway (a NAT instance, a transit gateway) is taken to lead
/// out: rehearsal cannot see past it. `None`: AWS does not know the subnet.
pub fn can_pull(
    egress: Option<&SubnetEgress>,
    assign_public_ip: bool,
    registry: Registry,
) -> Result<(), String> {
    let Some(egress) = egress else {
        return Err("AWS does not know this subnet in the environment's region".into());
    };
    if egress.other_default_route.is_some()
        || (egress.internet_gateway.is_some() && assign_public_ip)
        || (egress.registry_endpoints && registry != Registry::Elsewhere)
    {
        return Ok(());
    }
    let mut why = match &egress.internet_gateway {
        Some(igw) => format!(
            "its route to the internet is through internet gateway {igw}, which only tasks with \
             a public address can use, and assign_public_ip is false"
        ),
        None => "its route table sends nothing to the internet (no 0.0.0.0/0 route to an \
                 internet gateway or a NAT gateway)"
            .to_string(),
    };
    if egress.registry_endpoints {
        why.push_str("; the VPC's ECR endpoints do not help, as the image is not in ECR");
    } else {
        why.push_str(", and its VPC has no ECR endpoints (ecr.api, ecr.dkr and S3)");
    }
    Err(why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(task_definition: &str, rolled_back_at: Option<u64>) -> LiveResource {
        let mut attributes = Attributes::new();
        attributes.insert("task_definition".into(), json!(task_definition));
        if let Some(at) = rolled_back_at {
            attributes.insert(ROLLED_BACK_AT.into(), json!(at));
        }
        LiveResource {
            address: "ecs_service.server".parse().unwrap(),
            id: "arn:aws:ecs:eu-west-1:1:service/prerelease/server".into(),
            status: "ACTIVE".into(),
            attributes,
            tags: Default::default(),
        }
    }

    fn asked(task_definition: &str) -> Attributes {
        let mut attributes = Attributes::new();
        attributes.insert("task_definition".into(), json!(task_definition));
        attributes
    }

    const NEW: &str = "arn:aws:ecs:eu-west-1:1:task-definition/server:8";
    const OLD: &str = "arn:aws:ecs:eu-west-1:1:task-definition/server:7";

    #[test]
    fn a_service_on_the_asked_revision_is_done() {
        assert_eq!(
            runs_what_was_asked(&asked(NEW), &service(NEW, None), 100),
            Verdict::Done
        );
    }

    #[test]
    fn a_rollback_since_the_change_fails_naming_what_runs() {
        let Verdict::Failed(why) = runs_what_was_asked(&asked(NEW), &service(OLD, Some(150)), 100)
        else {
            panic!("a rolled-back deployment is not a success");
        };
        assert!(why.contains("server:8 back"), "{why}");
        assert!(why.contains("the service runs arn:aws:ecs:eu-west-1:1:task-definition/server:7"));
    }

    #[test]
    fn an_older_rollback_is_not_about_this_change_and_the_old_revision_is_waited_for() {
        assert_eq!(
            runs_what_was_asked(&asked(NEW), &service(OLD, Some(50)), 100),
            Verdict::Pending("runs server:7, waiting for server:8".into())
        );
    }

    fn egress(igw: bool, nat: bool, endpoints: bool) -> SubnetEgress {
        SubnetEgress {
            internet_gateway: igw.then(|| "igw-1".to_string()),
            other_default_route: nat.then(|| "nat-1".to_string()),
            registry_endpoints: endpoints,
        }
    }

    const ECR: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/server:3.2.0";

    #[test]
    fn images_are_from_ecr_only_when_every_one_is_on_an_ecr_host() {
        assert_eq!(Registry::of([ECR]), Registry::Ecr);
        assert_eq!(
            Registry::of(["1.dkr.ecr.cn-north-1.amazonaws.com.cn/server"]),
            Registry::Ecr
        );
        assert_eq!(Registry::of([ECR, "nginx:1.27"]), Registry::Elsewhere);
        assert_eq!(
            Registry::of(["example/openchs-server:3.0.0"]),
            Registry::Elsewhere
        );
        assert_eq!(
            Registry::of(["public.ecr.aws/nginx/nginx:1"]),
            Registry::Elsewhere
        );
        assert_eq!(Registry::of(["${var.image}"]), Registry::Unknown);
        assert_eq!(Registry::of([]), Registry::Unknown);
    }

    #[test]
    fn an_internet_gateway_takes_a_task_out_only_with_a_public_address() {
        let igw = egress(true, false, false);
        assert_eq!(can_pull(Some(&igw), true, Registry::Elsewhere), Ok(()));
        let why = can_pull(Some(&igw), false, Registry::Elsewhere).unwrap_err();
        assert!(why.contains("internet gateway igw-1"), "{why}");
        assert!(why.contains("assign_public_ip is false"), "{why}");
    }

    #[test]
    fn a_nat_gateway_or_any_other_default_route_takes_a_task_out_without_one() {
        let nat = egress(false, true, false);
        assert_eq!(can_pull(Some(&nat), false, Registry::Elsewhere), Ok(()));
        assert_eq!(can_pull(Some(&nat), true, Registry::Ecr), Ok(()));
    }

    #[test]
    fn ecr_endpoints_serve_images_in_ecr_and_none_from_elsewhere() {
        let endpoints = egress(false, false, true);
        assert_eq!(can_pull(Some(&endpoints), false, Registry::Ecr), Ok(()));
        // A task definition the plan leaves alone: its image is not known; the endpoints
        // are given the benefit of the doubt.
        assert_eq!(can_pull(Some(&endpoints), false, Registry::Unknown), Ok(()));
        let why = can_pull(Some(&endpoints), false, Registry::Elsewhere).unwrap_err();
        assert!(why.contains("not in ECR"), "{why}");
    }

    #[test]
    fn a_subnet_with_no_way_out_or_unknown_to_aws_cannot_pull() {
        let none = egress(false, false, false);
        for public in [false, true] {
            let why = can_pull(Some(&none), public, Registry::Ecr).unwrap_err();
            assert!(why.contains("sends nothing to the internet"), "{why}");
            assert!(why.contains("no ECR endpoints"), "{why}");
        }
        assert!(
            can_pull(None, true, Registry::Ecr)
                .unwrap_err()
                .contains("does not know this subnet")
        );
    }
}
