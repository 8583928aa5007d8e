//! An in-memory cloud for engine and CLI tests: latency on tokio's clock (so tests can pause
//! time), injected faults, and optionally a JSON state file so separate `rehearsal` processes
//! share one fake cloud (`REHEARSAL_PROVIDER=fake:PATH`, see README.md).
//!
//! It behaves like AWS where the engine cares: creates go through `creating` before they are
//! usable, deletes through `deleting`, RDS names are unique, a protected database refuses
//! deletion, and sources (production) live apart from owned resources and are never written.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{
    CreateRequest, DeleteOutcome, DeletePolicy, EnvironmentSummary, Operation, Provider,
    ProviderError,
};
use crate::model::{
    Address, Attributes, EnvId, LiveResource, ResourceKind, SourceKind, SourceObject, SourceQuery,
    tags,
};

/// Which provider call a fault or latency applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FakeOp {
    Lookup,
    Observe,
    Create,
    WaitReady,
    Update,
    Delete,
    WaitDeleted,
}

/// How long operations take, per resource kind (default: none).
#[derive(Debug, Clone, Default)]
pub struct Latency {
    pub create: HashMap<ResourceKind, Duration>,
    pub update: HashMap<ResourceKind, Duration>,
    pub delete: HashMap<ResourceKind, Duration>,
}

