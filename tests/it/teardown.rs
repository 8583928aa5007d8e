//! "Terminate EC2 and delete prerelease db from RDS. Be careful." Teardown finds what an
//! environment owns by its tags alone, deletes it in passes, and proves it gone, while leaving
//! production, other environments and kept snapshots alone.

use std::sync::Arc;
use std::time::Duration;

use rehearsal::apply::events::{Event, Recorder, Silent};
use rehearsal::apply::teardown::TeardownOptions;
use rehearsal::apply::{ApplyOptions, StepError, delete_policy};
use rehearsal::engine::destroy::{self, DestroyError, DestroyOptions, DestroyReport};
use rehearsal::model::{EnvId, LiveResource, ResourceKind, tags};
use rehearsal::plan::ActionKind;
use rehearsal::provider::fake::{BlockDevice, FakeCloud, FakeOp, FakeProvider, FakeResource};
use rehearsal::provider::{Provider, ProviderError};
use serde_json::{Value, json};

use crate::support::{
    REGION, SpecFile, addr, apply_plan, converge, env_id, owned_tags, plan_for, prerelease_edited,
    shipped,
};

fn production() -> Arc<FakeProvider> {
    Arc::new(FakeProvider::with_production(REGION))
}

fn prerelease() -> EnvId {
    env_id("prerelease")
}

/// Short pauses, for tests on tokio's paused clock.
fn quick() -> DestroyOptions {
    DestroyOptions {
        run: TeardownOptions {
            pause: Duration::from_secs(1),
            max_pause: Duration::from_secs(4),
            ..Default::default()
        },
        ..Default::default()
    }
}

async fn destroy(
    provider: &Arc<FakeProvider>,
    env: &EnvId,
    options: &DestroyOptions,
) -> Result<DestroyReport, DestroyError> {
    destroy::destroy(provider.clone(), env, Arc::new(Silent), options).await
}

async fn owned(provider: &FakeProvider, env: &EnvId) -> Vec<LiveResource> {
    provider
        .observe(env, &Default::default())
        .await
        .expect("observe")
}

/// Everything in the cloud that the pre-release teardown must not touch, as JSON.
fn not_prerelease(cloud: &FakeCloud) -> Value {
    let others: Vec<&FakeResource> = cloud
        .resources
        .values()
        .filter(|r| r.tags.get(tags::ENV).map(String::as_str) != Some("prerelease"))
        .collect();
    json!({ "sources": cloud.sources, "resources": others })
}

/// A resource rehearsal made for `env` (of the shipped specs' project), as AWS would list it:
/// its anchor (identifier, name, family or launch token) is its id.
fn tagged(env: &str, address: &str, id: &str, kind: ResourceKind, status: &str) -> FakeResource {
    let mut tags = owned_tags(&env_id(env), address, id);
    tags.insert(tags::LIFECYCLE.to_string(), "ephemeral".to_string());
    let anchor = json!(id);
    FakeResource {
        region: REGION.into(),
        kind,
        id: id.into(),
        status: status.into(),
        attributes: ["identifier", "name", "family", "client_token"]
            .into_iter()
            .map(|a| (a.to_string(), anchor.clone()))
            .collect(),
        tags,
        transition: None,
        visible_from_ms: None,
    }
}

