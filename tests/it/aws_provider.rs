//! The AWS provider against a real emulator (moto's server, one per test), with a fake production
//! seeded by `scripts/seed_production.py`. Every test checks what the emulator holds through the
//! plain SDK, not only what the provider says.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rehearsal::aws::AwsProvider;
use rehearsal::model::{Address, EnvId, LiveResource, SourceKind, SourceQuery, tags};
use rehearsal::provider::{
    CreateRequest, DeleteOutcome, DeletePolicy, Operation, ProgressSink, Provider, ProviderError,
};
use serde_json::{Value, json};

use crate::emulator::{Emulator, Production, REGION, RecordedCall};

const ENV: &str = "prerelease";

// --- helpers --------------------------------------------------------------------------------------

#[derive(Default)]
struct Progress(Mutex<Vec<String>>);

impl ProgressSink for Progress {
    fn report(&self, address: &Address, message: &str) {
        self.0.lock().unwrap().push(format!("{address}: {message}"));
    }
}

impl Progress {
    fn messages(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

fn env() -> EnvId {
    EnvId {
        name: ENV.into(),
        region: REGION.into(),
    }
}

fn op(address: &str) -> (Operation, Arc<Progress>) {
    let progress = Arc::new(Progress::default());
    let op = Operation {
        env: env(),
        address: address.parse().unwrap(),
        idempotency_token: format!("test-{}", address.replace('.', "-")),
        timeout: Duration::from_secs(120),
        progress: progress.clone(),
    };
    (op, progress)
}

fn ownership_tags(address: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (tags::ENV.to_owned(), ENV.to_owned()),
        (tags::ADDRESS.to_owned(), address.to_owned()),
        (
            tags::EXPIRES_AT.to_owned(),
            "2030-01-01T00:00:00Z".to_owned(),
        ),
    ])
}

fn request(address: &str, attributes: Value) -> CreateRequest {
    let parsed: Address = address.parse().unwrap();
    CreateRequest {
        kind: parsed.kind,
        attributes: attributes.as_object().unwrap().clone(),
        tags: ownership_tags(address),
    }
}

fn attrs(value: Value) -> rehearsal::model::Attributes {
    value.as_object().unwrap().clone()
}

/// The engine's comparison: every key the spec gave compares equal; objects inside arrays by the
/// keys the spec gave them; `tags` and `environment` maps exactly.
fn matches(expected: &Value, actual: &Value, exact: bool) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) if !exact => e.iter().all(|(k, v)| {
            a.get(k)
                .is_some_and(|av| matches(v, av, k == "environment" || k == "tags"))
        }),
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(e, a)| matches(e, a, false))
        }
        _ => expected == actual,
    }
}

fn assert_round_trip(request: &CreateRequest, live: &LiveResource) {
    for (key, expected) in &request.attributes {
        let actual = live.attributes.get(key).unwrap_or(&Value::Null);
        assert!(
            matches(expected, actual, key == "tags"),
            "{}: `{key}` was {expected} in the request but observe says {actual}\nall: {:#?}",
            live.address,
            live.attributes
        );
    }
}

async fn observed(provider: &AwsProvider, address: &str) -> Option<LiveResource> {
    let all = provider.observe(&env()).await.expect("observe");
    all.into_iter().find(|r| r.address.to_string() == address)
}

async fn create_ready(
    provider: &AwsProvider,
    request: &CreateRequest,
    address: &str,
) -> LiveResource {
    let (op, _) = op(address);
    let created = provider.create(&op, request).await.expect("create");
    assert_eq!(created.address.to_string(), address);
    provider
        .wait_ready(&op, &created)
        .await
        .expect("wait_ready")
}

fn query(kind: SourceKind, id: Option<&str>) -> SourceQuery {
    SourceQuery {
        kind,
        id: id.map(str::to_owned),
        tags: BTreeMap::new(),
        cluster: None,
    }
}

