//! A clone of production must not reach production: what it would inherit that does (a task
//! role, an execution role, secrets, environment variables, logging, an instance profile) is
//! kept by name, overridden or dropped in the spec, the plan lists each with its decision, and
//! a clone that would inherit one silently is refused. Through the CLI, on the fake cloud.

use serde_json::{Value, json};

use crate::project::Project;
use rehearsal::model::ResourceKind;

/// The lines under the plan's "Inherited from production" headings, trimmed.
fn inherited_lines(out: &str) -> Vec<String> {
    let mut lines = vec![];
    let mut under = false;
    for line in out.lines() {
        if line.trim() == "Inherited from production (reaches production):" {
            under = true;
        } else if under && line.starts_with("          ") {
            lines.push(line.trim().to_string());
        } else {
            under = false;
        }
    }
    lines
}

/// The attributes the fake cloud holds for the environment's resource of `kind`.
fn created(project: &Project, kind: ResourceKind) -> serde_json::Map<String, Value> {
    project
        .cloud()
        .resources
        .into_values()
        .find(|r| r.kind == kind && r.tags.contains_key("rehearsal:env"))
        .unwrap_or_else(|| panic!("no {kind} was created"))
        .attributes
}

#[test]
fn the_plan_lists_what_each_clone_inherits_from_production_and_what_the_spec_decided() {
    let project = Project::new();
    let plan = project.rehearsal(&["plan", "prerelease"]).run().exits(0);
    assert_eq!(
        inherited_lines(&plan.stdout),
        vec![
            "instance_profile = arn:aws:iam::000000000000:instance-profile/production-server  \
             # dropped",
            "task_role_arn = arn:aws:iam::000000000000:role/production-server-task  # dropped",
            "execution_role_arn = arn:aws:iam::000000000000:role/production-server-execution  \
             # kept",
            "secrets.server.DATABASE_PASSWORD = arn:aws:ssm:eu-west-1:0000000…ameter/production/\
             db-password  # kept",
            "environment.server.DATABASE_HOST = production-db.production.internal  \
             # overridden (known after apply)",
            "environment.server.JAVA_OPTS = -Xmx768m  # kept",
            "environment.server.MAIL_ENABLED = true  # overridden with false",
            "log_configuration.server = awslogs /ecs/production-server  \
             # overridden with awslogs /rehearsal/openchs/prerelease",
        ]
    );
    // The plan file holds the decisions as data.
    let file: Value = serde_json::from_str(&project.read("plans/prerelease.plan.json")).unwrap();
    let td = file["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["address"] == "ecs_task_definition.server")
        .unwrap();
    assert_eq!(
        td["inherited"][0],
        json!({"item": "task_role_arn", "decision": "dropped",
               "value": "arn:aws:iam::000000000000:role/production-server-task"})
    );
    assert_eq!(td["desired"].get("task_role_arn"), None, "{td:#}");
}

#[test]
fn a_clone_that_would_inherit_productions_task_role_silently_is_refused_with_both_ways_out() {
    let project = Project::new();
    project.edit(
        "prerelease",
        "drop_from_production = [\"task_role_arn\"]\n",
        "",
    );
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .exits(1)
        .snapshot("plan-a-clone-that-inherits-silently");
    assert!(!project.path("plans/prerelease.plan.json").exists());
}

#[test]
fn the_shipped_prerelease_registers_no_task_role_its_own_log_group_and_no_mail() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    let td = created(&project, ResourceKind::EcsTaskDefinition);
    assert_eq!(td.get("task_role_arn"), None, "{td:#?}");
    assert_eq!(
        td["execution_role_arn"],
        "arn:aws:iam::000000000000:role/production-server-execution"
    );
    let server = &td["containers"][0];
    assert_eq!(
        server["logConfiguration"],
        json!({"logDriver": "awslogs", "options": {
            "awslogs-group": "/rehearsal/openchs/prerelease", "awslogs-region": "eu-west-1",
            "awslogs-stream-prefix": "server", "awslogs-create-group": "true"}})
    );
    assert_eq!(server["environment"]["MAIL_ENABLED"], "false");
    assert_eq!(server["secrets"][0]["name"], "DATABASE_PASSWORD");
    // Applied as planned: the next plan has nothing to do.
    project
        .rehearsal(&["plan", "prerelease", "--detailed-exitcode"])
        .run()
        .exits(0)
        .shows("No changes.");
}

#[test]
fn a_dropped_secret_and_variable_are_left_out_and_an_overridden_secret_points_elsewhere() {
    let project = Project::new();
    project.edit(
        "prerelease",
        "  \"secrets.server.DATABASE_PASSWORD\",\n",
        "",
    );
    project.edit(
        "prerelease",
        "drop_from_production = [\"task_role_arn\"]",
        "drop_from_production = [\"task_role_arn\", \"environment.server.JAVA_OPTS\"]",
    );
    project.edit("prerelease", "  \"environment.server.JAVA_OPTS\",\n", "");
    project.edit(
        "prerelease",
        "image = \"${var.server_image}:${var.server_version}\"",
        "image = \"${var.server_image}:${var.server_version}\"\n\
         secrets = { DATABASE_PASSWORD = \"arn:aws:ssm:eu-west-1:000000000000:parameter/prerelease/db-password\" }",
    );
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    let server = &created(&project, ResourceKind::EcsTaskDefinition)["containers"][0];
    assert_eq!(server["environment"].get("JAVA_OPTS"), None, "{server:#}");
    assert_eq!(
        server["secrets"],
        json!([{"name": "DATABASE_PASSWORD",
                "valueFrom": "arn:aws:ssm:eu-west-1:000000000000:parameter/prerelease/db-password"}])
    );
}

#[test]
fn a_server_clone_launches_without_productions_instance_profile_unless_the_spec_keeps_it() {
    let production_profile = "arn:aws:iam::000000000000:instance-profile/production-server";
    let dropped = Project::new();
    dropped
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    let server = created(&dropped, ResourceKind::Ec2Instance);
    assert!(
        server.get("instance_profile").is_none_or(Value::is_null),
        "{server:#?}"
    );

    let kept = Project::new();
    kept.edit(
        "prerelease",
        "drop_from_production = [\"instance_profile\"]",
        "keep_from_production = [\"instance_profile\"]",
    );
    kept.rehearsal(&["plan", "prerelease"])
        .run()
        .exits(0)
        .stdout_has(&format!("instance_profile = {production_profile}  # kept"));
    kept.rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    assert_eq!(
        created(&kept, ResourceKind::Ec2Instance)["instance_profile"],
        production_profile
    );
}
