//! An in-memory cloud for engine and CLI tests: AWS's lifecycles from the one table
//! (`src/provider/lifecycles.toml`), on tokio's clock so tests can pause time, injected faults,
//! and optionally a JSON state file so separate `rehearsal` processes share one fake cloud
//! (`REHEARSAL_PROVIDER=fake:PATH`, see README.md).
//!
//! It behaves like AWS where the engine cares: creates, updates and deletes pass through their
//! kind's states for as long as [`Latency`] says (instantly by default), RDS names are unique,
//! RDS refuses to delete what is still being made, a protected database refuses deletion, and
//! sources (production) live apart from owned resources and are never written. What each kind
//! does is in [`kinds`].

mod kinds;
mod production;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{
    CreateRequest, DeleteOutcome, DeletePolicy, EnvironmentSummary, Operation, Provider,
    ProviderError, SubnetEgress,
};
use crate::engine::ownership;
use crate::kinds::{Phase, lifecycle};
use crate::model::{
    Address, Attributes, Declared, EnvId, LiveResource, ResourceKind, SourceKind, SourceObject,
    SourceQuery, tags, times,
};

/// Which provider call a fault applies to, and what [`FakeProvider::calls`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FakeOp {
    Lookup,
    Observe,
    Create,
    Describe,
    Update,
    Delete,
    SubnetEgress,
}

/// How long transitions take. Per kind, `create`, `update` and `delete` set the whole
/// transition (its states keep the proportions of AWS's lifecycle table); kinds not named take
/// AWS's durations times `aws_scale`, which is 0 (instant) by default.
#[derive(Debug, Clone, Default)]
pub struct Latency {
    pub create: HashMap<ResourceKind, Duration>,
    pub update: HashMap<ResourceKind, Duration>,
    pub delete: HashMap<ResourceKind, Duration>,
    pub aws_scale: f64,
}

impl Latency {
    /// AWS's own durations from the lifecycle table (a restore takes ten minutes).
    pub fn aws() -> Latency {
        Latency::aws_scaled(1.0)
    }

    pub fn aws_scaled(scale: f64) -> Latency {
        Latency {
            aws_scale: scale,
            ..Latency::default()
        }
    }

    /// AWS seconds as the fake's milliseconds, at `aws_scale`.
    fn scaled(&self, seconds: u64) -> u64 {
        (seconds as f64 * 1000.0 * self.aws_scale).round() as u64
    }

    /// The phases of one transition: AWS's `table`, stretched or shrunk to `total` if given.
    fn phases(&self, table: &[Phase], total: Option<Duration>, busy: &str) -> Vec<(String, u64)> {
        let table_total: u64 = table.iter().map(|p| p.1).sum();
        match total {
            Some(total) if table_total == 0 => {
                vec![(busy.to_string(), total.as_millis() as u64)]
            }
            Some(total) => table
                .iter()
                .map(|p| {
                    let share = total.as_millis() as u64 * p.1 / table_total;
                    (p.state().to_string(), share)
                })
                .collect(),
            None => table
                .iter()
                .map(|p| (p.state().to_string(), self.scaled(p.1)))
                .collect(),
        }
    }
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
    /// Idempotency tokens of creates that honour them (EC2 RunInstances), kept as AWS keeps
    /// them: long after the resource is gone.
    #[serde(default)]
    pub client_tokens: BTreeMap<String, ClientToken>,
    /// The block device mapping of each image an instance may launch from; an image not listed
    /// has one root volume that goes with its instance.
    #[serde(default)]
    pub images: BTreeMap<String, Vec<BlockDevice>>,
    /// Subnets whose route table sends nothing out of the VPC, in a VPC with no endpoints (see
    /// [`FakeCloud::cut_off_subnet`]). Every other subnet routes 0.0.0.0/0 through a NAT
    /// gateway, as production's do.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub subnets_without_egress: std::collections::BTreeSet<String>,
    /// Numbers AWS hands out and never reuses (a task-definition family's revisions).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counters: BTreeMap<String, u64>,
}

