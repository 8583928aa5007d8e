//! The release on ECS: a task definition cloned whole from production's, a version bump that
//! reads as one line, and a service that counts as created only once its rollout completed.
//! Through the CLI, on the fake cloud and against the emulator.

use crate::project::Project;

/// The lines of a plan that name a field of the task definition's containers.
fn container_lines(out: &str) -> Vec<String> {
    out.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("containers["))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_version_bump_of_a_clone_is_one_line_naming_the_container_and_field() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    project
        .rehearsal(&["plan", "prerelease", "--detailed-exitcode"])
        .run()
        .exits(0)
        .shows("No changes.");
    let bumped = project
        .rehearsal(&[
            "plan",
            "prerelease",
            "--var",
            "server_version=3.2.0",
            "--detailed-exitcode",
        ])
        .run()
        .exits(2)
        .shows(
            "because containers[\"server\"].image changed example/openchs-server:3.1.0 → \
             example/openchs-server:3.2.0: a new revision, registered beside \
             prerelease-server:1 (kept, with the newest 3: keep_revisions = 3)",
        );
    assert_eq!(
        container_lines(&bumped.show()),
        vec![
            "containers[\"server\"].image: example/openchs-server:3.1.0 → \
             example/openchs-server:3.2.0"
        ]
    );
    // The plan file holds the change as data: the path, both values.
    let plan: serde_json::Value =
        serde_json::from_str(&project.read("plans/prerelease.plan.json")).unwrap();
    let td = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["address"] == "ecs_task_definition.server")
        .unwrap();
    assert_eq!(
        td["changes"][0]["fields"],
        serde_json::json!([{
            "path": [{"named": "server"}, {"field": "image"}],
            "before": "example/openchs-server:3.1.0",
            "after": "example/openchs-server:3.2.0"
        }])
    );
}

#[test]
fn overriding_a_container_the_source_does_not_have_is_a_plan_error_naming_those_it_has() {
    let project = Project::new();
    project.edit(
        "prerelease",
        "containers_override.server]",
        "containers_override.web]",
    );
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .exits(1)
        .stderr_has("the source task definition has no container `web`")
        .stderr_has("its containers are: server")
        .stderr_has("environments/prerelease.toml:");
}

#[test]
fn a_clone_and_written_out_containers_cannot_be_mixed() {
    let project = Project::new();
    project.edit(
        "prerelease",
        "clone_of = \"${source.ecs_task_definition.prod_server.arn}\"",
        "clone_of = \"${source.ecs_task_definition.prod_server.arn}\"\n\
         containers = [{ name = \"x\", image = \"y\" }]",
    );
    project
        .rehearsal(&["validate", "prerelease"])
        .run()
        .exits(1)
        .stderr_has("`clone_of` and `containers` cannot both be given")
        .stderr_has("containers_override");
}

/// The circuit breaker's events, newest first, as ECS words them.
const ROLLED_BACK: &[&str] = &[
    "(service server) has reached a steady state.",
    "(service server) rolling back to deployment ecs-svc/1111.",
    "(service server) (deployment ecs-svc/2222) deployment failed: tasks failed to start.",
];

#[test]
fn a_version_bump_that_ecs_rolls_back_fails_the_apply_naming_the_revision_that_runs() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    let mut cloud = project.cloud();
    assert!(cloud.roll_back_next_deployment("server", ROLLED_BACK));
    project.set_cloud(&cloud);

    let failed = project
        .rehearsal(&[
            "apply",
            "prerelease",
            "--var",
            "server_version=3.2.0",
            "--auto-approve",
        ])
        .run()
        .exits(4)
        .shows("ecs_service.server")
        .shows("does not run what was asked: ECS rolled the deployment of")
        .shows("prerelease-server:2 back: the service runs")
        .shows("prerelease-server:1")
        .shows("event: (service server) rolling back to deployment ecs-svc/1111.")
        .shows("hint: the release did not take");
    // The checks never ran against the old build as if it were the new one.
    assert!(
        !failed.show().contains("Checking prerelease"),
        "{}",
        failed.show()
    );

    // The next plan still wants the new revision: nothing reads as done.
    project
        .rehearsal(&[
            "plan",
            "prerelease",
            "--var",
            "server_version=3.2.0",
            "--detailed-exitcode",
        ])
        .run()
        .exits(2)
        .shows("~ ecs_service.server");
}