#[derive(Debug, Clone)]
enum Fault {
    /// The nth call (1-based) of an operation fails.
    NthCall {
        op: FakeOp,
        n: u64,
        error: ProviderError,
    },
    /// Every call of an operation on one address fails.
    Address {
        op: FakeOp,
        address: Address,
        error: ProviderError,
    },
    /// The first n calls of any mutating operation are throttled.
    Throttle { remaining: u64 },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FakeCloud {
    pub sources: Vec<FakeSource>,
    pub resources: BTreeMap<String, FakeResource>,
    pub next_id: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FakeSource {
    pub region: String,
    pub kind: SourceKind,
    /// The id, identifier, name or family a query matches on.
    pub key: String,
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    pub attributes: Attributes,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FakeResource {
    pub region: String,
    pub kind: ResourceKind,
    pub id: String,
    pub status: String,
    pub attributes: Attributes,
    pub tags: BTreeMap<String, String>,
}

pub struct FakeProvider {
    cloud: Mutex<FakeCloud>,
    latency: Latency,
    faults: Mutex<Vec<Fault>>,
    calls: Mutex<HashMap<FakeOp, u64>>,
    state_file: Option<PathBuf>,
}

impl FakeProvider {
    /// An empty cloud.
    pub fn new() -> Self {
        Self::with_cloud(FakeCloud::default())
    }

    /// A cloud holding the fake production that `environments/production.toml` describes.
    pub fn with_production(region: &str) -> Self {
        Self::with_cloud(FakeCloud::production(region))
    }

    pub fn with_cloud(cloud: FakeCloud) -> Self {
        FakeProvider {
            cloud: Mutex::new(cloud),
            latency: Latency::default(),
            faults: Mutex::new(vec![]),
            calls: Mutex::new(HashMap::new()),
            state_file: None,
        }
    }

    /// A cloud persisted in a JSON file, seeded with production in `region` if the file does
    /// not exist yet. Every change is written back atomically.
    pub fn open(path: &Path, region: &str) -> Result<Self, String> {
        let cloud = match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| format!("{} is not a fake cloud state file: {e}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FakeCloud::production(region),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let mut provider = Self::with_cloud(cloud);
        provider.state_file = Some(path.to_path_buf());
        provider.save();
        Ok(provider)
    }

    pub fn with_latency(mut self, latency: Latency) -> Self {
        self.latency = latency;
        self
    }

    /// The `n`th call (1-based) of `op` fails with `error`.
    pub fn fail_nth_call(&self, op: FakeOp, n: u64, error: ProviderError) {
        self.faults
            .lock()
            .unwrap()
            .push(Fault::NthCall { op, n, error });
    }

    /// Every `op` on `address` fails with `error`.
    pub fn fail_address(&self, op: FakeOp, address: Address, error: ProviderError) {
        self.faults
            .lock()
            .unwrap()
            .push(Fault::Address { op, address, error });
    }

    /// The next `n` mutating calls are throttled.
    pub fn throttle_next(&self, n: u64) {
        self.faults
            .lock()
            .unwrap()
            .push(Fault::Throttle { remaining: n });
    }

    /// How many times `op` was called.
    pub fn calls(&self, op: FakeOp) -> u64 {
        self.calls.lock().unwrap().get(&op).copied().unwrap_or(0)
    }

    /// A copy of everything in the fake cloud.
    pub fn snapshot(&self) -> FakeCloud {
        self.cloud.lock().unwrap().clone()
    }

    /// Put a resource in the cloud directly, as if made outside rehearsal (or by a crashed run).
    pub fn insert_resource(&self, resource: FakeResource) {
        self.cloud
            .lock()
            .unwrap()
            .resources
            .insert(resource.id.clone(), resource);
        self.save();
    }

    fn save(&self) {
        let Some(path) = &self.state_file else { return };
        let text =
            serde_json::to_string_pretty(&*self.cloud.lock().unwrap()).expect("state serializes");
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        // Write-then-rename, so a killed process never leaves half a state file.
        if let Ok(mut tmp) = tempfile::NamedTempFile::new_in(dir) {
            use std::io::Write;
            if tmp.write_all(text.as_bytes()).is_ok() {
                let _ = tmp.persist(path);
            }
        }
    }

    /// Count the call and apply any fault that matches it.
    fn enter(&self, op: FakeOp, address: Option<&Address>) -> Result<(), ProviderError> {
        let n = {
            let mut calls = self.calls.lock().unwrap();
            let n = calls.entry(op).or_insert(0);
            *n += 1;
            *n
        };
        let mutating = !matches!(op, FakeOp::Lookup | FakeOp::Observe);
        let mut faults = self.faults.lock().unwrap();
        for fault in faults.iter_mut() {
            match fault {
                Fault::NthCall {
                    op: o,
                    n: nth,
                    error,
                } if *o == op && *nth == n => {
                    return Err(error.clone());
                }
                Fault::Address {
                    op: o,
                    address: a,
                    error,
                } if *o == op && Some(&*a) == address => {
                    return Err(error.clone());
                }
                Fault::Throttle { remaining } if mutating && *remaining > 0 => {
                    *remaining -= 1;
                    return Err(ProviderError::Throttled {
                        action: format!("{op:?}"),
                        message: "Rate exceeded".into(),
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn latency(&self, table: &HashMap<ResourceKind, Duration>, kind: ResourceKind) -> Duration {
        table.get(&kind).copied().unwrap_or_default()
    }
}

impl Default for FakeProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeResource {
    fn live(&self) -> Option<LiveResource> {
        let address: Address = self.tags.get(tags::ADDRESS)?.parse().ok()?;
        Some(LiveResource {
            address,
            id: self.id.clone(),
            status: self.status.clone(),
            attributes: self.attributes.clone(),
            tags: self.tags.clone(),
        })
    }

    fn env(&self) -> Option<&str> {
        self.tags.get(tags::ENV).map(String::as_str)
    }
}

fn ready_status(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Ec2Instance => "running",
        ResourceKind::RdsInstance | ResourceKind::RdsSnapshot => "available",
        ResourceKind::EcsCluster | ResourceKind::EcsTaskDefinition | ResourceKind::EcsService => {
            "ACTIVE"
        }
    }
}

fn user_tags(all: &BTreeMap<String, String>) -> Value {
    Value::Object(
        all.iter()
            .filter(|(k, _)| !k.starts_with("rehearsal:"))
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn str_attr<'a>(attrs: &'a Attributes, key: &str) -> &'a str {
    attrs.get(key).and_then(Value::as_str).unwrap_or_default()
}

impl FakeCloud {
    /// The fake production the example specs copy from.
    pub fn production(region: &str) -> FakeCloud {
        let obj = |v: Value| v.as_object().cloned().unwrap_or_default();
        let source = |kind, key: &str, cluster: Option<&str>, tags: &[(&str, &str)], attributes| {
            FakeSource {
                region: region.to_string(),
                kind,
                key: key.to_string(),
                cluster: cluster.map(str::to_string),
                tags: tags
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                attributes,
            }
        };
        FakeCloud {
            sources: vec![
                source(
                    SourceKind::Ec2Instance,
                    "i-0a1b2c3d4e5f60001",
                    None,
                    &[("Name", "production-server"), ("Environment", "production")],
                    obj(json!({
                        "id": "i-0a1b2c3d4e5f60001", "image": "ami-04681a1dbd79675a5",
                        "subnet": "subnet-0prod0001", "vpc": "vpc-0prod0001",
                        "security_groups": ["sg-0prodserver1"], "instance_type": "t3.medium",
                        "private_ip": "10.0.1.10", "key_name": "production", "state": "running"
                    })),
                ),
                source(
                    SourceKind::RdsInstance,
                    "production-db",
                    None,
                    &[],
                    obj(json!({
                        "identifier": "production-db",
                        "arn": format!("arn:aws:rds:{region}:000000000000:db:production-db"),
                        "engine": "postgres", "engine_version": "15.4", "instance_class": "db.t3.medium",
                        "endpoint": format!("production-db.fake.{region}.rds.amazonaws.com"), "port": 5432,
                        "subnet_group": "production-db-subnets", "security_groups": ["sg-0proddb0001"],
                        "parameter_group": "default.postgres15", "status": "available"
                    })),
                ),
                source(
                    SourceKind::EcsCluster,
                    "production",
                    None,
                    &[],
                    obj(json!({"name": "production", "status": "ACTIVE",
                        "arn": format!("arn:aws:ecs:{region}:000000000000:cluster/production")})),
                ),
                source(
                    SourceKind::EcsService,
                    "server",
                    Some("production"),
                    &[],
                    obj(
                        json!({"name": "server", "cluster": "production", "desired_count": 1,
                        "arn": format!("arn:aws:ecs:{region}:000000000000:service/production/server"),
                        "task_definition": format!("arn:aws:ecs:{region}:000000000000:task-definition/server:1")}),
                    ),
                ),
                source(
                    SourceKind::EcsTaskDefinition,
                    "server",
                    None,
                    &[],
                    obj(
                        json!({"family": "server", "revision": 1, "image": "example/openchs-server:3.0.0",
                        "arn": format!("arn:aws:ecs:{region}:000000000000:task-definition/server:1")}),
                    ),
                ),
            ],
            resources: BTreeMap::new(),
            next_id: 1,
        }
    }

    fn find_source(&self, region: &str, query: &SourceQuery) -> Result<&FakeSource, ProviderError> {
        let matches: Vec<&FakeSource> = self
            .sources
            .iter()
            .filter(|s| s.region == region && s.kind == query.kind)
            .filter(|s| query.id.as_ref().is_none_or(|id| &s.key == id))
            .filter(|s| {
                query
                    .cluster
                    .as_ref()
                    .is_none_or(|c| s.cluster.as_ref() == Some(c))
            })
            .filter(|s| query.tags.iter().all(|(k, v)| s.tags.get(k) == Some(v)))
            .collect();
        match matches.as_slice() {
            [one] => Ok(one),
            [] => Err(ProviderError::NotFound {
                what: query.describe(),
            }),
            many => Err(ProviderError::Api {
                action: "lookup".into(),
                code: "Ambiguous".into(),
                message: format!(
                    "{} matches {} objects ({}); narrow the look-up",
                    query.describe(),
                    many.len(),
                    many.iter()
                        .map(|s| s.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        }
    }

    fn rds_exists(&self, region: &str, identifier: &str) -> bool {
        self.sources
            .iter()
            .any(|s| s.region == region && s.kind == SourceKind::RdsInstance && s.key == identifier)
            || self.resources.values().any(|r| {
                r.region == region && r.kind == ResourceKind::RdsInstance && r.id == identifier
            })
    }

    fn fresh_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:017x}", self.next_id)
    }
}

fn not_found(kind: ResourceKind, id: &str) -> ProviderError {
    ProviderError::NotFound {
        what: format!("{kind} {id}"),
    }
}

#[async_trait]
impl Provider for FakeProvider {
    async fn lookup(
        &self,
        region: &str,
        query: &SourceQuery,
    ) -> Result<SourceObject, ProviderError> {
        self.enter(FakeOp::Lookup, None)?;
        let cloud = self.cloud.lock().unwrap();
        let source = cloud.find_source(region, query)?;
        Ok(SourceObject {
            attributes: source.attributes.clone(),
        })
    }

    async fn observe(&self, env: &EnvId) -> Result<Vec<LiveResource>, ProviderError> {
        self.enter(FakeOp::Observe, None)?;
        let cloud = self.cloud.lock().unwrap();
        Ok(cloud
            .resources
            .values()
            .filter(|r| r.region == env.region && r.env() == Some(env.name.as_str()))
            .filter_map(FakeResource::live)
            .collect())
    }

    async fn list_environments(
        &self,
        region: &str,
    ) -> Result<Vec<EnvironmentSummary>, ProviderError> {
        self.enter(FakeOp::Observe, None)?;
        let cloud = self.cloud.lock().unwrap();
        let in_region = cloud.resources.values().filter(|r| r.region == region);
        Ok(EnvironmentSummary::from_tags(in_region.map(|r| &r.tags)))
    }

    async fn create(
        &self,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<LiveResource, ProviderError> {
        self.enter(FakeOp::Create, Some(&op.address))?;
        let region = op.env.region.clone();
        let resource = {
            let mut cloud = self.cloud.lock().unwrap();
            let mut attributes = request.attributes.clone();
            attributes.insert("tags".into(), user_tags(&request.tags));
            let kind = request.kind;
            let id = match kind {
                ResourceKind::Ec2Instance => {
                    let clone_of = str_attr(&attributes, "clone_of").to_string();
                    let query = SourceQuery {
                        kind: SourceKind::Ec2Instance,
                        id: Some(clone_of.clone()),
                        tags: BTreeMap::new(),
                        cluster: None,
                    };
                    let source = cloud.find_source(&region, &query)?.attributes.clone();
                    for key in ["image", "subnet", "security_groups", "key_name"] {
                        if !attributes.contains_key(key) {
                            attributes.insert(
                                key.into(),
                                source.get(key).cloned().unwrap_or(Value::Null),
                            );
                        }
                    }
                    cloud.fresh_id("i-")
                }
                ResourceKind::RdsSnapshot => {
                    let source_db = str_attr(&attributes, "source_db");
                    if !cloud.rds_exists(&region, source_db) {
                        return Err(ProviderError::NotFound {
                            what: format!("rds_instance {source_db}"),
                        });
                    }
                    str_attr(&attributes, "identifier").to_string()
                }
                ResourceKind::RdsInstance => {
                    let identifier = str_attr(&attributes, "identifier").to_string();
                    if cloud.rds_exists(&region, &identifier) {
                        return Err(ProviderError::Api {
                            action: "rds:RestoreDBInstanceFromDBSnapshot".into(),
                            code: "DBInstanceAlreadyExists".into(),
                            message: format!("DB instance {identifier} already exists"),
                        });
                    }
                    if let Some(snapshot) = attributes.get("snapshot").and_then(Value::as_str) {
                        let found = cloud.resources.values().any(|r| {
                            r.kind == ResourceKind::RdsSnapshot
                                && r.id == snapshot
                                && r.status == "available"
                        });
                        if !found {
                            return Err(ProviderError::NotFound {
                                what: format!("rds_snapshot {snapshot}"),
                            });
                        }
                    }
                    identifier
                }
                ResourceKind::EcsCluster => {
                    format!(
                        "arn:aws:ecs:{region}:000000000000:cluster/{}",
                        str_attr(&attributes, "name")
                    )
                }
                ResourceKind::EcsTaskDefinition => {
                    let family = str_attr(&attributes, "family").to_string();
                    let revision = cloud
                        .resources
                        .values()
                        .filter(|r| r.kind == kind && str_attr(&r.attributes, "family") == family)
                        .count()
                        + 1;
                    attributes.insert("revision".into(), json!(revision));
                    format!("arn:aws:ecs:{region}:000000000000:task-definition/{family}:{revision}")
                }
                ResourceKind::EcsService => format!(
                    "arn:aws:ecs:{region}:000000000000:service/{}/{}",
                    str_attr(&attributes, "cluster"),
                    str_attr(&attributes, "name")
                ),
            };
            let clash = cloud
                .resources
                .get(&id)
                .is_some_and(|r| !r.status.eq_ignore_ascii_case("deleted"));
            if clash {
                return Err(ProviderError::Api {
                    action: format!("create {kind}"),
                    code: "AlreadyExists".into(),
                    message: format!("{kind} {id} already exists"),
                });
            }
            attributes.insert("id".into(), json!(id));
            if matches!(
                kind,
                ResourceKind::EcsCluster
                    | ResourceKind::EcsTaskDefinition
                    | ResourceKind::EcsService
                    | ResourceKind::RdsSnapshot
                    | ResourceKind::RdsInstance
            ) {
                attributes.insert("arn".into(), json!(format!("arn:fake:{kind}:{id}")));
                if kind.as_str().starts_with("ecs") {
                    attributes.insert("arn".into(), json!(id));
                }
            }
            let resource = FakeResource {
                region: region.clone(),
                kind,
                id: id.clone(),
                status: "creating".into(),
                attributes,
                tags: request.tags.clone(),
            };
            cloud.resources.insert(id, resource.clone());
            resource
        };
        self.save();
        op.report("creating");
        Ok(resource
            .live()
            .expect("created resources carry their address tag"))
    }

    async fn wait_ready(
        &self,
        op: &Operation,
        resource: &LiveResource,
    ) -> Result<LiveResource, ProviderError> {
        self.enter(FakeOp::WaitReady, Some(&op.address))?;
        let kind = resource.address.kind;
        let latency = self.latency(&self.latency.create, kind);
        if latency > op.timeout {
            tokio::time::sleep(op.timeout).await;
            return Err(ProviderError::Timeout {
                what: format!("{kind} {}", resource.id),
                target: ready_status(kind).into(),
                after: op.timeout,
            });
        }
        tokio::time::sleep(latency).await;
        let live = {
            let mut cloud = self.cloud.lock().unwrap();
            let host = 20 + cloud.next_id % 200;
            let r = cloud
                .resources
                .get_mut(&resource.id)
                .ok_or_else(|| not_found(kind, &resource.id))?;
            r.status = ready_status(kind).into();
            let attrs = &mut r.attributes;
            match kind {
                ResourceKind::Ec2Instance => {
                    attrs.insert("state".into(), json!("running"));
                    attrs.insert("private_ip".into(), json!(format!("10.0.1.{host}")));
                }
                ResourceKind::RdsInstance => {
                    let identifier = r.id.clone();
                    let attrs = &mut r.attributes;
                    attrs.insert(
                        "endpoint".into(),
                        json!(format!("{identifier}.fake.{}.rds.amazonaws.com", r.region)),
                    );
                    attrs.insert("port".into(), json!(5432));
                    attrs.insert("engine".into(), json!("postgres"));
                    attrs.insert("status".into(), json!("available"));
                }
                _ => {
                    attrs.insert("status".into(), json!(ready_status(kind)));
                }
            }
            cloud.resources[&resource.id].live().expect("address tag")
        };
        self.save();
        op.report(&live.status);
        Ok(live)
    }

    async fn update(
        &self,
        op: &Operation,
        current: &LiveResource,
        desired: &Attributes,
        changed: &[String],
    ) -> Result<LiveResource, ProviderError> {
        self.enter(FakeOp::Update, Some(&op.address))?;
        let kind = current.address.kind;
        op.report("modifying");
        tokio::time::sleep(self.latency(&self.latency.update, kind)).await;
        let live = {
            let mut cloud = self.cloud.lock().unwrap();
            let r = cloud
                .resources
                .get_mut(&current.id)
                .ok_or_else(|| not_found(kind, &current.id))?;
            for key in changed {
                if let Some(v) = desired.get(key) {
                    if key == "tags" {
                        r.tags.retain(|k, _| k.starts_with("rehearsal:"));
                        for (k, v) in v.as_object().into_iter().flatten() {
                            r.tags
                                .insert(k.clone(), v.as_str().unwrap_or_default().to_string());
                        }
                    }
                    if key == "keep_after_destroy" {
                        r.tags
                            .insert(tags::KEEP.into(), v.as_bool().unwrap_or(false).to_string());
                    }
                    r.attributes.insert(key.clone(), v.clone());
                }
            }
            r.live().expect("address tag")
        };
        self.save();
        op.report(&live.status);
        Ok(live)
    }

    async fn delete(
        &self,
        op: &Operation,
        resource: &LiveResource,
        policy: &DeletePolicy,
    ) -> Result<DeleteOutcome, ProviderError> {
        self.enter(FakeOp::Delete, Some(&op.address))?;
        let kind = resource.address.kind;
        {
            let mut cloud = self.cloud.lock().unwrap();
            let Some(r) = cloud.resources.get(&resource.id).cloned() else {
                return Ok(DeleteOutcome::Accepted);
            };
            if r.status == "creating" {
                return Ok(DeleteOutcome::NotYet {
                    reason: format!("{kind} {} is still creating", r.id),
                });
            }
            if r.attributes.get("deletion_protection") == Some(&json!(true)) {
                if !policy.disable_deletion_protection {
                    return Err(ProviderError::InvalidState {
                        what: format!("{kind} {}", r.id),
                        state: "protected".into(),
                        message: "Cannot delete protected DB Instance, please disable deletion protection and try again.".into(),
                    });
                }
                cloud
                    .resources
                    .get_mut(&resource.id)
                    .unwrap()
                    .attributes
                    .insert("deletion_protection".into(), json!(false));
            }
            if kind == ResourceKind::RdsInstance
                && let Some(final_id) = &policy.final_snapshot_identifier
            {
                let mut snapshot_tags = BTreeMap::new();
                snapshot_tags.insert("rehearsal:final-snapshot-of".into(), r.id.clone());
                cloud.resources.insert(
                    final_id.clone(),
                    FakeResource {
                        region: r.region.clone(),
                        kind: ResourceKind::RdsSnapshot,
                        id: final_id.clone(),
                        status: "available".into(),
                        attributes: json!({"identifier": final_id, "source_db": r.id})
                            .as_object()
                            .cloned()
                            .unwrap_or_default(),
                        tags: snapshot_tags,
                    },
                );
            }
            cloud.resources.get_mut(&resource.id).unwrap().status = "deleting".into();
        }
        self.save();
        op.report("deleting");
        Ok(DeleteOutcome::Accepted)
    }

    async fn wait_deleted(
        &self,
        op: &Operation,
        resource: &LiveResource,
    ) -> Result<(), ProviderError> {
        self.enter(FakeOp::WaitDeleted, Some(&op.address))?;
        tokio::time::sleep(self.latency(&self.latency.delete, resource.address.kind)).await;
        self.cloud.lock().unwrap().resources.remove(&resource.id);
        self.save();
        op.report("deleted");
        Ok(())
    }
}
