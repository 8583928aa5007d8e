//! Plans the world moved away from: stale, already applied, or made before production moved.

use super::*;

#[tokio::test]
async fn a_plan_is_stale_when_someone_else_applied_first() {
    let provider = production();
    let edited = SpecFile::write("prerelease", &shipped_text("prerelease"));
    let ours = plan_for(provider.as_ref(), &edited.load()).await;

    // Meanwhile a colleague applies a newer server version.
    converge(
        provider.clone(),
        &edited.load_with(&[("server_version", "3.2.0")]),
    )
    .await;

    let err = workflow::recheck(provider.as_ref(), &ours, Some(&edited.load()))
        .await
        .unwrap_err();
    let RecheckError::Stale { changes } = &err else {
        panic!("expected stale, got {err}")
    };
    assert_eq!(
        changes.len(),
        10,
        "nine resources and the server's volume: {changes:#?}"
    );
    assert!(
        changes
            .iter()
            .all(|c| c.starts_with("resource ") && c.ends_with(" appeared")),
        "{changes:#?}"
    );
    let server = live_one(&provider, "ec2_instance.server");
    assert!(
        changes.contains(&format!(
            "resource ec2_instance.server {} appeared",
            server.id
        )),
        "{changes:#?}"
    );
    assert!(
        err.to_string()
            .starts_with("the plan is stale: live state changed since it was made:\n  resource ")
    );
    assert!(err.hint().unwrap().contains("make a fresh plan"));
}

#[tokio::test]
async fn a_plan_is_stale_when_what_it_would_change_was_changed() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    let edited = prerelease_edited(
        "instance_type = \"t3.medium\"",
        "instance_type = \"t3.large\"",
    );
    let spec = edited.load();
    let ours = plan_for(provider.as_ref(), &spec).await;

    // Someone resizes the server by hand in the console.
    let mut server = live_one(&provider, "ec2_instance.server");
    server
        .attributes
        .insert("instance_type".into(), json!("t3.xlarge"));
    provider.insert_resource(server.clone());

    let err = workflow::recheck(provider.as_ref(), &ours, Some(&spec))
        .await
        .unwrap_err();
    let RecheckError::Stale { changes } = err else {
        panic!("expected stale, got {err}")
    };
    assert_eq!(
        changes,
        [format!(
            "resource ec2_instance.server {} changed",
            server.id
        )]
    );
}

#[tokio::test]
async fn a_plan_made_before_a_crashed_run_left_a_duplicate_is_stale() {
    let provider = production();
    let spec = shipped("prerelease");
    converge(provider.clone(), &spec).await;
    let edited = prerelease_edited("desired_count = 1", "desired_count = 2");
    let ours = plan_for(provider.as_ref(), &edited.load()).await;
    assert_eq!(labels(&ours), ["~ ecs_service.server"]);

    provider.insert_resource(duplicate_of(&live_one(&provider, "ec2_instance.server")));
    let err = workflow::recheck(provider.as_ref(), &ours, Some(&edited.load()))
        .await
        .unwrap_err();
    let RecheckError::Stale { changes } = err else {
        panic!("expected stale, got {err}")
    };
    assert_eq!(
        changes,
        ["resource ec2_instance.server i-0ffffffffffffffff appeared"]
    );
}

