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

/// What `rehearsal status` reads: one scan of the region finds every environment's resources,
/// with the same listing calls for one environment as for three. Only the calls AWS offers no
/// batch for follow the resources (one ListServices and DescribeServices per cluster, one
/// DescribeTaskDefinition per revision), as they do for `observe` of one environment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_scan_reads_every_environment_with_the_same_listing_calls_whatever_their_number() {
    let w = world().await;
    let p = &w.provider;
    let make = |name: &'static str| async move {
        let snapshot = request_in(
            name,
            "rds_snapshot.before",
            json!({"identifier": format!("{name}-before"), "source_db": "production-db"}),
        );
        let cluster = request_in(name, "ecs_cluster.main", json!({"name": name}));
        let family = format!("{name}-server");
        let td = request_in(
            name,
            "ecs_task_definition.server",
            json!({"family": family, "containers": [{"name": "server", "image": format!("example/server:{name}"), "memory": 512}]}),
        );
        for (req, address) in [
            (&snapshot, "rds_snapshot.before"),
            (&cluster, "ecs_cluster.main"),
        ] {
            p.create(&op(address).0, req).await.expect("create");
        }
        let td = p
            .create(&op("ecs_task_definition.server").0, &td)
            .await
            .expect("register");
        let service = request_in(
            name,
            "ecs_service.server",
            json!({"name": "server", "cluster": name, "task_definition": td.attributes["arn"], "desired_count": 1}),
        );
        p.create(&op("ecs_service.server").0, &service)
            .await
            .expect("create service");
    };
    let scan = || async {
        w.emulator.start_recording();
        let found = p.observe_region(REGION).await.expect("scan");
        (found, w.emulator.stop_recording())
    };
    let count = |calls: &[crate::emulator::RecordedCall]| {
        let mut by_action: BTreeMap<String, usize> = BTreeMap::new();
        for call in calls {
            *by_action.entry(call.action.clone()).or_default() += 1;
        }
        by_action
    };

    make("prerelease").await;
    let (one, calls) = scan().await;
    let one_env = count(&calls);
    make("staging").await;
    make("qa").await;
    let (three, calls) = scan().await;
    let three_envs = count(&calls);

    let owners = |found: &[rehearsal::model::LiveResource]| {
        found
            .iter()
            .map(|r| r.tags[tags::ENV].as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(owners(&one), "prerelease");
    assert_eq!(owners(&three), "prerelease qa staging");
    assert_eq!(three.len(), 12, "four resources each: {three:#?}");
    // Clusters in the region: production's and one per environment (2, then 4); revisions: one
    // per environment (1, then 3).
    let per_cluster = ["ListServices", "DescribeServices"];
    for (action, n) in &three_envs {
        let before = one_env.get(action).copied().unwrap_or_default();
        let growth = format!("{action}: {one_env:?} → {three_envs:?}");
        if per_cluster.contains(&action.as_str()) {
            assert_eq!(n * 2, before * 4, "the same per cluster: {growth}");
        } else if action == "DescribeTaskDefinition" {
            assert_eq!(*n, before * 3, "one per revision: {growth}");
        } else {
            assert_eq!(
                *n, before,
                "the same for three environments as for one: {growth}"
            );
        }
    }

    // What status shows, as the scan reports it: the revision a service runs (its image is in the
    // revision the scan found), when things were made.
    let by = |env: &str, address: &str| {
        three
            .iter()
            .find(|r| r.tags[tags::ENV] == env && r.address.to_string() == address)
            .unwrap_or_else(|| panic!("{env} {address}"))
    };
    let service = by("qa", "ecs_service.server");
    let revision = by("qa", "ecs_task_definition.server");
    assert_eq!(
        service.attributes["task_definition"],
        revision.attributes["arn"]
    );
    assert_eq!(
        revision.attributes["containers"][0]["image"],
        "example/server:qa"
    );
    for (env, address, time) in [
        ("qa", "ecs_service.server", "created_at"),
        ("qa", "ecs_service.server", "deployed_at"),
        ("qa", "rds_snapshot.before", "created_at"),
    ] {
        let found = by(env, address);
        let at = found
            .attributes
            .get(time)
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("{address} has no {time}: {:#?}", found.attributes));
        assert!(
            time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).is_ok(),
            "{address}.{time} is an RFC 3339 time: {at:?}"
        );
    }
    drop(w.emulator);
}
