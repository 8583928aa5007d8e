//! `ecs_cluster`: ECS clusters.

use async_trait::async_trait;
use aws_sdk_ecs::types::Cluster;

use super::{all_clusters, describe_clusters, ecs_tags, empty, tag_map};
use crate::aws::attrs::{Builder, Reader};
use crate::aws::kind::{self, Actions, AwsKind, Tagging};
use crate::aws::tags::{self as tagging, TagMap};
use crate::aws::{Clients, Scan, errors};
use crate::engine::wait::what;
use crate::model::{Address, LiveResource, ResourceKind};
use crate::provider::{CreateRequest, DeletePolicy, Operation, ProviderError};

const KIND: ResourceKind = ResourceKind::EcsCluster;

pub(crate) struct EcsCluster;

/// What ECS says about a cluster, as attributes.
fn live(cluster: &Cluster, address: Address, all: TagMap) -> LiveResource {
    let arn = cluster.cluster_arn().unwrap_or_default().to_owned();
    let status = cluster.status().unwrap_or_default().to_owned();
    let mut b = Builder::new();
    b.nonempty("name", cluster.cluster_name())
        .set("tags", tagging::user_tags_json(&all))
        .set("id", arn.as_str())
        .set("arn", arn.as_str())
        .set("status", status.as_str());
    LiveResource {
        address,
        id: arn,
        status,
        attributes: b.into_inner(),
        tags: all,
    }
}

#[async_trait]
impl AwsKind for EcsCluster {
    fn kind(&self) -> ResourceKind {
        KIND
    }

    fn actions(&self) -> Actions {
        Actions {
            modify: "ecs:TagResource",
            delete: "ecs:DeleteCluster",
        }
    }

    async fn scan(&self, cx: &Scan<'_>) -> Result<Vec<LiveResource>, ProviderError> {
        let clusters = all_clusters(cx).await?;
        let present = clusters.iter().filter(|c| c.status() != Some("INACTIVE"));
        Ok(kind::owned(
            cx,
            KIND,
            present,
            |c| tag_map(c.tags()),
            |c, a, all| live(c, a, all),
        ))
    }

    async fn describe(
        &self,
        c: &Clients,
        targets: &[LiveResource],
    ) -> Result<Vec<Option<LiveResource>>, ProviderError> {
        let ids: Vec<String> = targets.iter().map(|t| t.id.clone()).collect();
        let found = describe_clusters(&c.ecs, &ids).await?;
        Ok(kind::in_order_of(
            targets,
            &found,
            |c| c.cluster_arn(),
            |c, a| live(c, a, tag_map(c.tags())),
        ))
    }

    async fn existing(
        &self,
        c: &Clients,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<Option<LiveResource>, ProviderError> {
        let name = Reader::new(KIND, &request.attributes).required_str("name")?;
        let found = describe_clusters(&c.ecs, &[name]).await?;
        Ok(found
            .iter()
            .find(|cluster| cluster.status() == Some("ACTIVE"))
            .map(|cluster| live(cluster, op.address.clone(), tag_map(cluster.tags()))))
    }

    async fn create(
        &self,
        c: &Clients,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<LiveResource, ProviderError> {
        let r = Reader::new(KIND, &request.attributes);
        let name = r.required_str("name")?;
        let all = tagging::creation_tags(request, &[]);
        let what = format!("{} ({name})", op.address);
        op.report("creating");
        let out = c
            .ecs
            .create_cluster()
            .cluster_name(&name)
            .set_tags(Some(ecs_tags(&all)))
            .send()
            .await
            .map_err(|e| errors::sdk_create("ecs:CreateCluster", &what, e))?;
        let cluster = out.cluster().ok_or_else(|| empty("ecs:CreateCluster"))?;
        Ok(live(cluster, op.address.clone(), all))
    }

    async fn delete(
        &self,
        c: &Clients,
        op: &Operation,
        live: &LiveResource,
        _: &DeletePolicy,
    ) -> Result<(), ProviderError> {
        op.report("deleting");
        c.ecs
            .delete_cluster()
            .cluster(&live.id)
            .send()
            .await
            .map_err(|e| {
                // The tasks of a deleted service hold the cluster until they are STOPPED, for
                // minutes after the service is INACTIVE: "not deletable yet", asked again
                // (API_DeleteCluster: ClusterContainsTasksException). Container instances
                // never leave by themselves: that one stays an error.
                let stopping = errors::code_of(&e) == Some("ClusterContainsTasksException");
                match errors::sdk("ecs:DeleteCluster", &what(live), e) {
                    ProviderError::DependencyViolation { what, message } if stopping => {
                        ProviderError::InvalidState {
                            what,
                            state: "still holding stopping tasks".to_owned(),
                            message,
                        }
                    }
                    other => other,
                }
            })?;
        Ok(())
    }

    fn tagging(&self) -> Tagging {
        Tagging::Ecs
    }
}
