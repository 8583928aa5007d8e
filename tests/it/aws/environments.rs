//! Environments found in a region by their tags.

use rehearsal::model::tags;
use rehearsal::provider::Provider;
use serde_json::json;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_environments_groups_by_env_with_the_earliest_expiry() {
    let w = world().await;
    let p = &w.provider;
    let mut early = request("ecs_cluster.a", json!({"name": "pre-a"}));
    early
        .tags
        .insert(tags::EXPIRES_AT.into(), "2030-01-01T00:00:00Z".into());
    let mut late = request("ecs_cluster.b", json!({"name": "pre-b"}));
    late.tags
        .insert(tags::EXPIRES_AT.into(), "2031-01-01T00:00:00Z".into());
    let other = request_in("staging", "ecs_cluster.c", json!({"name": "staging"}));
    for (req, address) in [
        (&late, "ecs_cluster.b"),
        (&early, "ecs_cluster.a"),
        (&other, "ecs_cluster.c"),
    ] {
        let (op, _) = op(address);
        p.create(&op, req).await.expect("create");
    }
    // Not ours: an address that does not parse.
    w.ecs
        .create_cluster()
        .cluster_name("foreign")
        .tags(
            aws_sdk_ecs::types::Tag::builder()
                .key(tags::ENV)
                .value(ENV)
                .build(),
        )
        .tags(
            aws_sdk_ecs::types::Tag::builder()
                .key(tags::ADDRESS)
                .value("nonsense")
                .build(),
        )
        .send()
        .await
        .unwrap();

    let envs = p.list_environments(REGION).await.unwrap();
    assert_eq!(envs.len(), 2, "{envs:?}");
    assert_eq!(envs[0].name, ENV);
    assert_eq!(envs[0].resources, 2);
    assert_eq!(envs[0].expires_at.as_deref(), Some("2030-01-01T00:00:00Z"));
    assert_eq!(envs[1].name, "staging");
    assert_eq!(envs[1].resources, 1);
    assert_eq!(envs[1].expires_at, None);

    let observed = p.observe(&env(), &Default::default()).await.unwrap();
    let names: Vec<String> = observed.iter().map(|r| r.address.to_string()).collect();
    assert_eq!(names, ["ecs_cluster.a", "ecs_cluster.b"]);
    drop(w.emulator);
}
