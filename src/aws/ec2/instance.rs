//! `ec2_instance`: servers cloned from a production instance.
//!
//! EC2 filters by tag on the server, so a scan is one paginated DescribeInstances. User data is
//! the exception: only DescribeInstanceAttribute returns it, one call per instance (bounded, in
//! parallel), and only plans need it.

use async_trait::async_trait;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    AttributeValue, Instance, InstanceAttributeName, InstanceType, ResourceType, TagSpecification,
};
use aws_smithy_types::base64;

use super::{describe_instances, ec2_tags, filter, state_of, tag_map};
use crate::aws::attrs::{Builder, Reader};
use crate::aws::kind::{Actions, AwsKind, not_in_place};
use crate::aws::tags::{self as tagging, TagMap};
use crate::aws::{Clients, Scan, concurrently, errors};
use crate::model::{Address, LiveResource, ResourceKind, tags};
use crate::ownership;
use crate::provider::{CreateRequest, DeletePolicy, Operation, ProviderError};
use crate::wait::{self, Check, what};

const KIND: ResourceKind = ResourceKind::Ec2Instance;

/// Inputs AWS cannot describe back, recorded as tags at creation.
const INPUTS: &[&str] = &["clone_of"];

/// Every state but `terminated`: what a scan reports (a `shutting-down` instance still exists).
const PRESENT: &[&str] = &["pending", "running", "shutting-down", "stopping", "stopped"];

/// How many DescribeInstanceAttribute calls run at once.
const USER_DATA_PARALLELISM: usize = 8;

pub(crate) struct Ec2Instance;

/// What EC2 says about an instance, as attributes.
fn live(instance: &Instance, address: Address, user_data: Option<String>) -> LiveResource {
    let all = tag_map(instance.tags());
    let id = instance.instance_id().unwrap_or_default().to_owned();
    let state = state_of(instance).to_owned();
    let mut b = Builder::new();
    b.nonempty("image", instance.image_id())
        .nonempty("subnet", instance.subnet_id())
        .strings(
            "security_groups",
            instance
                .security_groups()
                .iter()
                .filter_map(|g| g.group_id()),
        )
        .opt(
            "instance_type",
            instance.instance_type().map(|t| t.as_str()),
        )
        .nonempty("key_name", instance.key_name())
        .nonempty(ownership::CLIENT_TOKEN, instance.client_token())
        .opt("user_data", user_data.filter(|u| !u.is_empty()))
        .set("tags", tagging::user_tags_json(&all))
        .set("id", id.as_str())
        .nonempty("private_ip", instance.private_ip_address())
        .nonempty("public_ip", instance.public_ip_address())
        .set("state", state.as_str());
    let mut attributes = b.into_inner();
    tagging::read_inputs(&all, &mut attributes, &[]);
    LiveResource {
        address,
        id,
        status: state,
        attributes,
        tags: all,
    }
}

async fn user_data(client: &Client, id: &str) -> Result<Option<String>, ProviderError> {
    let out = client
        .describe_instance_attribute()
        .instance_id(id)
        .attribute(InstanceAttributeName::UserData)
        .send()
        .await;
    let out = match out {
        Ok(out) => out,
        // Gone between the listing and this call: it has no user data to report.
        Err(e) if errors::is_not_found(&e) => return Ok(None),
        Err(e) => return Err(errors::sdk("ec2:DescribeInstanceAttribute", id, e)),
    };
    let Some(encoded) = out.user_data().and_then(|v| v.value()) else {
        return Ok(None);
    };
    match base64::decode(encoded) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(_) => Ok(Some(encoded.to_owned())),
    }
}

/// Instances by id; those EC2 does not know are left out.
async fn by_ids(client: &Client, ids: &[&str], what: &str) -> Result<Vec<Instance>, ProviderError> {
    describe_instances(client, vec![filter("instance-id", ids)], what).await
}

/// Wait for an instance to reach one of `targets` (`stopped`, say) within the operation's time.
async fn wait_for_state(
    client: &Client,
    op: &Operation,
    current: &LiveResource,
    targets: &[&str],
) -> Result<(), ProviderError> {
    let what = what(current);
    let reached = wait::poll(op, &what, &targets.join(" or "), |_| {
        let what = what.clone();
        async move {
            let found = by_ids(client, &[current.id.as_str()], &what).await?;
            match found.first().map(state_of) {
                Some(state) if targets.contains(&state) => Ok(Check::Done(state.to_owned())),
                Some(state) => Ok(Check::Pending(state.to_owned())),
                None => Err(ProviderError::NotFound { what }),
            }
        }
    })
    .await?;
    op.report(&reached);
    Ok(())
}