fn rds_tags(list: &[aws_sdk_rds::types::Tag]) -> BTreeMap<String, String> {
    list.iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

struct World {
    emulator: Emulator,
    production: Production,
    provider: AwsProvider,
    ec2: aws_sdk_ec2::Client,
    rds: aws_sdk_rds::Client,
    ecs: aws_sdk_ecs::Client,
}

async fn world() -> World {
    let emulator = Emulator::start();
    let production = emulator.seed_production();
    let provider = emulator.provider().await;
    let sdk = emulator.sdk_config().await;
    World {
        ec2: aws_sdk_ec2::Client::new(&sdk),
        rds: aws_sdk_rds::Client::new(&sdk),
        ecs: aws_sdk_ecs::Client::new(&sdk),
        emulator,
        production,
        provider,
    }
}

impl World {
    /// Production's database as the emulator holds it.
    async fn production_db(&self) -> aws_sdk_rds::types::DbInstance {
        self.rds
            .describe_db_instances()
            .db_instance_identifier(&self.production.db_identifier)
            .send()
            .await
            .expect("describe production-db")
            .db_instances()[0]
            .clone()
    }

    async fn assert_production_untouched(&self) {
        let db = self.production_db().await;
        assert_eq!(db.db_instance_status(), Some("available"));
        assert_eq!(db.deletion_protection(), Some(true));
        assert_eq!(db.db_instance_class(), Some("db.t3.medium"));
        assert_eq!(
            rds_tags(db.tag_list()),
            BTreeMap::from([
                ("Environment".to_owned(), "production".to_owned()),
                ("Name".to_owned(), "production-db".to_owned()),
            ])
        );
        let server = self
            .ec2
            .describe_instances()
            .instance_ids(&self.production.instance_id)
            .send()
            .await
            .unwrap();
        let server = &server.reservations()[0].instances()[0];
        assert_eq!(
            server.state().and_then(|s| s.name()).map(|n| n.as_str()),
            Some("running")
        );
        assert_eq!(
            server.instance_type().map(|t| t.as_str()),
            Some("t3.medium")
        );
        let cluster = self
            .ecs
            .describe_clusters()
            .clusters("production")
            .send()
            .await
            .unwrap();
        assert_eq!(cluster.clusters()[0].status(), Some("ACTIVE"));
        let service = self
            .ecs
            .describe_services()
            .cluster("production")
            .services("server")
            .send()
            .await
            .unwrap();
        assert_eq!(service.services()[0].status(), Some("ACTIVE"));
        assert_eq!(service.services()[0].desired_count(), 1);
    }
}

// --- lookups --------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_finds_every_source_kind() {
    let w = world().await;
    let p = &w.provider;
    let prod = &w.production;

    let by_tags = SourceQuery {
        kind: SourceKind::Ec2Instance,
        id: None,
        tags: BTreeMap::from([("Name".to_owned(), "production-server".to_owned())]),
        cluster: None,
    };
    let server = p
        .lookup(REGION, &by_tags)
        .await
        .expect("server by tags")
        .attributes;
    assert_eq!(server["id"], json!(prod.instance_id));
    assert_eq!(server["image"], json!(prod.ami_id));
    assert_eq!(server["subnet"], json!(prod.subnet_id));
    assert_eq!(server["vpc"], json!(prod.vpc_id));
    assert_eq!(
        server["security_groups"],
        json!([prod.security_groups.server])
    );
    assert_eq!(server["instance_type"], json!("t3.medium"));
    assert_eq!(server["state"], json!("running"));
    assert!(
        server["private_ip"]
            .as_str()
            .is_some_and(|ip| ip.starts_with("10.0.1."))
    );
    let by_id = p
        .lookup(
            REGION,
            &query(SourceKind::Ec2Instance, Some(&prod.instance_id)),
        )
        .await
        .expect("server by id");
    assert_eq!(by_id.attributes, server);

    let db = p
        .lookup(
            REGION,
            &query(SourceKind::RdsInstance, Some("production-db")),
        )
        .await
        .expect("db")
        .attributes;
    assert_eq!(db["identifier"], json!("production-db"));
    assert_eq!(db["engine"], json!("postgres"));
    assert_eq!(db["instance_class"], json!("db.t3.medium"));
    assert_eq!(db["subnet_group"], json!(prod.db_subnet_group));
    assert_eq!(db["security_groups"], json!([prod.security_groups.db]));
    assert_eq!(db["status"], json!("available"));
    assert_eq!(db["port"], json!(5432));
    for key in ["arn", "engine_version", "endpoint", "parameter_group"] {
        assert!(db[key].is_string(), "{key} missing from {db:?}");
    }

    let cluster = p
        .lookup(REGION, &query(SourceKind::EcsCluster, Some("production")))
        .await
        .expect("cluster")
        .attributes;
    assert_eq!(cluster["arn"], json!(prod.cluster_arn));
    assert_eq!(cluster["status"], json!("ACTIVE"));

    let mut service_query = query(SourceKind::EcsService, Some("server"));
    service_query.cluster = Some("production".into());
    let service = p
        .lookup(REGION, &service_query)
        .await
        .expect("service")
        .attributes;
    assert_eq!(service["arn"], json!(prod.service_arn));
    assert_eq!(service["cluster"], json!("production"));
    assert_eq!(service["task_definition"], json!(prod.task_definition_arn));
    assert_eq!(service["desired_count"], json!(1));

    // The newest ACTIVE revision of the family.
    w.ecs
        .register_task_definition()
        .family("server")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("server")
                .image("example/openchs-server:3.1.0")
                .memory(1024)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let td = p
        .lookup(
            REGION,
            &query(SourceKind::EcsTaskDefinition, Some("server")),
        )
        .await
        .expect("task definition")
        .attributes;
    assert_eq!(td["family"], json!("server"));
    assert_eq!(td["revision"], json!(2));
    assert_eq!(td["image"], json!("example/openchs-server:3.1.0"));
    assert!(
        td["arn"]
            .as_str()
            .is_some_and(|a| a.ends_with("task-definition/server:2"))
    );

    // Missing sources are NotFound, named as the query names them.
    let missing = [
        query(SourceKind::RdsInstance, Some("no-such-db")),
        query(SourceKind::Ec2Instance, Some("i-0123456789abcdef0")),
        SourceQuery {
            tags: BTreeMap::from([("Name".to_owned(), "no-such-server".to_owned())]),
            ..query(SourceKind::Ec2Instance, None)
        },
        query(SourceKind::EcsCluster, Some("no-such-cluster")),
        SourceQuery {
            cluster: Some("production".into()),
            ..query(SourceKind::EcsService, Some("no-such-service"))
        },
        SourceQuery {
            cluster: Some("no-such-cluster".into()),
            ..query(SourceKind::EcsService, Some("server"))
        },
        query(SourceKind::EcsTaskDefinition, Some("no-such-family")),
    ];
    for q in missing {
        match p.lookup(REGION, &q).await {
            Err(ProviderError::NotFound { what }) => assert_eq!(what, q.describe()),
            other => panic!("{}: expected NotFound, got {other:?}", q.describe()),
        }
    }
    assert_eq!(
        p.lookup(REGION, &query(SourceKind::RdsInstance, Some("no-such-db")))
            .await
            .unwrap_err()
            .to_string(),
        "rds_instance no-such-db was not found"
    );
    w.assert_production_untouched().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_by_tags_refuses_an_ambiguous_match() {
    let w = world().await;
    let second = w
        .ec2
        .run_instances()
        .image_id(&w.production.ami_id)
        .min_count(1)
        .max_count(1)
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Instance)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("Name")
                        .value("production-server")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let second_id = second.instances()[0].instance_id().unwrap().to_owned();
    let q = SourceQuery {
        kind: SourceKind::Ec2Instance,
        id: None,
        tags: BTreeMap::from([("Name".to_owned(), "production-server".to_owned())]),
        cluster: None,
    };
    match w.provider.lookup(REGION, &q).await {
        Err(ProviderError::Api { code, message, .. }) => {
            assert_eq!(code, "AmbiguousSource");
            assert!(message.contains(&w.production.instance_id), "{message}");
            assert!(message.contains(&second_id), "{message}");
        }
        other => panic!("expected an ambiguity error, got {other:?}"),
    }
    // A terminated twin no longer counts.
    w.ec2
        .terminate_instances()
        .instance_ids(&second_id)
        .send()
        .await
        .unwrap();
    let found = w.provider.lookup(REGION, &q).await.expect("one left");
    assert_eq!(found.attributes["id"], json!(w.production.instance_id));
}

