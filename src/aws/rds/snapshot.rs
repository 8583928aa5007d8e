//! `rds_snapshot`: manual snapshots of a DB instance.

use async_trait::async_trait;
use aws_sdk_rds::types::DbSnapshot;

use super::{describe_snapshots, rds_tags, tag_map};
use crate::aws::attrs::{Builder, Reader, rfc3339};
use crate::aws::kind::{self, Actions, AwsKind, Tagging, not_in_place};
use crate::aws::tags::{self as tagging, TagMap};
use crate::aws::{Clients, Scan, errors};
use crate::engine::wait::what;
use crate::kinds;
use crate::model::{Address, LiveResource, ResourceKind, tags, times};
use crate::provider::{CreateRequest, DeletePolicy, Operation, ProviderError};

const KIND: ResourceKind = ResourceKind::RdsSnapshot;

pub(crate) struct RdsSnapshot;

/// What RDS says about a snapshot, as attributes.
fn live(snap: &DbSnapshot, address: Address, all: TagMap) -> LiveResource {
    let id = snap.db_snapshot_identifier().unwrap_or_default().to_owned();
    let status = snap.status().unwrap_or_default().to_owned();
    let mut b = Builder::new();
    b.set("identifier", id.as_str())
        .nonempty("source_db", snap.db_instance_identifier())
        .set(
            "keep_after_destroy",
            all.get(tags::KEEP).is_some_and(|v| v == "true"),
        )
        .set("tags", tagging::user_tags_json(&all))
        .set("id", id.as_str())
        .nonempty("arn", snap.db_snapshot_arn())
        .opt(
            times::CREATED_AT,
            snap.snapshot_create_time().and_then(rfc3339),
        )
        .set("status", status.as_str());
    // When it was taken, for `rehearsal rollback` to name the one before a release.
    // https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBSnapshot.html
    if let Some(at) = snap
        .snapshot_create_time()
        .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
    {
        b.set("created_at", at.as_str());
    }
    LiveResource {
        address,
        id,
        status,
        attributes: b.into_inner(),
        tags: all,
    }
}

#[async_trait]
impl AwsKind for RdsSnapshot {
    fn kind(&self) -> ResourceKind {
        KIND
    }

    fn actions(&self) -> Actions {
        Actions {
            modify: "rds:AddTagsToResource",
            delete: "rds:DeleteDBSnapshot",
        }
    }

    async fn scan(&self, cx: &Scan<'_>) -> Result<Vec<LiveResource>, ProviderError> {
        let snapshots = describe_snapshots(&cx.clients.rds, None, "DB snapshots").await?;
        let present = snapshots.iter().filter(|s| s.status() != Some("deleted"));
        Ok(kind::owned(
            cx,
            KIND,
            present,
            |s| tag_map(s.tag_list()),
            |s, a, all| live(s, a, all),
        ))
    }

    async fn describe(
        &self,
        c: &Clients,
        targets: &[LiveResource],
    ) -> Result<Vec<Option<LiveResource>>, ProviderError> {
        let ids: Vec<&str> = targets.iter().map(|t| t.id.as_str()).collect();
        let found = describe_snapshots(&c.rds, Some(&ids), "DB snapshots").await?;
        Ok(kind::in_order_of(
            targets,
            &found,
            |s| s.db_snapshot_identifier(),
            |s, a| live(s, a, tag_map(s.tag_list())),
        ))
    }

    async fn existing(
        &self,
        c: &Clients,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<Option<LiveResource>, ProviderError> {
        let identifier = Reader::new(KIND, &request.attributes).required_str("identifier")?;
        let found =
            describe_snapshots(&c.rds, Some(&[identifier.as_str()]), "DB snapshots").await?;
        Ok(found
            .iter()
            .find(|s| {
                s.db_snapshot_identifier()
                    .is_some_and(|id| id.eq_ignore_ascii_case(&identifier))
            })
            .map(|s| live(s, op.address.clone(), tag_map(s.tag_list()))))
    }

    async fn create(
        &self,
        c: &Clients,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<LiveResource, ProviderError> {
        let r = Reader::new(KIND, &request.attributes);
        let identifier = r.required_str("identifier")?;
        let source = r.required_str("source_db")?;
        let mut all = tagging::creation_tags(request, &[]);
        if let Some(keep) = r.bool("keep_after_destroy")? {
            all.entry(tags::KEEP.to_owned())
                .or_insert_with(|| keep.to_string());
        }
        let what = format!("{} ({identifier})", op.address);
        op.report(&format!("snapshotting {source}"));
        let out = c
            .rds
            .create_db_snapshot()
            .db_snapshot_identifier(&identifier)
            .db_instance_identifier(&source)
            .set_tags(Some(rds_tags(&all)))
            .send()
            .await
            .map_err(|e| errors::sdk_create("rds:CreateDBSnapshot", &what, e))?;
        Ok(match out.db_snapshot() {
            Some(snap) => live(snap, op.address.clone(), all),
            None => super::instance::placeholder(op, &identifier, all),
        })
    }

    /// A snapshot is immutable; its teardown policy is a tag.
    async fn modify(
        &self,
        c: &Clients,
        _: &Operation,
        live: &LiveResource,
        desired: &Reader<'_>,
        changed: &[&str],
    ) -> Result<(), ProviderError> {
        for key in changed {
            match *key {
                "keep_after_destroy" => {
                    let keep = desired.bool("keep_after_destroy")?.unwrap_or(false);
                    let set = TagMap::from([(tags::KEEP.to_owned(), keep.to_string())]);
                    kind::tag(self, c, live, &set, &[]).await?;
                }
                other => return Err(not_in_place(KIND, other)),
            }
        }
        Ok(())
    }

    /// RDS refuses to delete a snapshot that is still being made.
    fn not_deletable(&self, live: &LiveResource) -> Option<String> {
        let lifecycle = kinds::lifecycle(KIND);
        (!lifecycle.is_ready(&live.status) && !lifecycle.is_failed(&live.status))
            .then(|| format!("it is {}", live.status))
    }

    async fn delete(
        &self,
        c: &Clients,
        op: &Operation,
        live: &LiveResource,
        _: &DeletePolicy,
    ) -> Result<(), ProviderError> {
        op.report("deleting");
        c.rds
            .delete_db_snapshot()
            .db_snapshot_identifier(&live.id)
            .send()
            .await
            .map_err(|e| errors::sdk("rds:DeleteDBSnapshot", &what(live), e))?;
        Ok(())
    }

    fn tagging(&self) -> Tagging {
        Tagging::Rds
    }
}