#[async_trait]
impl AwsKind for Ec2Instance {
    fn kind(&self) -> ResourceKind {
        KIND
    }

    fn actions(&self) -> Actions {
        Actions {
            modify: "ec2:ModifyInstanceAttribute",
            delete: "ec2:TerminateInstances",
        }
    }

    async fn scan(&self, cx: &Scan<'_>) -> Result<Vec<LiveResource>, ProviderError> {
        let client = &cx.clients.ec2;
        let mut filters = match cx.env {
            Some(env) => vec![
                filter(&format!("tag:{}", tags::PROJECT), &[env.project.as_str()]),
                filter(&format!("tag:{}", tags::ENV), &[env.name.as_str()]),
            ],
            None => vec![filter("tag-key", &[tags::ENV])],
        };
        filters.push(filter("instance-state-name", PRESENT));
        let instances = describe_instances(client, filters, "EC2 instances").await?;
        let owned: Vec<(Instance, Address)> = instances
            .into_iter()
            .filter_map(|i| {
                let address = ownership::claimed_address(&tag_map(i.tags()), KIND)?;
                cx.wants(&live(&i, address.clone(), None))
                    .then_some((i, address))
            })
            .collect();
        if !cx.with_user_data {
            return Ok(owned.into_iter().map(|(i, a)| live(&i, a, None)).collect());
        }
        concurrently(owned, USER_DATA_PARALLELISM, |(instance, address)| {
            let client = client.clone();
            async move {
                let data = match instance.instance_id() {
                    Some(id) => user_data(&client, id).await?,
                    None => None,
                };
                Ok(live(&instance, address, data))
            }
        })
        .await
    }

    async fn describe(
        &self,
        c: &Clients,
        targets: &[LiveResource],
    ) -> Result<Vec<Option<LiveResource>>, ProviderError> {
        let ids: Vec<&str> = targets.iter().map(|t| t.id.as_str()).collect();
        let found = by_ids(&c.ec2, &ids, "EC2 instances").await?;
        Ok(targets
            .iter()
            .map(|t| {
                found
                    .iter()
                    .find(|i| i.instance_id() == Some(t.id.as_str()))
                    .map(|i| live(i, t.address.clone(), None))
            })
            .collect())
    }

