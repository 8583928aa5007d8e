//! `ecs_service`: an ECS service running a task definition in a cluster.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use serde_json::Value;

use super::{Anchor, Judgement, Kind, Name, Rule, Since, SpecContext, Verdict};
use crate::model::{Attributes, LiveResource, ReplaceOrder, ResourceKind};

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
            revision(&shown(running)),
            revision(&shown(Some(asked)))
        ))
    }
}

/// `server:7` from a task definition's ARN, for a progress line.
fn revision(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
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
}
