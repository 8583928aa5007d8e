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

/// The same story against the emulator: what RDS holds afterwards.
#[cfg(feature = "aws")]
mod against_the_emulator {
    use std::collections::BTreeMap;

    use rehearsal::model::tags;

    use super::*;
    use crate::emulator::Emulator;

    fn tag_map(list: &[aws_sdk_rds::types::Tag]) -> BTreeMap<String, String> {
        list.iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect()
    }

    /// UAT's databases as RDS lists them: identifier and tags.
    async fn uat_instances(rds: &aws_sdk_rds::Client) -> Vec<(String, BTreeMap<String, String>)> {
        let out = rds.describe_db_instances().send().await.expect("instances");
        out.db_instances()
            .iter()
            .filter(|db| {
                db.db_instance_identifier()
                    .is_some_and(|id| id.starts_with("uat-"))
            })
            .map(|db| {
                (
                    db.db_instance_identifier().unwrap_or_default().to_owned(),
                    tag_map(db.tag_list()),
                )
            })
            .collect()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn refresh_restores_a_fresh_snapshot_of_production_and_keeps_the_old_copy() {
        let em = Emulator::start();
        em.seed_production();
        let project = Project::against(em.endpoint());
        project.write("environments/uat.toml", UAT);
        project
            .rehearsal(&["apply", "uat", "--auto-approve"])
            .run()
            .exits(0);
        let rds = aws_sdk_rds::Client::new(&em.sdk_config().await);
        let before = uat_instances(&rds).await;
        assert_eq!(before.len(), 1, "{before:#?}");
        let first_restore = before[0].1.get(tags::RESTORED_FROM).cloned();

        project
            .rehearsal(&["refresh", "uat", "db", "--auto-approve"])
            .run()
            .exits(0)
            .stdout_has("Expected outage: uat-db is unavailable");

        // One instance named uat-db, restored from the snapshot of production the refresh took.
        let after = uat_instances(&rds).await;
        assert_eq!(after.len(), 1, "{after:#?}");
        let (id, now_tags) = &after[0];
        assert_eq!(id, "uat-db");
        let restored_from = now_tags
            .get(tags::RESTORED_FROM)
            .cloned()
            .unwrap_or_default();
        assert!(
            restored_from.starts_with("uat-production-db-")
                && restored_from.ends_with("-refresh-of-uat-db"),
            "{now_tags:#?}"
        );
        assert_ne!(Some(restored_from.clone()), first_restore, "a new copy");
        assert_eq!(now_tags.get("team").map(String::as_str), Some("qa"));
        let fresh = rds
            .describe_db_snapshots()
            .db_snapshot_identifier(&restored_from)
            .send()
            .await
            .expect("the fresh snapshot");
        assert_eq!(
            fresh.db_snapshots()[0].db_instance_identifier(),
            Some("production-db")
        );

        // The old copy's data: its final snapshot, kept, the environment's, with no expiry.
        let snapshots = rds
            .describe_db_snapshots()
            .db_instance_identifier("uat-db")
            .send()
            .await
            .expect("snapshots of uat-db");
        let kept: Vec<BTreeMap<String, String>> = snapshots
            .db_snapshots()
            .iter()
            .filter(|s| {
                s.db_snapshot_identifier()
                    .is_some_and(|id| id.starts_with("uat-db-final-"))
            })
            .map(|s| tag_map(s.tag_list()))
            .collect();
        assert_eq!(kept.len(), 1, "{snapshots:#?}");
        let kept = &kept[0];
        assert_eq!(kept.get(tags::KEEP).map(String::as_str), Some("true"));
        assert_eq!(kept.get(tags::ENV).map(String::as_str), Some("uat"));
        assert_eq!(
            kept.get("rehearsal:final-snapshot-of").map(String::as_str),
            Some("uat-db")
        );
        assert!(kept.contains_key("rehearsal:refreshed-at"), "{kept:#?}");
        assert!(!kept.contains_key(tags::EXPIRES_AT), "{kept:#?}");

        // The spec is met: the next plan changes nothing.
        project
            .rehearsal(&["plan", "uat", "--detailed-exitcode"])
            .run()
            .exits(0);
    }
}

#[test]
fn a_refresh_waits_for_uat_s_window_and_an_override_goes_ahead() {
    let project = Project::new();
    project.write(
        "environments/uat.toml",
        &UAT.replacen(
            "lifecycle = \"protected\"",
            "lifecycle = \"protected\"\n\n[window]\ndays = [\"mon\", \"tue\", \"wed\", \"thu\"]\nhours = \"10:00-17:00\"\ntime_zone = \"UTC\"",
            1,
        ),
    );
    project
        .rehearsal(&["apply", "uat", "--auto-approve"])
        .at("2026-12-03 11:00:00")
        .run()
        .exits(0);
    // Saturday: closed; nothing is deleted.
    project
        .rehearsal(&["refresh", "uat", "db", "--auto-approve"])
        .at("2026-12-05 11:00:00")
        .run()
        .exits(7)
        .stderr_has("the change window of uat is closed");
    assert!(kept_of(&project, "uat-db").is_empty());
    project
        .rehearsal(&[
            "refresh",
            "uat",
            "db",
            "--auto-approve",
            "--override-window",
            "testers need Friday's data",
        ])
        .at("2026-12-05 11:00:00")
        .run()
        .exits(0);
    assert_eq!(kept_of(&project, "uat-db").len(), 1);
}