#[tokio::test]
async fn after_apply_destroy_leaves_nothing_and_proves_it() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    assert_eq!(
        owned(&provider, &prerelease()).await.len(),
        10,
        "nine resources and the server's volume"
    );

    let recorder = Arc::new(Recorder::default());
    let report = destroy::destroy(
        provider.clone(),
        &prerelease(),
        recorder.clone(),
        &DestroyOptions::default(),
    )
    .await
    .unwrap();

    assert!(report.leftovers.is_empty(), "{report:#?}");
    assert!(report.kept.is_empty());
    assert_eq!(report.passes, 1);
    assert_eq!(report.deleted.len(), 10);
    assert!(
        report
            .deleted
            .iter()
            .any(|d| d.starts_with("- rds_instance.db (prerelease-db)")),
        "{:?}",
        report.deleted
    );
    assert!(
        owned(&provider, &prerelease()).await.is_empty(),
        "a final listing finds nothing"
    );

    let events = recorder.0.lock().unwrap().clone();
    assert_eq!(
        events[0],
        Event::Pass {
            number: 1,
            remaining: 10
        }
    );
    let position = |prefix: &str, finished: bool| {
        events
            .iter()
            .position(|e| match e {
                Event::Started { step } if !finished => step.starts_with(prefix),
                Event::Finished { step, .. } if finished => step.starts_with(prefix),
                _ => false,
            })
            .unwrap_or_else(|| panic!("no event for {prefix}"))
    };
    assert!(position("- ecs_service.server", true) < position("- ecs_cluster.main", false));
    // Security groups once what has network interfaces in them is gone.
    for user in [
        "- ec2_instance.server",
        "- rds_instance.db",
        "- ecs_service.server",
    ] {
        for group in ["- security_group.server", "- security_group.db"] {
            assert!(
                position(user, true) < position(group, false),
                "{user} before {group}"
            );
        }
    }
    assert!(
        position("- ecs_service.server", true) < position("- ecs_task_definition.server", false)
    );
    assert!(position("- rds_instance.db", true) < position("- rds_snapshot.from_prod", false));
}

#[tokio::test]
async fn a_second_destroy_has_nothing_to_do() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    destroy(&provider, &prerelease(), &DestroyOptions::default())
        .await
        .unwrap();
    let deletes = provider.calls(FakeOp::Delete);

    let again = destroy(&provider, &prerelease(), &DestroyOptions::default())
        .await
        .unwrap();
    assert_eq!(
        again,
        DestroyReport::default(),
        "no passes, nothing deleted, nothing left"
    );
    assert_eq!(provider.calls(FakeOp::Delete), deletes);
}

#[tokio::test]
async fn a_snapshot_marked_keep_after_destroy_is_kept_and_listed() {
    let provider = production();
    let edited = prerelease_edited("keep_after_destroy = false", "keep_after_destroy = true");
    converge(provider.clone(), &edited.load()).await;

    let report = destroy(&provider, &prerelease(), &DestroyOptions::default())
        .await
        .unwrap();
    assert!(report.leftovers.is_empty(), "{report:#?}");
    assert_eq!(report.deleted.len(), 9);
    let kept: Vec<(String, String)> = report
        .kept
        .iter()
        .map(|r| (r.address.to_string(), r.id.clone()))
        .collect();
    assert_eq!(
        kept,
        [(
            "rds_snapshot.from_prod".to_string(),
            "prerelease-from-prod".to_string()
        )]
    );

    let left = owned(&provider, &prerelease()).await;
    assert_eq!(left.len(), 1);
    assert!(left[0].keep_after_destroy());
    assert_eq!(left[0].status, "available");

    // Destroying again still lists it, and still keeps it.
    let again = destroy(&provider, &prerelease(), &DestroyOptions::default())
        .await
        .unwrap();
    assert_eq!(again.kept.len(), 1);
    assert!(again.deleted.is_empty() && again.leftovers.is_empty());
}

#[tokio::test]
async fn a_protected_environment_is_refused_and_left_alone() {
    let provider = production();
    converge(provider.clone(), &shipped("production")).await;
    let before = provider.snapshot();
    let env = env_id("production");

    let err = destroy(&provider, &env, &DestroyOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DestroyError::Protected { env } if env == "production"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "environment production is protected: rehearsal never destroys it"
    );
    assert!(matches!(
        destroy::dry_run(provider.as_ref(), &env, &Default::default()).await,
        Err(DestroyError::Protected { .. })
    ));

    assert_eq!(
        serde_json::to_value(provider.snapshot()).unwrap(),
        serde_json::to_value(before).unwrap()
    );
    assert_eq!(provider.calls(FakeOp::Delete), 0);
}

