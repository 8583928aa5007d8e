//! Teardown and apply under faults, against the emulator: a proxy that throttles a quarter of
//! the requests, and rehearsal killed with SIGKILL mid-way. Each test asserts on what the
//! emulator holds afterwards, and that production was never touched.
//!
//! Every story runs twice: against moto as it is (`faults::instant`), and in realistic mode
//! (`faults::realistic`), where AWS's lifecycles take a hundredth of their real durations and
//! AWS's refusals, tokens and deployments apply: a kill then lands while a snapshot is still
//! being taken or a database restored, which moto alone never shows.

use crate::against_emulator::{
    FaultProxy, Proxying, REALISTIC, assert_unchanged, production, tagged,
};
use crate::emulator::Emulator;
use crate::project::{PRERELEASE_OWNS, Project};

async fn apply_and_destroy_converge_through_throttling_and_503s(realism: Option<f64>) {
    let em = Emulator::start();
    let prod = em.seed_production();
    let before = production(&em, &prod).await;
    let proxy = FaultProxy::start(
        em.endpoint(),
        Proxying {
            fault_rate: 0.25,
            realism,
            ..Proxying::default()
        },
    );
    let project = Project::against(&proxy.endpoint);

    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0)
        .shows("9 done, 0 failed, 0 skipped");
    assert_eq!(
        tagged(&em, "prerelease").await.len(),
        PRERELEASE_OWNS,
        "exactly one of each, no duplicates"
    );
    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .exits(0)
        .shows("Proof:");

    let (requests, faults) = proxy.stats();
    assert!(
        requests > 40,
        "the proxy saw the traffic ({requests} requests)"
    );
    assert!(
        faults * 5 >= requests,
        "at least 20% were faulted ({faults} of {requests})"
    );
    assert!(tagged(&em, "prerelease").await.is_empty());
    assert_unchanged(&before, &production(&em, &prod).await);
}

/// Kill apply at several points; destroy afterwards leaves nothing.
async fn apply_killed_anywhere_then_destroy_leaves_nothing(realism: Option<f64>) {
    let em = Emulator::start();
    let prod = em.seed_production();
    let before = production(&em, &prod).await;
    // Latency like a real API's, so the kills land mid-way.
    let proxy = FaultProxy::start(
        em.endpoint(),
        Proxying {
            delay_ms: 60,
            realism,
            ..Proxying::default()
        },
    );
    let project = Project::against(&proxy.endpoint);

    for marker in [
        "+ rds_snapshot.from_prod: snapshotting",
        "+ rds_instance.db: restoring from",
        "+ ec2_instance.server: launching",
        "+ ecs_service.server: started",
    ] {
        let killed = project
            .rehearsal(&["apply", "prerelease", "--auto-approve"])
            .kill_when(marker);
        assert!(killed, "apply was killed at `{marker}`");
        let left_behind = tagged(&em, "prerelease").await;
        let destroyed = project
            .rehearsal(&["destroy", "prerelease", "--auto-approve"])
            .run()
            .exits(0);
        if !left_behind.is_empty() {
            destroyed.shows("Proof:");
        }
        assert_eq!(
            tagged(&em, "prerelease").await,
            Vec::<String>::new(),
            "nothing left after a kill at `{marker}`"
        );
    }
    assert_unchanged(&before, &production(&em, &prod).await);
}

/// Kill apply, then apply again: it converges to the spec without duplicates.
async fn apply_killed_then_applied_again_converges_without_duplicates(realism: Option<f64>) {
    let em = Emulator::start();
    let prod = em.seed_production();
    let before = production(&em, &prod).await;
    let proxy = FaultProxy::start(
        em.endpoint(),
        Proxying {
            delay_ms: 60,
            realism,
            ..Proxying::default()
        },
    );
    let project = Project::against(&proxy.endpoint);

    // Each run resumes from what the one before left, and is killed a little further on.
    for marker in [
        "+ rds_instance.db: restoring from",
        "+ ec2_instance.server: launching",
        "+ ecs_service.server: started",
    ] {
        let killed = project
            .rehearsal(&["apply", "prerelease", "--auto-approve"])
            .kill_when(marker);
        assert!(killed, "apply was killed at `{marker}`");
    }
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    project
        .rehearsal(&["plan", "prerelease", "--detailed-exitcode"])
        .run()
        .exits(0)
        .shows("No changes.");
    let owned = tagged(&em, "prerelease").await;
    assert_eq!(
        owned.len(),
        PRERELEASE_OWNS,
        "one of each of the six resources, and the server's volume: {owned:#?}"
    );
    assert_eq!(
        owned.iter().filter(|o| o.starts_with("ec2 ")).count(),
        1,
        "one server: {owned:#?}"
    );

    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    assert!(tagged(&em, "prerelease").await.is_empty());
    assert_unchanged(&before, &production(&em, &prod).await);
}

/// Kill destroy mid-way, run it again: it converges.
async fn destroy_killed_midway_and_run_again_converges(realism: Option<f64>) {
    let em = Emulator::start();
    let prod = em.seed_production();
    let before = production(&em, &prod).await;
    let proxy = FaultProxy::start(
        em.endpoint(),
        Proxying {
            delay_ms: 60,
            realism,
            ..Proxying::default()
        },
    );
    let project = Project::against(&proxy.endpoint);
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);

    let killed = project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .kill_when("- rds_instance.db");
    assert!(killed, "destroy was killed mid-way");
    assert!(
        !tagged(&em, "prerelease").await.is_empty(),
        "the kill left work for the second run"
    );
    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .exits(0)
        .shows("Proof:");
    assert!(tagged(&em, "prerelease").await.is_empty());
    assert_unchanged(&before, &production(&em, &prod).await);
}

/// Each story as a test, in both modes.
macro_rules! in_both_modes {
    ($($story:ident),+ $(,)?) => {
        mod instant {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $story() {
                super::$story(None).await
            })+
        }
        mod realistic {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $story() {
                super::$story(Some(super::REALISTIC)).await
            })+
        }
    };
}

in_both_modes!(
    apply_and_destroy_converge_through_throttling_and_503s,
    apply_killed_anywhere_then_destroy_leaves_nothing,
    apply_killed_then_applied_again_converges_without_duplicates,
    destroy_killed_midway_and_run_again_converges,
);
