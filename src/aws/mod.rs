//! The AWS provider: the only module that talks to AWS (EC2, RDS, ECS, and the Resource Groups
//! Tagging API, through the official SDK).
//!
//! - Credentials, region and endpoint come from the SDK's default chain (`AWS_PROFILE`, SSO,
//!   environment, instance roles; `AWS_ENDPOINT_URL` for an emulator), loaded once in
//!   [`AwsProvider::connect`].
//! - Retrying throttled and failed calls is the SDK's job: standard retry mode, configured once
//!   here. Waiting for a state uses the SDK's generated waiters. Nothing in this module re-sends a
//!   call in a loop of its own.
//! - Ownership lives in tags set at creation; `observe` finds an environment's resources by them
//!   with a few paginated list/describe calls per kind (task definitions, which ECS can only
//!   describe one by one, are first found by their `rehearsal:env` tag with the Tagging API).
//!
//! One file per service (`ec2`, `rds`, `ecs`); `tags` for ownership and recorded inputs, `attrs`
//! for reading the spec's JSON attributes, `errors` for classifying SDK errors.

mod attrs;
mod ec2;
mod ecs;
mod errors;
mod rds;
mod tags;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::{Credentials, ProvideCredentials};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::model::{
    Address, Attributes, EnvId, LiveResource, ResourceKind, SourceKind, SourceObject, SourceQuery,
};
use crate::provider::{
    CreateRequest, DeleteOutcome, DeletePolicy, EnvironmentSummary, Operation, Provider,
    ProviderError,
};

/// SDK attempts per call (the first one included) unless `AWS_MAX_ATTEMPTS` says otherwise.
const DEFAULT_MAX_ATTEMPTS: u32 = 8;

/// The SDK clients for one region.
#[derive(Clone)]
struct Clients {
    ec2: aws_sdk_ec2::Client,
    rds: aws_sdk_rds::Client,
    ecs: aws_sdk_ecs::Client,
    tagging: aws_sdk_resourcegroupstagging::Client,
}

