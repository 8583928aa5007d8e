//! The pre-release story as a new user would try it, in realistic mode: AWS's lifecycles, at a
//! hundredth of their durations, between the `rehearsal` binary and the emulator. A snapshot
//! takes three seconds, a restore six, and an apply can be interrupted while they are under way;
//! ClientTokens are remembered as EC2 remembers them. Each story ends with production exactly
//! as it was.

use crate::against_emulator::{
    FaultProxy, Proxying, REALISTIC, assert_unchanged, production, tagged,
};
use crate::emulator::Emulator;
use crate::project::{IN_PRODUCTION_S_WINDOW, PRERELEASE_OWNS, Project};

/// An emulator with a fake production, and a project talking to it in realistic mode.
struct World {
    em: Emulator,
    prod: crate::emulator::Production,
    proxy: FaultProxy,
    project: Project,
    production_before: String,
}

async fn realistic_world() -> World {
    let em = Emulator::start();
    let prod = em.seed_production();
    let production_before = production(&em, &prod).await;
    let proxy = FaultProxy::start(
        em.endpoint(),
        Proxying {
            realism: Some(REALISTIC),
            ..Proxying::default()
        },
    );
    let project = Project::against(&proxy.endpoint);
    World {
        em,
        prod,
        proxy,
        project,
        production_before,
    }
}