#[test]
fn check_fails_when_a_service_runs_another_revision_than_the_spec_asks() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    let mut cloud = project.cloud();
    assert!(cloud.roll_back_next_deployment("server", ROLLED_BACK));
    project.set_cloud(&cloud);
    project
        .rehearsal(&[
            "apply",
            "prerelease",
            "--var",
            "server_version=3.2.0",
            "--auto-approve",
        ])
        .run()
        .exits(4);
    project
        .rehearsal(&["check", "prerelease", "--var", "server_version=3.2.0"])
        .run()
        .exits(6)
        .shows("FAILED   deployment of ecs_service.server")
        .shows("runs prerelease-server:1, not prerelease-server:2");
}

#[cfg(feature = "aws")]
mod against_the_emulator {
    use aws_sdk_ecs::types::DeploymentRolloutState;

    use super::container_lines;
    use crate::against_emulator::{FaultProxy, Proxying, REALISTIC, tagged};
    use crate::emulator::{Emulator, Production};
    use crate::project::Project;

    async fn prerelease_task_definition(em: &Emulator) -> aws_sdk_ecs::types::TaskDefinition {
        let ecs = aws_sdk_ecs::Client::new(&em.sdk_config().await);
        ecs.describe_task_definition()
            .task_definition("prerelease-server")
            .send()
            .await
            .expect("the clone is registered")
            .task_definition()
            .cloned()
            .unwrap()
    }