#[tokio::test]
async fn production_and_other_environments_are_untouched() {
    let provider = production();
    converge(provider.clone(), &shipped("staging")).await;
    converge(provider.clone(), &shipped("prerelease")).await;
    // Look-alikes: a clone whose tag differs by a suffix, and a database someone made by hand
    // with a pre-release name but no tags.
    provider.insert_resource(tagged(
        "prerelease-old",
        "ecs_cluster.main",
        "arn:old",
        ResourceKind::EcsCluster,
        "ACTIVE",
    ));
    let mut by_hand = tagged(
        "x",
        "rds_instance.db",
        "prerelease-db-manual",
        ResourceKind::RdsInstance,
        "available",
    );
    by_hand.tags.clear();
    provider.insert_resource(by_hand);
    let before = not_prerelease(&provider.snapshot());
    assert_eq!(
        before["resources"].as_array().unwrap().len(),
        5,
        "3 staging, 2 look-alikes"
    );

    let report = destroy(&provider, &prerelease(), &DestroyOptions::default())
        .await
        .unwrap();
    assert!(report.leftovers.is_empty());
    assert_eq!(report.deleted.len(), 10);
    assert_eq!(
        not_prerelease(&provider.snapshot()),
        before,
        "nothing but pre-release was touched"
    );
}

#[tokio::test(start_paused = true)]
async fn a_resource_still_in_use_is_retried_in_a_later_pass() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    // The first delete call (the ECS service, which goes first) is refused: still draining.
    provider.fail_nth_call(
        FakeOp::Delete,
        1,
        ProviderError::DependencyViolation {
            what: "ecs_service server".into(),
            message: "tasks are still draining".into(),
        },
    );

    let recorder = Arc::new(Recorder::default());
    let started = tokio::time::Instant::now();
    let report = destroy::destroy(
        provider.clone(),
        &prerelease(),
        recorder.clone(),
        &DestroyOptions::default(),
    )
    .await
    .unwrap();
    assert!(report.leftovers.is_empty(), "{report:#?}");
    assert_eq!(report.passes, 2);
    // The retry came after a pause, not straight away.
    assert!(started.elapsed() >= TeardownOptions::default().pause);
    assert_eq!(report.deleted.len(), 10);
    assert!(owned(&provider, &prerelease()).await.is_empty());

    let events = recorder.0.lock().unwrap().clone();
    let passes: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e, Event::Pass { .. }))
        .collect();
    // Pass 1 deletes what does not wait for the service; pass 2 the service and what waited
    // (the cluster, the task definition, and the security groups its tasks could use).
    assert_eq!(
        passes,
        [
            &Event::Pass {
                number: 1,
                remaining: 10
            },
            &Event::Pass {
                number: 2,
                remaining: 5
            }
        ]
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Failed { step, error }
        if step.starts_with("- ecs_service.server") && error.to_string().contains("tasks are still draining")))
    );
}

#[tokio::test(start_paused = true)]
async fn a_database_still_creating_is_deleted_once_it_is_ready() {
    let provider = production();
    let creating = tagged(
        "prerelease",
        "rds_instance.db",
        "prerelease-db",
        ResourceKind::RdsInstance,
        "creating",
    );
    provider.insert_resource(creating.clone());
    // AWS finishes restoring it 15 seconds into the teardown.
    let aws = provider.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(15)).await;
        aws.insert_resource(FakeResource {
            status: "available".into(),
            ..creating
        });
    });

    let mut options = quick();
    options.run.pause = Duration::from_secs(10);
    options.run.stalled_passes = 5;
    options.run.max_pause = Duration::from_secs(60);
    let started = tokio::time::Instant::now();
    let report = destroy(&provider, &prerelease(), &options).await.unwrap();
    assert!(report.leftovers.is_empty(), "{report:#?}");
    assert_eq!(report.deleted, ["- rds_instance.db (prerelease-db)"]);
    assert_eq!(report.passes, 1, "waiting is not a failed pass");
    assert!(started.elapsed() >= Duration::from_secs(15));
    assert!(owned(&provider, &prerelease()).await.is_empty());
}

