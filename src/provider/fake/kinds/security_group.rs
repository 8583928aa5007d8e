//! `security_group` in the fake cloud.

use super::*;

/// A security group: made without rules but AWS's allow-all egress; refused deletion while
/// anything in the cloud uses it or a rule of another group names it (DependencyViolation,
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSecurityGroup.html).
pub(super) struct SecurityGroup;

impl FakeKind for SecurityGroup {
    fn named_by(&self) -> &'static [&'static str] {
        &["vpc_id", "name"]
    }

    fn create(
        &self,
        cloud: &mut FakeCloud,
        region: &str,
        attributes: &mut Attributes,
    ) -> Result<String, ProviderError> {
        let name = str_attr(attributes, "name").to_string();
        let vpc = str_attr(attributes, "vpc_id").to_string();
        let taken = cloud.resources.values().any(|r| {
            r.kind == ResourceKind::SecurityGroup
                && str_attr(&r.attributes, "name") == name
                && str_attr(&r.attributes, "vpc_id") == vpc
        });
        if taken {
            return Err(ProviderError::Api {
                action: "ec2:CreateSecurityGroup".into(),
                code: "InvalidGroup.Duplicate".into(),
                message: format!("The security group '{name}' already exists for VPC '{vpc}'"),
            });
        }
        let id = cloud.fresh_id("sg-");
        // CreateSecurityGroup takes no rules; AWS adds one egress rule.
        attributes.insert("ingress".into(), json!([]));
        attributes.insert(
            "egress".into(),
            json!([kinds::security_group::rule(
                "-1",
                None,
                None,
                &kinds::security_group::Peer::Cidr("0.0.0.0/0".into())
            )]),
        );
        attributes.insert(
            "arn".into(),
            json!(format!(
                "arn:aws:ec2:{region}:{ACCOUNT}:security-group/{id}"
            )),
        );
        Ok(id)
    }

    /// A rule of another group of the same environment does not hold it: the provider revokes
    /// those first (`after_delete` does it here), as `aws::ec2::security_group` does.
    fn refuses_delete(&self, cloud: &FakeCloud, group: &FakeResource) -> Option<String> {
        let id = json!(group.id);
        let env_of = |r: &FakeResource| {
            (
                r.tags.get(crate::model::tags::PROJECT).cloned(),
                r.tags.get(crate::model::tags::ENV).cloned(),
            )
        };
        let user = cloud.resources.values().find(|r| {
            let gone = kinds::lifecycle(r.kind).is_gone(&r.status);
            let member = r
                .attributes
                .get("security_groups")
                .and_then(Value::as_array)
                .is_some_and(|groups| groups.contains(&id));
            let referring = r.kind == ResourceKind::SecurityGroup
                && r.id != group.id
                && env_of(r) != env_of(group)
                && ["ingress", "egress"].iter().any(|list| {
                    r.attributes
                        .get(*list)
                        .and_then(Value::as_array)
                        .is_some_and(|rules| {
                            rules
                                .iter()
                                .any(|rule| rule.get("security_group") == Some(&id))
                        })
                });
            !gone && (member || referring)
        })?;
        Some(format!(
            "security group {} is in use by {} {} (DependencyViolation)",
            group.id, user.kind, user.id
        ))
    }

    fn after_delete(&self, cloud: &mut FakeCloud, group: &FakeResource, _: &DeletePolicy) {
        let id = json!(group.id);
        for other in cloud.resources.values_mut() {
            if other.kind != ResourceKind::SecurityGroup {
                continue;
            }
            for list in ["ingress", "egress"] {
                if let Some(Value::Array(rules)) = other.attributes.get_mut(list) {
                    rules.retain(|rule| rule.get("security_group") != Some(&id));
                }
            }
        }
    }
}