/// One EBS volume of an image's block device mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockDevice {
    pub device: String,
    pub size_gib: u64,
    /// EC2 deletes the volume when the instance terminates; otherwise it is left, detached.
    pub delete_on_termination: bool,
}

impl BlockDevice {
    /// What most images have: one root volume, deleted with the instance.
    pub fn root() -> BlockDevice {
        BlockDevice {
            device: "/dev/xvda".into(),
            size_gib: 8,
            delete_on_termination: true,
        }
    }
}

/// What a create with an idempotency token made, and with which parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientToken {
    pub parameters: String,
    pub resource: FakeResource,
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
    /// Attributes AWS still reports that can no longer be used, and why (see
    /// `SourceObject::unusable`): production's image deregistered since its launch.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unusable: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FakeResource {
    pub region: String,
    pub kind: ResourceKind,
    pub id: String,
    pub status: String,
    pub attributes: Attributes,
    pub tags: BTreeMap<String, String>,
    /// A change under way: the states still to come, on the fake's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition: Option<Transition>,
    /// Until this time on the fake's clock, a describe by id does not find it yet: AWS's APIs
    /// are eventually consistent right after a create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_from_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// Milliseconds on the fake's clock at which the transition started.
    pub since_ms: u64,
    /// `[state, milliseconds]` phases, in order.
    pub phases: Vec<(String, u64)>,
    pub then: Outcome,
    /// Attribute values that take effect when the transition ends (a modification: until
    /// then they are listed as pending, as AWS lists PendingModifiedValues).
    #[serde(default, skip_serializing_if = "Attributes::is_empty")]
    pub applies: Attributes,
}

/// What a transition ends in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Usable, in this state.
    Ready(String),
    /// Gone from the cloud.
    Gone,
}

/// The fake's clock, in milliseconds: tokio's (pausable) for a cloud in memory, the wall
/// clock for one kept in a file, which several processes share.
#[derive(Debug)]
enum Clock {
    Tokio(tokio::time::Instant),
    Wall,
}

/// Where the in-memory clock's time starts, as a date (2026-01-01T00:00:00Z): the times a
/// cloud in memory reports are this plus the clock's milliseconds.
const TOKIO_EPOCH_SECS: i64 = 1_767_225_600;

