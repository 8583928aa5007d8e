//! "Data is first synced from Prod" (seeds 004): `rehearsal refresh uat db` replaces a
//! long-lived environment's database by a restore of a fresh snapshot of production's. The
//! replaced copy's data is kept in a snapshot taken before it is deleted; the plan deletes
//! first, and says so.

use rehearsal::engine::refresh::{self, RefreshError};
use rehearsal::engine::snapshot;
use rehearsal::kinds::final_snapshot;

use super::*;

/// UAT: protected, its database restored from production's newest snapshot, behind its own
/// security group.
pub const UAT: &str = r#"
[environment]
project = "openchs"
name = "uat"
region = "eu-west-1"
lifecycle = "protected"

[sources.rds_instance.prod_db]
identifier = "production-db"

[sources.ec2_instance.prod_server]
tags = { Name = "production-server" }

[resources.security_group.db]
name = "uat-db-sg"
description = "uat database"
vpc_id = "${source.ec2_instance.prod_server.vpc}"
ingress = [{ protocol = "tcp", port = 5432, cidr_blocks = ["10.0.0.0/16"] }]
egress = []

[resources.rds_instance.db]
identifier = "uat-db"
latest_snapshot_of = "${source.rds_instance.prod_db.identifier}"
instance_class = "db.t3.medium"
subnet_group = "${source.rds_instance.prod_db.subnet_group}"
security_groups = ["${security_group.db.id}"]
publicly_accessible = false
tags = { team = "qa" }
"#;

fn at(text: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
}

const NOW: &str = "2026-12-06T17:30:00Z";

#[tokio::test]
async fn a_refresh_snapshots_production_then_replaces_the_copy_keeping_its_data() {
    let provider = production();
    let file = SpecFile::write("uat", UAT);
    let spec = file.load();
    converge(provider.clone(), &spec).await;
    let before = live_one(&provider, "rds_instance.db");

    let (plan, _) = refresh::plan(provider.as_ref(), &spec, "db", false, at(NOW))
        .await
        .unwrap_or_else(|e| panic!("refresh plan: {e}"));
    let fresh = "uat-production-db-20261206-173000-refresh-of-uat-db";
    let kept = "uat-db-final-20261206t173000";
    assert_eq!(
        labels(&plan),
        [
            "+ rds_snapshot.uat_production_db_20261206_173000_refresh_of_uat_db",
            "-/+ rds_instance.db"
        ]
    );
    let shown = human(&plan, PLAIN);
    for said in [
        &format!("1. snapshots production-db as {fresh}"),
        &format!("2. deletes uat-db, first taking its final snapshot {kept}, which is kept"),
        "3. restores uat-db from",
        "Expected outage: uat-db is unavailable from the delete in step 2 until the restore is available, about 15 minutes",
        "rehearsal deletes first and then restores",
    ] {
        assert!(shown.contains(said), "`{said}` not in:\n{shown}");
    }

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

    // In order: production's snapshot available before the old copy is touched; the old copy
    // gone (its final snapshot taken) before the new one is restored.
    let events = recorded(&recorder);
    let snapshot_done = finished(
        &events,
        "+ rds_snapshot.uat_production_db_20261206_173000_refresh_of_uat_db",
    );
    let delete_started = started(&events, "- rds_instance.db");
    let delete_done = finished(&events, "- rds_instance.db");
    let restore_started = started(&events, "+ rds_instance.db");
    assert!(snapshot_done < delete_started, "{events:#?}");
    assert!(delete_done < restore_started, "{events:#?}");

    // The old copy's data is kept: its final snapshot, tagged, with no expiry.
    let cloud = provider.snapshot();
    let kept_snapshot = cloud.resources.get(kept).expect("the kept snapshot");
    assert_eq!(kept_snapshot.attributes["source_db"], json!("uat-db"));
    assert_eq!(
        kept_snapshot.tags.get(tags::KEEP).map(String::as_str),
        Some("true")
    );
    assert_eq!(
        kept_snapshot
            .tags
            .get(final_snapshot::OF)
            .map(String::as_str),
        Some("uat-db")
    );
    assert_eq!(
        kept_snapshot.tags.get(tags::ENV).map(String::as_str),
        Some("uat")
    );
    assert_eq!(kept_snapshot.tags.get(tags::EXPIRES_AT), None);
    // Production's fresh snapshot, the environment's, kept.
    assert_eq!(
        kept_snapshot
            .tags
            .get(refresh::REFRESHED_AT)
            .map(String::as_str),
        Some(NOW)
    );
    let taken = cloud.resources.get(fresh).expect("the fresh snapshot");
    assert_eq!(taken.attributes["source_db"], json!("production-db"));
    assert_eq!(taken.tags.get(tags::KEEP).map(String::as_str), Some("true"));
    assert_eq!(
        taken.tags.get(snapshot::REASON).map(String::as_str),
        Some("refresh of uat-db")
    );

    // The new copy: the same identifier, with the spec's isolation and tags.
    let after = live_one(&provider, "rds_instance.db");
    assert_eq!(after.id, "uat-db");
    assert_eq!(after.attributes["publicly_accessible"], json!(false));
    assert_eq!(
        after.attributes["security_groups"],
        before.attributes["security_groups"]
    );
    assert_eq!(after.attributes["tags"], json!({"team": "qa"}));

    // And the spec is met: the next plan changes nothing.
    let replan = plan_for(provider.as_ref(), &spec).await;
    assert!(!replan.has_changes(), "{:?}", labels(&replan));
}

