//! `ec2_instance` in the fake cloud.

use super::*;

pub(super) struct Ec2Instance;

impl FakeKind for Ec2Instance {
    fn honours_client_token(&self) -> bool {
        true
    }

    fn eventually_consistent(&self) -> bool {
        true
    }

    /// A clone takes what the spec does not set from its source, as EC2 would launch it.
    fn create(
        &self,
        cloud: &mut FakeCloud,
        region: &str,
        attributes: &mut Attributes,
    ) -> Result<String, ProviderError> {
        let query = SourceQuery {
            kind: SourceKind::Ec2Instance,
            id: Some(str_attr(attributes, "clone_of").to_string()),
            tags: BTreeMap::new(),
            cluster: None,
        };
        let source = cloud.find_source(region, &query)?.attributes.clone();
        let cloned = crate::kinds::ec2_instance::CLONED;
        for key in ["image", "subnet", "security_groups"].iter().chain(cloned) {
            if !attributes.contains_key(*key) {
                attributes.insert(
                    (*key).into(),
                    source.get(*key).cloned().unwrap_or(Value::Null),
                );
            }
        }
        Ok(cloud.fresh_id("i-"))
    }

    fn when_ready(&self, resource: &mut FakeResource, host: u64) {
        let address = format!("10.0.1.{host}");
        resource
            .attributes
            .insert("private_ip".into(), json!(address));
    }

    /// The volumes of the image's block device mapping, attached and tagged by RunInstances.
    fn made_along(
        &self,
        cloud: &mut FakeCloud,
        instance: &FakeResource,
        env: &EnvId,
        token: &str,
    ) -> Vec<FakeResource> {
        let image = str_attr(&instance.attributes, "image");
        let mapping = cloud
            .images
            .get(image)
            .cloned()
            .unwrap_or_else(|| vec![BlockDevice::root()]);
        let Some(name) = instance
            .tags
            .get(crate::model::tags::ADDRESS)
            .and_then(|a| a.parse::<Address>().ok())
            .map(|a| a.name)
        else {
            return vec![];
        };
        let address = Address::new(ResourceKind::EbsVolume, name);
        let volume_tags = ownership::by_product_tags(env, &instance.tags, &address, token);
        mapping
            .into_iter()
            .map(|device| {
                let id = cloud.fresh_id("vol-");
                let attributes = json!({
                    "id": id,
                    "size": device.size_gib,
                    "volume_type": "gp3",
                    "device": device.device,
                    "attached_to": instance.id,
                    "delete_on_termination": device.delete_on_termination,
                });
                FakeResource {
                    region: instance.region.clone(),
                    kind: ResourceKind::EbsVolume,
                    id,
                    status: "in-use".into(),
                    attributes: attributes.as_object().cloned().unwrap_or_default(),
                    tags: volume_tags.clone(),
                    transition: None,
                    visible_from_ms: None,
                }
            })
            .collect()
    }

    /// EC2 deletes the volumes marked DeleteOnTermination and detaches the others, which stay,
    /// `available` (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-detaching-volume.html).
    fn after_delete(&self, cloud: &mut FakeCloud, instance: &FakeResource, _: &DeletePolicy) {
        let attached: Vec<String> = cloud
            .resources
            .values()
            .filter(|r| {
                r.kind == ResourceKind::EbsVolume
                    && r.attributes.get("attached_to") == Some(&json!(instance.id))
            })
            .map(|r| r.id.clone())
            .collect();
        for id in attached {
            let Some(volume) = cloud.resources.get_mut(&id) else {
                continue;
            };
            if volume.attributes.get("delete_on_termination") == Some(&json!(true)) {
                cloud.resources.remove(&id);
            } else {
                volume.status = "available".into();
                volume.attributes.remove("attached_to");
            }
        }
    }
}
