//! The seam between the engine and a cloud. The engine (plan, graph, executor, teardown) only
//! ever talks to a [`Provider`]; `aws` implements it with the AWS SDK, [`fake`] in memory.

pub mod fake;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use thiserror::Error;

use crate::model::{
    Address, Attributes, Declared, EnvId, LiveResource, ResourceKind, SourceObject, SourceQuery,
};

/// Errors a provider reports, classified so the engine can decide what to do next and the user
/// is told how to fix it. Messages are lowercase fragments that read after "failed to ...: ".
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ProviderError {
    #[error("{what} was not found")]
    NotFound { what: String },
    #[error("access denied for {action}: {message}")]
    AccessDenied { action: String, message: String },
    #[error("AWS kept throttling {action} after the SDK's retries: {message}")]
    Throttled { action: String, message: String },
    #[error("{what} is still in use: {message}")]
    DependencyViolation { what: String, message: String },
    #[error("{what} is {state}: {message}")]
    InvalidState {
        what: String,
        state: String,
        message: String,
    },
    #[error(
        "timed out after {} waiting for {what} to become {target}{}",
        crate::spec::duration::format(*after),
        last_state.as_ref().map(|s| format!(" (last seen: {s})")).unwrap_or_default()
    )]
    Timeout {
        what: String,
        target: String,
        after: Duration,
        /// The state AWS last reported, if any.
        last_state: Option<String>,
    },
    #[error("{what} ended up {state} while waiting for it to become {target}")]
    FailedState {
        what: String,
        state: String,
        target: String,
    },
    #[error(
        "{what} ended up {state} while waiting for it to become {target}{}",
        events.iter().map(|e| format!("\n  event: {e}")).collect::<String>()
    )]
    Stuck {
        what: String,
        state: String,
        target: String,
        /// What AWS said last about it, newest first (a service's events).
        events: Vec<String>,
    },
    /// Ready, but not running what was asked (an ECS deployment rolled back).
    #[error(
        "{what} does not run what was asked: {why}{}",
        events.iter().map(|e| format!("\n  event: {e}")).collect::<String>()
    )]
    NotAsAsked {
        what: String,
        why: String,
        /// What AWS said last about it, newest first.
        events: Vec<String>,
    },
    #[error("{action} failed: {code}: {message}")]
    Api {
        action: String,
        code: String,
        message: String,
    },
    #[error("could not reach AWS for {action}: {message}")]
    Connection { action: String, message: String },
    #[error("the AWS credentials expired during {action}: {message}")]
    CredentialsExpired { action: String, message: String },
    #[error("refusing {action} on {what}: {why}")]
    NotOurs {
        what: String,
        action: String,
        why: String,
    },
}

