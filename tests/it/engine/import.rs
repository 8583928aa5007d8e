//! `rehearsal import`: production's service was made by hand, long before rehearsal. An
//! administrator declares it in a protected spec and imports it, once; from then on the plan
//! sees it as the spec's resource, and shows no change while the two agree.

use rehearsal::engine::import::{self, ImportError};
use rehearsal::engine::ownership;
use rehearsal::model::{ResourceKind, tags};
use rehearsal::provider::fake::{FakeProvider, FakeResource};
use serde_json::json;

use super::production;
use crate::support::{REGION, SpecFile, addr, env_id, owned_tags, plan_for, report};

const SERVICE_ARN: &str = "arn:aws:ecs:eu-west-1:000000000000:service/production/server";
const CLUSTER_ARN: &str = "arn:aws:ecs:eu-west-1:000000000000:cluster/production";
const REVISION: &str = "arn:aws:ecs:eu-west-1:000000000000:task-definition/server:1";

/// The spec an administrator writes for what production runs.
fn production_spec(lifecycle: &str) -> SpecFile {
    SpecFile::write(
        "production-live",
        &format!(
            r#"
[environment]
project = "openchs"
name = "production-live"
region = "eu-west-1"
lifecycle = "{lifecycle}"

[resources.ecs_cluster.main]
name = "production"

[resources.ecs_service.server]
name = "server"
cluster = "production"
task_definition = "{REVISION}"
desired_count = 2
"#
        ),
    )
}

fn made_by_hand(kind: ResourceKind, id: &str, attributes: serde_json::Value) -> FakeResource {
    FakeResource {
        region: REGION.into(),
        kind,
        id: id.into(),
        status: rehearsal::kinds::lifecycle(kind).ready.clone(),
        attributes: attributes.as_object().cloned().unwrap(),
        tags: [("team".to_string(), "platform".to_string())].into(),
        transition: None,
        visible_from_ms: None,
    }
}

/// Production's cluster and service, as a team made them by hand.
fn production_by_hand() -> std::sync::Arc<FakeProvider> {
    let provider = production();
    provider.insert_resource(made_by_hand(
        ResourceKind::EcsCluster,
        CLUSTER_ARN,
        json!({"name": "production", "arn": CLUSTER_ARN, "id": CLUSTER_ARN}),
    ));
    provider.insert_resource(made_by_hand(
        ResourceKind::EcsService,
        SERVICE_ARN,
        json!({"name": "server", "cluster": "production", "desired_count": 2,
               "task_definition": REVISION, "arn": SERVICE_ARN, "id": SERVICE_ARN,
               "running_count": 2}),
    ));
    provider
}

#[tokio::test]
async fn an_imported_service_is_the_specs_and_plans_as_no_change() {
    let provider = production_by_hand();
    let spec = production_spec("protected").load();
    assert!(
        plan_for(provider.as_ref(), &spec).await.has_changes(),
        "before the import, the plan would create them: rehearsal never adopts"
    );

    for (address, id) in [
        ("ecs_cluster.main", "production"),
        ("ecs_service.server", "production/server"),
    ] {
        let prepared = import::prepare(provider.as_ref(), &spec, &addr(address), id)
            .await
            .unwrap_or_else(|e| panic!("{}", report(e)));
        assert_eq!(
            prepared.tags.get(tags::LIFECYCLE).map(String::as_str),
            Some("protected")
        );
        let now = import::carry_out(provider.as_ref(), &prepared)
            .await
            .unwrap_or_else(|e| panic!("{}", report(e)));
        assert!(ownership::belongs_to(&now, &spec.env));
    }

    let service = &provider.snapshot().resources[SERVICE_ARN];
    let env = rehearsal::model::EnvId {
        name: "production-live".into(),
        ..env_id("x")
    };
    let mut expected = owned_tags(&env, "ecs_service.server", "server");
    expected.insert(tags::LIFECYCLE.into(), "protected".into());
    expected.insert("team".into(), "platform".into());
    assert_eq!(
        service.tags, expected,
        "tagged as a create would have, its own tags kept"
    );
    let plan = plan_for(provider.as_ref(), &spec).await;
    assert!(!plan.has_changes(), "{:#?}", plan.actions);

    // A second import of the same is nothing to do, and says so.
    let again = import::prepare(
        provider.as_ref(),
        &spec,
        &addr("ecs_service.server"),
        SERVICE_ARN,
    )
    .await
    .unwrap_err();
    assert!(matches!(again, ImportError::AlreadyOwned { .. }), "{again}");
}

#[tokio::test]
async fn after_an_import_the_plan_shows_where_spec_and_service_differ() {
    let provider = production_by_hand();
    let text = std::fs::read_to_string(&production_spec("protected").path).unwrap();
    let spec = SpecFile::write(
        "production-live",
        &text.replace("desired_count = 2", "desired_count = 3"),
    )
    .load();
    let prepared = import::prepare(
        provider.as_ref(),
        &spec,
        &addr("ecs_service.server"),
        SERVICE_ARN,
    )
    .await
    .unwrap();
    import::carry_out(provider.as_ref(), &prepared)
        .await
        .unwrap();
    let plan = plan_for(provider.as_ref(), &spec).await;
    let changed: Vec<String> = plan
        .actions
        .iter()
        .map(|a| format!("{} {}", a.action.symbol(), a.address))
        .collect();
    assert_eq!(changed, ["+ ecs_cluster.main", "~ ecs_service.server"]);
}