#[tokio::test]
async fn a_plan_is_not_stale_when_only_lifecycle_words_changed() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    let edited = prerelease_edited("desired_count = 1", "desired_count = 2");
    let ours = plan_for(provider.as_ref(), &edited.load()).await;

    // The database goes through its nightly backup: a state word, not a change.
    let mut db = live_one(&provider, "rds_instance.db");
    db.status = "backing-up".into();
    db.attributes.insert("status".into(), json!("backing-up"));
    provider.insert_resource(db);
    assert!(
        workflow::recheck(provider.as_ref(), &ours, Some(&edited.load()))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_plan_is_not_stale_when_only_the_times_aws_reports_moved() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    let edited = prerelease_edited("desired_count = 1", "desired_count = 2");
    let ours = plan_for(provider.as_ref(), &edited.load()).await;

    // ECS moves a deployment's time while it rolls out; a stop and start moves an instance's
    // launch time. What `status` shows, not what a plan was made from.
    let mut service = live_one(&provider, "ecs_service.server");
    service
        .attributes
        .insert("deployed_at".into(), json!("2030-01-01T00:00:00Z"));
    provider.insert_resource(service);
    let mut server = live_one(&provider, "ec2_instance.server");
    server
        .attributes
        .insert("created_at".into(), json!("2030-01-01T00:00:00Z"));
    provider.insert_resource(server);
    assert!(
        workflow::recheck(provider.as_ref(), &ours, Some(&edited.load()))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_plan_applied_twice_is_refused_the_second_time() {
    let provider = production();
    let spec = shipped("prerelease");
    let once = plan_for(provider.as_ref(), &spec).await;
    let summary = apply_plan(
        provider.clone(),
        once.clone(),
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded());
    let creates = provider.calls(FakeOp::Create);

    let err = workflow::recheck(provider.as_ref(), &once, Some(&spec))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RecheckError::AlreadyApplied { env } if env == "prerelease"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "this plan was already applied: prerelease already matches it"
    );
    assert_eq!(
        err.hint().unwrap(),
        "nothing to do; `rehearsal plan prerelease` shows the current state"
    );
    assert_eq!(
        provider.calls(FakeOp::Create),
        creates,
        "nothing was created twice"
    );

    // Without the spec to re-plan it can only say the world moved.
    let err = workflow::recheck(provider.as_ref(), &once, None)
        .await
        .unwrap_err();
    assert!(matches!(err, RecheckError::Stale { .. }), "{err}");
}

#[tokio::test]
async fn a_plan_made_before_production_moved_is_stale() {
    let provider = production();
    let spec = shipped("prerelease");
    let ours = plan_for(provider.as_ref(), &spec).await;

    // Production's database moves to another subnet group before the plan is applied.
    let mut cloud = provider.snapshot();
    let prod_db = cloud
        .sources
        .iter_mut()
        .find(|s| s.key == "production-db")
        .unwrap();
    prod_db
        .attributes
        .insert("subnet_group".into(), json!("production-db-subnets-v2"));
    let moved = FakeProvider::with_cloud(cloud);

    let err = workflow::recheck(&moved, &ours, Some(&spec))
        .await
        .unwrap_err();
    let RecheckError::Stale { changes } = err else {
        panic!("expected stale, got {err}")
    };
    assert_eq!(changes, ["source source.rds_instance.prod_db changed"]);
}

#[tokio::test]
async fn a_snapshot_plan_carried_out_twice_is_refused_as_already_applied() {
    let provider = production();
    let spec = shipped("production");
    let now = time::OffsetDateTime::now_utc();
    let (plan, live) = rehearsal::engine::snapshot::plan(provider.as_ref(), &spec, None, now)
        .await
        .unwrap();
    let graph = ExecutionGraph::build(&plan).unwrap();
    let summary = rehearsal::apply::execute(
        plan.clone(),
        &graph,
        live,
        provider.clone(),
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded(), "{summary:#?}");
    let creates = provider.calls(FakeOp::Create);

    // The snapshot it takes exists: that is where the plan leads.
    let err = workflow::recheck(provider.as_ref(), &plan, Some(&spec))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RecheckError::AlreadyApplied { env } if env == "production"),
        "{err}"
    );
    assert_eq!(
        provider.calls(FakeOp::Create),
        creates,
        "nothing taken twice"
    );

    // A snapshot RDS failed to take is not where the plan leads: the world moved, stale.
    let taken = plan.actions[0].desired.as_ref().unwrap()["identifier"]
        .as_str()
        .unwrap()
        .to_string();
    provider.force_state(&taken, "failed");
    let err = workflow::recheck(provider.as_ref(), &plan, Some(&spec))
        .await
        .unwrap_err();
    assert!(matches!(err, RecheckError::Stale { .. }), "{err}");
}
