//! "Data is first synced from Prod" (seeds 004), through the `rehearsal` binary against the
//! fake cloud: UAT's database refreshed from production's, the plan saying in words what it
//! does and for how long the database is down, consent asked, the old copy's data kept.

use crate::engine::refresh::UAT;
use crate::project::Project;

fn uat() -> Project {
    let project = Project::new();
    project.write("environments/uat.toml", UAT);
    project
        .rehearsal(&["apply", "uat", "--auto-approve"])
        .run()
        .exits(0);
    project
}

/// The kept final snapshots of `db` in the fake cloud.
fn kept_of(project: &Project, db: &str) -> Vec<rehearsal::provider::fake::FakeResource> {
    project
        .cloud()
        .resources
        .into_values()
        .filter(|r| {
            r.tags
                .get("rehearsal:final-snapshot-of")
                .map(String::as_str)
                == Some(db)
        })
        .collect()
}

#[test]
fn refresh_says_what_it_does_asks_then_keeps_the_replaced_copy() {
    let project = uat();

    // Without a terminal and without --auto-approve, nothing happens.
    project
        .rehearsal(&["refresh", "uat", "db"])
        .run()
        .exits(64)
        .stdout_has("-/+ rds_instance.db (uat-db)")
        .stdout_has("1. snapshots production-db as uat-production-db-")
        .stdout_has("2. deletes uat-db, first taking its final snapshot uat-db-final-")
        .stdout_has("which is kept (rehearsal:keep, no expiry)")
        .stdout_has("Expected outage: uat-db is unavailable from the delete in step 2")
        .stderr_has("--auto-approve");
    assert!(
        kept_of(&project, "uat-db").is_empty(),
        "nothing was deleted"
    );

    // Saved for review, then applied as reviewed.
    project
        .rehearsal(&["refresh", "uat", "db", "--out", "plans/uat.refresh.json"])
        .run()
        .exits(0)
        .stdout_has("Saved the refresh plan to plans/uat.refresh.json");
    assert!(
        kept_of(&project, "uat-db").is_empty(),
        "saving runs nothing"
    );
    project
        .rehearsal(&["apply", "plans/uat.refresh.json"])
        .run()
        .exits(0)
        .stdout_has("0 failed, 0 skipped");
    let kept = kept_of(&project, "uat-db");
    assert_eq!(kept.len(), 1, "{kept:#?}");
    assert_eq!(
        kept[0].tags.get("rehearsal:keep").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        kept[0].tags.get("rehearsal:env").map(String::as_str),
        Some("uat")
    );

    // The spec is met again: the next plan changes nothing.
    project
        .rehearsal(&["plan", "uat", "--detailed-exitcode"])
        .run()
        .exits(0);
}

#[test]
fn refresh_of_an_ephemeral_environment_is_refused_with_what_to_do() {
    Project::new()
        .rehearsal(&["refresh", "prerelease", "db", "--auto-approve"])
        .run()
        .exits(1)
        .stderr_has("prerelease is ephemeral: a refresh is for a long-lived environment")
        .stderr_has("`rehearsal destroy prerelease`, then `rehearsal apply prerelease`");
}