#[tokio::test]
async fn import_into_an_ephemeral_environment_is_refused() {
    let provider = production_by_hand();
    let spec = production_spec("ephemeral").load();
    let refused = import::prepare(
        provider.as_ref(),
        &spec,
        &addr("ecs_service.server"),
        SERVICE_ARN,
    )
    .await
    .unwrap_err();
    assert!(matches!(refused, ImportError::NotProtected { .. }));
    let shown = report(refused);
    assert!(
        shown.contains("would let `destroy` and `reap` delete"),
        "{shown}"
    );
    assert!(
        shown.contains("hint: import only into a protected environment"),
        "{shown}"
    );
    assert_eq!(
        provider.snapshot().resources[SERVICE_ARN].tags,
        [("team".to_string(), "platform".to_string())].into(),
        "nothing tagged"
    );
}

#[tokio::test]
async fn a_resource_another_environment_owns_is_not_imported() {
    let provider = production_by_hand();
    // The cluster is staging's, made by rehearsal.
    let staging = env_id("staging");
    let mut cluster = provider.snapshot().resources[CLUSTER_ARN].clone();
    cluster.tags = owned_tags(&staging, "ecs_cluster.main", "production");
    provider.insert_resource(cluster.clone());

    let spec = production_spec("protected").load();
    let refused = import::prepare(
        provider.as_ref(),
        &spec,
        &addr("ecs_cluster.main"),
        "production",
    )
    .await
    .unwrap_err();
    assert!(
        report(refused).contains("already belongs to openchs/staging"),
        "refused"
    );
    assert_eq!(provider.snapshot().resources[CLUSTER_ARN], cluster);
}

#[tokio::test]
async fn an_address_the_spec_does_not_declare_is_refused_with_what_it_does() {
    let provider = production_by_hand();
    let spec = production_spec("protected").load();
    let undeclared = import::prepare(
        provider.as_ref(),
        &spec,
        &addr("ecs_service.web"),
        "production/server",
    )
    .await
    .unwrap_err();
    let shown = report(undeclared);
    assert!(
        shown.contains("ecs_service.web is not a resource of"),
        "{shown}"
    );
    assert!(
        shown.contains("hint: it declares: ecs_service.server"),
        "{shown}"
    );

    let no_kind = import::prepare(
        provider.as_ref(),
        &spec,
        &addr("rds_instance.db"),
        "production-db",
    )
    .await
    .unwrap_err();
    assert!(report(no_kind).contains("hint: declare it first: add [resources.rds_instance.db]"),);

    // The id must be what the address declares.
    let other = import::prepare(
        provider.as_ref(),
        &spec,
        &addr("ecs_service.server"),
        "production/web",
    )
    .await
    .unwrap_err();
    assert!(matches!(other, ImportError::Mismatch { .. }), "{other}");
    let calls_before = provider.calls(rehearsal::provider::fake::FakeOp::Update);
    assert_eq!(calls_before, 0, "nothing was tagged");
}

#[tokio::test]
async fn a_server_cannot_be_imported_its_proof_is_its_launch_token() {
    let provider = production_by_hand();
    let spec = SpecFile::write(
        "production-live",
        r#"
[environment]
project = "openchs"
name = "production-live"
region = "eu-west-1"
lifecycle = "protected"

[sources.ec2_instance.prod]
tags = { Name = "production-server" }

[resources.ec2_instance.server]
clone_of = "${source.ec2_instance.prod.id}"
drop_from_production = ["instance_profile"]
instance_type = "t3.medium"
"#,
    )
    .load();
    let refused = import::prepare(
        provider.as_ref(),
        &spec,
        &addr("ec2_instance.server"),
        "i-0a1b2c3d4e5f60001",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(refused, ImportError::Unsupported { .. }),
        "{refused}"
    );
}

#[tokio::test]
async fn a_refused_tag_write_says_to_import_with_an_administrators_credentials() {
    let provider = production_by_hand();
    let spec = production_spec("protected").load();
    provider.fail_address(
        rehearsal::provider::fake::FakeOp::Update,
        addr("ecs_service.server"),
        rehearsal::provider::ProviderError::AccessDenied {
            action: "ecs:TagResource".into(),
            message: "not authorized".into(),
        },
    );
    let prepared = import::prepare(
        provider.as_ref(),
        &spec,
        &addr("ecs_service.server"),
        SERVICE_ARN,
    )
    .await
    .unwrap();
    let refused = import::carry_out(provider.as_ref(), &prepared)
        .await
        .unwrap_err();
    let shown = report(refused);
    assert!(
        shown.contains("with an administrator's credentials that have docs/iam-import-policy.json"),
        "{shown}"
    );
}
