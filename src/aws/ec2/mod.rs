//! EC2: what the instance and volume kinds and the source look-up share (tags, filters, describing
//! instances), and the source look-up itself.

pub(crate) mod egress;
pub(crate) mod instance;
pub(crate) mod security_group;
pub(crate) mod volume;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Filter, Instance, Tag};

use serde_json::Value;

use super::attrs::Builder;
use super::errors;
use super::tags::{self as tagging, TagMap};
use crate::model::{SourceObject, SourceQuery};
use crate::provider::ProviderError;

/// States a source may be in: neither terminated nor on its way there.
const SOURCE_STATES: &[&str] = &["pending", "running", "stopping", "stopped"];

pub(crate) fn tag_map(list: &[Tag]) -> TagMap {
    tagging::collect(list.iter().map(|t| (t.key(), t.value())))
}

pub(crate) fn ec2_tags(all: &TagMap) -> Vec<Tag> {
    all.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

pub(crate) fn state_of(instance: &Instance) -> &str {
    instance
        .state()
        .and_then(|s| s.name())
        .map(|n| n.as_str())
        .unwrap_or_default()
}

pub(crate) fn filter(name: &str, values: &[&str]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.iter().map(|v| (*v).to_owned()).collect()))
        .build()
}

/// The filters that make EC2 list only what an environment's tags claim (or, for no
/// environment, what any environment's do): EC2 filters by tag on its side, so a scan reads
/// none of production's resources. Ownership itself is proven afterwards (`ownership`).
pub(crate) fn owner_filters(env: Option<&crate::model::EnvId>) -> Vec<Filter> {
    use crate::model::tags;
    match env {
        Some(env) => vec![
            filter(&format!("tag:{}", tags::PROJECT), &[env.project.as_str()]),
            filter(&format!("tag:{}", tags::ENV), &[env.name.as_str()]),
        ],
        None => vec![filter("tag-key", &[tags::ENV])],
    }
}

/// Instances matching `filters`, across all pages. Filters never answer "not found".
pub(crate) async fn describe_instances(
    client: &Client,
    filters: Vec<Filter>,
    what: &str,
) -> Result<Vec<Instance>, ProviderError> {
    let reservations: Vec<_> = client
        .describe_instances()
        .set_filters(Some(filters))
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

/// A source server: the one instance its id or tags select.
pub(crate) async fn lookup(
    client: &Client,
    query: &SourceQuery,
) -> Result<SourceObject, ProviderError> {
    let what = query.describe();
    if query.id.is_none() && query.tags.is_empty() {
        return Err(errors::attribute(
            "ec2_instance",
            "a source instance needs an `id` or `tags`",
        ));
    }
    let mut filters: Vec<Filter> = query
        .tags
        .iter()
        .map(|(k, v)| filter(&format!("tag:{k}"), &[v.as_str()]))
        .collect();
    filters.push(filter("instance-state-name", SOURCE_STATES));
    if let Some(id) = &query.id {
        filters.push(filter("instance-id", &[id.as_str()]));
    }
    let found = describe_instances(client, filters, &what).await?;
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
    let (volumes, image_gone, key_gone) = tokio::try_join!(
        source_volumes(client, instance, &what),
        image_gone(client, instance.image_id()),
        key_pair_gone(client, instance.key_name()),
    )?;
    let mut unusable = std::collections::BTreeMap::new();
    if let Some(why) = image_gone {
        unusable.insert("image".to_owned(), why);
    }
    if let Some(why) = key_gone {
        unusable.insert("key_name".to_owned(), why);
    }
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
    let mut attributes = b.into_inner();
    // What a clone copies: null where production has none, so the clone asks for none.
    attributes.insert("key_name".into(), opt_str(instance.key_name()));
    attributes.insert("instance_profile".into(), instance_profile(instance));
    attributes.insert("metadata_options".into(), metadata_options(instance));
    attributes.insert("monitoring".into(), monitoring(instance));
    attributes.insert(
        "ebs_optimized".into(),
        Value::Bool(instance.ebs_optimized() == Some(true)),
    );
    attributes.insert("volumes".into(), Value::Array(volumes));
    Ok(SourceObject {
        attributes,
        unusable,
    })
}

fn opt_str(value: Option<&str>) -> Value {
    value
        .filter(|v| !v.is_empty())
        .map_or(Value::Null, |v| Value::String(v.to_owned()))
}

/// The instance profile's ARN, or null.
pub(crate) fn instance_profile(instance: &Instance) -> Value {
    opt_str(instance.iam_instance_profile().and_then(|p| p.arn()))
}

/// The metadata options as the spec writes them, or null when EC2 does not say.
pub(crate) fn metadata_options(instance: &Instance) -> Value {
    let Some(m) = instance.metadata_options() else {
        return Value::Null;
    };
    let mut b = Builder::new();
    b.opt("http_tokens", m.http_tokens().map(|t| t.as_str()))
        .opt("hop_limit", m.http_put_response_hop_limit())
        .opt("http_endpoint", m.http_endpoint().map(|t| t.as_str()))
        .opt(
            "instance_metadata_tags",
            m.instance_metadata_tags().map(|t| t.as_str()),
        );
    Value::Object(b.into_inner())
}

/// Detailed monitoring is on (or being turned on).
pub(crate) fn monitoring(instance: &Instance) -> Value {
    let state = instance
        .monitoring()
        .and_then(|m| m.state())
        .map(|s| s.as_str());
    Value::Bool(matches!(state, Some("enabled" | "pending")))
}

/// The source's EBS volumes as a clone's `volumes`: device, size, type, IOPS and throughput as
/// they are now (DescribeVolumes: a volume resized since launch is copied at its new size), and
/// whether it goes with the instance (the instance's block device mapping).
async fn source_volumes(
    client: &Client,
    instance: &Instance,
    what: &str,
) -> Result<Vec<Value>, ProviderError> {
    let attached: Vec<(&str, &str, bool)> = instance
        .block_device_mappings()
        .iter()
        .filter_map(|m| {
            let ebs = m.ebs()?;
            Some((
                m.device_name()?,
                ebs.volume_id()?,
                ebs.delete_on_termination().unwrap_or(true),
            ))
        })
        .collect();
    if attached.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<&str> = attached.iter().map(|(_, id, _)| *id).collect();
    let volumes: Vec<_> = client
        .describe_volumes()
        .set_filters(Some(vec![filter("volume-id", &ids)]))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| errors::sdk("ec2:DescribeVolumes", what, e))?;
    let mut out = vec![];
    for (device, id, delete_on_termination) in attached {
        let Some(v) = volumes.iter().find(|v| v.volume_id() == Some(id)) else {
            continue;
        };
        let kind = v.volume_type().map(|t| t.as_str().to_owned());
        // IOPS are set only where the type takes them (io1, io2, gp3); throughput only on gp3.
        let iops = kind
            .as_deref()
            .filter(|k| matches!(*k, "io1" | "io2" | "gp3"))
            .and(v.iops());
        let throughput = kind.as_deref().filter(|k| *k == "gp3").and(v.throughput());
        let mut b = Builder::new();
        b.set("device", device)
            .opt("size", v.size())
            .opt("type", kind)
            .opt("iops", iops)
            .opt("throughput", throughput)
            .set("delete_on_termination", delete_on_termination);
        out.push(Value::Object(b.into_inner()));
    }
    Ok(out)
}

