//! Apply, and plan again: updates in place, replacements, deletes and duplicates.

use super::*;

#[tokio::test]
async fn after_apply_the_same_spec_plans_no_changes() {
    let provider = production();
    let spec = shipped("prerelease");
    let summary = converge(provider.clone(), &spec).await;
    assert_eq!(summary.done.len(), 9);

    let again = plan_for(provider.as_ref(), &spec).await;
    assert!(!again.has_changes(), "{}", human(&again, PLAIN));
    assert_eq!(
        human(&again, PLAIN),
        format!(
            "Using server_version = 3.1.0 (from server/version/minor_version).\n\
             No changes. prerelease (eu-west-1) matches {}.\n\
             Then these checks must pass, each retried until its timeout:\n  \
             check.server_started: GET http://prerelease.example.com:8080/ping (within 900s)\n",
            spec.path.display()
        )
    );

    // What was created carries its owner, its address and its expiry, and the server was told
    // where the new database is.
    let server = live_one(&provider, "ec2_instance.server");
    assert_eq!(server.tags[tags::ENV], "prerelease");
    assert_eq!(server.tags[tags::LIFECYCLE], "ephemeral");
    assert!(server.tags.contains_key(tags::EXPIRES_AT));
    assert_eq!(server.tags["Name"], "prerelease-server");
    let user_data = server.attributes["user_data"].as_str().unwrap();
    assert!(
        user_data.contains("DATABASE_HOST=prerelease-db.fake.eu-west-1.rds.amazonaws.com"),
        "{user_data}"
    );
    assert!(user_data.contains("SERVER_VERSION=3.1.0"), "{user_data}");
    let service = live_one(&provider, "ecs_service.server");
    assert_eq!(service.attributes["cluster"], "prerelease");
    assert_eq!(
        service.attributes["task_definition"],
        "arn:aws:ecs:eu-west-1:000000000000:task-definition/prerelease-server:1"
    );
}

#[tokio::test]
async fn a_new_instance_type_is_an_in_place_update() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    let before = live_one(&provider, "ec2_instance.server");

    let edited = prerelease_edited(
        "instance_type = \"t3.medium\"",
        "instance_type = \"t3.large\"",
    );
    let spec = edited.load();
    let plan = plan_for(provider.as_ref(), &spec).await;
    assert_eq!(labels(&plan), ["~ ec2_instance.server"]);
    assert_eq!(
        rehearsal::plan::render::reason(&plan, &plan.actions[0]),
        "because instance_type changed t3.medium → t3.large"
    );
    let shown = human(&plan, PLAIN);
    assert!(
        shown.contains(&format!("  ~ ec2_instance.server ({})\n", before.id)),
        "{shown}"
    );
    assert!(
        shown.contains("        instance_type: t3.medium → t3.large\n"),
        "{shown}"
    );
    assert!(
        shown.contains("Plan: 0 to create, 1 to update, 0 to replace, 0 to delete."),
        "{shown}"
    );

    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert_eq!(summary.done, ["~ ec2_instance.server"]);
    let after = live_one(&provider, "ec2_instance.server");
    assert_eq!(after.id, before.id, "the same server, changed in place");
    assert_eq!(after.attributes["instance_type"], "t3.large");
    assert!(!plan_for(provider.as_ref(), &spec).await.has_changes());
}

#[tokio::test]
async fn new_user_data_replaces_the_server_new_one_first() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    let old = live_one(&provider, "ec2_instance.server");

    let edited = prerelease_edited(
        "systemctl restart openchs",
        "systemctl restart openchs nginx",
    );
    let spec = edited.load();
    let plan = plan_for(provider.as_ref(), &spec).await;
    // The name follows the new server's address.
    assert_eq!(
        labels(&plan),
        ["-/+ ec2_instance.server", "~ dns_record.server"]
    );
    assert_eq!(
        rehearsal::plan::render::reason(&plan, &plan.actions[0]),
        "because user_data changed on line 4: systemctl restart openchs → systemctl restart openchs nginx, \
         which forces a new ec2_instance"
    );
    assert!(human(&plan, PLAIN).contains("user_data: (4 lines) → (4 lines)  # forces replacement"));

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
    assert!(
        finished(&events, "+ ec2_instance.server") < started(&events, "- ec2_instance.server"),
        "an instance is replaced new one first: {events:#?}"
    );
    let new = live_one(&provider, "ec2_instance.server");
    assert_ne!(new.id, old.id);
    assert!(
        new.attributes["user_data"]
            .as_str()
            .unwrap()
            .contains("restart openchs nginx")
    );
    assert!(
        !provider.snapshot().resources.contains_key(&old.id),
        "the old server is gone"
    );
}