/// The likeliest moment for a destroy: right after an apply that was interrupted while AWS
/// restores the database (ten minutes, by AWS's lifecycle table). Destroy waits for the restore
/// to finish, deletes the database and its snapshot, and proves nothing is left.
#[tokio::test(start_paused = true)]
async fn destroy_right_after_an_interrupted_apply_waits_for_the_restore() {
    let provider = Arc::new(
        FakeProvider::with_production(REGION)
            .with_latency(rehearsal::provider::fake::Latency::aws()),
    );
    let spec = shipped("prerelease");
    let plan = plan_for(provider.as_ref(), &spec).await;
    // The apply is killed ten seconds in (its future dropped): the snapshot is still being taken.
    let apply = apply_plan(
        provider.clone(),
        plan,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    );
    let killed = tokio::time::timeout(Duration::from_secs(10), apply).await;
    assert!(killed.is_err(), "the apply was still running");
    let left = owned(&provider, &prerelease()).await;
    assert!(
        left.iter().any(|r| r.status == "creating"),
        "something is still being created: {left:#?}"
    );

    let started = tokio::time::Instant::now();
    let report = destroy(&provider, &prerelease(), &quick()).await.unwrap();
    assert!(report.leftovers.is_empty(), "{report:#?}");
    assert!(owned(&provider, &prerelease()).await.is_empty());
    assert!(
        started.elapsed() < Duration::from_secs(15 * 60),
        "about the snapshot's five minutes and a deletion, not the hour's timeout: {:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn a_delete_that_keeps_failing_is_reported_with_its_id_state_and_error() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    provider.fail_address(
        FakeOp::Delete,
        addr("ecs_cluster.main"),
        ProviderError::DependencyViolation {
            what: "ecs_cluster prerelease".into(),
            message: "The Cluster cannot be deleted while Container Instances are active".into(),
        },
    );

    let started = tokio::time::Instant::now();
    let report = destroy(&provider, &prerelease(), &quick()).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "gave up after a few short pauses"
    );

    assert_eq!(report.deleted.len(), 9, "everything else went");
    assert_eq!(report.leftovers.len(), 1);
    let left = &report.leftovers[0];
    assert_eq!(left.resource.address, addr("ecs_cluster.main"));
    assert_eq!(
        left.resource.id,
        "arn:aws:ecs:eu-west-1:000000000000:cluster/prerelease"
    );
    assert_eq!(left.resource.status, "ACTIVE");
    let error = left.last_error.as_ref().expect("the last error");
    assert_eq!(
        error.to_string(),
        "ecs_cluster prerelease is still in use: The Cluster cannot be deleted while Container \
         Instances are active"
    );
    assert_eq!(
        error.hint().as_deref(),
        Some("something outside this environment may still use it")
    );
    assert_eq!(
        report.passes,
        1 + quick().run.stalled_passes,
        "one pass, then the stalled ones"
    );
    assert_eq!(owned(&provider, &prerelease()).await.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_database_that_never_finishes_creating_is_a_leftover_that_says_so() {
    let provider = production();
    provider.insert_resource(tagged(
        "prerelease",
        "rds_instance.db",
        "prerelease-db",
        ResourceKind::RdsInstance,
        "creating",
    ));
    let mut options = quick();
    options.run.timeout = Duration::from_secs(45 * 60);
    let started = tokio::time::Instant::now();
    let report = destroy(&provider, &prerelease(), &options).await.unwrap();
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(45 * 60),
        "waited it out"
    );
    assert_eq!(report.leftovers.len(), 1);
    assert_eq!(report.leftovers[0].resource.status, "creating");
    assert_eq!(
        report.leftovers[0].last_error,
        Some(StepError::Provider(ProviderError::Timeout {
            what: "rds_instance.db (prerelease-db)".into(),
            target: "deletable".into(),
            after: Duration::from_secs(45 * 60),
            last_state: Some("it is still creating".into()),
        }))
    );
}

