//! EC2: servers cloned from a production instance (`ec2_instance`).
//!
//! EC2 filters by tag on the server, so `scan` is one paginated DescribeInstances. User data is the
//! exception: only DescribeInstanceAttribute returns it, one call per instance (bounded, in
//! parallel).

use aws_sdk_ec2::Client;
use aws_sdk_ec2::client::Waiters;
use aws_sdk_ec2::types::{
    AttributeValue, Filter, Instance, InstanceAttributeName, InstanceType, ResourceType, Tag,
    TagSpecification,
};
use aws_smithy_types::base64;

use super::attrs::{Builder, Reader};
use super::errors::{self, Wait};
use super::tags::{self as tagging, TagMap};
use super::{Deadline, States, concurrently, env_matches, what};
use crate::model::{
    Address, Attributes, LiveResource, ResourceKind, SourceObject, SourceQuery, tags,
};
use crate::provider::{CreateRequest, DeleteOutcome, Operation, ProviderError};

const KIND: ResourceKind = ResourceKind::Ec2Instance;

/// Inputs AWS cannot describe back, recorded as tags at creation.
const INPUTS: &[&str] = &["clone_of"];

/// Every state but `terminated`: what `observe` reports (a `shutting-down` instance still exists).
const PRESENT: &[&str] = &["pending", "running", "shutting-down", "stopping", "stopped"];

/// States a source may be in: neither terminated nor on its way there.
const SOURCE_STATES: &[&str] = &["pending", "running", "stopping", "stopped"];

/// How many DescribeInstanceAttribute calls run at once.
const USER_DATA_PARALLELISM: usize = 8;

fn tag_map(list: &[Tag]) -> TagMap {
    tagging::collect(list.iter().map(|t| (t.key(), t.value())))
}

fn ec2_tags(all: &TagMap) -> Vec<Tag> {
    all.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn state_of(instance: &Instance) -> &str {
    instance
        .state()
        .and_then(|s| s.name())
        .map(|n| n.as_str())
        .unwrap_or_default()
}

fn group_ids(instance: &Instance) -> Vec<String> {
    instance
        .security_groups()
        .iter()
        .filter_map(|g| g.group_id())
        .map(str::to_owned)
        .collect()
}

fn filter(name: &str, values: &[&str]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.iter().map(|v| (*v).to_owned()).collect()))
        .build()
}

pub(crate) fn live(
    instance: &Instance,
    address: Address,
    user_data: Option<String>,
) -> LiveResource {
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

/// Instances matching `filters` (and `ids`, if any), across all pages.
async fn describe(
    client: &Client,
    ids: &[&str],
    filters: Vec<Filter>,
    what: &str,
) -> Result<Vec<Instance>, ProviderError> {
    let reservations: Vec<_> = client
        .describe_instances()
        .set_instance_ids((!ids.is_empty()).then(|| ids.iter().map(|i| (*i).to_owned()).collect()))
        .set_filters((!filters.is_empty()).then_some(filters))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| errors::sdk("ec2:DescribeInstances", what, e))?;
    Ok(reservations
        .iter()
        .flat_map(|r| r.instances().iter().cloned())
        .collect())
}