impl ProviderError {
    /// Worth another try later, in a teardown pass or by re-running the command.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ProviderError::Throttled { .. }
                | ProviderError::DependencyViolation { .. }
                | ProviderError::InvalidState { .. }
                | ProviderError::Connection { .. }
                | ProviderError::Timeout { .. }
        )
    }

    /// What the person at the terminal should do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            ProviderError::AccessDenied { action, .. } => Some(format!(
                "grant `{action}` to the credentials in use (see the IAM policy in README.md), \
                 or pick other credentials with AWS_PROFILE"
            )),
            ProviderError::Throttled { .. } => {
                Some("wait a minute and run the command again; it resumes where it stopped".into())
            }
            ProviderError::Timeout { .. } => Some(
                "AWS may still finish it: run `rehearsal plan` to see where it stands, or give it more time (`timeout` in the spec, or --timeout)"
                    .into(),
            ),
            ProviderError::Connection { .. } => Some(
                "check the network, the region and AWS_ENDPOINT_URL, then run the command again".into(),
            ),
            ProviderError::DependencyViolation { .. } => {
                Some("something outside this environment may still use it".into())
            }
            ProviderError::FailedState { .. } => Some(
                "AWS will not recover it: `rehearsal plan` plans a replacement, and \
                 `rehearsal destroy` removes it"
                    .into(),
            ),
            ProviderError::Stuck { .. } => Some(
                "nothing was torn down: fix what the events name (the image, its health check, \
                 the roles, the network), then plan and apply again; `rehearsal destroy ENV` \
                 removes the environment"
                    .into(),
            ),
            ProviderError::NotAsAsked { .. } => Some(
                "the release did not take: what runs now is the revision named above, so do not \
                 go on testing as if it were the new one; fix what the events name (the image, \
                 its health check, the roles, the network), then plan and apply again. Nothing \
                 was torn down"
                    .into(),
            ),
            ProviderError::InvalidState { .. } => Some(
                "AWS refused it in its current state: `rehearsal status ENV` shows the state; run \
                 the command again once it has settled"
                    .into(),
            ),
            ProviderError::NotOurs { .. } => Some(
                "rehearsal changes and deletes only what it created for this project and \
                 environment, proven by its tags (see \"Ownership\" in README.md)"
                    .into(),
            ),
            ProviderError::CredentialsExpired { .. } => Some(
                "the session behind these credentials ended (SSO and assumed-role sessions last \
                 1 to 12 hours): sign in again (e.g. `aws sso login`) and run the command again; \
                 apply and destroy pick up from what exists"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// Progress words a provider reports while it works ("creating", "backing-up", "available").
pub trait ProgressSink: Send + Sync {
    fn report(&self, address: &Address, message: &str);
}

/// A sink that drops everything, for callers that do not show progress.
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn report(&self, _: &Address, _: &str) {}
}

/// Context for one operation on one resource.
#[derive(Clone)]
pub struct Operation {
    pub env: EnvId,
    pub address: Address,
    /// Stable for a given plan and address, so a retried create cannot make a second resource
    /// where the API honours it (EC2 `ClientToken`). At most 64 ASCII characters.
    pub idempotency_token: String,
    /// How long a wait for a state may take.
    pub timeout: Duration,
    pub progress: Arc<dyn ProgressSink>,
}

impl std::fmt::Debug for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operation")
            .field("env", &self.env)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Operation {
    pub fn report(&self, message: &str) {
        self.progress.report(&self.address, message);
    }
}

/// A resource to create. `attributes` are the spec's, fully resolved (no `${...}` left);
/// `tags` are every tag to set at creation, rehearsal's ownership tags included.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    pub kind: ResourceKind,
    pub attributes: Attributes,
    pub tags: BTreeMap<String, String>,
}

/// How a delete should treat the resource.
#[derive(Debug, Clone, Default)]
pub struct DeletePolicy {
    /// RDS instances: take a final snapshot with this identifier; `None` skips it.
    pub final_snapshot_identifier: Option<String>,
    /// The tags the final snapshot carries once taken: the environment's ownership (so
    /// `status`, `reap` and destroy's proof see it), kept after teardown, with an expiry.
    pub final_snapshot_tags: BTreeMap<String, String>,
    /// Switch deletion protection off first. Only ever true for resources tagged as the
    /// environment's own, in an environment that is not protected.
    pub disable_deletion_protection: bool,
    /// What the policy could not do as the spec asked, and why (no final snapshot of a database
    /// AWS cannot snapshot): reported to the user.
    pub warning: Option<String>,
}

/// What a delete call achieved.
#[derive(Debug, Clone, PartialEq)]
pub enum DeleteOutcome {
    /// Gone, or AWS accepted the deletion (or was already deleting it): wait for it to vanish.
    Accepted,
    /// AWS cannot delete it in its current state (a database still `creating`): try again once
    /// that is over.
    NotYet { reason: String },
}

/// A rehearsal environment found in a region by its tags, for `reap`.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvironmentSummary {
    pub project: String,
    pub name: String,
    /// The earliest `rehearsal:expires-at` among its resources, if any carries one.
    pub expires_at: Option<String>,
    pub resources: usize,
}

