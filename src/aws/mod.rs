//! The AWS provider: the only module that talks to AWS (EC2, RDS, ECS, Route 53, and the
//! Resource Groups Tagging API, through the official SDK).
//!
//! - Credentials, region and endpoint come from the SDK's default chain (`AWS_PROFILE`, SSO,
//!   environment, instance roles; `AWS_ENDPOINT_URL` for an emulator), loaded once in
//!   [`AwsProvider::connect`].
//! - Retrying throttled and failed calls is the SDK's job: standard retry mode, configured once
//!   here. Waiting for a state is the engine's (`crate::engine::wait`), over [`Provider::describe`].
//! - Ownership lives in tags set at creation; `observe` finds an environment's resources by them
//!   with a few paginated list/describe calls per kind.
//!
//! One module per service (`ec2`, `rds`, `ecs`) with one file per resource kind, each an
//! [`kind::AwsKind`] reached through [`kind::handler`]; `kind` also holds what every kind shares
//! (the guarded update and delete). `tags` is ownership and recorded inputs, `attrs` reads the
//! spec's JSON attributes, `errors` classifies SDK errors.

mod attrs;
mod batch;
mod ec2;
mod ecs;
mod errors;
mod kind;
mod rds;
mod route53;
mod tags;
pub mod team;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::{Credentials, ProvideCredentials};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use futures_util::future::try_join_all;
use tokio::sync::OnceCell;

use crate::model::{
    Attributes, Declared, EnvId, LiveResource, ResourceKind, SourceKind, SourceObject, SourceQuery,
};
use crate::provider::{
    CreateRequest, DeleteOutcome, DeletePolicy, EnvironmentSummary, Operation, Provider,
    ProviderError, SubnetEgress,
};

/// SDK attempts per call (the first one included) unless `AWS_MAX_ATTEMPTS` says otherwise.
const DEFAULT_MAX_ATTEMPTS: u32 = 8;

/// The SDK clients for one region, and what one run shares across resources there.
#[derive(Clone)]
pub(crate) struct Clients {
    ec2: aws_sdk_ec2::Client,
    rds: aws_sdk_rds::Client,
    ecs: aws_sdk_ecs::Client,
    tagging: aws_sdk_resourcegroupstagging::Client,
    route53: aws_sdk_route53::Client,
    batches: Arc<Batches>,
}

/// Calls gathered across resources (see `batch`), and sources read once per run.
#[derive(Default)]
pub(crate) struct Batches {
    instances: batch::Gather<aws_sdk_ec2::types::Instance>,
    terminations: batch::Gather<()>,
    volumes: batch::Gather<aws_sdk_ec2::types::Volume>,
    sources: Mutex<HashMap<String, Arc<OnceCell<SourceObject>>>>,
}

impl Clients {
    fn new(config: &SdkConfig) -> Self {
        Clients {
            ec2: aws_sdk_ec2::Client::new(config),
            rds: aws_sdk_rds::Client::new(config),
            ecs: aws_sdk_ecs::Client::new(config),
            tagging: aws_sdk_resourcegroupstagging::Client::new(config),
            route53: aws_sdk_route53::Client::new(config),
            batches: Arc::default(),
        }
    }

    /// A source as it was when this run first asked (a clone of a bare instance id reads it
    /// at create): ten clones of one server read it once.
    pub(crate) async fn source(&self, query: SourceQuery) -> Result<SourceObject, ProviderError> {
        let key = query.describe();
        let cell = self
            .batches
            .sources
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default()
            .clone();
        cell.get_or_try_init(|| self.lookup(&query)).await.cloned()
    }

    /// A source as it is now.
    async fn lookup(&self, query: &SourceQuery) -> Result<SourceObject, ProviderError> {
        match query.kind {
            SourceKind::Ec2Instance => ec2::lookup(&self.ec2, query).await,
            SourceKind::RdsInstance => rds::lookup(&self.rds, query).await,
            SourceKind::EcsCluster => ecs::lookup_cluster(&self.ecs, query).await,
            SourceKind::EcsService => ecs::lookup_service(&self.ecs, query).await,
            SourceKind::EcsTaskDefinition => ecs::lookup_task_definition(&self.ecs, query).await,
        }
    }
}

/// [`Provider`] on AWS.
pub struct AwsProvider {
    config: SdkConfig,
    /// Clients per region, made on first use from `config` (an environment names its region).
    clients: Mutex<HashMap<String, Clients>>,
}

impl std::fmt::Debug for AwsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsProvider")
            .field("region", &self.config.region())
            .field("endpoint_url", &self.config.endpoint_url())
            .finish_non_exhaustive()
    }
}