#[tokio::test]
async fn restoring_from_another_snapshot_replaces_the_database_and_what_uses_it() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    let old_db = live_one(&provider, "rds_instance.db");
    let old_server = live_one(&provider, "ec2_instance.server");

    // A second snapshot, and the database restored from it instead.
    let text = edit(
        &shipped_text("prerelease"),
        "snapshot = \"${rds_snapshot.from_prod.identifier}\"",
        "snapshot = \"${rds_snapshot.again.identifier}\"",
    );
    let text = text
        + "\n[resources.rds_snapshot.again]\nidentifier = \"prerelease-from-prod-2\"\n\
           source_db = \"${source.rds_instance.prod_db.identifier}\"\n";
    let edited = SpecFile::write("prerelease", &text);
    let spec = edited.load();
    let plan = plan_for(provider.as_ref(), &spec).await;

    assert_eq!(
        labels(&plan),
        [
            "+ rds_snapshot.again",
            "-/+ rds_instance.db",
            "-/+ ec2_instance.server",
            "+ ecs_task_definition.server",
            "~ ecs_service.server",
            "~ dns_record.server",
        ]
    );
    let reason = |a: &str| {
        let action = plan.actions.iter().find(|x| x.address == addr(a)).unwrap();
        rehearsal::plan::render::reason(&plan, action)
    };
    assert_eq!(
        reason("rds_instance.db"),
        "because snapshot changed prerelease-from-prod → prerelease-from-prod-2, which forces a new rds_instance"
    );
    assert_eq!(
        reason("ec2_instance.server"),
        "because user_data depends on rds_instance.db.endpoint (known only after apply), which forces a new ec2_instance"
    );
    assert_eq!(
        reason("ecs_service.server"),
        "because task_definition depends on ecs_task_definition.server.arn (known only after apply)"
    );

    // A database name is unique: the old one goes before the new one is restored.
    let graph = ExecutionGraph::build(&plan).unwrap();
    let waves = wave_labels(&graph);
    let wave_of = |label: &str| {
        waves
            .iter()
            .position(|w| w.iter().any(|l| l == label))
            .unwrap()
    };
    assert!(
        wave_of("- rds_instance.db") < wave_of("+ rds_instance.db"),
        "{waves:?}"
    );
    assert!(
        wave_of("+ rds_instance.db") < wave_of("+ ec2_instance.server"),
        "{waves:?}"
    );
    assert!(
        wave_of("+ ecs_task_definition.server") < wave_of("~ ecs_service.server"),
        "{waves:?}"
    );
    assert!(
        !waves
            .concat()
            .contains(&"- ecs_task_definition.server".to_string()),
        "the old revision is kept, to roll back to: {waves:?}"
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
    let new_db = live_one(&provider, "rds_instance.db");
    assert_eq!(new_db.id, old_db.id, "same identifier");
    assert_eq!(new_db.attributes["snapshot"], "prerelease-from-prod-2");
    assert_ne!(live_one(&provider, "ec2_instance.server").id, old_server.id);
    assert!(
        live_one(&provider, "ecs_service.server").attributes["task_definition"]
            .as_str()
            .unwrap()
            .ends_with("prerelease-server:2")
    );
    assert!(!plan_for(provider.as_ref(), &spec).await.has_changes());
}

#[tokio::test]
async fn a_resource_taken_out_of_the_spec_is_deleted() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    let service = live_one(&provider, "ecs_service.server");

    let text = shipped_text("prerelease");
    let cut = text.find("[resources.ecs_service.server]").unwrap();
    let edited = SpecFile::write("prerelease", &text[..cut]);
    let spec = edited.load();
    let plan = plan_for(provider.as_ref(), &spec).await;
    assert_eq!(labels(&plan), ["- ecs_service.server"]);
    assert_eq!(
        rehearsal::plan::render::reason(&plan, &plan.actions[0]),
        format!("because it is not in {}", edited.path.display())
    );
    assert!(human(&plan, PLAIN).contains(&format!("  - ecs_service.server ({})\n", service.id)));

    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert_eq!(summary.done, ["- ecs_service.server"]);
    assert!(!provider.snapshot().resources.contains_key(&service.id));
    assert!(!plan_for(provider.as_ref(), &spec).await.has_changes());
}

