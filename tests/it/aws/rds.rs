//! RDS snapshots and restored DB instances.

use rehearsal::engine::wait;
use rehearsal::model::tags;
use rehearsal::provider::{DeleteOutcome, DeletePolicy, Provider, ProviderError};
use serde_json::json;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rds_snapshot_and_restored_instance_round_trip() {
    let w = world().await;
    let p = &w.provider;

    // A fresh snapshot of production's database.
    let snap_req = request(
        "rds_snapshot.from_prod",
        json!({
            "identifier": "prerelease-from-prod",
            "source_db": "production-db",
            "keep_after_destroy": false,
            "tags": {"Purpose": "rehearsal"},
        }),
    );
    let snap = create_ready(p, &snap_req, "rds_snapshot.from_prod").await;
    assert_eq!(snap.status, "available");
    assert_round_trip(
        &snap_req,
        &observed(p, "rds_snapshot.from_prod")
            .await
            .expect("observed snapshot"),
    );
    let raw = w
        .rds
        .describe_db_snapshots()
        .db_snapshot_identifier("prerelease-from-prod")
        .send()
        .await
        .unwrap();
    let raw_tags = rds_tags(raw.db_snapshots()[0].tag_list());
    assert_eq!(raw_tags.get(tags::ENV).map(String::as_str), Some(ENV));
    assert_eq!(
        raw_tags.get("Purpose").map(String::as_str),
        Some("rehearsal")
    );
    assert!(
        !raw_tags.contains_key("Environment"),
        "production's tags leaked: {raw_tags:?}"
    );

    // The pre-release database, restored from it into production's network.
    let db_req = request(
        "rds_instance.db",
        json!({
            "identifier": "prerelease-db",
            "snapshot": "prerelease-from-prod",
            "instance_class": "db.t3.small",
            "subnet_group": w.production.db_subnet_group,
            "security_groups": [w.production.security_groups.db],
            "backup_retention_days": 0,
            "deletion_protection": false,
            "final_snapshot": false,
            "tags": {"Name": "prerelease-db"},
        }),
    );
    let (create_op, progress) = op("rds_instance.db");
    // As apply does it: restore, wait, then set what the restore ignored (moto copies
    // production's backup retention and deletion protection).
    let ready = rehearsal::apply::create_ready(p, &create_op, &db_req)
        .await
        .expect("restore");
    assert_eq!(ready.status, "available");
    assert!(
        ready.attributes["endpoint"]
            .as_str()
            .is_some_and(|e| e.starts_with("prerelease-db."))
    );
    assert_eq!(ready.attributes["port"], json!(5432));
    assert_eq!(ready.attributes["engine"], json!("postgres"));
    assert!(
        progress.messages().iter().any(|m| m.ends_with("available")),
        "{:?}",
        progress.messages()
    );
    let live = observed(p, "rds_instance.db").await.expect("observed db");
    assert_round_trip(&db_req, &live);
    assert_eq!(live.id, "prerelease-db");

    // What the emulator holds: our tags only (not production's), no protection, no backups.
    let raw = w
        .rds
        .describe_db_instances()
        .db_instance_identifier("prerelease-db")
        .send()
        .await
        .unwrap();
    let raw_db = &raw.db_instances()[0];
    let raw_tags = rds_tags(raw_db.tag_list());
    assert_eq!(raw_tags.get(tags::ENV).map(String::as_str), Some(ENV));
    assert_eq!(
        raw_tags.get(tags::ADDRESS).map(String::as_str),
        Some("rds_instance.db")
    );
    assert_eq!(
        raw_tags.get("Name").map(String::as_str),
        Some("prerelease-db")
    );
    assert_eq!(
        raw_tags.get("rehearsal:input:snapshot").map(String::as_str),
        Some("prerelease-from-prod")
    );
    assert!(
        !raw_tags.contains_key("Environment"),
        "production's tags leaked: {raw_tags:?}"
    );
    assert_eq!(raw_db.deletion_protection(), Some(false));
    assert_eq!(raw_db.backup_retention_period(), Some(0));
    assert_eq!(raw_db.db_instance_class(), Some("db.t3.small"));

    // Update in place: class, retention, tags, and the final-snapshot policy.
    let mut desired = db_req.attributes.clone();
    desired.insert("instance_class".into(), json!("db.t3.medium"));
    desired.insert("backup_retention_days".into(), json!(1));
    desired.insert("final_snapshot".into(), json!(true));
    desired.insert(
        "tags".into(),
        json!({"Name": "prerelease-db", "Owner": "release-team"}),
    );
    let changed: Vec<String> = [
        "instance_class",
        "backup_retention_days",
        "final_snapshot",
        "tags",
    ]
    .map(String::from)
    .to_vec();
    let (update_op, _) = op("rds_instance.db");
    let updated = p
        .update(&update_op, &live, &desired, &changed)
        .await
        .expect("update");
    assert_eq!(updated.attributes["instance_class"], json!("db.t3.medium"));
    let after = observed(p, "rds_instance.db").await.unwrap();
    assert_round_trip(
        &CreateRequest {
            attributes: desired.clone(),
            ..db_req.clone()
        },
        &after,
    );
    let raw = w
        .rds
        .describe_db_instances()
        .db_instance_identifier("prerelease-db")
        .send()
        .await
        .unwrap();
    assert_eq!(
        raw.db_instances()[0].db_instance_class(),
        Some("db.t3.medium")
    );
    assert_eq!(raw.db_instances()[0].backup_retention_period(), Some(1));
    assert_eq!(
        rds_tags(raw.db_instances()[0].tag_list())
            .get("Owner")
            .map(String::as_str),
        Some("release-team")
    );

    // Delete the database, then the snapshot; deleting again is fine.
    let (del_op, _) = op("rds_instance.db");
    let outcome = p
        .delete(&del_op, &after, &DeletePolicy::default())
        .await
        .expect("delete db");
    assert_eq!(outcome, DeleteOutcome::Accepted);
    wait::until_gone(p, &del_op, &after).await.expect("db gone");
    let err = w
        .rds
        .describe_db_instances()
        .db_instance_identifier("prerelease-db")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_rds::error::ProvideErrorMetadata::code(&err),
        Some("DBInstanceNotFound")
    );
    assert_eq!(
        p.delete(&del_op, &after, &DeletePolicy::default())
            .await
            .expect("delete again"),
        DeleteOutcome::Accepted
    );

    // A snapshot changes only its tags and the keep policy, in place.
    let mut keep = snap_req.attributes.clone();
    keep.insert("keep_after_destroy".into(), json!(true));
    keep.insert("tags".into(), json!({"Purpose": "release-guard"}));
    let (snap_op, _) = op("rds_snapshot.from_prod");
    let changed = vec!["keep_after_destroy".to_owned(), "tags".to_owned()];
    let kept = p
        .update(&snap_op, &snap, &keep, &changed)
        .await
        .expect("update snapshot");
    assert!(kept.keep_after_destroy());
    assert_round_trip(
        &CreateRequest {
            attributes: keep,
            ..snap_req.clone()
        },
        &observed(p, "rds_snapshot.from_prod").await.unwrap(),
    );
    let raw = w
        .rds
        .describe_db_snapshots()
        .db_snapshot_identifier("prerelease-from-prod")
        .send()
        .await
        .unwrap();
    let raw_tags = rds_tags(raw.db_snapshots()[0].tag_list());
    assert_eq!(raw_tags.get(tags::KEEP).map(String::as_str), Some("true"));
    assert_eq!(
        raw_tags.get("Purpose").map(String::as_str),
        Some("release-guard")
    );

    assert_eq!(
        p.delete(&snap_op, &snap, &DeletePolicy::default())
            .await
            .unwrap(),
        DeleteOutcome::Accepted
    );
    wait::until_gone(p, &snap_op, &snap)
        .await
        .expect("snapshot gone");
    assert_eq!(
        p.delete(&snap_op, &snap, &DeletePolicy::default())
            .await
            .unwrap(),
        DeleteOutcome::Accepted
    );
    assert!(observed(p, "rds_snapshot.from_prod").await.is_none());
    assert!(observed(p, "rds_instance.db").await.is_none());

    w.assert_production_untouched().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_protection_is_switched_off_only_when_the_policy_says_so() {
    let w = world().await;
    let p = &w.provider;
    // A manual snapshot newer than the automated one: `latest_snapshot_of` must pick it.
    w.rds
        .create_db_snapshot()
        .db_snapshot_identifier("production-newest")
        .db_instance_identifier("production-db")
        .send()
        .await
        .unwrap();

    let db_req = request(
        "rds_instance.db",
        json!({
            "identifier": "protected-clone",
            "latest_snapshot_of": "production-db",
            "instance_class": "db.t3.small",
            "backup_retention_days": 1,
            "deletion_protection": true,
        }),
    );
    let (create_op, progress) = op("rds_instance.db");
    let created = p.create(&create_op, &db_req).await.expect("restore");
    wait::until_ready(p, &create_op, &created)
        .await
        .expect("ready");
    assert!(
        progress
            .messages()
            .iter()
            .any(|m| m.contains("newest snapshot of production-db is production-newest")),
        "{:?}",
        progress.messages()
    );
    let live = observed(p, "rds_instance.db").await.expect("observed");
    assert_round_trip(&db_req, &live);
    // RDS does not say which snapshot an instance came from: the restore records the one it
    // chose, and when that was taken, for `status`.
    assert_eq!(
        live.tags.get(tags::RESTORED_FROM).map(String::as_str),
        Some("production-newest")
    );
    let taken = live
        .tags
        .get(tags::RESTORED_FROM_CREATED_AT)
        .expect("its time");
    assert!(
        time::OffsetDateTime::parse(taken, &time::format_description::well_known::Rfc3339).is_ok(),
        "{taken}"
    );
    assert!(live.attributes["engine_version"].is_string(), "{live:#?}");
    assert!(live.attributes["created_at"].is_string(), "{live:#?}");

    // Not allowed to switch protection off: refused, and the database is still there, protected.
    let (del_op, _) = op("rds_instance.db");
    match p.delete(&del_op, &live, &DeletePolicy::default()).await {
        Err(ProviderError::Api { code, .. }) => assert_eq!(code, "DeletionProtectionEnabled"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let raw = w
        .rds
        .describe_db_instances()
        .db_instance_identifier("protected-clone")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.db_instances()[0].deletion_protection(), Some(true));
    assert_eq!(
        raw.db_instances()[0].db_instance_status(),
        Some("available")
    );

    // Allowed: switched off, deleted, with a final snapshot.
    let policy = DeletePolicy {
        final_snapshot_identifier: Some("protected-clone-final".into()),
        final_snapshot_tags: [
            ("rehearsal:keep".to_string(), "true".to_string()),
            (
                "rehearsal:final-snapshot-of".to_string(),
                "protected-clone".to_string(),
            ),
        ]
        .into(),
        disable_deletion_protection: true,
        warning: None,
    };
    assert_eq!(
        p.delete(&del_op, &live, &policy).await.unwrap(),
        DeleteOutcome::Accepted
    );
    wait::until_gone(p, &del_op, &live).await.expect("gone");
    assert!(
        w.rds
            .describe_db_instances()
            .db_instance_identifier("protected-clone")
            .send()
            .await
            .is_err()
    );
    let final_snapshot = w
        .rds
        .describe_db_snapshots()
        .db_snapshot_identifier("protected-clone-final")
        .send()
        .await
        .expect("final snapshot");
    assert_eq!(final_snapshot.db_snapshots().len(), 1);
    // The delete gave it the tags its policy chose.
    let tags = w
        .rds
        .list_tags_for_resource()
        .resource_name(final_snapshot.db_snapshots()[0].db_snapshot_arn().unwrap())
        .send()
        .await
        .unwrap();
    let keep = tags
        .tag_list()
        .iter()
        .find(|t| t.key() == Some("rehearsal:keep"))
        .and_then(|t| t.value());
    assert_eq!(keep, Some("true"), "{tags:?}");

    w.assert_production_untouched().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_outside_the_environment_is_ever_deleted() {
    let w = world().await;
    let p = &w.provider;
    // A forged resource pointing at production: the live tags say it is not ours.
    let forged = LiveResource {
        address: "rds_instance.db".parse().unwrap(),
        id: "production-db".into(),
        status: "available".into(),
        attributes: attrs(json!({"identifier": "production-db"})),
        tags: ownership_tags("rds_instance.db", "prerelease-db"),
    };
    let (del_op, _) = op("rds_instance.db");
    let policy = DeletePolicy {
        final_snapshot_identifier: None,
        final_snapshot_tags: Default::default(),
        disable_deletion_protection: true,
        warning: None,
    };
    match p.delete(&del_op, &forged, &policy).await {
        Err(ProviderError::NotOurs { why, .. }) => assert_eq!(why, "it carries no rehearsal tags"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let forged_server = LiveResource {
        address: "ec2_instance.server".parse().unwrap(),
        id: w.production.instance_id.clone(),
        status: "running".into(),
        attributes: attrs(json!({})),
        tags: ownership_tags("ec2_instance.server", "test-ec2_instance-server"),
    };
    let (ec2_op, _) = op("ec2_instance.server");
    assert!(p.delete(&ec2_op, &forged_server, &policy).await.is_err());
    let forged_cluster = LiveResource {
        address: "ecs_cluster.main".parse().unwrap(),
        id: w.production.cluster_arn.clone(),
        status: "ACTIVE".into(),
        attributes: attrs(json!({})),
        tags: ownership_tags("ecs_cluster.main", "prerelease"),
    };
    let (ecs_op, _) = op("ecs_cluster.main");
    assert!(p.delete(&ecs_op, &forged_cluster, &policy).await.is_err());

    // And observe sees none of production.
    assert!(
        p.observe(&env(), &Default::default())
            .await
            .unwrap()
            .is_empty()
    );
    w.assert_production_untouched().await;
}