#[tokio::test]
async fn deletion_protection_is_switched_off_only_outside_protected_environments() {
    // An ephemeral environment's database with deletion protection on: teardown switches it off.
    let provider = production();
    let edited = prerelease_edited("deletion_protection = false", "deletion_protection = true");
    converge(provider.clone(), &edited.load()).await;
    let report = destroy(&provider, &prerelease(), &DestroyOptions::default())
        .await
        .unwrap();
    assert!(report.leftovers.is_empty(), "{report:#?}");

    // A protected environment's database: even a plan that deletes it leaves protection on.
    let guarded = |with_db: bool| {
        let mut text = String::from(
            "[environment]\nproject = \"openchs\"\nname = \"guarded\"\nregion = \"eu-west-1\"\nlifecycle = \"protected\"\n\n\
             [sources.rds_instance.prod_db]\nidentifier = \"production-db\"\n\n\
             [resources.rds_snapshot.base]\nsource_db = \"${source.rds_instance.prod_db.identifier}\"\n",
        );
        if with_db {
            text.push_str(
                "\n[resources.rds_instance.db]\nsnapshot = \"${rds_snapshot.base.identifier}\"\n\
                 instance_class = \"db.t3.medium\"\ndeletion_protection = true\n",
            );
        }
        SpecFile::write("guarded", &text)
    };
    let with_db = guarded(true);
    converge(provider.clone(), &with_db.load()).await;
    let without_db = guarded(false);
    let spec = without_db.load();
    let plan = plan_for(provider.as_ref(), &spec).await;
    assert_eq!(plan.actions.len(), 1);
    assert_eq!(plan.actions[0].action, ActionKind::Delete);
    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert_eq!(summary.failed.len(), 1, "{summary:#?}");
    assert!(
        summary.failed[0]
            .1
            .to_string()
            .contains("Cannot delete protected DB Instance"),
        "{summary:#?}"
    );
    let db = provider.snapshot().resources["guarded-db"].clone();
    assert_eq!(
        db.attributes["deletion_protection"], true,
        "protection is still on"
    );

    let env = env_id("guarded");
    assert!(matches!(
        destroy(&provider, &env, &DestroyOptions::default()).await,
        Err(DestroyError::Protected { .. })
    ));

    // The policy itself.
    let live = provider
        .observe(&env, &Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.address == addr("rds_instance.db"))
        .unwrap();
    assert!(!delete_policy(&live, None, true).disable_deletion_protection);
    assert!(delete_policy(&live, None, false).disable_deletion_protection);
}

#[tokio::test]
async fn a_final_snapshot_is_taken_when_asked_and_outlives_the_environment() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    let now = time::macros::datetime!(2026-11-22 10:15:00 UTC);
    let options = DestroyOptions {
        final_snapshot: [(crate::support::addr("rds_instance.db"), true)]
            .into_iter()
            .collect(),
        run: TeardownOptions {
            now,
            ..Default::default()
        },
        ..Default::default()
    };
    let report = destroy(&provider, &prerelease(), &options).await.unwrap();
    assert!(report.leftovers.is_empty(), "{report:#?}");

    let cloud = provider.snapshot();
    let final_snapshot = &cloud.resources["prerelease-db-final-20261122t101500"];
    assert_eq!(final_snapshot.kind, ResourceKind::RdsSnapshot);
    assert_eq!(
        final_snapshot.tags["rehearsal:final-snapshot-of"],
        "prerelease-db"
    );
    // A full copy of production's data does not go out of sight: the environment's own (with
    // an identity of its own), kept by every teardown, with an expiry.
    assert_eq!(final_snapshot.tags[tags::ENV], "prerelease");
    assert_eq!(final_snapshot.tags[tags::KEEP], "true");
    assert_eq!(
        final_snapshot.tags[tags::EXPIRES_AT],
        "2026-12-22T10:15:00Z",
        "thirty days"
    );
    let listed = provider
        .observe(&prerelease(), &Default::default())
        .await
        .unwrap();
    let seen = listed
        .iter()
        .find(|r| r.id == "prerelease-db-final-20261122t101500")
        .expect("observe finds the final snapshot as the environment's");
    assert_eq!(seen.address, addr("rds_snapshot.db_final"));
    assert!(rehearsal::engine::ownership::belongs_to(
        seen,
        &prerelease()
    ));
    // A second destroy keeps it, and says so.
    let again = destroy(&provider, &prerelease(), &options).await.unwrap();
    assert!(again.leftovers.is_empty(), "{again:#?}");
    assert!(
        again
            .kept
            .iter()
            .any(|r| r.id == "prerelease-db-final-20261122t101500"),
        "{again:#?}"
    );
    assert!(
        provider
            .snapshot()
            .resources
            .contains_key("prerelease-db-final-20261122t101500")
    );
}