// --- RDS ------------------------------------------------------------------------------------------

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
    let created = p.create(&create_op, &db_req).await.expect("restore");
    let ready = p.wait_ready(&create_op, &created).await.expect("ready");
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
    p.wait_deleted(&del_op, &after).await.expect("db gone");
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
    p.wait_deleted(&snap_op, &snap)
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
    p.wait_ready(&create_op, &created).await.expect("ready");
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
        disable_deletion_protection: true,
    };
    assert_eq!(
        p.delete(&del_op, &live, &policy).await.unwrap(),
        DeleteOutcome::Accepted
    );
    p.wait_deleted(&del_op, &live).await.expect("gone");
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
        tags: ownership_tags("rds_instance.db"),
    };
    let (del_op, _) = op("rds_instance.db");
    let policy = DeletePolicy {
        final_snapshot_identifier: None,
        disable_deletion_protection: true,
    };
    match p.delete(&del_op, &forged, &policy).await {
        Err(ProviderError::Api { code, .. }) => assert_eq!(code, "NotOwned"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let forged_server = LiveResource {
        address: "ec2_instance.server".parse().unwrap(),
        id: w.production.instance_id.clone(),
        status: "running".into(),
        attributes: attrs(json!({})),
        tags: ownership_tags("ec2_instance.server"),
    };
    let (ec2_op, _) = op("ec2_instance.server");
    assert!(p.delete(&ec2_op, &forged_server, &policy).await.is_err());
    let forged_cluster = LiveResource {
        address: "ecs_cluster.main".parse().unwrap(),
        id: w.production.cluster_arn.clone(),
        status: "ACTIVE".into(),
        attributes: attrs(json!({})),
        tags: ownership_tags("ecs_cluster.main"),
    };
    let (ecs_op, _) = op("ecs_cluster.main");
    assert!(p.delete(&ecs_op, &forged_cluster, &policy).await.is_err());

    // And observe sees none of production.
    assert!(p.observe(&env()).await.unwrap().is_empty());
    w.assert_production_untouched().await;
}

// --- EC2 ------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_clone_round_trips_updates_and_terminates() {
    let w = world().await;
    let p = &w.provider;
    let user_data =
        "#!/bin/bash\necho 'SERVER_VERSION=3.2.0' >> /etc/openchs/env\nsystemctl restart openchs\n";
    let req = request(
        "ec2_instance.server",
        json!({
            "clone_of": w.production.instance_id,
            "instance_type": "t3.small",
            "user_data": user_data,
            "tags": {"Name": "prerelease-server"},
        }),
    );
    let ready = create_ready(p, &req, "ec2_instance.server").await;
    assert_eq!(ready.status, "running");
    let live = observed(p, "ec2_instance.server").await.expect("observed");
    assert_round_trip(&req, &live);
    // Resolved from the source: production's image, subnet and security groups.
    assert_eq!(live.attributes["image"], json!(w.production.ami_id));
    assert_eq!(live.attributes["subnet"], json!(w.production.subnet_id));
    assert_eq!(
        live.attributes["security_groups"],
        json!([w.production.security_groups.server])
    );
    assert!(live.attributes["private_ip"].is_string());
    assert_eq!(live.attributes["state"], json!("running"));

    let raw = w
        .ec2
        .describe_instances()
        .instance_ids(&live.id)
        .send()
        .await
        .unwrap();
    let instance = &raw.reservations()[0].instances()[0];
    let raw_tags: BTreeMap<_, _> = instance
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
        .collect();
    assert_eq!(raw_tags.get(tags::ENV), Some(&ENV));
    assert_eq!(raw_tags.get("Name"), Some(&"prerelease-server"));
    assert_eq!(
        raw_tags.get("rehearsal:input:clone_of"),
        Some(&w.production.instance_id.as_str())
    );
    assert!(!raw_tags.contains_key("Environment"));

    // Instance type: stop, modify, start, each step reported.
    let mut desired = req.attributes.clone();
    desired.insert("instance_type".into(), json!("t3.medium"));
    desired.insert("tags".into(), json!({"Name": "prerelease-server-2"}));
    let (update_op, progress) = op("ec2_instance.server");
    let changed = vec!["instance_type".to_owned(), "tags".to_owned()];
    let updated = p
        .update(&update_op, &live, &desired, &changed)
        .await
        .expect("update");
    assert_eq!(updated.status, "running");
    let messages = progress.messages();
    for step in [
        "stopping",
        "stopped",
        "changing type to t3.medium",
        "starting",
        "running",
    ] {
        assert!(
            messages.iter().any(|m| m.ends_with(step)),
            "no `{step}` in {messages:?}"
        );
    }
    let after = observed(p, "ec2_instance.server").await.unwrap();
    assert_round_trip(
        &CreateRequest {
            attributes: desired,
            ..req.clone()
        },
        &after,
    );
    let raw = w
        .ec2
        .describe_instances()
        .instance_ids(&live.id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        raw.reservations()[0].instances()[0]
            .instance_type()
            .map(|t| t.as_str()),
        Some("t3.medium")
    );

    // Terminate; gone from observe; a second delete and a delete of an unknown id are fine.
    let (del_op, _) = op("ec2_instance.server");
    assert_eq!(
        p.delete(&del_op, &after, &DeletePolicy::default())
            .await
            .unwrap(),
        DeleteOutcome::Accepted
    );
    p.wait_deleted(&del_op, &after).await.expect("terminated");
    let raw = w
        .ec2
        .describe_instances()
        .instance_ids(&live.id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        raw.reservations()[0].instances()[0]
            .state()
            .and_then(|s| s.name())
            .map(|n| n.as_str()),
        Some("terminated")
    );
    assert!(observed(p, "ec2_instance.server").await.is_none());
    assert_eq!(
        p.delete(&del_op, &after, &DeletePolicy::default())
            .await
            .unwrap(),
        DeleteOutcome::Accepted
    );
    let unknown = LiveResource {
        id: "i-0123456789abcdef0".into(),
        ..after.clone()
    };
    assert_eq!(
        p.delete(&del_op, &unknown, &DeletePolicy::default())
            .await
            .unwrap(),
        DeleteOutcome::Accepted
    );
    p.wait_deleted(&del_op, &unknown)
        .await
        .expect("unknown counts as gone");

    w.assert_production_untouched().await;
}

