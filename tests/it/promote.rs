//! `rehearsal promote` at the command line, against the fake cloud: production (managed, its
//! image a variable) at 3.0.0; staging at 3.1.0, bumped to 3.2.0; production promoted to what
//! staging ran before the bump, through a saved plan like any other.

use crate::project::Project;

/// Production's service and family, managed (on AWS: imported; on the fake: made by this spec).
const PRODUCTION: &str = r#"
[environment]
project = "openchs"
name = "production"
region = "eu-west-1"
lifecycle = "protected"

[variables.server_version]
description = "The server version production runs"
default = "3.0.0"

[resources.ecs_cluster.main]
name = "production"

[resources.ecs_task_definition.server]
family = "server"
memory = "1024"
cpu = "512"

[[resources.ecs_task_definition.server.containers]]
name = "server"
image = "example/openchs-server:${var.server_version}"
memory = 1024
cpu = 512
port_mappings = [{ container_port = 8080 }]

[resources.ecs_service.server]
name = "server"
cluster = "${ecs_cluster.main.name}"
task_definition = "${ecs_task_definition.server.arn}"
desired_count = 2
launch_type = "EC2"
"#;

/// Production at 3.0.0, staging at 3.1.0 then bumped to 3.2.0.
fn released() -> Project {
    let project = Project::new();
    project.write("environments/production.toml", PRODUCTION);
    for args in [
        &["apply", "production", "--auto-approve"][..],
        &["apply", "staging", "--auto-approve"],
        &[
            "apply",
            "staging",
            "--var",
            "server_version=3.2.0",
            "--auto-approve",
        ],
    ] {
        project.rehearsal(args).run().exits(0);
    }
    project
}

/// The image production's service runs, read from the fake cloud.
fn production_runs(project: &Project) -> String {
    let cloud = project.cloud();
    let owned_by_production = |r: &&rehearsal::provider::fake::FakeResource| {
        r.tags.get("rehearsal:env").map(String::as_str) == Some("production")
    };
    let service = cloud
        .resources
        .values()
        .filter(owned_by_production)
        .find(|r| r.tags.get("rehearsal:address").map(String::as_str) == Some("ecs_service.server"))
        .expect("production's service");
    let arn = service.attributes["task_definition"].as_str().unwrap();
    let revision = cloud
        .resources
        .values()
        .find(|r| r.id == arn || r.attributes["arn"] == arn)
        .expect("the revision it runs");
    revision.attributes["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn production_is_promoted_to_what_staging_ran_before_its_bump_through_a_saved_plan() {
    let project = released();
    project
        .rehearsal(&[
            "promote",
            "--from",
            "staging",
            "--to",
            "production",
            "--out",
            "plans/production.promote.json",
        ])
        .run()
        .snapshot("promote-plan");
    assert_eq!(
        production_runs(&project),
        "example/openchs-server:3.0.0",
        "only planned"
    );
    project
        .rehearsal(&["apply", "plans/production.promote.json"])
        .run()
        .exits(0)
        .stdout_has("Summary: 2 done, 0 failed, 0 skipped.");
    assert_eq!(production_runs(&project), "example/openchs-server:3.1.0");

    // As the plan said: the variable at the promoted version stays, the default goes back.
    project
        .rehearsal(&[
            "plan",
            "production",
            "--var",
            "server_version=3.1.0",
            "--detailed-exitcode",
        ])
        .run()
        .exits(0)
        .stdout_has("No changes.");
    project
        .rehearsal(&["plan", "production", "--detailed-exitcode"])
        .run()
        .exits(2);
}

#[test]
fn a_promote_waits_for_no_one_while_production_is_locked_and_changes_nothing() {
    let project = released();
    let _alice = crate::team::alices_lock(&project, "production");
    project
        .rehearsal(&[
            "promote",
            "--from",
            "staging",
            "--to",
            "production",
            "--auto-approve",
        ])
        .run()
        .exits(8)
        .stderr_has("is locked by alice@laptop");
    assert_eq!(production_runs(&project), "example/openchs-server:3.0.0");
}

#[test]
fn promoting_staging_s_current_revision_at_once_exits_0_once_it_runs() {
    let project = released();
    project
        .rehearsal(&[
            "promote",
            "--from",
            "staging",
            "--to",
            "production",
            "--pick",
            "current",
            "--auto-approve",
        ])
        .run()
        .exits(0)
        .stdout_has("server: example/openchs-server:3.0.0 → example/openchs-server:3.2.0")
        .stdout_has("Summary: 2 done, 0 failed, 0 skipped.");
    assert_eq!(production_runs(&project), "example/openchs-server:3.2.0");
}

#[test]
fn a_production_that_only_looks_its_service_up_is_refused_with_the_way_in() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "staging", "--auto-approve"])
        .run()
        .exits(0);
    project
        .rehearsal(&[
            "apply",
            "staging",
            "--var",
            "server_version=3.2.0",
            "--auto-approve",
        ])
        .run()
        .exits(0);
    project
        .rehearsal(&["promote", "--from", "staging", "--to", "production"])
        .at(crate::project::IN_PRODUCTION_S_WINDOW)
        .run()
        .snapshot("promote-into-an-unmanaged-production");
    project
        .rehearsal(&[
            "promote",
            "--from",
            "staging",
            "--to",
            "production",
            "--pick",
            "latest",
        ])
        .run()
        .exits(64)
        .stderr_has("`latest` is not `previous`, `current` or a revision number");
}

