//! `ec2_instance`: servers cloned from a production instance.
//!
//! EC2 filters by tag on the server, so a scan is one paginated DescribeInstances. What it does
//! not return (user data: one DescribeInstanceAttribute per instance; the volumes' sizes and
//! types) is recorded as a digest in a `rehearsal:input:` tag by the launch itself, and a plan
//! compares digests: a re-plan costs the same for one server or a hundred. Only an instance
//! launched before those tags existed has its user data read, once per plan.
//!
//! Waiting for, and terminating, many instances at once is gathered into one call for all of
//! them (`aws::batch`): each still described, and checked as this environment's, before its
//! termination is asked for.

use async_trait::async_trait;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    AttributeValue, BlockDeviceMapping, EbsBlockDevice, HttpTokensState,
    IamInstanceProfileSpecification, Instance, InstanceAttributeName,
    InstanceMetadataEndpointState, InstanceMetadataOptionsRequest, InstanceMetadataTagsState,
    InstanceType, ResourceType, RunInstancesMonitoringEnabled, TagSpecification, VolumeType,
};
use aws_smithy_types::base64;
use serde_json::Value;

use super::{
    describe_instances, ec2_tags, filter, instance_profile, metadata_options, monitoring, state_of,
    tag_map,
};
use crate::aws::attrs::{Builder, Reader, rfc3339};
use crate::aws::batch::{Answers, BatchFuture};
use crate::aws::kind::{Actions, AwsKind, Tagging, not_in_place};
use crate::aws::tags::{self as tagging, TagMap};
use crate::aws::{Clients, Scan, concurrently, errors};
use crate::engine::ownership;
use crate::engine::wait::{self, Check, what};
use crate::model::{
    Address, LiveResource, ResourceKind, SourceKind, SourceQuery, input_digest, times,
};
use crate::provider::{CreateRequest, DeletePolicy, Operation, ProviderError};
use futures_util::future::try_join_all;

const KIND: ResourceKind = ResourceKind::Ec2Instance;

/// Inputs AWS cannot describe back, recorded as tags at creation.
const INPUTS: &[&str] = &["clone_of"];

/// Inputs AWS does not describe cheaply, recorded as digests at creation (`Kind::digested`).
const DIGESTED: &[&str] = &["user_data", "volumes"];

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
        .set("instance_profile", instance_profile(instance))
        .set("metadata_options", metadata_options(instance))
        .set("monitoring", monitoring(instance))
        .set("ebs_optimized", instance.ebs_optimized() == Some(true))
        .nonempty(ownership::CLIENT_TOKEN, instance.client_token())
        .opt("user_data", user_data.filter(|u| !u.is_empty()))
        .set("tags", tagging::user_tags_json(&all))
        .set("id", id.as_str())
        .nonempty("private_ip", instance.private_ip_address())
        .nonempty("public_ip", instance.public_ip_address())
        // LaunchTime: when it last started (a stop and start moves it).
        .opt(times::CREATED_AT, instance.launch_time().and_then(rfc3339))
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

/// One instance by id, described together with every other asked for at the same moment.
async fn gathered(c: &Clients, id: &str) -> Result<Option<Instance>, ProviderError> {
    let client = c.ec2.clone();
    c.batches
        .instances
        .one(id, move |ids| -> BatchFuture<Instance> {
            let client = client.clone();
            Box::pin(async move {
                let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                let found = by_ids(&client, &refs, "EC2 instances").await?;
                Ok(found
                    .into_iter()
                    .filter_map(|i| Some((i.instance_id()?.to_owned(), Ok(i))))
                    .collect())
            })
        })
        .await
}