// --- ECS ------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecs_cluster_task_definition_and_service_round_trip() {
    let w = world().await;
    let p = &w.provider;

    let cluster_req = request(
        "ecs_cluster.main",
        json!({"name": "prerelease", "tags": {"Team": "release"}}),
    );
    let cluster = create_ready(p, &cluster_req, "ecs_cluster.main").await;
    assert_eq!(cluster.status, "ACTIVE");

    let td_req = request(
        "ecs_task_definition.server",
        json!({
            "family": "prerelease-server",
            "cpu": "512",
            "memory": "1024",
            "network_mode": "awsvpc",
            "requires_compatibilities": ["EC2"],
            "execution_role_arn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
            "containers": [{
                "name": "server",
                "image": "example/openchs-server:3.2.0",
                "cpu": 512,
                "memory": 1024,
                "essential": true,
                "environment": {"DATABASE_HOST": "prerelease-db.example", "SERVER_VERSION": "3.2.0"},
                "port_mappings": [{"container_port": 8080}],
                "command": ["java", "-jar", "server.jar"],
            }],
            "tags": {"Team": "release"},
        }),
    );
    let td = create_ready(p, &td_req, "ecs_task_definition.server").await;
    assert_eq!(td.attributes["revision"], json!(1));

    let service_req = request(
        "ecs_service.server",
        json!({
            "name": "server",
            "cluster": "prerelease",
            "task_definition": td.attributes["arn"],
            "desired_count": 1,
            "launch_type": "EC2",
            "subnets": [w.production.subnet_id],
            "security_groups": [w.production.security_groups.server],
            "tags": {"Team": "release"},
        }),
    );
    let service = create_ready(p, &service_req, "ecs_service.server").await;
    assert_eq!(service.status, "ACTIVE");

    let all = p.observe(&env()).await.unwrap();
    assert_eq!(all.len(), 3, "{all:#?}");
    for (req, address) in [
        (&cluster_req, "ecs_cluster.main"),
        (&td_req, "ecs_task_definition.server"),
        (&service_req, "ecs_service.server"),
    ] {
        let live = all
            .iter()
            .find(|r| r.address.to_string() == address)
            .expect(address);
        assert_round_trip(req, live);
        assert_eq!(live.tags.get(tags::ENV).map(String::as_str), Some(ENV));
    }

    // Tags as the emulator holds them, set at creation.
    let raw = w
        .ecs
        .describe_services()
        .cluster("prerelease")
        .services("server")
        .include(aws_sdk_ecs::types::ServiceField::Tags)
        .send()
        .await
        .unwrap();
    let raw_tags: BTreeMap<_, _> = raw.services()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
        .collect();
    assert_eq!(raw_tags.get(tags::ADDRESS), Some(&"ecs_service.server"));
    assert_eq!(raw_tags.get("Team"), Some(&"release"));

    // A new revision and a new count, in place.
    let mut td2_req = td_req.clone();
    td2_req.attributes["containers"][0]["image"] = json!("example/openchs-server:3.2.1");
    let (td2_op, _) = op("ecs_task_definition.server");
    let td2 = p.create(&td2_op, &td2_req).await.expect("second revision");
    assert_eq!(td2.attributes["revision"], json!(2));
    let mut desired = service_req.attributes.clone();
    desired.insert("task_definition".into(), td2.attributes["arn"].clone());
    desired.insert("desired_count".into(), json!(2));
    desired.insert("tags".into(), json!({"Team": "release", "Stage": "rc"}));
    let live_service = observed(p, "ecs_service.server").await.unwrap();
    let (svc_op, _) = op("ecs_service.server");
    let changed = vec![
        "task_definition".to_owned(),
        "desired_count".to_owned(),
        "tags".to_owned(),
    ];
    p.update(&svc_op, &live_service, &desired, &changed)
        .await
        .expect("update service");
    let after = observed(p, "ecs_service.server").await.unwrap();
    assert_round_trip(
        &CreateRequest {
            attributes: desired,
            ..service_req.clone()
        },
        &after,
    );

    // Teardown in order: service, task definitions, cluster. Each delete twice.
    let policy = DeletePolicy::default();
    assert_eq!(
        p.delete(&svc_op, &after, &policy).await.unwrap(),
        DeleteOutcome::Accepted
    );
    p.wait_deleted(&svc_op, &after)
        .await
        .expect("service inactive");
    assert_eq!(
        p.delete(&svc_op, &after, &policy).await.unwrap(),
        DeleteOutcome::Accepted
    );
    for revision in [&td, &td2] {
        assert_eq!(
            p.delete(&td2_op, revision, &policy).await.unwrap(),
            DeleteOutcome::Accepted
        );
        p.wait_deleted(&td2_op, revision)
            .await
            .expect("deregistered");
        assert_eq!(
            p.delete(&td2_op, revision, &policy).await.unwrap(),
            DeleteOutcome::Accepted
        );
    }
    let (cluster_op, _) = op("ecs_cluster.main");
    assert_eq!(
        p.delete(&cluster_op, &cluster, &policy).await.unwrap(),
        DeleteOutcome::Accepted
    );
    p.wait_deleted(&cluster_op, &cluster)
        .await
        .expect("cluster inactive");
    assert_eq!(
        p.delete(&cluster_op, &cluster, &policy).await.unwrap(),
        DeleteOutcome::Accepted
    );
    assert!(p.observe(&env()).await.unwrap().is_empty());

    let raw = w
        .ecs
        .describe_clusters()
        .clusters("prerelease")
        .send()
        .await
        .unwrap();
    assert!(
        raw.clusters()
            .iter()
            .all(|c| c.status() == Some("INACTIVE"))
    );

    // Deleting what never existed is done, too.
    let ghost_service = LiveResource {
        id: "arn:aws:ecs:eu-west-1:123456789012:service/prerelease/ghost".into(),
        ..after.clone()
    };
    assert_eq!(
        p.delete(&svc_op, &ghost_service, &policy).await.unwrap(),
        DeleteOutcome::Accepted
    );
    let ghost_cluster = LiveResource {
        id: "arn:aws:ecs:eu-west-1:123456789012:cluster/ghost".into(),
        ..cluster.clone()
    };
    assert_eq!(
        p.delete(&cluster_op, &ghost_cluster, &policy)
            .await
            .unwrap(),
        DeleteOutcome::Accepted
    );
    let ghost_td = LiveResource {
        id: "arn:aws:ecs:eu-west-1:123456789012:task-definition/ghost:1".into(),
        ..td.clone()
    };
    assert_eq!(
        p.delete(&td2_op, &ghost_td, &policy).await.unwrap(),
        DeleteOutcome::Accepted
    );

    w.assert_production_untouched().await;
}