    async fn prerelease_service(em: &Emulator) -> aws_sdk_ecs::types::Service {
        let ecs = aws_sdk_ecs::Client::new(&em.layer_sdk_config().await);
        ecs.describe_services()
            .cluster("prerelease")
            .services("server")
            .send()
            .await
            .unwrap()
            .services()[0]
            .clone()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_clone_registers_productions_whole_definition_and_reads_back_as_no_change() {
        let em = Emulator::start();
        let prod: Production = em.seed_production();
        let project = Project::against(em.endpoint());
        em.start_recording();
        project
            .rehearsal(&["apply", "prerelease", "--auto-approve"])
            .run()
            .exits(0);
        let calls = em.stop_recording();

        // Production's definition, whole, with the release's image and database, and only
        // what the spec keeps of what reaches production.
        let td = prerelease_task_definition(&em).await;
        let c = &td.container_definitions()[0];
        assert_eq!(c.image(), Some("example/openchs-server:3.1.0"));
        let env: Vec<(&str, &str)> = c
            .environment()
            .iter()
            .map(|kv| (kv.name().unwrap(), kv.value().unwrap()))
            .collect();
        assert!(
            env.contains(&("JAVA_OPTS", "-Xmx768m")),
            "production's environment is kept: {env:?}"
        );
        let db_host = env.iter().find(|(k, _)| *k == "DATABASE_HOST").unwrap().1;
        assert!(
            db_host.starts_with("prerelease-db."),
            "the pre-release database, not production's: {db_host}"
        );
        assert_eq!(c.secrets()[0].name(), "DATABASE_PASSWORD");
        assert!(
            env.contains(&("MAIL_ENABLED", "false")),
            "no mail to production's users: {env:?}"
        );
        // Its own log group, which ECS creates; not production's /ecs/production-server.
        let logs = c.log_configuration().unwrap();
        assert_eq!(logs.log_driver().as_str(), "awslogs");
        let options = logs.options().unwrap();
        assert_eq!(
            options.get("awslogs-group").map(String::as_str),
            Some("/rehearsal/openchs/prerelease")
        );
        assert_eq!(
            options.get("awslogs-create-group").map(String::as_str),
            Some("true")
        );
        assert_eq!(c.health_check().unwrap().retries(), Some(3));
        assert_eq!(c.ulimits()[0].soft_limit(), 65536);
        assert_eq!(c.mount_points()[0].container_path(), Some("/var/uploads"));
        // No task role: the build under test cannot act as production's server on AWS.
        assert_eq!(td.task_role_arn(), None);
        assert!(
            td.execution_role_arn()
                .unwrap()
                .ends_with("production-server-execution")
        );
        assert_eq!(td.network_mode().unwrap().as_str(), "awsvpc");
        assert_eq!(td.volumes()[0].name(), Some("uploads"));
        assert_eq!((td.cpu(), td.memory()), (Some("512"), Some("1024")));

        // The service runs on Fargate in production server's subnet, with the circuit breaker.
        let service = prerelease_service(&em).await;
        assert_eq!(service.launch_type().unwrap().as_str(), "FARGATE");
        let vpc = service
            .network_configuration()
            .unwrap()
            .awsvpc_configuration()
            .unwrap();
        assert_eq!(vpc.subnets(), std::slice::from_ref(&prod.subnet_id));
        assert_eq!(vpc.assign_public_ip().unwrap().as_str(), "DISABLED");
        // moto does not keep a deployment configuration: the request says what was asked.
        let create = calls
            .iter()
            .find(|c| c.action == "CreateService")
            .expect("CreateService was called");
        let body: serde_json::Value = serde_json::from_str(&create.body).unwrap();
        assert_eq!(
            body["deploymentConfiguration"]["deploymentCircuitBreaker"],
            serde_json::json!({"enable": true, "rollback": true}),
            "{body}"
        );
        assert_eq!(
            service.deployments()[0].rollout_state(),
            Some(&DeploymentRolloutState::Completed)
        );

        // Read back with moto's defaults (cpu 0, essential, empty lists): no change.
        project
            .rehearsal(&["plan", "prerelease", "--detailed-exitcode"])
            .run()
            .exits(0)
            .shows("No changes.");
        let bumped = project
            .rehearsal(&[
                "plan",
                "prerelease",
                "--var",
                "server_version=3.2.0",
                "--detailed-exitcode",
            ])
            .run()
            .exits(2);
        assert_eq!(
            container_lines(&bumped.show()),
            vec![
                "containers[\"server\"].image: example/openchs-server:3.1.0 → \
                 example/openchs-server:3.2.0"
            ]
        );
        project
            .rehearsal(&["apply", "plans/prerelease.plan.json"])
            .run()
            .exits(0);
        assert_eq!(
            prerelease_service(&em).await.task_definition(),
            Some(
                prerelease_task_definition(&em)
                    .await
                    .task_definition_arn()
                    .unwrap()
            ),
            "the service moved to the new revision"
        );
        project
            .rehearsal(&["destroy", "prerelease", "--auto-approve"])
            .run()
            .exits(0);
        assert_eq!(tagged(&em, "prerelease").await, Vec::<String>::new());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_task_role_kept_by_name_is_registered_and_logging_kept_writes_to_productions_group() {
        let em = Emulator::start();
        em.seed_production();
        let project = Project::against(em.endpoint());
        project.edit(
            "prerelease",
            "drop_from_production = [\"task_role_arn\"]",
            "drop_from_production = []",
        );
        project.edit(
            "prerelease",
            "  \"execution_role_arn\",\n",
            "  \"execution_role_arn\",\n  \"task_role_arn\",\n  \"log_configuration.server\",\n",
        );
        let spec = project.read("environments/prerelease.toml");
        let log_table = "[resources.ecs_task_definition.server.containers_override.server.\
                         log_configuration]";
        let start = spec.find(log_table).unwrap();
        let end = start + spec[start..].find("\n\n").unwrap();
        project.edit("prerelease", &spec[start..end], "");
        project
            .rehearsal(&["apply", "prerelease", "--auto-approve"])
            .run()
            .exits(0);
        let td = prerelease_task_definition(&em).await;
        assert!(
            td.task_role_arn()
                .unwrap()
                .ends_with("role/production-server-task"),
            "{td:?}"
        );
        let logs = td.container_definitions()[0].log_configuration().unwrap();
        assert_eq!(
            logs.options()
                .unwrap()
                .get("awslogs-group")
                .map(String::as_str),
            Some("/ecs/production-server")
        );
    }

    /// An emulator at AWS's pace (scaled), and a project talking to it.
    fn realistic(em: &Emulator) -> (FaultProxy, Project) {
        let proxy = FaultProxy::start(
            &em.moto_endpoint(),
            Proxying {
                realism: Some(REALISTIC),
                ..Proxying::default()
            },
        );
        let project = Project::against(&proxy.endpoint);
        (proxy, project)
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn apply_waits_until_the_services_rollout_has_completed() {
        let em = Emulator::start();
        em.seed_production();
        let (_proxy, project) = realistic(&em);
        project
            .rehearsal(&["apply", "prerelease", "--auto-approve"])
            .run()
            .exits(0)
            .shows("+ ecs_service.server: deploying")
            .shows("9 done, 0 failed, 0 skipped");
        let service = prerelease_service(&em).await;
        assert_eq!(
            service.deployments()[0].rollout_state(),
            Some(&DeploymentRolloutState::Completed)
        );
        assert_eq!(service.running_count(), service.desired_count());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_rollout_the_circuit_breaker_stops_fails_the_apply_with_the_events_and_keeps_everything()
     {
        let em = Emulator::start();
        em.seed_production();
        let (proxy, project) = realistic(&em);
        let message = "(service server) (task 1a2b) failed container health checks.";
        proxy.control(
            "/__proxy/realism/force",
            &serde_json::json!({"service": "ecs", "cluster": "prerelease", "id": "server",
                "region": crate::emulator::REGION, "state": "FAILED", "message": message}),
        );
        let failed = project
            .rehearsal(&["apply", "prerelease", "--auto-approve"])
            .run()
            .exits(4)
            .shows("ecs_service.server")
            .shows("ended up FAILED while waiting for it to become ACTIVE")
            .shows("hint: nothing was torn down");
        // The service's latest event, the circuit breaker's reason, is the first one shown.
        let shown = failed.show();
        let first_event = shown.lines().find_map(|l| l.trim().strip_prefix("event: "));
        assert_eq!(first_event, Some(message), "{shown}");
        // Nothing was torn down: the database, the server and the service are still there.
        let owned = tagged(&em, "prerelease").await;
        assert!(owned.iter().any(|o| o == "rds prerelease-db"), "{owned:#?}");
        assert!(
            owned.iter().any(|o| o.starts_with("service ")),
            "{owned:#?}"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_version_bump_whose_tasks_fail_and_that_ecs_rolls_back_exits_4_and_says_so() {
        let em = Emulator::start();
        em.seed_production();
        let (proxy, project) = realistic(&em);
        project
            .rehearsal(&["apply", "prerelease", "--auto-approve"])
            .run()
            .exits(0);
        let running = prerelease_task_definition(&em)
            .await
            .task_definition_arn()
            .unwrap()
            .to_string();
        // 3.2.0's tasks fail to start: ECS's circuit breaker fails the deployment and rolls the
        // service back to 3.1.0's revision, which completes (realism item 22).
        proxy.control(
            "/__proxy/realism/force",
            &serde_json::json!({"service": "ecs", "cluster": "prerelease", "id": "server",
                "region": crate::emulator::REGION, "state": "FAILED",
                "message": "(service server) (task 1a2b) failed container health checks."}),
        );
        let failed = project
            .rehearsal(&[
                "apply",
                "prerelease",
                "--var",
                "server_version=3.2.0",
                "--auto-approve",
            ])
            .run()
            .exits(4)
            .shows("ecs_service.server")
            .shows("does not run what was asked: ECS rolled the deployment of")
            .shows(&format!("the service runs {running}"))
            .shows("rolling back to deployment")
            .shows("hint: the release did not take");
        assert!(
            !failed.show().contains("Checking prerelease"),
            "no check ran against the old build: {}",
            failed.show()
        );
        assert_eq!(
            prerelease_service(&em).await.task_definition(),
            Some(running.as_str()),
            "ECS runs the old revision, and rehearsal said so"
        );
    }

    /// The staging service as ECS shows it through the realistic proxy rehearsal talks to.
    async fn staging_service(em: &Emulator, proxy: &FaultProxy) -> aws_sdk_ecs::types::Service {
        let ecs = aws_sdk_ecs::Client::new(&em.sdk_config_at(&proxy.endpoint).await);
        ecs.describe_services()
            .cluster("staging")
            .services("server")
            .send()
            .await
            .unwrap()
            .services()[0]
            .clone()
    }

    /// Staging at 3.1.0, bumped to 3.2.0, rolled back: the service's primary deployment runs
    /// 3.1.0's revision again, its rollout COMPLETED, and rollback exits 0 only then.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_rollback_returns_staging_to_the_revision_before_and_exits_0_once_it_runs() {
        let em = Emulator::start();
        em.seed_production();
        let (proxy, project) = realistic(&em);
        project
            .rehearsal(&["apply", "staging", "--auto-approve"])
            .run()
            .exits(0);
        // One revision only: nothing to roll back to.
        project
            .rehearsal(&["rollback", "staging", "--auto-approve"])
            .run()
            .exits(1)
            .stderr_has("nothing to roll back to: ecs_service.server runs staging-server:1");
        project
            .rehearsal(&[
                "apply",
                "staging",
                "--var",
                "server_version=3.2.0",
                "--auto-approve",
            ])
            .run()
            .exits(0)
            .shows("a new revision, registered beside staging-server:1");
        let bumped = staging_service(&em, &proxy).await;
        let bumped = bumped.task_definition().unwrap();
        assert!(bumped.ends_with("staging-server:2"), "{bumped}");
        project
            .rehearsal(&["revisions", "staging"])
            .run()
            .exits(0)
            .shows("2 revisions kept (keep_revisions = 3)");
        // Each with when ECS registered it (registeredAt, realism item 25).
        let listed = project
            .rehearsal(&["revisions", "staging", "--json"])
            .run()
            .exits(0)
            .json();
        for revision in listed[0]["revisions"].as_array().unwrap() {
            let at = revision["registered_at"].as_str().unwrap_or_default();
            assert!(at.starts_with("20") && at.ends_with('Z'), "{listed:#}");
        }
        assert_eq!(
            listed[0]["revisions"][0]["runs_in"][0],
            "ecs_service.server"
        );

        project
            .rehearsal(&[
                "rollback",
                "staging",
                "--var",
                "server_version=3.2.0",
                "--auto-approve",
            ])
            .run()
            .exits(0)
            .shows(
                "containers[\"server\"].image: example/openchs-server:3.2.0 → \
                 example/openchs-server:3.1.0",
            )
            .shows("the next plan rolls forward; set server_version to 3.1.0 to stay")
            .shows("1 done, 0 failed, 0 skipped");
        let service = staging_service(&em, &proxy).await;
        let primary = service
            .deployments()
            .iter()
            .find(|d| d.status() == Some("PRIMARY"))
            .expect("a primary deployment");
        let arn = primary.task_definition().unwrap();
        assert!(arn.ends_with("staging-server:1"), "{arn}");
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
        assert_eq!(
            revision.task_definition().unwrap().container_definitions()[0].image(),
            Some("example/openchs-server:3.1.0")
        );
    }
}
