//! Failure: what fails skips only what depends on it; what AWS left behind is dealt with.

use super::*;

#[tokio::test]
async fn a_failed_create_skips_exactly_what_depends_on_it() {
    let provider = production();
    provider.fail_address(
        FakeOp::Create,
        addr("rds_instance.db"),
        ProviderError::AccessDenied {
            action: "rds:RestoreDBInstanceFromDBSnapshot".into(),
            message: "User is not authorized to perform rds:RestoreDBInstanceFromDBSnapshot".into(),
        },
    );
    let spec = shipped("prerelease");
    let plan = plan_for(provider.as_ref(), &spec).await;
    let recorder = Arc::new(Recorder::default());
    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        recorder.clone(),
        ApplyOptions::default(),
    )
    .await;

    let mut done = summary.done.clone();
    done.sort();
    assert_eq!(
        done,
        [
            "+ ecs_cluster.main",
            "+ rds_snapshot.from_prod",
            "+ security_group.db",
            "+ security_group.server"
        ]
    );
    assert_eq!(summary.failed.len(), 1);
    let (step, error) = &summary.failed[0];
    assert_eq!(step, "+ rds_instance.db");
    assert_eq!(
        error,
        &StepError::Provider(ProviderError::AccessDenied {
            action: "rds:RestoreDBInstanceFromDBSnapshot".into(),
            message: "User is not authorized to perform rds:RestoreDBInstanceFromDBSnapshot".into(),
        })
    );
    assert_eq!(
        error.hint().unwrap(),
        "grant `rds:RestoreDBInstanceFromDBSnapshot` to the credentials in use (see the IAM \
         policy in README.md), or pick other credentials with AWS_PROFILE"
    );
    let mut skipped = summary.skipped.clone();
    skipped.sort();
    let because = "+ rds_instance.db".to_string();
    assert_eq!(
        skipped,
        [
            ("+ dns_record.server".to_string(), because.clone()),
            ("+ ec2_instance.server".to_string(), because.clone()),
            ("+ ecs_service.server".to_string(), because.clone()),
            ("+ ecs_task_definition.server".to_string(), because.clone()),
        ]
    );
    assert!(!summary.succeeded());

    let skip_events = recorded(&recorder)
        .into_iter()
        .filter(|e| matches!(e, Event::Skipped { .. }))
        .count();
    assert_eq!(skip_events, 4);
    let mut owned: Vec<String> = provider
        .observe(&spec.env, &Default::default())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.address.to_string())
        .collect();
    owned.sort();
    assert_eq!(
        owned,
        [
            "ecs_cluster.main",
            "rds_snapshot.from_prod",
            "security_group.db",
            "security_group.server"
        ],
        "nothing was attempted that needed the database"
    );

    // Once the cause is fixed, the next plan picks up from what exists.
    let healthy = production_like(&provider);
    let next = plan_for(&healthy, &spec).await;
    assert_eq!(
        labels(&next),
        [
            "+ rds_instance.db",
            "+ ec2_instance.server",
            "+ ecs_task_definition.server",
            "+ ecs_service.server",
            "+ dns_record.server"
        ]
    );
}

/// A provider over the same cloud, without the faults.
fn production_like(provider: &FakeProvider) -> FakeProvider {
    FakeProvider::with_cloud(provider.snapshot())
}

#[tokio::test]
async fn a_throttled_create_fails_its_step_with_advice() {
    let provider = production();
    provider.throttle_next(1);
    let spec = shipped("prerelease");
    let plan = plan_for(provider.as_ref(), &spec).await;
    let options = ApplyOptions {
        parallelism: 1,
        ..Default::default()
    };
    let summary = apply_plan(provider.clone(), plan, &spec, Arc::new(Silent), options).await;
    // With parallelism 1 the first step to run is the first label: the cluster.
    assert_eq!(summary.failed.len(), 1, "{summary:#?}");
    assert_eq!(summary.failed[0].0, "+ ecs_cluster.main");
    assert!(
        summary.failed[0]
            .1
            .hint()
            .unwrap()
            .starts_with("wait a minute and run the command again")
    );
    let skipped: BTreeMap<_, _> = summary.skipped.iter().cloned().collect();
    assert_eq!(skipped.keys().collect::<Vec<_>>(), ["+ ecs_service.server"]);
}