impl Clock {
    /// The clock's time as RFC 3339 (whole seconds, UTC), as `model::times` attributes hold it.
    fn rfc3339(&self) -> String {
        let secs = match self {
            Clock::Tokio(_) => TOKIO_EPOCH_SECS + (self.now_ms() / 1000) as i64,
            Clock::Wall => (self.now_ms() / 1000) as i64,
        };
        time::OffsetDateTime::from_unix_timestamp(secs)
            .ok()
            .and_then(|at| {
                at.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default()
    }

    fn now_ms(&self) -> u64 {
        match self {
            Clock::Tokio(start) => start.elapsed().as_millis() as u64,
            Clock::Wall => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or_default(),
        }
    }
}

pub struct FakeProvider {
    cloud: Mutex<FakeCloud>,
    latency: Latency,
    faults: Mutex<Vec<Fault>>,
    calls: Mutex<HashMap<FakeOp, u64>>,
    /// What each observe was told the spec declares, in order (the fake finds everything by
    /// tag whatever it is told; tests read what the engine asked for).
    observed_with: Mutex<Vec<Declared>>,
    state_file: Option<PathBuf>,
    clock: Clock,
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
            observed_with: Mutex::new(vec![]),
            state_file: None,
            clock: Clock::Tokio(tokio::time::Instant::now()),
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
        provider.clock = Clock::Wall;
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

    /// What each observe so far was told the spec declares, oldest first.
    pub fn observed_with(&self) -> Vec<Declared> {
        self.observed_with.lock().unwrap().clone()
    }

    /// A copy of everything in the fake cloud, as it is now.
    pub fn snapshot(&self) -> FakeCloud {
        let mut cloud = self.cloud.lock().unwrap();
        self.settle(&mut cloud);
        cloud.clone()
    }

    /// Put a resource into a state, as AWS might (a restore that fails, a database someone
    /// stopped): whatever change was under way ends there.
    pub fn force_state(&self, id: &str, status: &str) {
        let mut cloud = self.cloud.lock().unwrap();
        self.settle(&mut cloud);
        if let Some(resource) = cloud.resources.get_mut(id) {
            resource.status = status.to_string();
            resource.transition = None;
            resource.sync_status();
        }
        self.persist(&cloud);
    }

    /// Make a service's rollout fail, as ECS's deployment circuit breaker stops one whose tasks
    /// keep failing: the service is `FAILED` with these events (newest first) until its next
    /// deployment. Returns whether a service of that name was found.
    pub fn fail_rollout(&self, name: &str, events: &[&str]) -> bool {
        let mut cloud = self.cloud.lock().unwrap();
        self.settle(&mut cloud);
        let found = cloud.resources.values_mut().find(|r| {
            r.kind == ResourceKind::EcsService
                && r.attributes.get("name").and_then(|n| n.as_str()) == Some(name)
        });
        let Some(service) = found else {
            return false;
        };
        service.status = "FAILED".to_string();
        service.transition = None;
        service
            .attributes
            .insert("events".into(), serde_json::json!(events));
        service.sync_status();
        self.persist(&cloud);
        true
    }

    /// Make the next deployment of a service fail and be rolled back (see
    /// [`FakeCloud::roll_back_next_deployment`]).
    pub fn roll_back_next_deployment(&self, name: &str, events: &[&str]) -> bool {
        let mut cloud = self.cloud.lock().unwrap();
        self.settle(&mut cloud);
        let found = cloud.roll_back_next_deployment(name, events);
        self.persist(&cloud);
        found
    }

    /// Take a subnet's way out of its VPC away (see [`FakeCloud::cut_off_subnet`]).
    pub fn cut_off_subnet(&self, subnet: &str) {
        let mut cloud = self.cloud.lock().unwrap();
        cloud.cut_off_subnet(subnet);
        self.persist(&cloud);
    }

    /// Change a source (production) behind rehearsal's back: a backup starting, say.
    pub fn update_source(&self, kind: SourceKind, key: &str, change: impl FnOnce(&mut FakeSource)) {
        let mut cloud = self.cloud.lock().unwrap();
        if let Some(source) = cloud
            .sources
            .iter_mut()
            .find(|s| s.kind == kind && s.key == key)
        {
            change(source);
        }
        self.persist(&cloud);
    }

    /// Put a resource in the cloud directly, as if made outside rehearsal (or by a crashed run).
    pub fn insert_resource(&self, resource: FakeResource) {
        let mut cloud = self.cloud.lock().unwrap();
        cloud.resources.insert(resource.id.clone(), resource);
        self.persist(&cloud);
    }

    fn save(&self) {
        self.persist(&self.cloud.lock().unwrap());
    }

    /// Write the cloud to the state file, if there is one. Called with the cloud's lock held, so
    /// that concurrent steps persist their states in the order they made them.
    fn persist(&self, cloud: &FakeCloud) {
        let Some(path) = &self.state_file else { return };
        let text = serde_json::to_string_pretty(cloud).expect("state serializes");
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
        let mutating = matches!(op, FakeOp::Create | FakeOp::Update | FakeOp::Delete);
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

    /// Bring every transition up to now: its current state, or its end.
    fn settle(&self, cloud: &mut FakeCloud) {
        let now = self.clock.now_ms();
        let mut gone = vec![];
        let mut ready = vec![];
        for resource in cloud.resources.values_mut() {
            let Some(transition) = &resource.transition else {
                continue;
            };
            let mut elapsed = now.saturating_sub(transition.since_ms);
            let mut current = None;
            for (state, ms) in &transition.phases {
                if elapsed < *ms {
                    current = Some(state.clone());
                    break;
                }
                elapsed -= ms;
            }
            match (current, &transition.then) {
                (Some(state), _) => resource.status = state,
                (None, Outcome::Gone) => gone.push(resource.id.clone()),
                (None, Outcome::Ready(state)) => {
                    resource.status = state.clone();
                    let applies = std::mem::take(&mut resource.transition.take().unwrap().applies);
                    if !applies.is_empty() {
                        resource.attributes.remove(crate::engine::wait::PENDING);
                        resource.attributes.extend(applies);
                    }
                    ready.push(resource.id.clone());
                }
            }
            resource.sync_status();
        }
        for id in gone {
            cloud.resources.remove(&id);
        }
        for id in ready {
            // A stable host number for the addresses a ready resource gets.
            let host = 20 + id.bytes().map(u64::from).sum::<u64>() % 200;
            if let Some(resource) = cloud.resources.get_mut(&id) {
                kinds::behaviour(resource.kind).when_ready(resource, host);
            }
        }
    }

    /// Start a transition on `resource`: its first state now, the rest as time passes.
    fn begin(&self, resource: &mut FakeResource, phases: Vec<(String, u64)>, then: Outcome) {
        if let Some((first, _)) = phases.iter().find(|(_, ms)| *ms > 0) {
            resource.status = first.clone();
            resource.sync_status();
        }
        resource.transition = Some(Transition {
            since_ms: self.clock.now_ms(),
            phases,
            then,
            applies: Attributes::new(),
        });
    }

    /// Run `f` on the cloud as it is now, then save it.
    fn with_cloud_now<T>(&self, f: impl FnOnce(&mut FakeCloud) -> T) -> T {
        let mut cloud = self.cloud.lock().unwrap();
        self.settle(&mut cloud);
        let out = f(&mut cloud);
        self.persist(&cloud);
        out
    }
}

impl Default for FakeProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeCloud {
    /// Take a subnet's way out of its VPC away, as someone removing its route table's NAT
    /// gateway route would: a Fargate task there can no longer pull its image.
    pub fn cut_off_subnet(&mut self, subnet: &str) {
        self.subnets_without_egress.insert(subnet.to_string());
    }

    /// Make the next deployment of a service fail and be rolled back, as ECS's deployment
    /// circuit breaker does with rollback on: once the update's rollout ends, the service is
    /// ACTIVE and steady on the task definition it ran before, with these events (newest
    /// first). Returns whether a service of that name was found.
    /// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
    pub fn roll_back_next_deployment(&mut self, name: &str, events: &[&str]) -> bool {
        let found = self.resources.values_mut().find(|r| {
            r.kind == ResourceKind::EcsService
                && r.attributes.get("name").and_then(|n| n.as_str()) == Some(name)
        });
        let Some(service) = found else {
            return false;
        };
        let running = service.attributes.get("task_definition").cloned();
        service.attributes.insert(
            kinds::ROLLBACK.into(),
            serde_json::json!({ "events": events, "to": running }),
        );
        true
    }
}

impl FakeResource {
    fn live(&self) -> Option<LiveResource> {
        let address: Address = self.tags.get(tags::ADDRESS)?.parse().ok()?;
        Some(LiveResource {
            address,
            id: self.id.clone(),
            status: self.status.clone(),
            // What the fake keeps for itself (a rollback it will play) is not AWS's to show.
            attributes: self
                .attributes
                .iter()
                .filter(|(k, _)| !k.starts_with(FAKE_ONLY))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            tags: self.tags.clone(),
        })
    }

    /// The lifecycle word among the attributes, where the kind outputs one.
    fn sync_status(&mut self) {
        let outputs = crate::kinds::describe(self.kind).outputs;
        for key in ["status", "state"] {
            if outputs.contains(&key) {
                self.attributes.insert(key.into(), json!(self.status));
            }
        }
    }
}

/// The kinds whose creation time AWS reports (see `model::times`).
fn reports_creation_time(kind: ResourceKind) -> bool {
    matches!(
        kind,
        ResourceKind::RdsInstance
            | ResourceKind::RdsSnapshot
            | ResourceKind::Ec2Instance
            | ResourceKind::EbsVolume
            | ResourceKind::EcsService
            | ResourceKind::EcsTaskDefinition
    )
}

/// Attributes the fake keeps for itself, never shown as AWS's.
pub(super) const FAKE_ONLY: &str = "fake:";

fn user_tags(all: &BTreeMap<String, String>) -> Value {
    Value::Object(
        all.iter()
            .filter(|(k, _)| !k.starts_with("rehearsal:"))
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

impl FakeCloud {
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

    /// The status of a DB instance, production's or an environment's.
    fn rds_status(&self, region: &str, identifier: &str) -> Option<String> {
        let source = self.sources.iter().find(|s| {
            s.region == region && s.kind == SourceKind::RdsInstance && s.key == identifier
        });
        if let Some(source) = source {
            let status = source.attributes.get("status").and_then(Value::as_str);
            return Some(status.unwrap_or("available").to_string());
        }
        self.resources
            .values()
            .find(|r| {
                r.region == region && r.kind == ResourceKind::RdsInstance && r.id == identifier
            })
            .map(|r| r.status.clone())
    }

    pub(crate) fn fresh_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:017x}", self.next_id)
    }
}

/// A create with a token AWS has seen: the same parameters hand back what that create made, as
/// it is now (terminated, if it is gone), other ones are refused
/// (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html).
fn replay(
    cloud: &FakeCloud,
    earlier: &ClientToken,
    parameters: &str,
    token: &str,
) -> Result<LiveResource, ProviderError> {
    if earlier.parameters != parameters {
        return Err(ProviderError::Api {
            action: "ec2:RunInstances".into(),
            code: "IdempotentParameterMismatch".into(),
            message: format!("The client token {token} was already used with other parameters"),
        });
    }
    let resource = match cloud.resources.get(&earlier.resource.id) {
        Some(now) => now.clone(),
        None => {
            let mut gone = earlier.resource.clone();
            gone.status = lifecycle(gone.kind)
                .gone_state()
                .unwrap_or("deleted")
                .to_owned();
            gone.transition = None;
            gone.sync_status();
            gone
        }
    };
    resource.live().ok_or_else(|| ProviderError::NotFound {
        what: format!("{} {}", resource.kind, resource.id),
    })
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
            unusable: source.unusable.clone(),
        })
    }

