//! `ecs_task_definition` in the fake cloud.

use super::*;

pub(super) struct EcsTaskDefinition;

impl FakeKind for EcsTaskDefinition {
    fn named_by(&self) -> &'static [&'static str] {
        &["family"]
    }

    /// Each registration is the family's next revision.
    fn create(
        &self,
        cloud: &mut FakeCloud,
        region: &str,
        attributes: &mut Attributes,
    ) -> Result<String, ProviderError> {
        let family = str_attr(attributes, "family").to_string();
        // ECS never reuses a revision number, even once the revision is deregistered and
        // deleted: the family's next one is after every one it ever had.
        let counter = format!("fake:revisions:{family}");
        let revision = cloud.counters.get(&counter).copied().unwrap_or(0).max(
            cloud
                .resources
                .values()
                .filter(|r| {
                    r.kind == ResourceKind::EcsTaskDefinition
                        && str_attr(&r.attributes, "family") == family
                })
                .filter_map(|r| r.attributes.get("revision").and_then(Value::as_u64))
                .max()
                .unwrap_or(0),
        ) + 1;
        cloud.counters.insert(counter, revision);
        attributes.insert("registered_at".into(), json!(registered_at()));
        let arn = format!("arn:aws:ecs:{region}:{ACCOUNT}:task-definition/{family}:{revision}");
        attributes.insert("revision".into(), json!(revision));
        attributes.insert("arn".into(), json!(arn));
        Ok(arn)
    }
}
