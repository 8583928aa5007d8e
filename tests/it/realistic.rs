//! The pre-release story as a new user would try it, in realistic mode: AWS's lifecycles, at a
//! hundredth of their durations, between the `rehearsal` binary and the emulator. A snapshot
//! takes three seconds, a restore six, and an apply can be interrupted while they are under way;
//! ClientTokens are remembered as EC2 remembers them. Each story ends with production exactly
//! as it was.

use crate::against_emulator::{
    FaultProxy, Proxying, REALISTIC, assert_unchanged, production, tagged,
};
use crate::emulator::Emulator;
use crate::project::{PRERELEASE_OWNS, Project};

/// An emulator with a fake production, and a project talking to it in realistic mode.
struct World {
    em: Emulator,
    prod: crate::emulator::Production,
    _proxy: FaultProxy,
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
        _proxy: proxy,
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