// --- environments ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_environments_groups_by_env_with_the_earliest_expiry() {
    let w = world().await;
    let p = &w.provider;
    let mut early = request("ecs_cluster.a", json!({"name": "pre-a"}));
    early
        .tags
        .insert(tags::EXPIRES_AT.into(), "2030-01-01T00:00:00Z".into());
    let mut late = request("ecs_cluster.b", json!({"name": "pre-b"}));
    late.tags
        .insert(tags::EXPIRES_AT.into(), "2031-01-01T00:00:00Z".into());
    let mut other = request("ecs_cluster.c", json!({"name": "staging"}));
    other.tags.insert(tags::ENV.into(), "staging".into());
    other.tags.remove(tags::EXPIRES_AT);
    for (req, address) in [
        (&late, "ecs_cluster.b"),
        (&early, "ecs_cluster.a"),
        (&other, "ecs_cluster.c"),
    ] {
        let (op, _) = op(address);
        p.create(&op, req).await.expect("create");
    }
    // Not ours: an address that does not parse.
    w.ecs
        .create_cluster()
        .cluster_name("foreign")
        .tags(
            aws_sdk_ecs::types::Tag::builder()
                .key(tags::ENV)
                .value(ENV)
                .build(),
        )
        .tags(
            aws_sdk_ecs::types::Tag::builder()
                .key(tags::ADDRESS)
                .value("nonsense")
                .build(),
        )
        .send()
        .await
        .unwrap();

    let envs = p.list_environments(REGION).await.unwrap();
    assert_eq!(envs.len(), 2, "{envs:?}");
    assert_eq!(envs[0].name, ENV);
    assert_eq!(envs[0].resources, 2);
    assert_eq!(envs[0].expires_at.as_deref(), Some("2030-01-01T00:00:00Z"));
    assert_eq!(envs[1].name, "staging");
    assert_eq!(envs[1].resources, 1);
    assert_eq!(envs[1].expires_at, None);

    let observed = p.observe(&env()).await.unwrap();
    let names: Vec<String> = observed.iter().map(|r| r.address.to_string()).collect();
    assert_eq!(names, ["ecs_cluster.a", "ecs_cluster.b"]);
    drop(w.emulator);
}