/// Standard retry mode (exponential backoff with jitter, throttling and transient errors retried)
/// with `AWS_MAX_ATTEMPTS` attempts, or [`DEFAULT_MAX_ATTEMPTS`].
fn retry_config() -> Result<RetryConfig, ProviderError> {
    let attempts = match std::env::var("AWS_MAX_ATTEMPTS") {
        Ok(value) => value
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| ProviderError::Api {
                action: "configure the AWS SDK".to_owned(),
                code: "InvalidConfiguration".to_owned(),
                message: format!(
                    "AWS_MAX_ATTEMPTS must be a whole number of at least 1, not `{value}`"
                ),
            })?,
        Err(_) => DEFAULT_MAX_ATTEMPTS,
    };
    Ok(RetryConfig::standard().with_max_attempts(attempts))
}

impl AwsProvider {
    /// Connect with the default credential chain (environment, `AWS_PROFILE` and profiles, SSO,
    /// container and instance roles) in `region`. `AWS_ENDPOINT_URL` (read by the SDK's config
    /// loader) points every client at an emulator. Fails early, with a clear message, when no
    /// credentials can be found.
    pub async fn connect(region: &str) -> Result<AwsProvider, ProviderError> {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .retry_config(retry_config()?)
            .load()
            .await;
        let provider = config.credentials_provider().ok_or_else(no_credentials(
            "no credential provider is configured".to_owned(),
        ))?;
        if let Err(e) = provider.provide_credentials().await {
            return Err(no_credentials(
                aws_sdk_ec2::error::DisplayErrorContext(&e).to_string(),
            )());
        }
        Ok(AwsProvider::from_config(config))
    }

    /// Connect to an endpoint of one's choosing (an emulator) with static test credentials,
    /// ignoring the environment's credentials and endpoint. For tests, which run in parallel and
    /// so cannot share process-wide variables like `AWS_ENDPOINT_URL`.
    pub async fn connect_with_endpoint(
        region: &str,
        endpoint_url: &str,
    ) -> Result<AwsProvider, ProviderError> {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .endpoint_url(endpoint_url)
            .credentials_provider(Credentials::new(
                "testing",
                "testing",
                None,
                None,
                "rehearsal-static",
            ))
            .retry_config(retry_config()?)
            .load()
            .await;
        Ok(AwsProvider::from_config(config))
    }

    /// Use an already loaded SDK configuration as is.
    pub fn from_config(config: SdkConfig) -> AwsProvider {
        AwsProvider {
            config,
            clients: Mutex::new(HashMap::new()),
        }
    }

    fn clients(&self, region: &str) -> Clients {
        let mut cache = self
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cache
            .entry(region.to_owned())
            .or_insert_with(|| {
                let config = self
                    .config
                    .to_builder()
                    .region(Region::new(region.to_owned()))
                    .build();
                Clients::new(&config)
            })
            .clone()
    }

    /// Everything rehearsal-tagged in a region (of one environment, or of all): every kind in
    /// the registry, side by side.
    async fn scan(
        &self,
        region: &str,
        env: Option<&EnvId>,
        declared: &Declared,
        with_user_data: bool,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let clients = self.clients(region);
        let cx = Scan {
            clients: &clients,
            env,
            declared,
            with_user_data,
            ecs_clusters: OnceCell::new(),
        };
        let per_kind = ResourceKind::ALL
            .iter()
            .map(|k| kind::handler(*k).scan(&cx));
        let mut found: Vec<LiveResource> = try_join_all(per_kind)
            .await?
            .into_iter()
            .flatten()
            .collect();
        found.sort_by(|a, b| a.address.cmp(&b.address).then_with(|| a.id.cmp(&b.id)));
        Ok(found)
    }
}

/// One scan of a region: what every kind's scan needs, and what kinds share, listed once.
pub(crate) struct Scan<'a> {
    pub clients: &'a Clients,
    /// One environment, or every environment (of every project).
    pub env: Option<&'a EnvId>,
    /// What the spec declares by name, looked for by name too.
    pub declared: &'a Declared,
    /// Read EC2 user data back (a plan compares it; listing environments does not need it).
    pub with_user_data: bool,
    /// The region's ECS clusters, for the cluster and service kinds.
    pub ecs_clusters: OnceCell<Vec<aws_sdk_ecs::types::Cluster>>,
}

impl Scan<'_> {
    /// Whether a described resource is wanted: it proves it is the scan's environment's own
    /// (see `ownership`), or, scanning every environment, some environment's.
    pub fn wants(&self, resource: &LiveResource) -> bool {
        match self.env {
            Some(env) => crate::engine::ownership::belongs_to(resource, env),
            None => crate::engine::ownership::owner(resource).is_some(),
        }
    }
}