impl EnvironmentSummary {
    /// Group resources that prove whose they are (see `ownership`) by project and environment,
    /// with the earliest expiry of each.
    pub fn of<'a>(
        resources: impl IntoIterator<Item = &'a LiveResource>,
    ) -> Vec<EnvironmentSummary> {
        let mut envs: BTreeMap<(String, String), EnvironmentSummary> = BTreeMap::new();
        for resource in resources {
            let Some((project, name)) = crate::engine::ownership::owner(resource) else {
                continue;
            };
            let summary = envs
                .entry((project.to_string(), name.to_string()))
                .or_insert_with(|| EnvironmentSummary {
                    project: project.to_string(),
                    name: name.to_string(),
                    expires_at: None,
                    resources: 0,
                });
            summary.resources += 1;
            if let Some(expiry) = resource.tags.get(crate::model::tags::EXPIRES_AT)
                && summary
                    .expires_at
                    .as_deref()
                    .is_none_or(|current| is_earlier(expiry, current))
            {
                summary.expires_at = Some(expiry.clone());
            }
        }
        envs.into_values().collect()
    }
}

/// Compare RFC 3339 times as times (offsets differ), falling back to text.
fn is_earlier(a: &str, b: &str) -> bool {
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;
    match (
        OffsetDateTime::parse(a, &Rfc3339),
        OffsetDateTime::parse(b, &Rfc3339),
    ) {
        (Ok(a), Ok(b)) => a < b,
        _ => a < b,
    }
}

/// How a subnet reaches outside its VPC, as AWS routes it: what a Fargate task's network
/// interface in it can reach, to pull its image (see `kinds::ecs_service::can_pull`).
///
/// A subnet's routes are those of the route table associated with it, else of its VPC's main
/// route table (https://docs.aws.amazon.com/vpc/latest/userguide/VPC_Route_Tables.html).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubnetEgress {
    /// A `0.0.0.0/0` route to an internet gateway (`igw-`): out only with a public address.
    pub internet_gateway: Option<String>,
    /// A `0.0.0.0/0` route to anything else (a NAT gateway, a NAT instance, a transit gateway),
    /// the target's id: out without a public address, as far as rehearsal can see.
    pub other_default_route: Option<String>,
    /// The VPC has interface endpoints for ECR (`ecr.api` and `ecr.dkr`) and a gateway endpoint
    /// for S3 on the subnet's route table: ECR's images without leaving the VPC.
    pub registry_endpoints: bool,
}

/// A cloud, as the engine needs it. Implementations must:
/// - find owned resources by the `rehearsal:env` / `rehearsal:address` tags in a few batched
///   calls per kind, never one call per resource where a batch API exists;
/// - set every tag of [`CreateRequest::tags`] in the create call itself;
/// - never modify or delete anything through [`Provider::lookup`].
#[async_trait]
pub trait Provider: Send + Sync {
    /// Find one existing (source) object. Exactly one must match.
    async fn lookup(
        &self,
        region: &str,
        query: &SourceQuery,
    ) -> Result<SourceObject, ProviderError>;

    /// Everything tagged for the environment in its region, including resources AWS is still
    /// creating or already deleting (but not ones that are gone: terminated instances,
    /// inactive task definitions). What `declared` names is also looked for by name.
    async fn observe(
        &self,
        env: &EnvId,
        declared: &Declared,
    ) -> Result<Vec<LiveResource>, ProviderError>;

    /// Everything every environment (of every project) owns in a region, in one scan: the same
    /// few batched calls per kind as [`Provider::observe`] makes for one environment, whatever
    /// the number of environments (`status` without an environment).
    async fn observe_region(&self, region: &str) -> Result<Vec<LiveResource>, ProviderError>;

    /// How each of these subnets reaches outside its VPC (see [`SubnetEgress`]); a subnet AWS
    /// does not know is left out of the answer. Only reads.
    async fn subnet_egress(
        &self,
        region: &str,
        subnets: &[String],
    ) -> Result<BTreeMap<String, SubnetEgress>, ProviderError>;

    /// Every environment that has rehearsal-tagged resources in a region.
    async fn list_environments(
        &self,
        region: &str,
    ) -> Result<Vec<EnvironmentSummary>, ProviderError>;