/// Terminate instances, all in one call. "If you specify multiple instances and the request
/// fails (for example, because of a single incorrect instance ID), none of the instances are
/// terminated" (API_TerminateInstances): then each is asked for alone, and one that is
/// already gone is done.
async fn terminate(client: &Client, ids: Vec<String>) -> Result<Answers<()>, ProviderError> {
    let what = format!("EC2 instances {}", ids.join(", "));
    let all = client
        .terminate_instances()
        .set_instance_ids(Some(ids.clone()))
        .send()
        .await;
    match all {
        Ok(_) => return Ok(ids.into_iter().map(|id| (id, Ok(()))).collect()),
        Err(e) if ids.len() == 1 || !errors::is_not_found(&e) => {
            return Err(errors::sdk("ec2:TerminateInstances", &what, e));
        }
        Err(_) => {}
    }
    let mut answers = Answers::new();
    for id in ids {
        let one = client.terminate_instances().instance_ids(&id).send().await;
        let answer = match one {
            Ok(_) => Ok(()),
            Err(e) => Err(errors::sdk("ec2:TerminateInstances", &id, e)),
        };
        answers.insert(id, answer);
    }
    Ok(answers)
}

/// A tag that records the digest of each of these inputs the request sets.
fn digest_tags(request: &CreateRequest) -> TagMap {
    DIGESTED
        .iter()
        .filter_map(|name| {
            let value = request.attributes.get(*name).filter(|v| !v.is_null());
            // No user data is recorded too (as the digest of none): an instance without the
            // tag is one launched before digests were recorded, whose user data is read back.
            let value = match (*name, value) {
                ("user_data", None) => Value::String(String::new()),
                (_, None) => return None,
                (_, Some(v)) => v.clone(),
            };
            Some((tagging::input_key(name), input_digest::of(&value)))
        })
        .collect()
}

/// The block device mapping a `volumes` list asks for.
fn block_devices(
    volumes: Option<&Value>,
) -> Result<Option<Vec<BlockDeviceMapping>>, ProviderError> {
    let Some(Value::Array(items)) = volumes else {
        return match volumes {
            None | Some(Value::Null) => Ok(None),
            Some(other) => Err(errors::attribute(
                KIND,
                format!("`volumes` must be a list of tables, not {other}"),
            )),
        };
    };
    let mut out = vec![];
    for item in items {
        let Value::Object(v) = item else {
            return Err(errors::attribute(
                KIND,
                format!("each of `volumes` must be a table, not {item}"),
            ));
        };
        let device = v.get("device").and_then(Value::as_str).ok_or_else(|| {
            errors::attribute(KIND, "each of `volumes` needs a `device`".to_owned())
        })?;
        let int = |key: &str| {
            v.get(key)
                .and_then(crate::aws::attrs::int_of)
                .and_then(|n| i32::try_from(n).ok())
        };
        let ebs = EbsBlockDevice::builder()
            .set_volume_size(int("size"))
            .set_volume_type(v.get("type").and_then(Value::as_str).map(VolumeType::from))
            .set_iops(int("iops"))
            .set_throughput(int("throughput"))
            .set_delete_on_termination(v.get("delete_on_termination").and_then(Value::as_bool))
            .build();
        out.push(
            BlockDeviceMapping::builder()
                .device_name(device)
                .ebs(ebs)
                .build(),
        );
    }
    Ok(Some(out))
}