/// Why the image cannot be launched any more, if it cannot: deregistered since the source was
/// launched. DescribeImages shows a deregistered image for a while (`deregistered`), then
/// not at all (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/deregister-ami.html).
async fn image_gone(client: &Client, image: Option<&str>) -> Result<Option<String>, ProviderError> {
    let Some(image) = image.filter(|i| !i.is_empty()) else {
        return Ok(None);
    };
    let gone = || {
        Some(format!(
            "image {image} has been deregistered since that server was launched"
        ))
    };
    match client.describe_images().image_ids(image).send().await {
        Ok(out) => match out.images().first() {
            None => Ok(gone()),
            Some(i) if i.state().map(|s| s.as_str()) == Some("deregistered") => Ok(gone()),
            Some(_) => Ok(None),
        },
        Err(e) if errors::is_not_found(&e) => Ok(gone()),
        Err(e) => Err(errors::sdk("ec2:DescribeImages", image, e)),
    }
}

/// Why the key pair cannot be used any more, if it cannot: deleted since the source was
/// launched (the instance still names it).
async fn key_pair_gone(
    client: &Client,
    key: Option<&str>,
) -> Result<Option<String>, ProviderError> {
    let Some(key) = key.filter(|k| !k.is_empty()) else {
        return Ok(None);
    };
    match client.describe_key_pairs().key_names(key).send().await {
        Ok(out) if out.key_pairs().is_empty() => Ok(Some(format!(
            "key pair {key} has been deleted since that server was launched"
        ))),
        Ok(_) => Ok(None),
        Err(e) if errors::is_not_found(&e) => Ok(Some(format!(
            "key pair {key} has been deleted since that server was launched"
        ))),
        Err(e) => Err(errors::sdk("ec2:DescribeKeyPairs", key, e)),
    }
}

/// Set and remove tags on EC2 resources.
pub(crate) async fn tag(
    client: &Client,
    id: &str,
    what: &str,
    set: &TagMap,
    remove: &[String],
) -> Result<(), ProviderError> {
    if !set.is_empty() {
        client
            .create_tags()
            .resources(id)
            .set_tags(Some(ec2_tags(set)))
            .send()
            .await
            .map_err(|e| errors::sdk("ec2:CreateTags", what, e))?;
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
            .map_err(|e| errors::sdk("ec2:DeleteTags", what, e))?;
    }
    Ok(())
}