impl World {
    async fn assert_production_unchanged(&self) {
        assert_unchanged(
            &self.production_before,
            &production(&self.em, &self.prod).await,
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_apply_interrupted_while_the_database_is_created_then_destroyed_leaves_nothing() {
    let w = realistic_world().await;
    let killed = w
        .project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .kill_when("+ rds_instance.db: creating");
    assert!(
        killed,
        "apply was killed while the database was being restored"
    );
    assert!(
        tagged(&w.em, "prerelease")
            .await
            .iter()
            .any(|t| t.starts_with("rds prerelease-db")),
        "the restore was under way"
    );

    w.project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .exits(0)
        .shows("Proof: a final listing finds nothing tagged rehearsal:env=prerelease");
    assert_eq!(tagged(&w.em, "prerelease").await, Vec::<String>::new());
    w.assert_production_unchanged().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_version_rehearsed_twice_in_a_row_works() {
    let w = realistic_world().await;
    for round in 1..=2 {
        w.project
            .rehearsal(&["plan", "prerelease", "--var", "server_version=3.2.0"])
            .run()
            .exits(0)
            .stdout_has("Plan: 9 to create");
        w.project
            .rehearsal(&["apply", "plans/prerelease.plan.json"])
            .run()
            .exits(0)
            .stdout_has("Summary: 9 done, 0 failed, 0 skipped.");
        assert_eq!(
            tagged(&w.em, "prerelease").await.len(),
            PRERELEASE_OWNS,
            "round {round}"
        );
        w.project
            .rehearsal(&["destroy", "prerelease", "--auto-approve"])
            .run()
            .exits(0)
            .shows("Proof:");
    }
    assert_eq!(tagged(&w.em, "prerelease").await, Vec::<String>::new());
    w.assert_production_unchanged().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_apply_run_again_finishes() {
    let w = realistic_world().await;
    // Killed while the snapshot is still being taken, then while the database is restored.
    for marker in [
        "+ rds_snapshot.from_prod: creating",
        "+ rds_instance.db: creating",
    ] {
        let killed = w
            .project
            .rehearsal(&["apply", "prerelease", "--auto-approve"])
            .kill_when(marker);
        assert!(killed, "apply was killed at `{marker}`");
    }
    w.project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    w.project
        .rehearsal(&["plan", "prerelease", "--detailed-exitcode"])
        .run()
        .exits(0)
        .shows("No changes.");
    let owned = tagged(&w.em, "prerelease").await;
    assert_eq!(
        owned.len(),
        PRERELEASE_OWNS,
        "one of each, no duplicates: {owned:#?}"
    );

    w.project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    assert_eq!(tagged(&w.em, "prerelease").await, Vec::<String>::new());
    w.assert_production_unchanged().await;
}

/// The revisions of a task-definition family as ECS describes them through the realistic
/// layer, in every status (moto forgets a deleted one; AWS keeps it DELETE_IN_PROGRESS).
async fn revision_statuses(w: &World, arns: &[String]) -> Vec<String> {
    let ecs = aws_sdk_ecs::Client::new(&w.em.sdk_config_at(&w.proxy.endpoint).await);
    let mut statuses = vec![];
    for arn in arns {
        let described = ecs
            .describe_task_definition()
            .task_definition(arn)
            .send()
            .await
            .expect("a deleted revision can still be described");
        let status = described.task_definition().and_then(|t| t.status());
        statuses.push(status.map(|s| s.as_str().to_owned()).unwrap_or_default());
    }
    statuses
}

async fn prerelease_revisions(em: &Emulator) -> Vec<String> {
    let ecs = aws_sdk_ecs::Client::new(&em.sdk_config().await);
    ecs.list_task_definitions()
        .family_prefix("prerelease-server")
        .send()
        .await
        .expect("list task definitions")
        .task_definition_arns()
        .to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_finishes_while_deleted_revisions_stay_delete_in_progress() {
    let w = realistic_world().await;
    // DeleteTaskDefinitions leaves a revision DELETE_IN_PROGRESS while anything refers to it:
    // here for the whole test (an hour at this scale).
    w.proxy.control(
        "/__proxy/realism",
        &serde_json::json!({"table": {"lingering": {"ecs_task_definition_delete_in_progress": 360000}}}),
    );
    w.project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    let revisions = prerelease_revisions(&w.em).await;
    assert_eq!(revisions.len(), 1, "{revisions:?}");

    let started = std::time::Instant::now();
    w.project
        .rehearsal(&["destroy", "prerelease", "--auto-approve", "--timeout", "4m"])
        .run()
        .exits(0)
        .shows("Proof: a final listing finds nothing tagged rehearsal:env=prerelease")
        // The network interfaces of the stopped tasks and of the deleted database held the
        // groups for a while: waited out too.
        .stderr_has("has a dependent object");
    // Waiting for INACTIVE alone would have lasted until the timeout.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(120),
        "destroy took {:?}",
        started.elapsed()
    );
    assert_eq!(
        revision_statuses(&w, &revisions).await,
        ["DELETE_IN_PROGRESS"]
    );
    assert_eq!(tagged(&w.em, "prerelease").await, Vec::<String>::new());
    w.assert_production_unchanged().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_waits_out_stopping_tasks_and_lingering_network_interfaces() {
    let w = realistic_world().await;
    // The service in production's server group (a group the environment does not own), so
    // that its lingering interfaces hold no group teardown waits for: the cluster's refusal
    // while its tasks stop is then the last thing left, for longer than teardown's stalled
    // passes (about 25 s).
    w.project.edit(
        "prerelease",
        "security_groups = [\"${security_group.server.id}\"]\nassign_public_ip",
        &format!(
            "security_groups = [\"{}\"]\nassign_public_ip",
            w.prod.security_groups.server
        ),
    );
    w.project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    // Minutes on AWS: tasks stopping for 45 s here.
    w.proxy.control(
        "/__proxy/realism",
        &serde_json::json!({"table": {"lingering": {"ecs_tasks_stopping": 4500}}}),
    );
    let destroyed = w
        .project
        .rehearsal(&["destroy", "prerelease", "--auto-approve", "--timeout", "5m"])
        .run();
    destroyed
        .exits(0)
        .shows("Proof: a final listing finds nothing tagged rehearsal:env=prerelease")
        // What was waited out: the stopping tasks holding the cluster.
        .stderr_has("The Cluster cannot be deleted while Tasks are active.");
    assert_eq!(tagged(&w.em, "prerelease").await, Vec::<String>::new());
    w.assert_production_unchanged().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_go_onto_new_groups_that_ec2_does_not_know_by_id_yet() {
    let w = realistic_world().await;
    // For 3 s after CreateSecurityGroup, calls naming the group answer InvalidGroup.NotFound
    // (EC2's eventual consistency): longer than create, describe and the first authorize take.
    w.proxy.control(
        "/__proxy/realism",
        &serde_json::json!({"table": {"consistency": {"not_found_after_create": 300}}}),
    );
    w.project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    w.project
        .rehearsal(&["plan", "prerelease", "--detailed-exitcode"])
        .run()
        .exits(0)
        .shows("No changes.");
    w.assert_production_unchanged().await;
}

/// Every DB snapshot the emulator holds (through the realistic layer, as AWS would describe
/// it): identifier → (status, tags).
async fn db_snapshots(
    w: &World,
) -> std::collections::BTreeMap<String, (String, std::collections::BTreeMap<String, String>)> {
    let rds = aws_sdk_rds::Client::new(&w.em.sdk_config_at(&w.proxy.endpoint).await);
    let described = rds
        .describe_db_snapshots()
        .snapshot_type("manual")
        .send()
        .await
        .expect("describe DB snapshots");
    let mut out = std::collections::BTreeMap::new();
    for s in described.db_snapshots() {
        let tags = rds
            .list_tags_for_resource()
            .resource_name(s.db_snapshot_arn().unwrap_or_default())
            .send()
            .await
            .expect("snapshot tags")
            .tag_list()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        out.insert(
            s.db_snapshot_identifier().unwrap_or_default().to_owned(),
            (s.status().unwrap_or_default().to_owned(), tags),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_safety_snapshot_is_taken_outlives_destroy_and_keep_prunes_only_ours() {
    let w = realistic_world().await;
    w.project
        .rehearsal(&["apply", "prerelease", "--auto-approve", "--skip-checks"])
        .run()
        .exits(0);

    // "Create a DB snapshot in AWS RDS (just to be safe)", of pre-release's own database: not
    // of production's, which it only reads.
    w.project
        .rehearsal(&[
            "snapshot",
            "prerelease",
            "--reason",
            "before 3.2.0",
            "--auto-approve",
        ])
        .run()
        .exits(0)
        .stdout_has("Summary: 1 done, 0 failed, 0 skipped.")
        .stdout_has("Snapshot prerelease-db-")
        .stdout_has(":snapshot:prerelease-db-");
    let snapshots = db_snapshots(&w).await;
    let (id, (status, tags)) = snapshots
        .iter()
        .find(|(id, _)| id.starts_with("prerelease-db-") && id.ends_with("-before-3-2-0"))
        .unwrap_or_else(|| panic!("no snapshot of prerelease-db: {snapshots:#?}"));
    assert_eq!(status, "available", "the command waited for it");
    for (key, value) in [
        ("rehearsal:env", "prerelease"),
        ("rehearsal:project", "openchs"),
        ("rehearsal:keep", "true"),
        ("rehearsal:snapshot-of", "prerelease-db"),
        ("rehearsal:snapshot-reason", "before 3.2.0"),
    ] {
        assert_eq!(
            tags.get(key).map(String::as_str),
            Some(value),
            "{key}: {tags:#?}"
        );
    }

    w.project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .exits(0)
        .stdout_has(&format!("kept: rds_snapshot.{}", id.replace('-', "_")));
    let after = db_snapshots(&w).await;
    assert_eq!(
        after.get(id).map(|(status, _)| status.as_str()),
        Some("available"),
        "it survives destroy: {after:#?}"
    );

    // Production keeps one: a second snapshot prunes the first, and only that.
    let production = w.project.read("environments/production.toml");
    w.project.write(
        "environments/production.toml",
        &format!("{production}\n[snapshots]\nkeep = 1\n"),
    );
    w.project
        .rehearsal(&[
            "snapshot",
            "production",
            "--reason",
            "first",
            "--auto-approve",
        ])
        .at(IN_PRODUCTION_S_WINDOW)
        .run()
        .exits(0);
    // Identifiers and the order of pruning go by the second (of the clock rehearsal reads).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    w.project
        .rehearsal(&[
            "snapshot",
            "production",
            "--reason",
            "second",
            "--auto-approve",
        ])
        .at("2026-12-03 09:00:05")
        .run()
        .exits(0)
        .stdout_has("- rds_snapshot.production_db_")
        .stdout_has("because [snapshots] keep = 1 keeps only the newest 1 safety snapshot");
    let last = db_snapshots(&w).await;
    let production_ids: Vec<&String> = last
        .keys()
        .filter(|id| id.starts_with("production-db-"))
        .collect();
    assert_eq!(production_ids.len(), 1, "{last:#?}");
    assert!(production_ids[0].ends_with("-second"), "{last:#?}");
    // Pre-release's snapshot of its own database stays: not production's to prune; and
    // pre-release never snapshotted production's.
    assert!(last.contains_key(id), "{last:#?}");
    assert!(
        !last
            .keys()
            .any(|k| k.starts_with("prerelease-production-db-")),
        "{last:#?}"
    );
    w.assert_production_unchanged().await;
}