/// The metadata options a `metadata_options` table asks for.
fn metadata_request(value: Option<&Value>) -> Option<InstanceMetadataOptionsRequest> {
    let Some(Value::Object(m)) = value else {
        return None;
    };
    let text = |key: &str| m.get(key).and_then(Value::as_str);
    Some(
        InstanceMetadataOptionsRequest::builder()
            .set_http_tokens(text("http_tokens").map(HttpTokensState::from))
            .set_http_put_response_hop_limit(
                m.get("hop_limit")
                    .and_then(crate::aws::attrs::int_of)
                    .and_then(|n| i32::try_from(n).ok()),
            )
            .set_http_endpoint(text("http_endpoint").map(InstanceMetadataEndpointState::from))
            .set_instance_metadata_tags(
                text("instance_metadata_tags").map(InstanceMetadataTagsState::from),
            )
            .build(),
    )
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
        let mut filters = super::owner_filters(cx.env);
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
        let recorded = tagging::input_key("user_data");
        concurrently(owned, USER_DATA_PARALLELISM, |(instance, address)| {
            let client = client.clone();
            // Launched before digests were recorded: its user data is read back, for a plan.
            let read = cx.with_user_data && !tag_map(instance.tags()).contains_key(&recorded);
            async move {
                let data = match instance.instance_id() {
                    Some(id) if read => user_data(&client, id).await?,
                    _ => None,
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
        // One at a time, as the engine asks while it waits for each: gathered into one call.
        let answers = try_join_all(targets.iter().map(|t| gathered(c, &t.id))).await?;
        Ok(targets
            .iter()
            .zip(answers)
            .map(|(t, found)| found.map(|i| live(&i, t.address.clone(), None)))
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
        // A clone of a source the plan looked up arrives with everything resolved; one of a
        // bare instance id takes what the spec leaves out from that instance, read once per
        // run however many clones it has.
        let mut attributes = request.attributes.clone();
        if !attributes.contains_key("image")
            && let Some(source_id) = r.str("clone_of")?
        {
            let source = c
                .source(SourceQuery {
                    kind: SourceKind::Ec2Instance,
                    id: Some(source_id.clone()),
                    tags: Default::default(),
                    cluster: None,
                })
                .await?;
            if let Some(why) = ["image", "key_name"]
                .iter()
                .find(|a| !attributes.contains_key(**a))
                .and_then(|a| source.unusable.get(*a))
            {
                return Err(errors::attribute(
                    KIND,
                    format!(
                        "{}: {source_id}'s {why}; set `image` and `key_name` in the spec",
                        op.address
                    ),
                ));
            }
            for (key, value) in &source.attributes {
                let cloned = ["image", "subnet", "security_groups", "instance_type"]
                    .contains(&key.as_str())
                    || crate::kinds::ec2_instance::CLONED.contains(&key.as_str());
                if cloned && !attributes.contains_key(key) {
                    attributes.insert(key.clone(), value.clone());
                }
            }
        }
        let r = Reader::new(KIND, &attributes);
        let image = r
            .str("image")?
            .ok_or_else(|| errors::attribute(KIND, "`image` or `clone_of` is required"))?;
        let subnet = r.str("subnet")?;
        let groups = r.str_list("security_groups")?.filter(|g| !g.is_empty());
        let key_name = r.str("key_name")?;
        let instance_type = r.str("instance_type")?;
        let user_data = r.str("user_data")?;
        let profile = r.str("instance_profile")?;
        let monitored = r.bool("monitoring")?;
        let ebs_optimized = r.bool("ebs_optimized")?;
        let devices = block_devices(attributes.get("volumes"))?;
        let metadata = metadata_request(attributes.get("metadata_options"));

        let mut all = tagging::creation_tags(request, INPUTS);
        all.extend(digest_tags(&CreateRequest {
            attributes: attributes.clone(),
            ..request.clone()
        }));
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
            .set_iam_instance_profile(
                profile.map(|arn| IamInstanceProfileSpecification::builder().arn(arn).build()),
            )
            .set_metadata_options(metadata)
            .set_monitoring(
                monitored.map(|on| RunInstancesMonitoringEnabled::builder().enabled(on).build()),
            )
            .set_ebs_optimized(ebs_optimized)
            .set_block_device_mappings(devices)
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
        tagging::read_inputs(&all, &mut created.attributes, &[]);
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
        let client = c.ec2.clone();
        // Only instances described and checked as this environment's get here (see
        // `guarded_delete`): a batch is made of those only.
        c.batches
            .terminations
            .one(&live.id, move |ids| -> BatchFuture<()> {
                let client = client.clone();
                Box::pin(async move { terminate(&client, ids).await })
            })
            .await?;
        Ok(())
    }

    fn tagging(&self) -> Tagging {
        Tagging::Ec2
    }

    fn recorded_inputs(&self) -> &'static [&'static str] {
        INPUTS
    }
}