impl Clients {
    fn new(config: &SdkConfig) -> Self {
        Clients {
            ec2: aws_sdk_ec2::Client::new(config),
            rds: aws_sdk_rds::Client::new(config),
            ecs: aws_sdk_ecs::Client::new(config),
            tagging: aws_sdk_resourcegroupstagging::Client::new(config),
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

    /// Everything rehearsal-tagged in a region (of one environment, or of all).
    async fn scan(
        &self,
        region: &str,
        env: Option<&str>,
        with_user_data: bool,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let c = self.clients(region);
        let (mut found, dbs, ecs) = tokio::try_join!(
            ec2::scan(&c.ec2, env, with_user_data),
            rds::scan(&c.rds, env),
            ecs::scan(&c.ecs, &c.tagging, env),
        )?;
        found.extend(dbs);
        found.extend(ecs);
        found.sort_by(|a, b| a.address.cmp(&b.address).then_with(|| a.id.cmp(&b.id)));
        Ok(found)
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

/// How errors and progress name a resource: `rds_instance.db (prerelease-db)`.
pub(crate) fn what(address: &Address, id: &str) -> String {
    format!("{address} ({id})")
}

/// One operation's time budget (`Operation::timeout`), shared by the waits it makes in turn (an
/// instance-type change waits for `stopped`, then for `running`).
pub(crate) struct Deadline {
    start: std::time::Instant,
    total: std::time::Duration,
}

impl Deadline {
    pub(crate) fn new(op: &Operation) -> Deadline {
        Deadline {
            start: std::time::Instant::now(),
            total: op.timeout,
        }
    }

    /// What is left of the budget: the `max_wait` of the next waiter.
    pub(crate) fn remaining(&self) -> std::time::Duration {
        self.total.saturating_sub(self.start.elapsed())
    }
}

/// Reports the states a wait observes, each change once: a wait starts from the state the
/// resource was last seen in and reports where it ended only if that is different.
pub(crate) struct States<'a> {
    op: &'a Operation,
    last: Mutex<Option<String>>,
}

impl<'a> States<'a> {
    pub(crate) fn new(op: &'a Operation) -> States<'a> {
        States {
            op,
            last: Mutex::new(None),
        }
    }

    pub(crate) fn report(&self, state: &str) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.as_deref() != Some(state) {
            self.op.report(state);
            *last = Some(state.to_owned());
        }
    }
}

/// Whether a resource owned by `owner` is wanted: `filter` is one environment, or all.
pub(crate) fn env_matches(filter: Option<&str>, owner: &str) -> bool {
    filter.is_none_or(|env| env == owner)
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
        let c = self.clients(region);
        match query.kind {
            SourceKind::Ec2Instance => ec2::lookup(&c.ec2, query).await,
            SourceKind::RdsInstance => {
                let what = query.describe();
                let id = query.id.as_deref().ok_or_else(|| {
                    errors::attribute(query.kind, "a source DB instance needs an `identifier`")
                })?;
                rds::lookup_instance(&c.rds, id, &what).await
            }
            SourceKind::EcsCluster => ecs::lookup_cluster(&c.ecs, query).await,
            SourceKind::EcsService => ecs::lookup_service(&c.ecs, query).await,
            SourceKind::EcsTaskDefinition => ecs::lookup_task_definition(&c.ecs, query).await,
        }
    }

    async fn observe(&self, env: &EnvId) -> Result<Vec<LiveResource>, ProviderError> {
        self.scan(&env.region, Some(&env.name), true).await
    }

    async fn list_environments(
        &self,
        region: &str,
    ) -> Result<Vec<EnvironmentSummary>, ProviderError> {
        let found = self.scan(region, None, false).await?;
        Ok(EnvironmentSummary::from_tags(found.iter().map(|r| &r.tags)))
    }

    async fn create(
        &self,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<LiveResource, ProviderError> {
        let c = self.clients(&op.env.region);
        if request.kind != op.address.kind {
            return Err(errors::attribute(
                request.kind,
                format!("a {} cannot be created at {}", request.kind, op.address),
            ));
        }
        match request.kind {
            ResourceKind::RdsSnapshot => rds::create_snapshot(&c.rds, op, request).await,
            ResourceKind::RdsInstance => rds::create_instance(&c.rds, op, request).await,
            ResourceKind::Ec2Instance => ec2::create(&c.ec2, op, request).await,
            ResourceKind::EcsCluster => ecs::create_cluster(&c.ecs, op, request).await,
            ResourceKind::EcsTaskDefinition => {
                ecs::create_task_definition(&c.ecs, op, request).await
            }
            ResourceKind::EcsService => ecs::create_service(&c.ecs, op, request).await,
        }
    }

    async fn wait_ready(
        &self,
        op: &Operation,
        resource: &LiveResource,
    ) -> Result<LiveResource, ProviderError> {
        let c = self.clients(&op.env.region);
        match resource.address.kind {
            ResourceKind::RdsSnapshot => rds::wait_snapshot_ready(&c.rds, op, resource).await,
            ResourceKind::RdsInstance => rds::wait_instance_ready(&c.rds, op, resource).await,
            ResourceKind::Ec2Instance => ec2::wait_ready(&c.ec2, op, resource).await,
            ResourceKind::EcsCluster
            | ResourceKind::EcsTaskDefinition
            | ResourceKind::EcsService => ecs::wait_ready(&c.ecs, op, resource).await,
        }
    }

    async fn update(
        &self,
        op: &Operation,
        current: &LiveResource,
        desired: &Attributes,
        changed: &[String],
    ) -> Result<LiveResource, ProviderError> {
        let c = self.clients(&op.env.region);
        match current.address.kind {
            ResourceKind::RdsSnapshot => {
                rds::update_snapshot(&c.rds, op, current, desired, changed).await
            }
            ResourceKind::RdsInstance => {
                rds::update_instance(&c.rds, op, current, desired, changed).await
            }
            ResourceKind::Ec2Instance => ec2::update(&c.ec2, op, current, desired, changed).await,
            ResourceKind::EcsCluster
            | ResourceKind::EcsTaskDefinition
            | ResourceKind::EcsService => ecs::update(&c.ecs, op, current, desired, changed).await,
        }
    }

    async fn delete(
        &self,
        op: &Operation,
        resource: &LiveResource,
        policy: &DeletePolicy,
    ) -> Result<DeleteOutcome, ProviderError> {
        let c = self.clients(&op.env.region);
        match resource.address.kind {
            ResourceKind::RdsSnapshot => rds::delete_snapshot(&c.rds, op, resource).await,
            ResourceKind::RdsInstance => rds::delete_instance(&c.rds, op, resource, policy).await,
            ResourceKind::Ec2Instance => ec2::delete(&c.ec2, op, resource).await,
            ResourceKind::EcsCluster
            | ResourceKind::EcsTaskDefinition
            | ResourceKind::EcsService => ecs::delete(&c.ecs, op, resource).await,
        }
    }

    async fn wait_deleted(
        &self,
        op: &Operation,
        resource: &LiveResource,
    ) -> Result<(), ProviderError> {
        let c = self.clients(&op.env.region);
        match resource.address.kind {
            ResourceKind::RdsSnapshot => rds::wait_snapshot_deleted(&c.rds, op, resource).await,
            ResourceKind::RdsInstance => rds::wait_instance_deleted(&c.rds, op, resource).await,
            ResourceKind::Ec2Instance => ec2::wait_deleted(&c.ec2, op, resource).await,
            ResourceKind::EcsCluster
            | ResourceKind::EcsTaskDefinition
            | ResourceKind::EcsService => ecs::wait_deleted(&c.ecs, op, resource).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_filter() {
        assert!(env_matches(None, "x"));
        assert!(env_matches(Some("x"), "x"));
        assert!(!env_matches(Some("x"), "xy"));
    }
}