    /// What already answers to the name or identifier a create would take (an ECS service of
    /// that name in its cluster, a task-definition family, a group name in the VPC, a DB
    /// instance or snapshot identifier), or `None`. rehearsal never adopts: the engine refuses a
    /// create over one that is not provably the environment's (see `ownership`), whatever AWS
    /// itself would do with the call.
    async fn existing(
        &self,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<Option<LiveResource>, ProviderError>;

    /// Import: give `live`, an object rehearsal did not create (found by [`Provider::existing`]
    /// for `request`), the tags the create of `request` would have set (rehearsal's, never the
    /// spec's own `tags`: a plan compares those), so that it proves it is the environment's.
    /// The one call that tags what rehearsal did not make; only `rehearsal import` reaches it,
    /// after the user confirmed (see `crate::engine::import`).
    async fn import(
        &self,
        op: &Operation,
        request: &CreateRequest,
        live: &LiveResource,
    ) -> Result<(), ProviderError>;

    /// Start creating a resource. Returns as soon as AWS has accepted it; the engine waits
    /// (see [`crate::engine::wait`]).
    async fn create(
        &self,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<LiveResource, ProviderError>;

    /// Describe resources again by id, as they are now: one answer per resource, in order;
    /// `None` for one AWS does not know (not yet visible after a create, or gone).
    async fn describe(
        &self,
        env: &EnvId,
        resources: &[LiveResource],
    ) -> Result<Vec<Option<LiveResource>>, ProviderError>;

    /// Start changing the in-place attributes named in `changed` to their values in `desired`.
    /// Returns once AWS has accepted the change; the engine waits for it to show.
    async fn update(
        &self,
        op: &Operation,
        current: &LiveResource,
        desired: &Attributes,
        changed: &[String],
    ) -> Result<LiveResource, ProviderError>;

    /// Start deleting. "Not found" and "already deleting" are [`DeleteOutcome::Accepted`]; the
    /// engine waits for it to be gone.
    async fn delete(
        &self,
        op: &Operation,
        resource: &LiveResource,
        policy: &DeletePolicy,
    ) -> Result<DeleteOutcome, ProviderError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Address, EnvId};

    fn made(project: &str, env: &str, address: &str, expires: &str) -> LiveResource {
        let env = EnvId {
            project: project.into(),
            name: env.into(),
            region: "eu-west-1".into(),
        };
        let address: Address = address.parse().unwrap();
        let id = format!("{project}-{}-{}", env.name, address.name);
        let mut tags =
            crate::engine::ownership::creation_tags(&env, &address, &id, false, Some(expires));
        tags.insert("Name".into(), "x".into());
        LiveResource {
            attributes: [("identifier".to_string(), id.clone().into())]
                .into_iter()
                .collect(),
            address,
            id,
            status: "available".into(),
            tags,
        }
    }

    #[test]
    fn environments_are_grouped_by_project_with_the_earliest_expiry_compared_as_time() {
        let found = [
            made("openchs", "pr", "rds_instance.a", "2026-01-01T09:00:00Z"),
            made(
                "openchs",
                "pr",
                "rds_instance.b",
                "2026-01-01T10:00:00+02:00",
            ),
            made("openchs", "other", "rds_instance.a", "2026-01-02T00:00:00Z"),
            made("moped", "pr", "rds_instance.a", "2026-01-03T00:00:00Z"),
        ];
        let summaries = EnvironmentSummary::of(found.iter());
        let names: Vec<(&str, &str, usize)> = summaries
            .iter()
            .map(|s| (s.project.as_str(), s.name.as_str(), s.resources))
            .collect();
        assert_eq!(
            names,
            [
                ("moped", "pr", 1),
                ("openchs", "other", 1),
                ("openchs", "pr", 2)
            ]
        );
        assert_eq!(
            summaries[2].expires_at.as_deref(),
            Some("2026-01-01T10:00:00+02:00")
        );
    }
}