    /// The fake cloud is consistent: what is declared is found by its tags like the rest.
    async fn observe(
        &self,
        env: &EnvId,
        declared: &Declared,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        self.enter(FakeOp::Observe, None)?;
        self.observed_with.lock().unwrap().push(declared.clone());
        Ok(self.with_cloud_now(|cloud| {
            cloud
                .resources
                .values()
                .filter(|r| r.region == env.region)
                .filter_map(FakeResource::live)
                .filter(|live| ownership::belongs_to(live, env))
                .collect()
        }))
    }

    async fn observe_region(&self, region: &str) -> Result<Vec<LiveResource>, ProviderError> {
        self.enter(FakeOp::Observe, None)?;
        Ok(self.with_cloud_now(|cloud| {
            cloud
                .resources
                .values()
                .filter(|r| r.region == region)
                .filter_map(FakeResource::live)
                .filter(|live| ownership::owner(live).is_some())
                .collect()
        }))
    }

    /// Every subnet routes 0.0.0.0/0 through a NAT gateway but those cut off.
    async fn subnet_egress(
        &self,
        _region: &str,
        subnets: &[String],
    ) -> Result<BTreeMap<String, SubnetEgress>, ProviderError> {
        self.enter(FakeOp::SubnetEgress, None)?;
        let cloud = self.cloud.lock().unwrap();
        Ok(subnets
            .iter()
            .map(|subnet| {
                let egress = if cloud.subnets_without_egress.contains(subnet) {
                    SubnetEgress::default()
                } else {
                    SubnetEgress {
                        other_default_route: Some("nat-0fake0001".into()),
                        ..SubnetEgress::default()
                    }
                };
                (subnet.clone(), egress)
            })
            .collect())
    }

