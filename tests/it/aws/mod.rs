//! The AWS provider against a real emulator (moto's server, one per test), with a fake production
//! seeded by `scripts/seed_production.py`, one module per subject. Every test checks what the
//! emulator holds through the plain SDK, not only what the provider says.

mod calls;
mod ec2;
mod ecs;
mod environments;
mod lookups;
mod rds;
mod states;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rehearsal::aws::AwsProvider;
use rehearsal::model::{Address, EnvId, LiveResource, SourceKind, SourceQuery, tags};
use rehearsal::provider::{CreateRequest, Operation, ProgressSink, Provider};
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
    crate::support::env_id(ENV)
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

/// The tags rehearsal writes when it creates `address` whose anchor is `anchor` (its identifier,
/// name, family, or the create's token for an instance), with an expiry.
fn ownership_tags(address: &str, anchor: &str) -> BTreeMap<String, String> {
    let mut all = crate::support::owned_tags(&env(), address, anchor);
    all.insert(
        tags::EXPIRES_AT.to_owned(),
        "2030-01-01T00:00:00Z".to_owned(),
    );
    all
}

fn request(address: &str, attributes: Value) -> CreateRequest {
    request_in(ENV, address, attributes)
}

/// What rehearsal asks for when it creates `address` in environment `env_name` of the test
/// project: the attributes and the ownership tags of that environment, without an expiry.
fn request_in(env_name: &str, address: &str, attributes: Value) -> CreateRequest {
    let parsed: Address = address.parse().unwrap();
    let attributes = attributes.as_object().unwrap().clone();
    let (op, _) = op(address);
    let anchor = rehearsal::engine::ownership::anchor_of_request(
        &parsed,
        &attributes,
        &op.idempotency_token,
    );
    let mut tags = crate::support::owned_tags(&crate::support::env_id(env_name), address, &anchor);
    if env_name == ENV {
        tags.insert(
            tags::EXPIRES_AT.to_owned(),
            "2030-01-01T00:00:00Z".to_owned(),
        );
    }
    CreateRequest {
        kind: parsed.kind,
        tags,
        attributes,
    }
}

fn attrs(value: Value) -> rehearsal::model::Attributes {
    value.as_object().unwrap().clone()
}

/// The engine's comparison: every key the spec gave compares equal; objects inside arrays by the
/// keys the spec gave them; `tags` and `environment` maps exactly.
fn matches(expected: &Value, actual: &Value, exact: bool) -> bool {
    // What AWS does not describe cheaply (user data) is read back as the digest recorded at
    // creation.
    if let Some(recorded) = rehearsal::model::input_digest::recorded(actual) {
        return rehearsal::model::input_digest::matches(expected, recorded);
    }
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
    let all = provider
        .observe(&env(), &Default::default())
        .await
        .expect("observe");
    all.into_iter().find(|r| r.address.to_string() == address)
}

async fn create_ready(
    provider: &AwsProvider,
    request: &CreateRequest,
    address: &str,
) -> LiveResource {
    let (op, _) = op(address);
    let ready = rehearsal::apply::create_ready(provider, &op, request)
        .await
        .expect("create and wait as apply does");
    assert_eq!(ready.address.to_string(), address);
    ready
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
    let group = request(
        "security_group.db",
        json!({
            "name": "prerelease-db-sg",
            "description": "pre-release database",
            "vpc_id": w.production.vpc_id,
            "ingress": [{"protocol": "tcp", "from_port": 5432, "to_port": 5432, "cidr": "10.0.0.0/16"}],
            "egress": [],
        }),
    );
    create_ready(p, &group, "security_group.db").await;
    let record = request(
        "dns_record.server",
        json!({"zone": "example.com", "name": "prerelease.example.com", "type": "A", "ttl": 60, "values": ["10.0.1.99"]}),
    );
    create_ready(p, &record, "dns_record.server").await;
}

/// `observe`, recorded: what it found and the API calls it made.
async fn observe_recorded(w: &World) -> (Vec<LiveResource>, Vec<RecordedCall>) {
    w.emulator.start_recording();
    let all = w
        .provider
        .observe(&env(), &Default::default())
        .await
        .expect("observe");
    (all, w.emulator.stop_recording())
}

fn count_of(calls: &[RecordedCall], action: &str) -> usize {
    calls.iter().filter(|c| c.action == action).count()
}
