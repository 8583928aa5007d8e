//! `ebs_volume`: the volumes instances launch with, found by the tags RunInstances gave them.
//!
//! An image's block device mapping decides what happens to each volume when its instance ends:
//! deleted with it (`DeleteOnTermination`), or detached and left `available`, billing
//! (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-detaching-volume.html). rehearsal never
//! creates one; it finds them in one paginated DescribeVolumes and deletes the ones left behind.

use async_trait::async_trait;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Filter, Volume};

use futures_util::future::try_join_all;

use super::{filter, tag_map};
use crate::aws::attrs::{Builder, rfc3339};
use crate::aws::batch::BatchFuture;
use crate::aws::kind::{self, Actions, AwsKind, Tagging};
use crate::aws::tags as tagging;
use crate::aws::{Clients, Scan, errors};
use crate::engine::wait::what;
use crate::model::{Address, LiveResource, ResourceKind, times};
use crate::provider::{CreateRequest, DeletePolicy, Operation, ProviderError};

const KIND: ResourceKind = ResourceKind::EbsVolume;

/// Every state but `deleted`.
const PRESENT: &[&str] = &["creating", "available", "in-use", "deleting", "error"];

pub(crate) struct EbsVolume;

/// What EC2 says about a volume, as attributes.
fn live(volume: &Volume, address: Address) -> LiveResource {
    let all = tag_map(volume.tags());
    let id = volume.volume_id().unwrap_or_default().to_owned();
    let status = volume
        .state()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    let attachment = volume.attachments().first();
    let mut b = Builder::new();
    b.set("id", id.as_str())
        .opt("size", volume.size())
        .opt("volume_type", volume.volume_type().map(|t| t.as_str()))
        .nonempty("availability_zone", volume.availability_zone())
        .nonempty("attached_to", attachment.and_then(|a| a.instance_id()))
        .opt(
            "delete_on_termination",
            attachment.and_then(|a| a.delete_on_termination()),
        )
        .set("status", status.as_str())
        .opt(times::CREATED_AT, volume.create_time().and_then(rfc3339))
        .set("tags", tagging::user_tags_json(&all));
    LiveResource {
        address,
        id,
        status,
        attributes: b.into_inner(),
        tags: all,
    }
}

/// Volumes matching `filters`, across all pages. Filters never answer "not found".
async fn describe_volumes(
    client: &Client,
    filters: Vec<Filter>,
    what: &str,
) -> Result<Vec<Volume>, ProviderError> {
    client
        .describe_volumes()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| errors::sdk("ec2:DescribeVolumes", what, e))
}

#[async_trait]
impl AwsKind for EbsVolume {
    fn kind(&self) -> ResourceKind {
        KIND
    }

    fn actions(&self) -> Actions {
        Actions {
            modify: "ec2:CreateTags",
            delete: "ec2:DeleteVolume",
        }
    }

    async fn scan(&self, cx: &Scan<'_>) -> Result<Vec<LiveResource>, ProviderError> {
        let mut filters = super::owner_filters(cx.env);
        filters.push(filter("status", PRESENT));
        let volumes = describe_volumes(&cx.clients.ec2, filters, "EBS volumes").await?;
        Ok(kind::owned(
            cx,
            KIND,
            &volumes,
            |v| tag_map(v.tags()),
            |v, a, _| live(v, a),
        ))
    }

    async fn describe(
        &self,
        c: &Clients,
        targets: &[LiveResource],
    ) -> Result<Vec<Option<LiveResource>>, ProviderError> {
        // One at a time, as the engine asks while it waits for each volume of a teardown:
        // gathered into one DescribeVolumes (see `aws::batch`). By filter, not VolumeIds: an
        // unknown id in VolumeIds fails the whole call.
        let found = try_join_all(targets.iter().map(|t| {
            let client = c.ec2.clone();
            c.batches
                .volumes
                .one(&t.id, move |ids| -> BatchFuture<Volume> {
                    let client = client.clone();
                    Box::pin(async move {
                        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                        let filters = vec![filter("volume-id", &refs)];
                        let found = describe_volumes(&client, filters, "EBS volumes").await?;
                        Ok(found
                            .into_iter()
                            .filter_map(|v| Some((v.volume_id()?.to_owned(), Ok(v))))
                            .collect())
                    })
                })
        }))
        .await?;
        Ok(targets
            .iter()
            .zip(found)
            .map(|(t, v)| {
                v.filter(|v| v.state().is_none_or(|s| s.as_str() != "deleted"))
                    .map(|v| live(&v, t.address.clone()))
            })
            .collect())
    }

    /// Instances launch with their volumes; rehearsal never makes one on its own.
    async fn create(
        &self,
        _: &Clients,
        op: &Operation,
        _: &CreateRequest,
    ) -> Result<LiveResource, ProviderError> {
        Err(errors::attribute(
            KIND,
            format!(
                "{} cannot be created: volumes are made by the instance they belong to",
                op.address
            ),
        ))
    }

    /// An attached volume cannot be deleted (VolumeInUse): it waits for its instance to end.
    fn not_deletable(&self, live: &LiveResource) -> Option<String> {
        (live.status == "in-use").then(|| {
            let instance = live
                .attributes
                .get("attached_to")
                .and_then(|v| v.as_str())
                .unwrap_or("its instance");
            format!("attached to {instance}")
        })
    }

    async fn delete(
        &self,
        c: &Clients,
        op: &Operation,
        live: &LiveResource,
        _: &DeletePolicy,
    ) -> Result<(), ProviderError> {
        op.report("deleting the volume its instance left behind");
        c.ec2
            .delete_volume()
            .volume_id(&live.id)
            .send()
            .await
            .map_err(|e| errors::sdk("ec2:DeleteVolume", &what(live), e))?;
        Ok(())
    }

    fn tagging(&self) -> Tagging {
        Tagging::Ec2
    }
}