/// Destroy is a plan: which final snapshot each delete takes is decided when the plan is made,
/// from the spec, recorded in the delete, shown, and taken as recorded, however later the plan
/// is carried out and whatever the database itself recorded at creation.
#[tokio::test]
async fn a_destroy_plan_decides_each_final_snapshot_and_the_executor_takes_it_from_the_plan() {
    let provider = production();
    // Created without a final snapshot asked for; the spec asks for one now.
    converge(provider.clone(), &shipped("prerelease")).await;
    let spec = prerelease_edited("final_snapshot = false", "final_snapshot = true").load();
    let planned_at = time::macros::datetime!(2026-11-22 10:15:00 UTC);
    let options = DestroyOptions {
        run: TeardownOptions {
            now: planned_at,
            ..Default::default()
        },
        ..Default::default()
    };
    let plan = destroy::plan(provider.as_ref(), &prerelease(), Some(&spec), &options)
        .await
        .unwrap();
    assert!(plan.is_destroy());
    assert!(plan.actions.iter().all(|a| a.action == ActionKind::Delete));
    let db = plan
        .actions
        .iter()
        .find(|a| a.address == addr("rds_instance.db"))
        .unwrap();
    let decided = db.final_snapshot.as_ref().expect("the spec asks for one");
    assert_eq!(decided.identifier, "prerelease-db-final-20261122t101500");
    assert!(
        plan.actions
            .iter()
            .filter(|a| a.address != addr("rds_instance.db"))
            .all(|a| a.final_snapshot.is_none()),
        "only a kind that takes final snapshots takes one"
    );
    let shown =
        rehearsal::plan::render::human(&plan, rehearsal::plan::render::Style { color: false });
    assert!(
        shown.starts_with("Destroy plan for prerelease (eu-west-1):"),
        "{shown}"
    );
    assert!(
        shown.contains(
            "final snapshot first: prerelease-db-final-20261122t101500, kept until \
             2026-12-22T10:15:00Z"
        ),
        "{shown}"
    );

    // Carried out a day later: the snapshot is the one the plan named.
    let run = rehearsal::apply::teardown::TeardownOptions {
        now: planned_at + time::Duration::days(1),
        ..Default::default()
    };
    let report =
        rehearsal::apply::teardown::teardown(&plan, provider.clone(), Arc::new(Silent), &run)
            .await
            .unwrap();
    assert!(report.leftovers.is_empty(), "{report:#?}");
    let cloud = provider.snapshot();
    let taken: Vec<&String> = cloud
        .resources
        .keys()
        .filter(|id| id.contains("-final-"))
        .collect();
    assert_eq!(taken, ["prerelease-db-final-20261122t101500"]);
    assert_eq!(
        cloud.resources["prerelease-db-final-20261122t101500"].tags, decided.tags,
        "tagged as the plan said"
    );
}

/// Not only a destroy: any plan that deletes a database decides its final snapshot when it is
/// made, shows it under the delete, and the apply takes the one it named.
#[tokio::test]
async fn a_replaced_database_takes_the_final_snapshot_its_plan_named() {
    use crate::support::{edit, shipped_text};
    let provider = production();
    let keeps = edit(
        &shipped_text("prerelease"),
        "final_snapshot = false",
        "final_snapshot = true",
    );
    converge(
        provider.clone(),
        &SpecFile::write("prerelease", &keeps).load(),
    )
    .await;
    let renamed = SpecFile::write(
        "prerelease",
        &edit(
            &keeps,
            "identifier = \"prerelease-db\"",
            "identifier = \"prerelease-db2\"",
        ),
    )
    .load();
    let plan = plan_for(provider.as_ref(), &renamed).await;
    let db = plan
        .actions
        .iter()
        .find(|a| a.address == addr("rds_instance.db"))
        .unwrap();
    assert_eq!(db.action, ActionKind::Replace);
    let named = db
        .final_snapshot
        .as_ref()
        .expect("asked at creation")
        .identifier
        .clone();
    assert!(named.starts_with("prerelease-db-final-"), "{named}");
    let shown =
        rehearsal::plan::render::human(&plan, rehearsal::plan::render::Style { color: false });
    assert!(
        shown.contains(&format!("final snapshot first: {named}, kept until")),
        "{shown}"
    );

    let summary = apply_plan(
        provider.clone(),
        plan,
        &renamed,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded(), "{summary:#?}");
    let cloud = provider.snapshot();
    let taken: Vec<&String> = cloud
        .resources
        .keys()
        .filter(|id| id.contains("-final-"))
        .collect();
    assert_eq!(taken, [&named]);
}