// --- how the provider talks to AWS ----------------------------------------------------------------

/// One resource of every kind, created and waited for as `apply` does.
async fn create_one_of_each(w: &World) {
    let p = &w.provider;
    let snapshot = request(
        "rds_snapshot.from_prod",
        json!({"identifier": "prerelease-from-prod", "source_db": "production-db"}),
    );
    create_ready(p, &snapshot, "rds_snapshot.from_prod").await;
    let db = request(
        "rds_instance.db",
        json!({
            "identifier": "prerelease-db",
            "snapshot": "prerelease-from-prod",
            "backup_retention_days": 0,
            "deletion_protection": false,
        }),
    );
    create_ready(p, &db, "rds_instance.db").await;
    let server = request(
        "ec2_instance.server",
        json!({"clone_of": w.production.instance_id, "user_data": "#!/bin/sh\n"}),
    );
    create_ready(p, &server, "ec2_instance.server").await;
    let cluster = request("ecs_cluster.main", json!({"name": "prerelease"}));
    create_ready(p, &cluster, "ecs_cluster.main").await;
    let td = request(
        "ecs_task_definition.server",
        json!({"family": "prerelease-server", "containers": [{"name": "server", "image": "a:1", "memory": 512}]}),
    );
    let td = create_ready(p, &td, "ecs_task_definition.server").await;
    let service = request(
        "ecs_service.server",
        json!({"name": "server", "cluster": "prerelease", "task_definition": td.attributes["arn"], "desired_count": 1}),
    );
    create_ready(p, &service, "ecs_service.server").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_ride_on_the_create_calls_and_observe_reads_in_batches() {
    let w = world().await;
    w.emulator.start_recording();
    create_one_of_each(&w).await;
    let calls = w.emulator.stop_recording();
    let actions: Vec<&str> = calls.iter().map(|c| c.action.as_str()).collect();
    for tagging in ["CreateTags", "AddTagsToResource", "TagResource"] {
        assert!(
            !actions.contains(&tagging),
            "tags were added after creation: {actions:?}"
        );
    }
    for create in [
        "CreateDBSnapshot",
        "RestoreDBInstanceFromDBSnapshot",
        "RunInstances",
        "CreateCluster",
        "RegisterTaskDefinition",
        "CreateService",
    ] {
        let call = calls
            .iter()
            .find(|c| c.action == create)
            .unwrap_or_else(|| panic!("no {create} in {actions:?}"));
        assert!(
            call.body.contains("rehearsal%3Aenv") || call.body.contains("rehearsal:env"),
            "{create} carried no ownership tags: {}",
            call.body
        );
    }
    let run = calls.iter().find(|c| c.action == "RunInstances").unwrap();
    assert!(
        run.body.contains("ClientToken=test-ec2_instance-server"),
        "{}",
        run.body
    );

    // observe: a fixed number of list/describe calls per kind, whatever the number of resources;
    // only user data and the environment's task definitions (no batch API) cost one call each.
    w.emulator.start_recording();
    let all = w.provider.observe(&env()).await.unwrap();
    let calls = w.emulator.stop_recording();
    assert_eq!(all.len(), 6, "{all:#?}");
    let count = |action: &str| calls.iter().filter(|c| c.action == action).count();
    for action in [
        "DescribeInstances",
        "DescribeInstanceAttribute",
        "DescribeDBInstances",
        "DescribeDBSnapshots",
        "ListClusters",
        "DescribeClusters",
        "ListServices",
        "DescribeServices",
        "GetResources",
    ] {
        assert_eq!(
            count(action),
            1,
            "{action} in {:?}",
            calls.iter().map(|c| &c.action).collect::<Vec<_>>()
        );
    }
    // Ours only: production's task definition carries no `rehearsal:env` tag, so it is not even
    // described, and the account's revisions are never listed.
    assert_eq!(count("DescribeTaskDefinition"), 1);
    assert_eq!(count("ListTaskDefinitions"), 0);
    assert_eq!(calls.len(), 10);
}

/// `observe`, recorded: what it found and the API calls it made.
async fn observe_recorded(w: &World) -> (Vec<LiveResource>, Vec<RecordedCall>) {
    w.emulator.start_recording();
    let all = w.provider.observe(&env()).await.expect("observe");
    (all, w.emulator.stop_recording())
}

fn count_of(calls: &[RecordedCall], action: &str) -> usize {
    calls.iter().filter(|c| c.action == action).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_definitions_are_found_by_tag_not_by_listing_the_account() {
    let w = world().await;
    create_one_of_each(&w).await;
    let (before, calls_before) = observe_recorded(&w).await;
    assert_eq!(before.len(), 6, "{before:#?}");

    // Someone else's family, untagged, with many revisions: on a real account, hundreds.
    for revision in 1..=15 {
        w.ecs
            .register_task_definition()
            .family("other-app")
            .container_definitions(
                aws_sdk_ecs::types::ContainerDefinition::builder()
                    .name("app")
                    .image(format!("other-app:{revision}"))
                    .memory(256)
                    .build(),
            )
            .send()
            .await
            .expect("register other-app");
    }
    let listed = w
        .ecs
        .list_task_definitions()
        .family_prefix("other-app")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.task_definition_arns().len(), 15);

    let (after, calls_after) = observe_recorded(&w).await;
    let ids = |all: &[LiveResource]| {
        all.iter()
            .map(|r| (r.address.to_string(), r.id.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&after), ids(&before));
    assert_eq!(count_of(&calls_before, "DescribeTaskDefinition"), 1);
    assert_eq!(
        count_of(&calls_after, "DescribeTaskDefinition"),
        count_of(&calls_before, "DescribeTaskDefinition"),
        "15 unrelated revisions cost observe nothing"
    );
    assert_eq!(calls_after.len(), calls_before.len());
    for calls in [&calls_before, &calls_after] {
        assert_eq!(count_of(calls, "GetResources"), 1);
        assert_eq!(count_of(calls, "ListTaskDefinitions"), 0);
    }

    // A revision of ours deregistered behind rehearsal's back: the Tagging API may keep listing
    // it (moto does), but it is no longer part of the environment.
    let stale = w
        .ecs
        .register_task_definition()
        .family("prerelease-server")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("server")
                .image("a:0")
                .memory(512)
                .build(),
        )
        .set_tags(Some(
            ownership_tags("ecs_task_definition.old")
                .into_iter()
                .map(|(k, v)| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .send()
        .await
        .unwrap();
    let stale_arn = stale
        .task_definition()
        .and_then(|td| td.task_definition_arn())
        .unwrap()
        .to_owned();
    w.ecs
        .deregister_task_definition()
        .task_definition(&stale_arn)
        .send()
        .await
        .unwrap();
    let (now, _) = observe_recorded(&w).await;
    assert_eq!(
        ids(&now),
        ids(&before),
        "the deregistered revision is not observed"
    );

    // list_environments finds task definitions of every environment through the same tag.
    let mut staging = request(
        "ecs_task_definition.server",
        json!({"family": "staging-server", "containers": [{"name": "server", "image": "a:1", "memory": 512}]}),
    );
    staging.tags.insert(tags::ENV.into(), "staging".into());
    staging.tags.remove(tags::EXPIRES_AT);
    let (staging_op, _) = op("ecs_task_definition.server");
    w.provider
        .create(&staging_op, &staging)
        .await
        .expect("create staging's task definition");
    let envs = w.provider.list_environments(REGION).await.unwrap();
    let summary: Vec<(&str, usize)> = envs
        .iter()
        .map(|e| (e.name.as_str(), e.resources))
        .collect();
    assert_eq!(summary, [(ENV, 6), ("staging", 1)], "{envs:?}");
    w.assert_production_untouched().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_and_deletes_handle_states_in_between() {
    let w = world().await;
    let p = &w.provider;
    let server = request(
        "ec2_instance.server",
        json!({"clone_of": w.production.instance_id}),
    );
    let live = create_ready(p, &server, "ec2_instance.server").await;

    // A stopped instance never becomes `running` by itself: the wait times out.
    w.ec2
        .stop_instances()
        .instance_ids(&live.id)
        .send()
        .await
        .unwrap();
    let (mut short_op, _) = op("ec2_instance.server");
    short_op.timeout = Duration::from_secs(1);
    match p.wait_ready(&short_op, &live).await {
        Err(ProviderError::Timeout { target, after, .. }) => {
            assert_eq!(target, "running");
            assert_eq!(after, Duration::from_secs(1));
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    // A terminated one never will: a failure state, not a timeout.
    w.ec2
        .terminate_instances()
        .instance_ids(&live.id)
        .send()
        .await
        .unwrap();
    let (wait_op, _) = op("ec2_instance.server");
    match p.wait_ready(&wait_op, &live).await {
        Err(ProviderError::FailedState { state, target, .. }) => {
            assert_eq!((state.as_str(), target.as_str()), ("terminated", "running"));
        }
        other => panic!("expected a failed state, got {other:?}"),
    }

    // A stopped database is started first (RDS cannot delete it), then deleted.
    let snapshot = request(
        "rds_snapshot.from_prod",
        json!({"identifier": "prerelease-from-prod", "source_db": "production-db"}),
    );
    create_ready(p, &snapshot, "rds_snapshot.from_prod").await;
    let db = request(
        "rds_instance.db",
        json!({"identifier": "prerelease-db", "snapshot": "prerelease-from-prod", "deletion_protection": false}),
    );
    let db = create_ready(p, &db, "rds_instance.db").await;
    w.rds
        .stop_db_instance()
        .db_instance_identifier("prerelease-db")
        .send()
        .await
        .unwrap();
    let (del_op, progress) = op("rds_instance.db");
    match p
        .delete(&del_op, &db, &DeletePolicy::default())
        .await
        .unwrap()
    {
        DeleteOutcome::NotYet { reason } => assert!(reason.contains("stopped"), "{reason}"),
        other => panic!("expected NotYet, got {other:?}"),
    }
    assert!(progress.messages().iter().any(|m| m.ends_with("starting")));
    let raw = w
        .rds
        .describe_db_instances()
        .db_instance_identifier("prerelease-db")
        .send()
        .await
        .unwrap();
    assert_ne!(raw.db_instances()[0].db_instance_status(), Some("stopped"));
    assert_eq!(
        p.delete(&del_op, &db, &DeletePolicy::default())
            .await
            .unwrap(),
        DeleteOutcome::Accepted
    );
    p.wait_deleted(&del_op, &db).await.expect("gone");
    w.assert_production_untouched().await;
}