    /// A clone takes what the spec does not override from the source instance, as it is now.
    async fn create(
        &self,
        c: &Clients,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<LiveResource, ProviderError> {
        let client = &c.ec2;
        let r = Reader::new(KIND, &request.attributes);
        let mut image = r.str("image")?;
        let mut subnet = r.str("subnet")?;
        let mut groups = r.str_list("security_groups")?;
        let mut key_name = r.str("key_name")?;
        let mut instance_type = r.str("instance_type")?;
        let user_data = r.str("user_data")?;

        if let Some(source_id) = r.str("clone_of")? {
            let what = format!("ec2_instance {source_id} (the clone_of of {})", op.address);
            let source = by_ids(client, &[source_id.as_str()], &what)
                .await?
                .into_iter()
                .next()
                .ok_or(ProviderError::NotFound { what })?;
            let source_groups: Vec<String> = source
                .security_groups()
                .iter()
                .filter_map(|g| g.group_id())
                .map(str::to_owned)
                .collect();
            image = image.or_else(|| source.image_id().map(str::to_owned));
            subnet = subnet.or_else(|| source.subnet_id().map(str::to_owned));
            groups = groups.or_else(|| Some(source_groups).filter(|g| !g.is_empty()));
            key_name = key_name.or_else(|| source.key_name().map(str::to_owned));
            instance_type =
                instance_type.or_else(|| source.instance_type().map(|t| t.as_str().to_owned()));
        }
        let image =
            image.ok_or_else(|| errors::attribute(KIND, "`image` or `clone_of` is required"))?;

        let all = tagging::creation_tags(request, INPUTS);
        // The volumes the image maps are tagged by the same call, as the instance's by-products:
        // one the mapping keeps after termination is found, and deleted, by its tags.
        let volumes = Address::new(ResourceKind::EbsVolume, op.address.name.clone());
        let volume_tags =
            ownership::by_product_tags(&op.env, &all, &volumes, &op.idempotency_token);
        let tag_specs = [
            (ResourceType::Instance, &all),
            (ResourceType::Volume, &volume_tags),
        ]
        .into_iter()
        .map(|(rt, tags)| {
            TagSpecification::builder()
                .resource_type(rt)
                .set_tags(Some(ec2_tags(tags)))
                .build()
        })
        .collect();
        let what = format!("{} (new instance)", op.address);
        op.report("launching");
        let out = client
            .run_instances()
            .image_id(image)
            .min_count(1)
            .max_count(1)
            .set_instance_type(instance_type.as_deref().map(InstanceType::from))
            .set_subnet_id(subnet)
            .set_security_group_ids(groups)
            .set_key_name(key_name)
            .set_user_data(user_data.as_deref().map(base64::encode))
            .client_token(&op.idempotency_token)
            .set_tag_specifications(Some(tag_specs))
            .send()
            .await
            .map_err(|e| errors::sdk_create("ec2:RunInstances", &what, e))?;
        let instance = out.instances().first().ok_or_else(|| ProviderError::Api {
            action: "ec2:RunInstances".to_owned(),
            code: "EmptyResponse".to_owned(),
            message: "RunInstances returned no instance".to_owned(),
        })?;
        let mut created = live(instance, op.address.clone(), user_data);
        // The response may predate the tags being visible; they were set by this very call.
        created
            .attributes
            .insert("tags".into(), tagging::user_tags_json(&all));
        if let Some(clone_of) = request.attributes.get("clone_of") {
            created
                .attributes
                .insert("clone_of".into(), clone_of.clone());
        }
        created.tags = all;
        Ok(created)
    }

    async fn modify(
        &self,
        c: &Clients,
        op: &Operation,
        current: &LiveResource,
        desired: &Reader<'_>,
        changed: &[&str],
    ) -> Result<(), ProviderError> {
        let client = &c.ec2;
        let id = current.id.as_str();
        let what = what(current);
        for key in changed {
            match *key {
                "instance_type" => {
                    let new_type = desired.required_str("instance_type")?;
                    // The type of a running instance cannot change: stop, modify, start. One
                    // that someone stopped is changed and left stopped.
                    let was_running =
                        matches!(current.status.as_str(), "pending" | "running" | "stopping");
                    if was_running {
                        op.report("stopping");
                        client
                            .stop_instances()
                            .instance_ids(id)
                            .send()
                            .await
                            .map_err(|e| errors::sdk("ec2:StopInstances", &what, e))?;
                        wait_for_state(client, op, current, &["stopped"]).await?;
                    }
                    op.report(&format!("changing type to {new_type}"));
                    client
                        .modify_instance_attribute()
                        .instance_id(id)
                        .instance_type(AttributeValue::builder().value(&new_type).build())
                        .send()
                        .await
                        .map_err(|e| errors::sdk("ec2:ModifyInstanceAttribute", &what, e))?;
                    if was_running {
                        op.report("starting");
                        client
                            .start_instances()
                            .instance_ids(id)
                            .send()
                            .await
                            .map_err(|e| errors::sdk("ec2:StartInstances", &what, e))?;
                        // Until a describe shows it starting, it still looks stopped.
                        wait_for_state(client, op, current, &["pending", "running"]).await?;
                    }
                }
                "security_groups" => {
                    let groups = desired.str_list("security_groups")?.unwrap_or_default();
                    op.report("changing security groups");
                    client
                        .modify_instance_attribute()
                        .instance_id(id)
                        .set_groups(Some(groups))
                        .send()
                        .await
                        .map_err(|e| errors::sdk("ec2:ModifyInstanceAttribute", &what, e))?;
                }
                other => return Err(not_in_place(KIND, other)),
            }
        }
        Ok(())
    }

    async fn delete(
        &self,
        c: &Clients,
        op: &Operation,
        live: &LiveResource,
        _: &DeletePolicy,
    ) -> Result<(), ProviderError> {
        op.report("terminating");
        c.ec2
            .terminate_instances()
            .instance_ids(&live.id)
            .send()
            .await
            .map_err(|e| errors::sdk("ec2:TerminateInstances", &what(live), e))?;
        Ok(())
    }

    async fn tag(
        &self,
        c: &Clients,
        live: &LiveResource,
        set: &TagMap,
        remove: &[String],
    ) -> Result<(), ProviderError> {
        super::tag(&c.ec2, &live.id, &what(live), set, remove).await
    }
}