/// A saved destroy plan loads back exactly, is sealed like any plan, and holds deletes only.
#[tokio::test]
async fn a_saved_destroy_plan_loads_back_and_an_edit_of_what_it_keeps_is_refused() {
    let provider = production();
    let edited = prerelease_edited("keep_after_destroy = false", "keep_after_destroy = true");
    converge(provider.clone(), &edited.load()).await;
    let plan = destroy::plan(
        provider.as_ref(),
        &prerelease(),
        None,
        &DestroyOptions::default(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("teardown.json");
    plan.save(&path).unwrap();
    assert_eq!(rehearsal::plan::Plan::load(&path).unwrap(), plan);
    assert!(plan.spec.is_none(), "made from tags alone");

    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        saved["destroy"]["kept"][0]["address"],
        "rds_snapshot.from_prod"
    );
    let mut raw = saved.clone();
    raw["destroy"]["kept"] = json!([]);
    std::fs::write(&path, raw.to_string()).unwrap();
    match rehearsal::plan::Plan::load(&path) {
        Err(rehearsal::plan::PlanError::Edited { edits, .. }) => {
            assert_eq!(edits, ["the destroy plan was changed"])
        }
        other => panic!("an edited destroy plan is refused, not {other:?}"),
    }

    let mut create = plan.clone();
    create.actions[0].action = ActionKind::Create;
    create.actions[0].desired = Some(Default::default());
    create.integrity = rehearsal::plan::integrity::record(&create);
    create.save(&path).unwrap();
    let err = rehearsal::plan::Plan::load(&path).unwrap_err().to_string();
    assert!(err.ends_with("is not a delete, in a destroy plan"), "{err}");
}

#[tokio::test]
async fn a_dry_run_lists_in_teardown_order_and_changes_nothing() {
    let provider = production();
    let edited = prerelease_edited("keep_after_destroy = false", "keep_after_destroy = true");
    converge(provider.clone(), &edited.load()).await;
    let before = serde_json::to_value(provider.snapshot()).unwrap();
    let describes = provider.calls(FakeOp::Describe);

    let (doomed, kept) = destroy::dry_run(provider.as_ref(), &prerelease(), &Default::default())
        .await
        .unwrap();
    let doomed: Vec<String> = doomed.iter().map(|r| r.address.to_string()).collect();
    assert_eq!(
        doomed,
        [
            // First what nothing waits for, then what waits for the services.
            "rds_instance.db",
            "ec2_instance.server",
            "ecs_service.server",
            "dns_record.server",
            // Once the server is gone: its volume, deleted with it or left behind; once the
            // server, the database and the service are gone, their security groups.
            "ebs_volume.server",
            "ecs_cluster.main",
            "ecs_task_definition.server",
            "security_group.db",
            "security_group.server",
        ]
    );
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].address, addr("rds_snapshot.from_prod"));

    assert_eq!(serde_json::to_value(provider.snapshot()).unwrap(), before);
    assert_eq!(provider.calls(FakeOp::Delete), 0);
    assert_eq!(
        provider.calls(FakeOp::Describe),
        describes,
        "nothing waited on"
    );
}

/// Production's server image keeps a data volume when the instance ends (its mapping says
/// DeleteOnTermination = false), as images made from a running server often do.
fn production_with_an_image_that_keeps_a_volume() -> Arc<FakeProvider> {
    let mut cloud = FakeCloud::production(REGION);
    cloud.images.insert(
        "ami-04681a1dbd79675a5".into(),
        vec![
            BlockDevice::root(),
            BlockDevice {
                device: "/dev/sdf".into(),
                size_gib: 100,
                delete_on_termination: false,
            },
        ],
    );
    Arc::new(FakeProvider::with_cloud(cloud))
}