#[tokio::test]
async fn a_duplicate_left_by_an_interrupted_apply_is_deleted() {
    let provider = production();
    let spec = shipped("prerelease");
    converge(provider.clone(), &spec).await;
    let server = live_one(&provider, "ec2_instance.server");
    provider.insert_resource(duplicate_of(&server));

    let plan = plan_for(provider.as_ref(), &spec).await;
    assert_eq!(labels(&plan), ["- ec2_instance.server"]);
    assert_eq!(
        rehearsal::plan::render::reason(&plan, &plan.actions[0]),
        format!(
            "because it duplicates ec2_instance.server ({}), left by an interrupted apply",
            server.id
        )
    );
    assert_eq!(
        plan.actions[0].live.as_ref().unwrap().id,
        "i-0ffffffffffffffff"
    );

    apply_plan(
        provider.clone(),
        plan,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert_eq!(
        live_one(&provider, "ec2_instance.server").id,
        server.id,
        "the original stays"
    );
}

#[tokio::test]
async fn an_update_next_to_a_duplicate_changes_the_server_that_stays() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    let server = live_one(&provider, "ec2_instance.server");
    provider.insert_resource(duplicate_of(&server));

    let edited = prerelease_edited(
        "instance_type = \"t3.medium\"",
        "instance_type = \"t3.large\"",
    );
    let spec = edited.load();
    let plan = plan_for(provider.as_ref(), &spec).await;
    assert_eq!(
        labels(&plan),
        ["~ ec2_instance.server", "- ec2_instance.server"]
    );
    assert_eq!(plan.actions[0].live.as_ref().unwrap().id, server.id);

    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded(), "{summary:#?}");
    let after = live_one(&provider, "ec2_instance.server");
    assert_eq!(after.id, server.id);
    assert_eq!(
        after.attributes["instance_type"], "t3.large",
        "the update went to the server that stays"
    );
    assert!(!plan_for(provider.as_ref(), &spec).await.has_changes());
}

/// The clone launches from production's image and subnet, into the environment's own security
/// group, and the plan says so. When production's server moves to a new image, the next plan replaces the clone and
/// says why.
#[tokio::test]
async fn the_clone_follows_production_servers_image_and_says_so() {
    let provider = Arc::new(FakeProvider::with_production(REGION));
    let spec = shipped("prerelease");
    let plan = plan_for(provider.as_ref(), &spec).await;
    let server = plan
        .actions
        .iter()
        .find(|a| a.address == addr("ec2_instance.server"))
        .unwrap();
    let desired = server.desired.as_ref().unwrap();
    assert_eq!(desired["image"], json!("ami-04681a1dbd79675a5"));
    assert_eq!(desired["subnet"], json!("subnet-0prod0001"));
    // Known once the environment's group exists.
    assert_eq!(
        desired["security_groups"],
        json!(["${security_group.server.id}"])
    );
    converge(provider.clone(), &spec).await;

    let mut cloud = provider.snapshot();
    let production_server = cloud
        .sources
        .iter_mut()
        .find(|s| s.key == "i-0a1b2c3d4e5f60001")
        .unwrap();
    production_server.attributes["image"] = json!("ami-0newer000000001");
    let moved_on = FakeProvider::with_cloud(cloud);
    let plan = plan_for(&moved_on, &spec).await;
    assert_eq!(labels(&plan)[0], "-/+ ec2_instance.server");
    assert!(
        rehearsal::plan::render::reason(&plan, &plan.actions[0])
            .starts_with("because image changed ami-04681a1dbd79675a5 → ami-0newer000000001"),
        "{}",
        rehearsal::plan::render::reason(&plan, &plan.actions[0])
    );
}

/// The release-day safety net: "Create a DB snapshot in AWS RDS (just to be safe)", one per
/// release. The next release's snapshot is made beside the last one, which is never deleted.
#[tokio::test]
async fn each_release_gets_its_own_kept_snapshot_and_the_last_one_stays() {
    let provider = Arc::new(FakeProvider::with_production(REGION));
    let production = |release: &str| {
        let inputs = rehearsal::spec::VariableInputs {
            cli: vec![("release".into(), release.into())],
            env: Default::default(),
            ..Default::default()
        };
        rehearsal::spec::load(
            &crate::support::environments_dir().join("production.toml"),
            &inputs,
        )
        .unwrap()
    };
    converge(provider.clone(), &production("r41")).await;

    let plan = plan_for(provider.as_ref(), &production("r42")).await;
    assert_eq!(labels(&plan), ["+ rds_snapshot.before_release"]);
    assert_eq!(
        rehearsal::plan::render::reason(&plan, &plan.actions[0]),
        "because it does not exist yet (the kept production-before-r41 stays as it is)"
    );
    converge(provider.clone(), &production("r42")).await;

    let snapshots: Vec<String> = provider
        .snapshot()
        .resources
        .values()
        .filter(|r| r.kind == ResourceKind::RdsSnapshot)
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(
        snapshots,
        ["production-before-r41", "production-before-r42"]
    );
    assert!(
        !plan_for(provider.as_ref(), &production("r42"))
            .await
            .has_changes()
    );
}
