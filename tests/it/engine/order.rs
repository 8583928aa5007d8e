//! Order and time: waves of what is ready, deletes after their dependents, slow AWS.

use super::*;

#[tokio::test]
async fn creates_run_in_waves_of_what_is_ready() {
    let provider = production();
    let plan = plan_for(provider.as_ref(), &shipped("prerelease")).await;
    let graph = ExecutionGraph::build(&plan).unwrap();
    assert_eq!(
        wave_labels(&graph),
        [
            vec![
                "+ ecs_cluster.main",
                "+ rds_snapshot.from_prod",
                "+ security_group.server"
            ],
            vec!["+ security_group.db"],
            vec!["+ rds_instance.db"],
            vec!["+ ec2_instance.server", "+ ecs_task_definition.server"],
            vec!["+ dns_record.server", "+ ecs_service.server"],
        ]
    );
    assert_eq!(
        graph.to_text(),
        "1. + ecs_cluster.main, + rds_snapshot.from_prod, + security_group.server\n\
         2. + security_group.db\n3. + rds_instance.db\n\
         4. + ec2_instance.server, + ecs_task_definition.server\n\
         5. + dns_record.server, + ecs_service.server\n"
    );
    let dot = graph.to_dot();
    assert!(dot.starts_with("digraph plan {"), "{dot}");
    assert_eq!(
        dot.matches(" -> ").count(),
        10,
        "one edge per dependency: {dot}"
    );
}

#[tokio::test]
async fn a_spec_emptied_of_resources_deletes_dependents_first() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;

    let text = shipped_text("prerelease");
    let cut = text.find("# --- What we copy from").unwrap();
    let edited = SpecFile::write("prerelease", &text[..cut]);
    let spec = edited.load();
    let plan = plan_for(provider.as_ref(), &spec).await;
    assert_eq!(plan.count(ActionKind::Delete), 9);

    let graph = ExecutionGraph::build(&plan).unwrap();
    assert_eq!(
        wave_labels(&graph),
        [
            // Nothing else waits for servers, databases, services and DNS records; clusters and
            // task definitions wait for services, snapshots for the databases restored from
            // them, security groups for what has network interfaces in them.
            vec![
                "- dns_record.server",
                "- ec2_instance.server",
                "- ecs_service.server",
                "- rds_instance.db"
            ],
            vec![
                "- ecs_cluster.main",
                "- ecs_task_definition.server",
                "- rds_snapshot.from_prod",
                "- security_group.db",
                "- security_group.server"
            ],
        ]
    );

    let recorder = Arc::new(Recorder::default());
    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        recorder.clone(),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded(), "{summary:#?}");
    let events = recorded(&recorder);
    for (first, then) in [
        ("- ecs_service.server", "- ecs_cluster.main"),
        ("- ecs_service.server", "- ecs_task_definition.server"),
        ("- ec2_instance.server", "- rds_snapshot.from_prod"),
        ("- rds_instance.db", "- rds_snapshot.from_prod"),
        ("- ec2_instance.server", "- security_group.server"),
        ("- rds_instance.db", "- security_group.db"),
    ] {
        assert!(
            finished(&events, first) < started(&events, then),
            "{first} before {then}: {events:#?}"
        );
    }
    assert!(
        provider
            .observe(&spec.env, &Default::default())
            .await
            .unwrap()
            .is_empty()
    );
}

fn ten_minute_cluster_and_snapshot() -> Latency {
    Latency {
        create: [
            (ResourceKind::EcsCluster, 10 * MINUTE),
            (ResourceKind::RdsSnapshot, 10 * MINUTE),
        ]
        .into(),
        ..Default::default()
    }
}

async fn timed_apply(
    provider: Arc<FakeProvider>,
    parallelism: usize,
) -> (Duration, rehearsal::apply::Summary) {
    let spec = shipped("prerelease");
    let plan = plan_for(provider.as_ref(), &spec).await;
    let started = tokio::time::Instant::now();
    let options = ApplyOptions {
        parallelism,
        ..Default::default()
    };
    let summary = apply_plan(provider, plan, &spec, Arc::new(Silent), options).await;
    (started.elapsed(), summary)
}

#[tokio::test(start_paused = true)]
async fn independent_slow_creates_run_side_by_side() {
    let provider = Arc::new(
        FakeProvider::with_production(REGION).with_latency(ten_minute_cluster_and_snapshot()),
    );
    let (took, summary) = timed_apply(provider, 10).await;
    assert!(summary.succeeded(), "{summary:#?}");
    assert!(
        took >= 10 * MINUTE && took < 11 * MINUTE,
        "took {took:?}, not about 10 minutes"
    );
}

#[tokio::test(start_paused = true)]
async fn with_parallelism_one_they_run_one_after_the_other() {
    let provider = Arc::new(
        FakeProvider::with_production(REGION).with_latency(ten_minute_cluster_and_snapshot()),
    );
    let (took, summary) = timed_apply(provider, 1).await;
    assert!(summary.succeeded(), "{summary:#?}");
    assert!(
        took >= 20 * MINUTE && took < 21 * MINUTE,
        "took {took:?}, not about 20 minutes"
    );
}

#[tokio::test(start_paused = true)]
async fn a_database_slower_than_its_timeout_fails_after_exactly_that_long() {
    // The spec gives the database 45 minutes; this one would take an hour.
    let latency = Latency {
        create: [(ResourceKind::RdsInstance, 60 * MINUTE)].into(),
        ..Default::default()
    };
    let provider = Arc::new(FakeProvider::with_production(REGION).with_latency(latency));
    let (took, summary) = timed_apply(provider, 10).await;
    assert!(took >= 45 * MINUTE && took < 46 * MINUTE, "took {took:?}");
    assert_eq!(summary.failed.len(), 1);
    let (step, error) = &summary.failed[0];
    assert_eq!(step, "+ rds_instance.db");
    assert_eq!(
        error.to_string(),
        "timed out after 45m waiting for rds_instance.db (prerelease-db) to become available \
         (last seen: creating)"
    );
    assert!(
        error
            .hint()
            .is_some_and(|h| h.starts_with("AWS may still finish it")),
        "{error:?}"
    );
}