    async fn list_environments(
        &self,
        region: &str,
    ) -> Result<Vec<EnvironmentSummary>, ProviderError> {
        self.enter(FakeOp::Observe, None)?;
        Ok(self.with_cloud_now(|cloud| {
            let in_region: Vec<LiveResource> = cloud
                .resources
                .values()
                .filter(|r| r.region == region)
                .filter_map(FakeResource::live)
                .collect();
            EnvironmentSummary::of(&in_region)
        }))
    }

    async fn existing(
        &self,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<Option<LiveResource>, ProviderError> {
        let named_by = kinds::behaviour(request.kind).named_by();
        if named_by.is_empty() {
            return Ok(None);
        }
        let lifecycle = lifecycle(request.kind);
        Ok(self.with_cloud_now(|cloud| {
            cloud
                .resources
                .values()
                .find(|r| {
                    r.kind == request.kind
                        && r.region == op.env.region
                        && !lifecycle.is_gone(&r.status)
                        && named_by
                            .iter()
                            .all(|a| r.attributes.get(*a) == request.attributes.get(*a))
                })
                .map(|r| LiveResource {
                    address: op.address.clone(),
                    id: r.id.clone(),
                    status: r.status.clone(),
                    attributes: r.attributes.clone(),
                    tags: r.tags.clone(),
                })
        }))
    }

    /// Tags it as the create would have: rehearsal's tags over what it carries.
    async fn import(
        &self,
        op: &Operation,
        request: &CreateRequest,
        live: &LiveResource,
    ) -> Result<(), ProviderError> {
        self.enter(FakeOp::Update, Some(&op.address))?;
        let mut cloud = self.cloud.lock().unwrap();
        let Some(resource) = cloud
            .resources
            .get_mut(&live.id)
            .filter(|r| r.region == op.env.region && r.kind == request.kind)
        else {
            return Err(ProviderError::NotFound {
                what: format!("{} ({})", op.address, live.id),
            });
        };
        resource.tags.extend(
            request
                .tags
                .iter()
                .filter(|(k, _)| k.starts_with(crate::model::tags::RESERVED_PREFIX))
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        self.persist(&cloud);
        Ok(())
    }

    async fn create(
        &self,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<LiveResource, ProviderError> {
        self.enter(FakeOp::Create, Some(&op.address))?;
        let kind = request.kind;
        let region = op.env.region.clone();
        let created = self.with_cloud_now(|cloud| {
            let behaviour = kinds::behaviour(kind);
            let parameters = serde_json::to_string(&(&request.attributes, &request.tags))
                .expect("requests serialize");
            if behaviour.honours_client_token()
                && let Some(earlier) = cloud.client_tokens.get(&op.idempotency_token)
            {
                return replay(cloud, earlier, &parameters, &op.idempotency_token);
            }
            let mut attributes = request.attributes.clone();
            attributes.insert("tags".into(), user_tags(&request.tags));
            if behaviour.honours_client_token() {
                // AWS records the launch's ClientToken on the instance.
                attributes.insert(ownership::CLIENT_TOKEN.into(), json!(op.idempotency_token));
            }
            let id = behaviour.create(cloud, &region, &mut attributes)?;
            if let Some(existing) = cloud.resources.get(&id) {
                // ECS answers CreateCluster of a name in use with the existing cluster,
                // whoever made it (API_CreateCluster); rehearsal must notice.
                if behaviour.answers_with_existing() {
                    return existing.live().ok_or_else(|| ProviderError::NotOurs {
                        what: format!("{kind} {id}"),
                        action: format!("create {kind}"),
                        why: "AWS handed back an existing one that carries no rehearsal tags"
                            .into(),
                    });
                }
                return Err(ProviderError::Api {
                    action: format!("create {kind}"),
                    code: "AlreadyExists".into(),
                    message: format!("{kind} {id} already exists"),
                });
            }
            attributes.insert("id".into(), json!(id));
            // What AWS stamps a creation time on (see `model::times`).
            if reports_creation_time(kind) {
                let now = self.clock.rfc3339();
                if kind == ResourceKind::EcsService {
                    attributes.insert(times::DEPLOYED_AT.into(), json!(now));
                }
                attributes.insert(times::CREATED_AT.into(), json!(now));
            }
            let window = self
                .latency
                .scaled(crate::kinds::consistency().not_found_after_create);
            let mut resource = FakeResource {
                region,
                kind,
                id: id.clone(),
                status: "creating".into(),
                attributes,
                tags: request.tags.clone(),
                transition: None,
                visible_from_ms: (behaviour.eventually_consistent() && window > 0)
                    .then(|| self.clock.now_ms() + window),
            };
            let l = lifecycle(kind);
            let phases = self.latency.phases(
                &l.create,
                self.latency.create.get(&kind).copied(),
                "creating",
            );
            self.begin(&mut resource, phases, Outcome::Ready(l.ready.clone()));
            let live = resource.live().ok_or_else(|| ProviderError::Api {
                action: format!("create {kind}"),
                code: "InvalidTags".into(),
                message: format!("the create request has no valid {} tag", tags::ADDRESS),
            });
            if behaviour.honours_client_token() {
                cloud.client_tokens.insert(
                    op.idempotency_token.clone(),
                    ClientToken {
                        parameters,
                        resource: resource.clone(),
                    },
                );
            }
            for made in behaviour.made_along(cloud, &resource, &op.env, &op.idempotency_token) {
                cloud.resources.insert(made.id.clone(), made);
            }
            cloud.resources.insert(id, resource);
            live
        })?;
        op.report(&created.status);
        Ok(created)
    }

    async fn describe(
        &self,
        _env: &EnvId,
        resources: &[LiveResource],
    ) -> Result<Vec<Option<LiveResource>>, ProviderError> {
        self.enter(FakeOp::Describe, None)?;
        let now = self.clock.now_ms();
        Ok(self.with_cloud_now(|cloud| {
            resources
                .iter()
                .map(|r| {
                    cloud
                        .resources
                        .get(&r.id)
                        .filter(|found| found.visible_from_ms.is_none_or(|from| now >= from))
                        .and_then(FakeResource::live)
                })
                .collect()
        }))
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
        let updated = self.with_cloud_now(|cloud| {
            let r = cloud
                .resources
                .get_mut(&current.id)
                .ok_or_else(|| not_found(kind, &current.id))?;
            if let Some(live) = r.live() {
                ownership::ensure_owned(&live, &op.env, &format!("update {kind}"))?;
            }
            if let Some(reason) = kinds::behaviour(kind).refuses_update(r) {
                return Err(ProviderError::InvalidState {
                    what: format!("{kind} {}", r.id),
                    state: r.status.clone(),
                    message: reason,
                });
            }
            let l = lifecycle(kind);
            let phases = self.latency.phases(
                &l.modify,
                self.latency.update.get(&kind).copied(),
                "modifying",
            );
            let takes_time = phases.iter().any(|(_, ms)| *ms > 0);
            // Tags and rehearsal's own policy change at once; the rest when the modification
            // is over, pending until then.
            let mut applies = Attributes::new();
            for key in changed {
                let Some(v) = desired.get(key) else { continue };
                match key.as_str() {
                    "tags" => {
                        r.tags.retain(|k, _| k.starts_with("rehearsal:"));
                        for (k, v) in v.as_object().into_iter().flatten() {
                            r.tags
                                .insert(k.clone(), v.as_str().unwrap_or_default().to_string());
                        }
                        r.attributes.insert(key.clone(), v.clone());
                    }
                    "keep_after_destroy" | "final_snapshot" => {
                        if key == "keep_after_destroy" {
                            r.tags.insert(
                                tags::KEEP.into(),
                                v.as_bool().unwrap_or(false).to_string(),
                            );
                        }
                        r.attributes.insert(key.clone(), v.clone());
                    }
                    _ if takes_time => {
                        applies.insert(key.clone(), v.clone());
                    }
                    _ => {
                        r.attributes.insert(key.clone(), v.clone());
                    }
                }
            }
            kinds::behaviour(kind).on_update(r, changed);
            // A new task definition is a new deployment.
            if kind == ResourceKind::EcsService && changed.iter().any(|c| c == "task_definition") {
                r.attributes
                    .insert(times::DEPLOYED_AT.into(), json!(self.clock.rfc3339()));
            }
            if !applies.is_empty() {
                let pending: Vec<Value> = applies.keys().map(|k| json!(k)).collect();
                r.attributes
                    .insert(crate::engine::wait::PENDING.into(), Value::Array(pending));
            }
            // A stopped resource is changed and stays stopped: AWS does not start it.
            let after = if l.is_stopped(&r.status) {
                r.status.clone()
            } else {
                l.ready.clone()
            };
            self.begin(r, phases, Outcome::Ready(after));
            if let Some(t) = r.transition.as_mut() {
                t.applies = applies;
            }
            Ok::<_, ProviderError>(r.live().expect("owned resources carry their address tag"))
        })?;
        op.report(&updated.status);
        Ok(updated)
    }

    async fn delete(
        &self,
        op: &Operation,
        resource: &LiveResource,
        policy: &DeletePolicy,
    ) -> Result<DeleteOutcome, ProviderError> {
        self.enter(FakeOp::Delete, Some(&op.address))?;
        let kind = resource.address.kind;
        let outcome = self.with_cloud_now(|cloud| {
            let Some(r) = cloud.resources.get(&resource.id).cloned() else {
                return Ok(DeleteOutcome::Accepted);
            };
            let l = lifecycle(kind);
            if l.is_going_away(&r.status) {
                return Ok(DeleteOutcome::Accepted);
            }
            match r.live() {
                Some(live) => ownership::ensure_owned(&live, &op.env, &format!("delete {kind}"))?,
                None => {
                    return Err(ProviderError::NotOurs {
                        what: format!("{kind} {}", r.id),
                        action: format!("delete {kind}"),
                        why: "it carries no rehearsal address".into(),
                    });
                }
            }
            let behaviour = kinds::behaviour(kind);
            if let Some(reason) = behaviour.refuses_delete(cloud, &r) {
                return Ok(DeleteOutcome::NotYet { reason });
            }
            if r.attributes.get("deletion_protection") == Some(&json!(true))
                && !policy.disable_deletion_protection
            {
                return Err(ProviderError::InvalidState {
                    what: format!("{kind} {}", r.id),
                    state: "protected".into(),
                    message: "Cannot delete protected DB Instance, please disable deletion \
                              protection and try again."
                        .into(),
                });
            }
            behaviour.after_delete(cloud, &r, policy);
            let phases = self.latency.phases(
                &l.delete,
                self.latency.delete.get(&kind).copied(),
                "deleting",
            );
            let target = cloud.resources.get_mut(&resource.id).expect("found above");
            if target.attributes.contains_key("deletion_protection") {
                target
                    .attributes
                    .insert("deletion_protection".into(), json!(false));
            }
            self.begin(target, phases, Outcome::Gone);
            Ok(DeleteOutcome::Accepted)
        })?;
        if outcome == DeleteOutcome::Accepted {
            op.report("deleting");
        }
        Ok(outcome)
    }
}
