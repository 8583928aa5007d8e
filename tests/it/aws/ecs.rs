//! ECS clusters, task definitions and services.

use std::collections::BTreeMap;

use rehearsal::engine::wait;
use rehearsal::model::tags;
use rehearsal::provider::{DeleteOutcome, DeletePolicy, Provider};
use serde_json::json;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecs_cluster_task_definition_and_service_round_trip() {
    let w = world().await;
    let p = &w.provider;

    let cluster_req = request(
        "ecs_cluster.main",
        json!({"name": "prerelease", "tags": {"Team": "release"}}),
    );
    let cluster = create_ready(p, &cluster_req, "ecs_cluster.main").await;
    assert_eq!(cluster.status, "ACTIVE");

    let td_req = request(
        "ecs_task_definition.server",
        json!({
            "family": "prerelease-server",
            "cpu": "512",
            "memory": "1024",
            "network_mode": "awsvpc",
            "requires_compatibilities": ["EC2"],
            "execution_role_arn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
            "containers": [{
                "name": "server",
                "image": "example/openchs-server:3.2.0",
                "cpu": 512,
                "memory": 1024,
                "essential": true,
                "environment": {"DATABASE_HOST": "prerelease-db.example", "SERVER_VERSION": "3.2.0"},
                "portMappings": [{"containerPort": 8080}],
                "command": ["java", "-jar", "server.jar"],
            }],
            "tags": {"Team": "release"},
        }),
    );
    let td = create_ready(p, &td_req, "ecs_task_definition.server").await;
    assert_eq!(td.attributes["revision"], json!(1));

    let service_req = request(
        "ecs_service.server",
        json!({
            "name": "server",
            "cluster": "prerelease",
            "task_definition": td.attributes["arn"],
            "desired_count": 1,
            "launch_type": "EC2",
            "subnets": [w.production.subnet_id],
            "security_groups": [w.production.security_groups.server],
            "tags": {"Team": "release"},
        }),
    );
    let service = create_ready(p, &service_req, "ecs_service.server").await;
    assert_eq!(service.status, "ACTIVE");

    let all = p.observe(&env(), &Default::default()).await.unwrap();
    assert_eq!(all.len(), 3, "{all:#?}");
    for (req, address) in [
        (&cluster_req, "ecs_cluster.main"),
        (&td_req, "ecs_task_definition.server"),
        (&service_req, "ecs_service.server"),
    ] {
        let live = all
            .iter()
            .find(|r| r.address.to_string() == address)
            .expect(address);
        assert_round_trip(req, live);
        assert_eq!(live.tags.get(tags::ENV).map(String::as_str), Some(ENV));
    }

    // Tags as the emulator holds them, set at creation.
    let raw = w
        .ecs
        .describe_services()
        .cluster("prerelease")
        .services("server")
        .include(aws_sdk_ecs::types::ServiceField::Tags)
        .send()
        .await
        .unwrap();
    let raw_tags: BTreeMap<_, _> = raw.services()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
        .collect();
    assert_eq!(raw_tags.get(tags::ADDRESS), Some(&"ecs_service.server"));
    assert_eq!(raw_tags.get("Team"), Some(&"release"));

    // A new revision and a new count, in place.
    let mut td2_req = td_req.clone();
    td2_req.attributes["containers"][0]["image"] = json!("example/openchs-server:3.2.1");
    let (td2_op, _) = op("ecs_task_definition.server");
    let td2 = p.create(&td2_op, &td2_req).await.expect("second revision");
    assert_eq!(td2.attributes["revision"], json!(2));
    let mut desired = service_req.attributes.clone();
    desired.insert("task_definition".into(), td2.attributes["arn"].clone());
    desired.insert("desired_count".into(), json!(2));
    desired.insert("tags".into(), json!({"Team": "release", "Stage": "rc"}));
    let live_service = observed(p, "ecs_service.server").await.unwrap();
    let (svc_op, _) = op("ecs_service.server");
    let changed = vec![
        "task_definition".to_owned(),
        "desired_count".to_owned(),
        "tags".to_owned(),
    ];
    p.update(&svc_op, &live_service, &desired, &changed)
        .await
        .expect("update service");
    let after = observed(p, "ecs_service.server").await.unwrap();
    assert_round_trip(
        &CreateRequest {
            attributes: desired,
            ..service_req.clone()
        },
        &after,
    );

    // Teardown in order: service, task definitions, cluster. Each delete twice.
    let policy = DeletePolicy::default();
    assert_eq!(
        p.delete(&svc_op, &after, &policy).await.unwrap(),
        DeleteOutcome::Accepted
    );
    wait::until_gone(p, &svc_op, &after)
        .await
        .expect("service inactive");
    assert_eq!(
        p.delete(&svc_op, &after, &policy).await.unwrap(),
        DeleteOutcome::Accepted
    );
    for revision in [&td, &td2] {
        assert_eq!(
            p.delete(&td2_op, revision, &policy).await.unwrap(),
            DeleteOutcome::Accepted
        );
        wait::until_gone(p, &td2_op, revision)
            .await
            .expect("deregistered");
        assert_eq!(
            p.delete(&td2_op, revision, &policy).await.unwrap(),
            DeleteOutcome::Accepted
        );
    }
    let (cluster_op, _) = op("ecs_cluster.main");
    assert_eq!(
        p.delete(&cluster_op, &cluster, &policy).await.unwrap(),
        DeleteOutcome::Accepted
    );
    wait::until_gone(p, &cluster_op, &cluster)
        .await
        .expect("cluster inactive");
    assert_eq!(
        p.delete(&cluster_op, &cluster, &policy).await.unwrap(),
        DeleteOutcome::Accepted
    );
    assert!(
        p.observe(&env(), &Default::default())
            .await
            .unwrap()
            .is_empty()
    );

    let raw = w
        .ecs
        .describe_clusters()
        .clusters("prerelease")
        .send()
        .await
        .unwrap();
    assert!(
        raw.clusters()
            .iter()
            .all(|c| c.status() == Some("INACTIVE"))
    );

    // Deleting what never existed is done, too.
    let ghost_service = LiveResource {
        id: "arn:aws:ecs:eu-west-1:123456789012:service/prerelease/ghost".into(),
        ..after.clone()
    };
    assert_eq!(
        p.delete(&svc_op, &ghost_service, &policy).await.unwrap(),
        DeleteOutcome::Accepted
    );
    let ghost_cluster = LiveResource {
        id: "arn:aws:ecs:eu-west-1:123456789012:cluster/ghost".into(),
        ..cluster.clone()
    };
    assert_eq!(
        p.delete(&cluster_op, &ghost_cluster, &policy)
            .await
            .unwrap(),
        DeleteOutcome::Accepted
    );
    let ghost_td = LiveResource {
        id: "arn:aws:ecs:eu-west-1:123456789012:task-definition/ghost:1".into(),
        ..td.clone()
    };
    assert_eq!(
        p.delete(&td2_op, &ghost_td, &policy).await.unwrap(),
        DeleteOutcome::Accepted
    );

    w.assert_production_untouched().await;
}
