//! One resource kind on AWS, as a trait, and what every kind shares, written once: the guarded
//! update and delete ("describe, check ownership, call; not found means done") and re-tagging.
//! Each kind's module (`ec2::instance`, `rds::snapshot`, ...) implements [`AwsKind`] with the
//! calls only it knows; [`handler`] is the registry, exhaustive over the kinds.

use async_trait::async_trait;

use super::attrs::Reader;
use super::tags::{self as tagging, TagMap};
use super::{Clients, Scan, ec2, ecs, rds, route53};
use crate::engine::ownership;
use crate::engine::wait::what;
use crate::model::{Attributes, LiveResource, ResourceKind};
use crate::provider::{CreateRequest, DeleteOutcome, DeletePolicy, Operation, ProviderError};

/// The IAM actions a kind's changes need: named in errors and in the ownership refusal.
pub(crate) struct Actions {
    pub modify: &'static str,
    pub delete: &'static str,
}

#[async_trait]
pub(crate) trait AwsKind: Send + Sync {
    fn kind(&self) -> ResourceKind;

    fn actions(&self) -> Actions;

    /// Every resource of this kind that carries rehearsal's ownership tags, of the scan's
    /// environment (or of any), except those AWS has finished deleting.
    async fn scan(&self, cx: &Scan<'_>) -> Result<Vec<LiveResource>, ProviderError>;

    /// These resources as AWS describes them now, in order; `None` for one it does not know.
    async fn describe(
        &self,
        c: &Clients,
        targets: &[LiveResource],
    ) -> Result<Vec<Option<LiveResource>>, ProviderError>;

    /// What already answers to the name or identifier this create would take, as AWS
    /// describes it (tags included), or `None` (see `Provider::existing`). Kinds AWS names by
    /// an id of its own choosing (instances, volumes) have nothing to find.
    async fn existing(
        &self,
        c: &Clients,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<Option<LiveResource>, ProviderError> {
        let _ = (c, op, request);
        Ok(None)
    }

    /// Send the create call, tags included; return what AWS answered.
    async fn create(
        &self,
        c: &Clients,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<LiveResource, ProviderError>;

    /// Change the in-place attributes in `changed` (never `tags`: [`guarded_update`] re-tags).
    /// Ownership is already checked.
    async fn modify(
        &self,
        c: &Clients,
        op: &Operation,
        live: &LiveResource,
        desired: &Reader<'_>,
        changed: &[&str],
    ) -> Result<(), ProviderError> {
        let _ = (c, op, live, desired);
        Err(not_in_place(
            self.kind(),
            changed.first().copied().unwrap_or("?"),
        ))
    }

    /// Why AWS would refuse to delete it in its current state, if it would.
    fn not_deletable(&self, live: &LiveResource) -> Option<String> {
        let _ = live;
        None
    }

    /// Send the delete call(s). Ownership is already checked.
    async fn delete(
        &self,
        c: &Clients,
        op: &Operation,
        live: &LiveResource,
        policy: &DeletePolicy,
    ) -> Result<(), ProviderError>;

    /// Which service's tag calls tag it.
    fn tagging(&self) -> Tagging;
}

/// The tag calls of a kind's service: each service's API is written once (`ec2::tag`,
/// `ecs::tag`, `rds::tag`), and a kind only says which one is its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tagging {
    /// CreateTags / DeleteTags by resource id.
    Ec2,
    /// TagResource / UntagResource by ARN (the resource's id is its ARN).
    Ecs,
    /// AddTagsToResource / RemoveTagsFromResource by ARN (the `arn` attribute).
    Rds,
    /// Not tagged in place (a Route 53 record: its owner record holds what tags would).
    None,
}

/// Set and remove a resource's tags through its service's API.
pub(crate) async fn tag(
    k: &dyn AwsKind,
    c: &Clients,
    live: &LiveResource,
    set: &TagMap,
    remove: &[String],
) -> Result<(), ProviderError> {
    let what = what(live);
    match k.tagging() {
        Tagging::Ec2 => ec2::tag(&c.ec2, &live.id, &what, set, remove).await,
        Tagging::Ecs => ecs::tag(&c.ecs, &live.id, &what, set, remove).await,
        Tagging::Rds => rds::tag(&c.rds, rds::arn_of(live)?, &what, set, remove).await,
        Tagging::None => Err(not_in_place(k.kind(), "tags")),
    }
}

/// Of what AWS listed, the resources that claim an address of `kind` in their tags (see
/// `ownership`) and that the scan wants: every kind's scan ends here.
pub(crate) fn owned<T>(
    cx: &Scan<'_>,
    kind: ResourceKind,
    listed: impl IntoIterator<Item = T>,
    tags_of: impl Fn(&T) -> TagMap,
    live: impl Fn(&T, crate::model::Address, TagMap) -> LiveResource,
) -> Vec<LiveResource> {
    listed
        .into_iter()
        .filter_map(|item| {
            let all = tags_of(&item);
            let address = ownership::claimed_address(&all, kind)?;
            Some(live(&item, address, all)).filter(|r| cx.wants(r))
        })
        .collect()
}

/// AWS's answer to a describe by ids, in the order the targets were asked about: `None` for a
/// target AWS no longer lists. Every kind's `describe` ends here.
pub(crate) fn in_order_of<T>(
    targets: &[LiveResource],
    found: &[T],
    id_of: impl Fn(&T) -> Option<&str>,
    live: impl Fn(&T, crate::model::Address) -> LiveResource,
) -> Vec<Option<LiveResource>> {
    targets
        .iter()
        .map(|t| {
            found
                .iter()
                .find(|f| id_of(f) == Some(t.id.as_str()))
                .map(|f| live(f, t.address.clone()))
        })
        .collect()
}

/// The registry: every kind's AWS module.
pub(crate) fn handler(kind: ResourceKind) -> &'static dyn AwsKind {
    match kind {
        ResourceKind::RdsSnapshot => &rds::snapshot::RdsSnapshot,
        ResourceKind::RdsInstance => &rds::instance::RdsInstance,
        ResourceKind::Ec2Instance => &ec2::instance::Ec2Instance,
        ResourceKind::EbsVolume => &ec2::volume::EbsVolume,
        ResourceKind::EcsCluster => &ecs::cluster::EcsCluster,
        ResourceKind::EcsTaskDefinition => &ecs::task_definition::EcsTaskDefinition,
        ResourceKind::EcsService => &ecs::service::EcsService,
        ResourceKind::SecurityGroup => &ec2::security_group::Ec2SecurityGroup,
        ResourceKind::DnsRecord => &route53::record::Route53Record,
    }
}

pub(crate) fn not_in_place(kind: ResourceKind, attribute: &str) -> ProviderError {
    super::errors::attribute(kind, format!("`{attribute}` cannot be changed in place"))
}

async fn describe_one(
    k: &dyn AwsKind,
    c: &Clients,
    target: &LiveResource,
) -> Result<Option<LiveResource>, ProviderError> {
    Ok(k.describe(c, std::slice::from_ref(target))
        .await?
        .into_iter()
        .next()
        .flatten())
}

/// Change a resource in place: describe it, check that it is this environment's, modify what
/// the kind modifies, re-tag, and return it as AWS describes it afterwards.
pub(crate) async fn guarded_update(
    k: &dyn AwsKind,
    c: &Clients,
    op: &Operation,
    current: &LiveResource,
    desired: &Attributes,
    changed: &[String],
) -> Result<LiveResource, ProviderError> {
    let what = what(current);
    let live = describe_one(k, c, current)
        .await?
        .ok_or_else(|| ProviderError::NotFound { what: what.clone() })?;
    ownership::ensure_owned(&live, &op.env, k.actions().modify)?;
    let modified: Vec<&str> = changed
        .iter()
        .map(String::as_str)
        .filter(|c| *c != "tags")
        .collect();
    if !modified.is_empty() {
        k.modify(c, op, &live, &Reader::new(k.kind(), desired), &modified)
            .await?;
    }
    if changed.iter().any(|c| c == "tags") {
        let wanted = tagging::desired_user_tags(desired.get("tags"));
        let (set, remove) = tagging::user_tag_changes(&live.tags, &wanted);
        if !set.is_empty() || !remove.is_empty() {
            op.report("tagging");
            tag(k, c, &live, &set, &remove).await?;
        }
    }
    describe_one(k, c, current)
        .await?
        .ok_or(ProviderError::NotFound { what })
}

/// Delete a resource: describe it (not found: done), leave alone what is already going, check
/// that it is this environment's, wait for a state AWS can delete it in, then call.
pub(crate) async fn guarded_delete(
    k: &dyn AwsKind,
    c: &Clients,
    op: &Operation,
    target: &LiveResource,
    policy: &DeletePolicy,
) -> Result<DeleteOutcome, ProviderError> {
    let Some(live) = describe_one(k, c, target).await? else {
        return Ok(DeleteOutcome::Accepted);
    };
    if live.is_going_away() {
        return Ok(DeleteOutcome::Accepted);
    }
    ownership::ensure_owned(&live, &op.env, k.actions().delete)?;
    if let Some(reason) = k.not_deletable(&live) {
        return Ok(DeleteOutcome::NotYet { reason });
    }
    match k.delete(c, op, &live, policy).await {
        Ok(()) | Err(ProviderError::NotFound { .. }) => Ok(DeleteOutcome::Accepted),
        Err(ProviderError::InvalidState { message, .. }) => {
            Ok(DeleteOutcome::NotYet { reason: message })
        }
        Err(e) => Err(e),
    }
}