#[cfg(feature = "aws")]
mod against_the_emulator {
    use aws_sdk_ecs::types::DeploymentRolloutState;

    use crate::against_emulator::{FaultProxy, Proxying, REALISTIC};
    use crate::emulator::Emulator;
    use crate::project::Project;

    /// Production's service as ECS shows it through the realistic proxy rehearsal talks to.
    async fn production_service(em: &Emulator, proxy: &FaultProxy) -> aws_sdk_ecs::types::Service {
        let ecs = aws_sdk_ecs::Client::new(&em.sdk_config_at(&proxy.endpoint).await);
        ecs.describe_services()
            .cluster("production")
            .services("server")
            .send()
            .await
            .unwrap()
            .services()[0]
            .clone()
    }

    /// Production taken under management once (`init --from-live`, as an administrator does);
    /// staging at 3.1.0, bumped to 3.2.0; production promoted to 3.1.0: its service's primary
    /// deployment runs a new revision of its own family holding 3.1.0's image, its rollout
    /// COMPLETED, and promote exits 0 only then. Its spec copies its family's newest revision,
    /// so the next plan of production keeps what was promoted; a rollback then takes it back to
    /// the revision before, and says that the next plan would deploy the newest one again.
    #[tokio::test(flavor = "multi_thread")]
    async fn production_is_promoted_to_what_staging_ran_before_its_bump() {
        let em = Emulator::start();
        em.seed_production();
        let proxy = FaultProxy::start(
            &em.moto_endpoint(),
            Proxying {
                realism: Some(REALISTIC),
                ..Proxying::default()
            },
        );
        let project = Project::against(&proxy.endpoint);
        std::fs::remove_file(project.path("environments/production.toml")).unwrap();
        project
            .rehearsal(&[
                "init",
                "production",
                "--from-live",
                "--project",
                "openchs",
                "--region",
                "eu-west-1",
                "--service",
                "production/server",
                "--task-definition",
                "server",
                "--auto-approve",
            ])
            .run()
            .exits(0);
        project
            .rehearsal(&["apply", "staging", "--auto-approve"])
            .run()
            .exits(0);
        // Staging keeps one revision only: there is no previous release to promote.
        project
            .rehearsal(&["promote", "--from", "staging", "--to", "production"])
            .run()
            .exits(1)
            .stderr_has("staging keeps no revision of staging-server before staging-server:1");
        project
            .rehearsal(&[
                "apply",
                "staging",
                "--var",
                "server_version=3.2.0",
                "--auto-approve",
            ])
            .run()
            .exits(0);

        project
            .rehearsal(&[
                "promote",
                "--from",
                "staging",
                "--to",
                "production",
                "--auto-approve",
            ])
            .run()
            .exits(0)
            .shows("ecs_task_definition.server ← staging's staging-server:1")
            .shows("server: example/openchs-server:3.0.0 → example/openchs-server:3.1.0")
            .shows("the next plan of production keeps it")
            .shows("2 done, 0 failed, 0 skipped");

        let service = production_service(&em, &proxy).await;
        let primary = service
            .deployments()
            .iter()
            .find(|d| d.status() == Some("PRIMARY"))
            .expect("a primary deployment");
        let arn = primary.task_definition().unwrap();
        assert!(arn.ends_with("task-definition/server:2"), "{arn}");
        assert_eq!(
            primary.rollout_state(),
            Some(&DeploymentRolloutState::Completed)
        );
        assert_eq!(service.running_count(), service.desired_count());
        let ecs = aws_sdk_ecs::Client::new(&em.sdk_config().await);
        let revision = ecs
            .describe_task_definition()
            .task_definition(arn)
            .send()
            .await
            .unwrap();
        let td = revision.task_definition().unwrap();
        assert_eq!(
            td.container_definitions()[0].image(),
            Some("example/openchs-server:3.1.0")
        );
        // Production's own definition otherwise: its environment, not staging's.
        let env = td.container_definitions()[0].environment();
        assert!(
            env.iter()
                .any(|e| e.name() == Some("JAVA_OPTS") && e.value() == Some("-Xmx768m")),
            "{env:?}"
        );

        // The next plan does not silently undo the promote.
        project
            .rehearsal(&["plan", "production", "--detailed-exitcode"])
            .run()
            .exits(0)
            .shows("No changes.");

        // Production down after it: rolled back to the revision before, as any deploy. Its
        // spec names no image, and the rollback plan says what the next plan does.
        project
            .rehearsal(&["rollback", "production", "--auto-approve"])
            .run()
            .exits(0)
            .shows("takes it back from server:2 to server:1")
            .shows(
                "The spec names no image (it copies a source's newest revision, clone_of): the \
                 next plan deploys what that revision holds; to stay, ask for \
                 example/openchs-server:3.0.0 in containers_override.",
            );
        let arn = production_service(&em, &proxy)
            .await
            .task_definition()
            .unwrap()
            .to_string();
        assert!(arn.ends_with("task-definition/server:1"), "{arn}");
        project
            .rehearsal(&["plan", "production", "--detailed-exitcode"])
            .run()
            .exits(2)
            .shows("~ ecs_service.server");
    }
}