#[tokio::test]
async fn a_database_that_failed_to_restore_is_replaced() {
    let provider = production();
    let spec = shipped("prerelease");
    converge(provider.clone(), &spec).await;
    let mut db = live_one(&provider, "rds_instance.db");
    db.status = "incompatible-restore".into();
    provider.insert_resource(db);

    let plan = plan_for(provider.as_ref(), &spec).await;
    let db_action = plan
        .actions
        .iter()
        .find(|a| a.address == addr("rds_instance.db"))
        .unwrap();
    assert_eq!(db_action.action, ActionKind::Replace);
    assert_eq!(
        rehearsal::plan::render::reason(&plan, db_action),
        "because it is in state `incompatible-restore` and cannot recover"
    );

    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded(), "{summary:#?}");
    assert_eq!(live_one(&provider, "rds_instance.db").status, "available");
    assert!(!plan_for(provider.as_ref(), &spec).await.has_changes());
}

#[tokio::test]
async fn a_cluster_still_being_deleted_is_created_anew_and_the_plan_says_why() {
    let provider = production();
    let spec = shipped("prerelease");
    converge(provider.clone(), &spec).await;
    let mut cluster = live_one(&provider, "ecs_cluster.main");
    cluster.status = "DEPROVISIONING".into();
    provider.insert_resource(cluster.clone());

    let plan = plan_for(provider.as_ref(), &spec).await;
    let create = plan
        .actions
        .iter()
        .find(|a| a.address == addr("ecs_cluster.main"))
        .unwrap();
    assert_eq!(create.action, ActionKind::Create);
    assert_eq!(
        rehearsal::plan::render::reason(&plan, create),
        format!(
            "because the previous one ({}) is DEPROVISIONING",
            cluster.id
        )
    );
}

#[tokio::test]
async fn a_failed_rollout_ends_the_wait_with_the_services_events_and_the_next_release_recovers() {
    let provider = production();
    let spec = shipped("prerelease");
    converge(provider.clone(), &spec).await;
    let events = [
        "(service server) (deployment ecs-svc/2) deployment failed: tasks failed to start.",
        "(service server) (task 9f) failed container health checks.",
    ];
    assert!(provider.fail_rollout("server", &events));

    // Waiting for it ends at once, with what ECS said.
    let service = provider
        .observe(&spec.env, &Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.address == addr("ecs_service.server"))
        .unwrap();
    let op = rehearsal::provider::Operation {
        env: spec.env.clone(),
        address: addr("ecs_service.server"),
        idempotency_token: "t".into(),
        timeout: MINUTE,
        progress: Arc::new(rehearsal::provider::NoProgress),
    };
    match rehearsal::engine::wait::until_ready(provider.as_ref(), &op, &service).await {
        Err(ProviderError::Stuck {
            state,
            events: shown,
            ..
        }) => {
            assert_eq!(state, "FAILED");
            assert_eq!(shown, events);
        }
        other => panic!("expected the wait to end on the failed rollout, got {other:?}"),
    }

    // A failed rollout is not a lost service: no replacement is planned for it, and the next
    // release's deployment brings it back.
    assert!(!plan_for(provider.as_ref(), &spec).await.has_changes());
    // The next release: version 3.2.0, given as `--var` over the project's file (3.1.0).
    let bumped = SpecFile::write("prerelease", &shipped_text("prerelease"))
        .load_with(&[("server_version", "3.2.0")]);
    let plan = plan_for(provider.as_ref(), &bumped).await;
    let service_action = plan
        .actions
        .iter()
        .find(|a| a.address == addr("ecs_service.server"))
        .unwrap();
    assert_eq!(service_action.action, ActionKind::Update);
    let summary = apply_plan(
        provider.clone(),
        plan,
        &bumped,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded(), "{summary:#?}");
    assert_eq!(live_one(&provider, "ecs_service.server").status, "ACTIVE");
}