fn volumes(provider: &FakeProvider) -> Vec<FakeResource> {
    provider
        .snapshot()
        .resources
        .into_values()
        .filter(|r| r.kind == ResourceKind::EbsVolume)
        .collect()
}

#[tokio::test]
async fn a_volume_the_server_leaves_behind_is_found_and_deleted_by_destroy() {
    let provider = production_with_an_image_that_keeps_a_volume();
    converge(provider.clone(), &shipped("prerelease")).await;
    assert_eq!(volumes(&provider).len(), 2, "root and data, attached");

    let report = destroy(&provider, &prerelease(), &DestroyOptions::default())
        .await
        .unwrap();
    assert!(report.leftovers.is_empty(), "{report:#?}");
    let deleted_volumes = report
        .deleted
        .iter()
        .filter(|d| d.starts_with("- ebs_volume.server"))
        .count();
    assert_eq!(deleted_volumes, 2, "{:?}", report.deleted);
    assert_eq!(
        volumes(&provider),
        Vec::<FakeResource>::new(),
        "nothing left billing"
    );
}

#[tokio::test]
async fn a_volume_left_by_a_replaced_server_is_planned_for_deletion_and_says_why() {
    let provider = production_with_an_image_that_keeps_a_volume();
    converge(provider.clone(), &shipped("prerelease")).await;
    // New user data launches a new server; the old one ends and leaves its data volume.
    let edited = prerelease_edited(
        "systemctl restart openchs",
        "systemctl restart openchs-server",
    );
    let summary = converge(provider.clone(), &edited.load()).await;
    assert!(summary.succeeded(), "{summary:#?}");
    let left: Vec<FakeResource> = volumes(&provider)
        .into_iter()
        .filter(|v| v.status == "available")
        .collect();
    assert_eq!(left.len(), 1, "the old server's data volume");

    let plan = plan_for(provider.as_ref(), &edited.load()).await;
    let deletes: Vec<_> = plan
        .actions
        .iter()
        .filter(|a| a.action == ActionKind::Delete)
        .collect();
    assert_eq!(deletes.len(), 1, "{:#?}", plan.actions);
    assert_eq!(deletes[0].address, addr("ebs_volume.server"));
    assert_eq!(deletes[0].live.as_ref().unwrap().id, left[0].id);
    assert_eq!(
        rehearsal::plan::render::reason(&plan, deletes[0]),
        "because ec2_instance.server left it behind: it is detached, and bills until deleted"
    );
    let summary = apply_plan(
        provider.clone(),
        plan,
        &edited.load(),
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded(), "{summary:#?}");
    assert!(
        volumes(&provider).iter().all(|v| v.status == "in-use"),
        "only the new server's volumes are left"
    );
}

/// A spec may say where its records are (the zones a plan lists only), but a teardown lists
/// everywhere all the same: a record the spec has since moved to another zone is still the
/// environment's, and "nothing left" must be true of it too.
#[tokio::test]
async fn a_teardown_with_the_spec_looks_everywhere_not_only_where_the_spec_says() {
    let provider = production();
    let spec = shipped("prerelease");
    converge(provider.clone(), &spec).await;
    assert!(spec.declared().of(ResourceKind::DnsRecord).next().is_some());
    let before = provider.observed_with().len();

    let plan = destroy::plan(provider.as_ref(), &prerelease(), Some(&spec), &quick())
        .await
        .unwrap();
    rehearsal::apply::teardown::teardown(&plan, provider.clone(), Arc::new(Silent), &quick().run)
        .await
        .unwrap();

    let teardown = provider.observed_with().split_off(before);
    assert!(teardown.len() >= 2, "the plan's listing and the proof's");
    for declared in &teardown {
        assert!(declared.list_everywhere, "{declared:?}");
        assert!(declared.of(ResourceKind::DnsRecord).next().is_some());
    }
}