#[tokio::test]
async fn with_latest_no_snapshot_is_taken_and_the_plan_says_which_is_restored() {
    let provider = production();
    let spec = SpecFile::write("uat", UAT).load();
    converge(provider.clone(), &spec).await;
    let (plan, _) = refresh::plan(provider.as_ref(), &spec, "rds_instance.db", true, at(NOW))
        .await
        .unwrap();
    assert_eq!(labels(&plan), ["-/+ rds_instance.db"]);
    let shown = human(&plan, PLAIN);
    assert!(
        shown.contains("1. deletes uat-db, first taking its final snapshot"),
        "{shown}"
    );
    assert!(
        shown
            .contains("2. restores uat-db from the newest snapshot of production-db there is then"),
        "{shown}"
    );
}

#[tokio::test]
async fn an_ephemeral_environment_is_refused_a_refresh() {
    let provider = production();
    let spec = shipped("prerelease");
    let refused = refresh::plan(provider.as_ref(), &spec, "db", false, at(NOW)).await;
    assert!(
        matches!(refused, Err(RefreshError::Ephemeral { .. })),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_database_with_deletion_protection_is_refused_before_anything_runs() {
    let provider = production();
    let text = edit(
        UAT,
        "tags = { team",
        "deletion_protection = true\ntags = { team",
    );
    let spec = SpecFile::write("uat", &text).load();
    converge(provider.clone(), &spec).await;
    let refused = refresh::plan(provider.as_ref(), &spec, "db", false, at(NOW)).await;
    let Err(e @ RefreshError::Protected { .. }) = refused else {
        panic!("{refused:?}")
    };
    assert!(e.hint().unwrap().contains("deletion_protection = false"));
}

#[tokio::test]
async fn a_database_not_yet_created_or_not_declared_is_refused() {
    let provider = production();
    let spec = SpecFile::write("uat", UAT).load();
    let refused = refresh::plan(provider.as_ref(), &spec, "db", false, at(NOW)).await;
    assert!(
        matches!(refused, Err(RefreshError::NotDeployed { .. })),
        "{refused:?}"
    );
    let refused = refresh::plan(provider.as_ref(), &spec, "cache", false, at(NOW)).await;
    let Err(e @ RefreshError::Unknown { .. }) = refused else {
        panic!("{refused:?}")
    };
    assert!(e.hint().unwrap().contains("`rehearsal refresh uat db`"));
}

#[tokio::test]
async fn a_database_restored_from_a_named_snapshot_is_refused_with_what_to_declare() {
    let provider = production();
    let text = edit(
        UAT,
        "latest_snapshot_of = \"${source.rds_instance.prod_db.identifier}\"",
        "snapshot = \"uat-golden\"",
    );
    let spec = SpecFile::write("uat", &text).load();
    let refused = refresh::plan(provider.as_ref(), &spec, "db", false, at(NOW)).await;
    let Err(e @ RefreshError::NamedSnapshot { .. }) = refused else {
        panic!("{refused:?}")
    };
    assert!(e.hint().unwrap().contains("latest_snapshot_of"));
}

#[tokio::test]
async fn a_database_that_differs_from_the_spec_is_refused_until_the_spec_is_applied() {
    let provider = production();
    let spec = SpecFile::write("uat", UAT).load();
    converge(provider.clone(), &spec).await;
    let bigger = edit(UAT, "db.t3.medium", "db.t3.large");
    let spec = SpecFile::write("uat", &bigger).load();
    let refused = refresh::plan(provider.as_ref(), &spec, "db", false, at(NOW)).await;
    let Err(e @ RefreshError::NotAsSpecified { .. }) = refused else {
        panic!("{refused:?}")
    };
    assert!(
        e.to_string()
            .contains("`rehearsal plan uat` would update it"),
        "{e}"
    );
}