/// One instance by id; `None` if EC2 does not know it.
async fn describe_one(
    client: &Client,
    id: &str,
    what: &str,
) -> Result<Option<Instance>, ProviderError> {
    match describe(client, &[id], vec![], what).await {
        Ok(found) => Ok(found.into_iter().find(|i| i.instance_id() == Some(id))),
        Err(ProviderError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Like [`live`], with the user data read back from EC2.
async fn live_with_user_data(
    client: &Client,
    instance: &Instance,
    address: Address,
) -> Result<LiveResource, ProviderError> {
    let data = match instance.instance_id() {
        Some(id) => user_data(client, id).await?,
        None => None,
    };
    Ok(live(instance, address, data))
}

// --- observe --------------------------------------------------------------------------------------

pub(crate) async fn scan(
    client: &Client,
    env: Option<&str>,
    with_user_data: bool,
) -> Result<Vec<LiveResource>, ProviderError> {
    let owner_filter = match env {
        Some(name) => filter(&format!("tag:{}", tags::ENV), &[name]),
        None => filter("tag-key", &[tags::ENV]),
    };
    let instances = describe(
        client,
        &[],
        vec![owner_filter, filter("instance-state-name", PRESENT)],
        "EC2 instances",
    )
    .await?;
    let owned: Vec<(Instance, Address)> = instances
        .into_iter()
        .filter_map(|i| {
            let (owner, address) = tagging::ownership(&tag_map(i.tags()), KIND)?;
            (env_matches(env, &owner) && state_of(&i) != "terminated").then_some((i, address))
        })
        .collect();
    if !with_user_data {
        return Ok(owned.into_iter().map(|(i, a)| live(&i, a, None)).collect());
    }
    concurrently(owned, USER_DATA_PARALLELISM, |(instance, address)| {
        let client = client.clone();
        async move { live_with_user_data(&client, &instance, address).await }
    })
    .await
}

// --- lookup ---------------------------------------------------------------------------------------

pub(crate) async fn lookup(
    client: &Client,
    query: &SourceQuery,
) -> Result<SourceObject, ProviderError> {
    let what = query.describe();
    if query.id.is_none() && query.tags.is_empty() {
        return Err(errors::attribute(
            KIND,
            "a source instance needs an `id` or `tags`",
        ));
    }
    let mut filters: Vec<Filter> = query
        .tags
        .iter()
        .map(|(k, v)| filter(&format!("tag:{k}"), &[v.as_str()]))
        .collect();
    filters.push(filter("instance-state-name", SOURCE_STATES));
    let ids: Vec<&str> = query.id.as_deref().into_iter().collect();
    let found = match describe(client, &ids, filters, &what).await {
        Ok(found) => found,
        Err(ProviderError::NotFound { .. }) => vec![],
        Err(e) => return Err(e),
    };
    let instance = match found.as_slice() {
        [] => return Err(ProviderError::NotFound { what }),
        [one] => one,
        many => {
            let ids: Vec<&str> = many.iter().filter_map(|i| i.instance_id()).collect();
            return Err(ProviderError::Api {
                action: "ec2:DescribeInstances".to_owned(),
                code: "AmbiguousSource".to_owned(),
                message: format!(
                    "{} instances match {what}: {}; a source must match exactly one",
                    many.len(),
                    ids.join(", ")
                ),
            });
        }
    };
    let mut b = Builder::new();
    b.nonempty("id", instance.instance_id())
        .nonempty("image", instance.image_id())
        .nonempty("subnet", instance.subnet_id())
        .nonempty("vpc", instance.vpc_id())
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
        .nonempty("private_ip", instance.private_ip_address())
        .nonempty("key_name", instance.key_name())
        .set("state", state_of(instance));
    Ok(SourceObject {
        attributes: b.into_inner(),
    })
}

// --- create ---------------------------------------------------------------------------------------

pub(crate) async fn create(
    client: &Client,
    op: &Operation,
    request: &CreateRequest,
) -> Result<LiveResource, ProviderError> {
    let r = Reader::new(KIND, &request.attributes);
    let mut image = r.str("image")?;
    let mut subnet = r.str("subnet")?;
    let mut groups = r.str_list("security_groups")?;
    let mut key_name = r.str("key_name")?;
    let mut instance_type = r.str("instance_type")?;
    let user_data = r.str("user_data")?;

    // A clone takes what the spec does not override from the source instance, as it is now.
    if let Some(source_id) = r.str("clone_of")? {
        let what = format!("ec2_instance {source_id} (the clone_of of {})", op.address);
        let source = describe_one(client, &source_id, &what)
            .await?
            .ok_or(ProviderError::NotFound { what })?;
        image = image.or_else(|| source.image_id().map(str::to_owned));
        subnet = subnet.or_else(|| source.subnet_id().map(str::to_owned));
        groups = groups.or_else(|| Some(group_ids(&source)).filter(|g| !g.is_empty()));
        key_name = key_name.or_else(|| source.key_name().map(str::to_owned));
        instance_type =
            instance_type.or_else(|| source.instance_type().map(|t| t.as_str().to_owned()));
    }
    let image =
        image.ok_or_else(|| errors::attribute(KIND, "`image` or `clone_of` is required"))?;

    let all = tagging::creation_tags(request, INPUTS);
    let tag_specs = [ResourceType::Instance, ResourceType::Volume]
        .into_iter()
        .map(|rt| {
            TagSpecification::builder()
                .resource_type(rt)
                .set_tags(Some(ec2_tags(&all)))
                .build()
        })
        .collect();
    let what = what(&op.address, "new instance");
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
    let mut live = live(instance, op.address.clone(), user_data);
    // The response may predate the tags being visible; they were set by this very call.
    live.attributes
        .insert("tags".into(), tagging::user_tags_json(&all));
    if let Some(clone_of) = request.attributes.get("clone_of") {
        live.attributes.insert("clone_of".into(), clone_of.clone());
    }
    live.tags = all;
    Ok(live)
}

// --- wait -----------------------------------------------------------------------------------------

/// Wait for `running` (or `stopped`) with EC2's generated waiters.
async fn wait_for(
    client: &Client,
    op: &Operation,
    deadline: &Deadline,
    id: &str,
    what: &str,
    target: &str,
) -> Result<Instance, ProviderError> {
    let wait = Wait {
        action: "ec2:DescribeInstances",
        what,
        target,
        timeout: op.timeout,
    };
    let state = |out: &aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput| {
        out.reservations()
            .iter()
            .flat_map(|r| r.instances())
            .map(|i| state_of(i).to_owned())
            .next()
    };
    let poll = if target == "stopped" {
        client
            .wait_until_instance_stopped()
            .instance_ids(id)
            .wait(deadline.remaining())
            .await
            .map_err(|e| errors::waiter(&wait, e, state))?
    } else {
        client
            .wait_until_instance_running()
            .instance_ids(id)
            .wait(deadline.remaining())
            .await
            .map_err(|e| errors::waiter(&wait, e, state))?
    };
    let out = poll
        .into_result()
        .map_err(|e| errors::sdk("ec2:DescribeInstances", what, e))?;
    out.reservations()
        .iter()
        .flat_map(|r| r.instances())
        .find(|i| i.instance_id() == Some(id))
        .cloned()
        .ok_or_else(|| ProviderError::NotFound {
            what: what.to_owned(),
        })
}

pub(crate) async fn wait_ready(
    client: &Client,
    op: &Operation,
    resource: &LiveResource,
) -> Result<LiveResource, ProviderError> {
    let what = what(&resource.address, &resource.id);
    let states = States::new(op);
    states.report(&resource.status);
    let instance = wait_for(
        client,
        op,
        &Deadline::new(op),
        &resource.id,
        &what,
        "running",
    )
    .await?;
    let live = live_with_user_data(client, &instance, resource.address.clone()).await?;
    states.report(&live.status);
    Ok(live)
}

// --- update ---------------------------------------------------------------------------------------

pub(crate) async fn update(
    client: &Client,
    op: &Operation,
    current: &LiveResource,
    desired: &Attributes,
    changed: &[String],
) -> Result<LiveResource, ProviderError> {
    let id = current.id.as_str();
    let what = what(&current.address, id);
    let instance = describe_one(client, id, &what)
        .await?
        .ok_or_else(|| ProviderError::NotFound { what: what.clone() })?;
    let live_tags = tag_map(instance.tags());
    tagging::ensure_owned(
        &live_tags,
        &op.env.name,
        &what,
        "ec2:ModifyInstanceAttribute",
    )?;

    let r = Reader::new(KIND, desired);
    let deadline = Deadline::new(op);
    for key in changed {
        match key.as_str() {
            "instance_type" => {
                let new_type = r.required_str("instance_type")?;
                // The type of a running instance cannot change: stop, modify, start.
                if matches!(state_of(&instance), "pending" | "running" | "stopping") {
                    op.report("stopping");
                    client
                        .stop_instances()
                        .instance_ids(id)
                        .send()
                        .await
                        .map_err(|e| errors::sdk("ec2:StopInstances", &what, e))?;
                    wait_for(client, op, &deadline, id, &what, "stopped").await?;
                    op.report("stopped");
                }
                op.report(&format!("changing type to {new_type}"));
                client
                    .modify_instance_attribute()
                    .instance_id(id)
                    .instance_type(AttributeValue::builder().value(&new_type).build())
                    .send()
                    .await
                    .map_err(|e| errors::sdk("ec2:ModifyInstanceAttribute", &what, e))?;
                op.report("starting");
                client
                    .start_instances()
                    .instance_ids(id)
                    .send()
                    .await
                    .map_err(|e| errors::sdk("ec2:StartInstances", &what, e))?;
            }
            "security_groups" => {
                let groups = r.str_list("security_groups")?.unwrap_or_default();
                op.report("changing security groups");
                client
                    .modify_instance_attribute()
                    .instance_id(id)
                    .set_groups(Some(groups))
                    .send()
                    .await
                    .map_err(|e| errors::sdk("ec2:ModifyInstanceAttribute", &what, e))?;
            }
            "tags" => {
                let (set, remove) = tagging::user_tag_changes(
                    &live_tags,
                    &tagging::desired_user_tags(desired.get("tags")),
                );
                if !set.is_empty() {
                    client
                        .create_tags()
                        .resources(id)
                        .set_tags(Some(ec2_tags(&set)))
                        .send()
                        .await
                        .map_err(|e| errors::sdk("ec2:CreateTags", &what, e))?;
                }
                if !remove.is_empty() {
                    client
                        .delete_tags()
                        .resources(id)
                        .set_tags(Some(
                            remove
                                .iter()
                                .map(|k| Tag::builder().key(k).build())
                                .collect(),
                        ))
                        .send()
                        .await
                        .map_err(|e| errors::sdk("ec2:DeleteTags", &what, e))?;
                }
            }
            other => {
                return Err(errors::attribute(
                    KIND,
                    format!("`{other}` cannot be changed in place"),
                ));
            }
        }
    }
    let instance = wait_for(client, op, &deadline, id, &what, "running").await?;
    let live = live_with_user_data(client, &instance, current.address.clone()).await?;
    op.report(&live.status);
    Ok(live)
}

// --- delete ---------------------------------------------------------------------------------------

pub(crate) async fn delete(
    client: &Client,
    op: &Operation,
    resource: &LiveResource,
) -> Result<DeleteOutcome, ProviderError> {
    let id = resource.id.as_str();
    let what = what(&resource.address, id);
    let Some(instance) = describe_one(client, id, &what).await? else {
        return Ok(DeleteOutcome::Accepted);
    };
    if matches!(state_of(&instance), "shutting-down" | "terminated") {
        return Ok(DeleteOutcome::Accepted);
    }
    tagging::ensure_owned(
        &tag_map(instance.tags()),
        &op.env.name,
        &what,
        "ec2:TerminateInstances",
    )?;
    op.report("terminating");
    match client.terminate_instances().instance_ids(id).send().await {
        Ok(_) => Ok(DeleteOutcome::Accepted),
        Err(e) if errors::is_not_found(&e) => Ok(DeleteOutcome::Accepted),
        Err(e) => Err(errors::sdk("ec2:TerminateInstances", &what, e)),
    }
}

pub(crate) async fn wait_deleted(
    client: &Client,
    op: &Operation,
    resource: &LiveResource,
) -> Result<(), ProviderError> {
    let what = what(&resource.address, &resource.id);
    let wait = Wait {
        action: "ec2:DescribeInstances",
        what: &what,
        target: "terminated",
        timeout: op.timeout,
    };
    let result = client
        .wait_until_instance_terminated()
        .instance_ids(&resource.id)
        .wait(op.timeout)
        .await
        .map_err(|e| {
            errors::waiter(&wait, e, |out| {
                out.reservations()
                    .iter()
                    .flat_map(|r| r.instances())
                    .map(|i| state_of(i).to_owned())
                    .next()
            })
        });
    match result {
        Ok(_) | Err(ProviderError::NotFound { .. }) => {
            op.report("terminated");
            Ok(())
        }
        Err(e) => Err(e),
    }
}
