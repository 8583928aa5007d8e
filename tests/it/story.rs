//! The pre-release story against a real AWS API emulator, through the `rehearsal` binary:
//! plan the clone of production, apply it, plan again (no changes), change the server's
//! instance type, see why, apply, destroy, and find nothing left and production untouched.

use crate::against_emulator::{assert_unchanged, production, tagged};
use crate::emulator::Emulator;
use crate::project::{IN_PRODUCTION_S_WINDOW, PRERELEASE_OWNS, Project};

#[tokio::test(flavor = "multi_thread")]
async fn the_prerelease_story_end_to_end() {
    let em = Emulator::start();
    let prod = em.seed_production();
    let before = production(&em, &prod).await;
    let project = Project::against(em.endpoint());

    // The plan shows the clone, and saves it.
    project
        .rehearsal(&["plan", "prerelease", "--var", "server_version=3.2.0"])
        .run()
        .exits(0)
        .shows("+ rds_snapshot.from_prod")
        .shows("+ rds_instance.db")
        .shows("+ ec2_instance.server")
        .shows("because it does not exist yet")
        .shows("Plan: 9 to create, 0 to update, 0 to replace, 0 to delete.");
    assert!(
        tagged(&em, "prerelease").await.is_empty(),
        "planning creates nothing"
    );

    project
        .rehearsal(&["apply", "plans/prerelease.plan.json"])
        .run()
        .exits(0)
        .shows("9 done, 0 failed, 0 skipped");
    let owned = tagged(&em, "prerelease").await;
    assert_eq!(
        owned.len(),
        PRERELEASE_OWNS,
        "the clone exists in the emulator: {owned:#?}"
    );
    assert!(owned.iter().any(|o| o == "rds prerelease-db"), "{owned:#?}");
    assert!(
        owned
            .iter()
            .any(|o| o.starts_with("ec2 ") && o.ends_with("running")),
        "{owned:#?}"
    );

    // Just applied: no changes, exit 0 under --detailed-exitcode.
    project
        .rehearsal(&[
            "plan",
            "prerelease",
            "--var",
            "server_version=3.2.0",
            "--detailed-exitcode",
        ])
        .run()
        .exits(0)
        .shows("No changes.");

    // A bigger server: an in-place update, and the plan says why.
    project.edit(
        "prerelease",
        "instance_type = \"t3.medium\"",
        "instance_type = \"t3.large\"",
    );
    project
        .rehearsal(&[
            "plan",
            "prerelease",
            "--var",
            "server_version=3.2.0",
            "--detailed-exitcode",
        ])
        .run()
        .exits(2)
        .shows("~ ec2_instance.server")
        .shows("because instance_type changed t3.medium → t3.large")
        .shows("Plan: 0 to create, 1 to update, 0 to replace, 0 to delete.");
    project
        .rehearsal(&["apply", "plans/prerelease.plan.json"])
        .run()
        .exits(0)
        .shows("1 done, 0 failed");
    project
        .rehearsal(&[
            "plan",
            "prerelease",
            "--var",
            "server_version=3.2.0",
            "--detailed-exitcode",
        ])
        .run()
        .exits(0)
        .shows("No changes.");

    // Tear it down, and prove it.
    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .exits(0)
        .shows("Proof: a final listing finds nothing tagged rehearsal:env=prerelease");
    assert_eq!(
        tagged(&em, "prerelease").await,
        Vec::<String>::new(),
        "nothing tagged for pre-release remains"
    );
    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .exits(0)
        .shows("Nothing to destroy");

    assert_eq!(
        production(&em, &prod).await,
        before,
        "production is byte-for-byte unchanged"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn production_is_protected_and_its_snapshot_outlives_teardown() {
    let em = Emulator::start();
    let prod = em.seed_production();
    let project = Project::against(em.endpoint());

    // "Create a DB snapshot in AWS RDS (just to be safe)."
    project
        .rehearsal(&[
            "apply",
            "production",
            "--var",
            "release=r42",
            "--auto-approve",
        ])
        .at(IN_PRODUCTION_S_WINDOW)
        .run()
        .exits(0)
        .shows("+ rds_snapshot.before_release");
    assert_eq!(
        tagged(&em, "production").await,
        vec!["snapshot production-before-r42".to_string()]
    );

    let before = production(&em, &prod).await;
    project
        .rehearsal(&["destroy", "production", "--auto-approve"])
        .run()
        .exits(1)
        .shows("environment production is protected");
    // Without the spec, the resources' own lifecycle tag still protects them.
    std::fs::remove_file(project.path("environments/production.toml")).unwrap();
    project
        .rehearsal(&[
            "destroy",
            "production",
            "--auto-approve",
            "--project",
            "openchs",
            "--region",
            "eu-west-1",
        ])
        .run()
        .exits(1)
        .shows("is protected");
    assert_eq!(
        tagged(&em, "production").await.len(),
        1,
        "the safety snapshot is still there"
    );
    assert_unchanged(&before, &production(&em, &prod).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_source_names_the_lookup_and_where_it_is_declared() {
    let em = Emulator::start();
    // No production seeded: the sources cannot be found.
    let project = Project::against(em.endpoint());
    let out = project.rehearsal(&["plan", "prerelease"]).run().exits(1);
    let out = out
        .shows("cannot look up source.")
        .shows("environments/prerelease.toml:")
        .shows("hint:");
    assert!(
        !project.path("plans/prerelease.plan.json").exists(),
        "no plan file is written: {}",
        out.stdout
    );
}

/// A forgotten pre-release stops costing money: `reap` (a scheduled CI job) finds expired
/// environments by their expiry tag and destroys them, and leaves everything else alone.
#[tokio::test(flavor = "multi_thread")]
async fn reap_destroys_a_forgotten_prerelease_and_nothing_else() {
    let em = Emulator::start();
    let prod = em.seed_production();
    let project = Project::against(em.endpoint());
    project
        .rehearsal(&[
            "apply",
            "production",
            "--var",
            "release=r7",
            "--auto-approve",
        ])
        .at(IN_PRODUCTION_S_WINDOW)
        .run()
        .exits(0);
    project.edit("prerelease", "ttl = \"24h\"", "ttl = \"1s\"");
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    let before = production(&em, &prod).await;
    std::thread::sleep(std::time::Duration::from_secs(2));

    project
        .rehearsal(&["reap", "--region", "eu-west-1"])
        .run()
        .exits(0)
        .shows("prerelease expired at")
        .shows("production has no expiry: left alone")
        .shows("Dry run");
    assert_eq!(
        tagged(&em, "prerelease").await.len(),
        PRERELEASE_OWNS,
        "a dry run changes nothing"
    );

    project
        .rehearsal(&[
            "reap",
            "--region",
            "eu-west-1",
            "--execute",
            "--auto-approve",
        ])
        .run()
        .exits(0)
        .shows("prerelease destroyed.");
    assert!(tagged(&em, "prerelease").await.is_empty());
    assert_eq!(
        tagged(&em, "production").await,
        ["snapshot production-before-r7"]
    );
    assert_unchanged(&before, &production(&em, &prod).await);
}
