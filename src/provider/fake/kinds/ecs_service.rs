//! `ecs_service` in the fake cloud.

use super::*;

pub(super) struct EcsService;

/// A rollback the fake will play on a service's next deployment (see
/// `FakeProvider::roll_back_next_deployment`): its events, the task definition it goes back to,
/// and whether that deployment started.
pub(in crate::provider::fake) const ROLLBACK: &str = "fake:rollback";

impl FakeKind for EcsService {
    fn named_by(&self) -> &'static [&'static str] {
        &["cluster", "name"]
    }

    fn eventually_consistent(&self) -> bool {
        true
    }

    fn on_update(&self, service: &mut FakeResource, changed: &[String]) {
        if let (Some(rollback), true) = (
            service
                .attributes
                .get_mut(ROLLBACK)
                .and_then(Value::as_object_mut),
            changed.iter().any(|c| c == "task_definition"),
        ) {
            rollback.insert("deploying".into(), json!(true));
        }
    }

    /// The rollout ended: a deployment set to fail is rolled back to what ran before.
    fn when_ready(&self, service: &mut FakeResource, _: u64) {
        let Some(rollback) = service.attributes.get(ROLLBACK).cloned() else {
            return;
        };
        if rollback.get("deploying") != Some(&json!(true)) {
            return;
        }
        let to = rollback["to"].clone();
        service.attributes.remove(ROLLBACK);
        let now = kinds::now();
        service.attributes.insert("task_definition".into(), to);
        service
            .attributes
            .insert("events".into(), rollback["events"].clone());
        service
            .attributes
            .insert(kinds::ecs_service::ROLLED_BACK_AT.into(), json!(now));
    }

    fn create(
        &self,
        _: &mut FakeCloud,
        region: &str,
        attributes: &mut Attributes,
    ) -> Result<String, ProviderError> {
        let arn = format!(
            "arn:aws:ecs:{region}:{ACCOUNT}:service/{}/{}",
            str_attr(attributes, "cluster"),
            str_attr(attributes, "name")
        );
        attributes.insert("arn".into(), json!(arn));
        Ok(arn)
    }
}