fn no_credentials(detail: String) -> impl FnOnce() -> ProviderError {
    move || ProviderError::Api {
        action: "load AWS credentials".to_owned(),
        code: "NoCredentials".to_owned(),
        message: format!(
            "{detail}; set AWS_PROFILE (and run `aws sso login` for SSO profiles) or \
             AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        ),
    }
}

/// Run `f` on every item, at most `limit` at a time; results in the order of `items`. The first
/// error wins (the rest are cancelled).
pub(crate) async fn concurrently<T, R, F, Fut>(
    items: Vec<T>,
    limit: usize,
    f: F,
) -> Result<Vec<R>, ProviderError>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<R, ProviderError>> + Send + 'static,
    R: Send + 'static,
{
    let count = items.len();
    let permits = Arc::new(Semaphore::new(limit.max(1)));
    let mut tasks = JoinSet::new();
    for (index, item) in items.into_iter().enumerate() {
        let work = f(item);
        let permits = permits.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (index, work.await)
        });
    }
    let mut results: Vec<Option<R>> = (0..count).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        let (index, result) = joined.map_err(|e| ProviderError::Api {
            action: "describe AWS resources".to_owned(),
            code: "TaskFailed".to_owned(),
            message: e.to_string(),
        })?;
        results[index] = Some(result?);
    }
    Ok(results.into_iter().flatten().collect())
}

#[async_trait]
impl Provider for AwsProvider {
    async fn lookup(
        &self,
        region: &str,
        query: &SourceQuery,
    ) -> Result<SourceObject, ProviderError> {
        // Read afresh: apply's re-check must see a source that moved since the plan.
        self.clients(region).lookup(query).await
    }

    async fn observe(
        &self,
        env: &EnvId,
        declared: &Declared,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        self.scan(&env.region, Some(env), declared, true).await
    }

    async fn observe_region(&self, region: &str) -> Result<Vec<LiveResource>, ProviderError> {
        self.scan(region, None, &Declared::default(), false).await
    }

    async fn subnet_egress(
        &self,
        region: &str,
        subnets: &[String],
    ) -> Result<BTreeMap<String, SubnetEgress>, ProviderError> {
        ec2::egress::subnet_egress(&self.clients(region).ec2, region, subnets).await
    }

    async fn list_environments(
        &self,
        region: &str,
    ) -> Result<Vec<EnvironmentSummary>, ProviderError> {
        let found = self.observe_region(region).await?;
        Ok(EnvironmentSummary::of(&found))
    }

    async fn existing(
        &self,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<Option<LiveResource>, ProviderError> {
        let c = self.clients(&op.env.region);
        kind::handler(request.kind).existing(&c, op, request).await
    }

    async fn import(
        &self,
        op: &Operation,
        request: &CreateRequest,
        live: &LiveResource,
    ) -> Result<(), ProviderError> {
        let c = self.clients(&op.env.region);
        kind::import(kind::handler(request.kind), &c, request, live).await
    }

    async fn create(
        &self,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<LiveResource, ProviderError> {
        if request.kind != op.address.kind {
            return Err(errors::attribute(
                request.kind,
                format!("a {} cannot be created at {}", request.kind, op.address),
            ));
        }
        let c = self.clients(&op.env.region);
        kind::handler(request.kind).create(&c, op, request).await
    }

    async fn describe(
        &self,
        env: &EnvId,
        resources: &[LiveResource],
    ) -> Result<Vec<Option<LiveResource>>, ProviderError> {
        let c = self.clients(&env.region);
        let mut answers: Vec<Option<LiveResource>> = vec![None; resources.len()];
        // One batch per kind, answered in the order asked.
        for k in ResourceKind::ALL {
            let (indexes, batch): (Vec<usize>, Vec<LiveResource>) = resources
                .iter()
                .enumerate()
                .filter(|(_, r)| r.address.kind == *k)
                .map(|(i, r)| (i, r.clone()))
                .unzip();
            if batch.is_empty() {
                continue;
            }
            let described = kind::handler(*k).describe(&c, &batch).await?;
            for (i, answer) in indexes.into_iter().zip(described) {
                answers[i] = answer;
            }
        }
        Ok(answers)
    }

    async fn update(
        &self,
        op: &Operation,
        current: &LiveResource,
        desired: &Attributes,
        changed: &[String],
    ) -> Result<LiveResource, ProviderError> {
        let c = self.clients(&op.env.region);
        let k = kind::handler(current.address.kind);
        kind::guarded_update(k, &c, op, current, desired, changed).await
    }

    async fn delete(
        &self,
        op: &Operation,
        resource: &LiveResource,
        policy: &DeletePolicy,
    ) -> Result<DeleteOutcome, ProviderError> {
        let c = self.clients(&op.env.region);
        let k = kind::handler(resource.address.kind);
        kind::guarded_delete(k, &c, op, resource, policy).await
    }
}
