//! `ecs_cluster` in the fake cloud.

use super::*;

pub(super) struct EcsCluster;

impl FakeKind for EcsCluster {
    fn named_by(&self) -> &'static [&'static str] {
        &["name"]
    }

    fn answers_with_existing(&self) -> bool {
        true
    }

    fn create(
        &self,
        _: &mut FakeCloud,
        region: &str,
        attributes: &mut Attributes,
    ) -> Result<String, ProviderError> {
        let name = str_attr(attributes, "name");
        let arn = format!("arn:aws:ecs:{region}:{ACCOUNT}:cluster/{name}");
        attributes.insert("arn".into(), json!(arn));
        Ok(arn)
    }
}
