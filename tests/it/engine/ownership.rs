//! What is ours: only what rehearsal created for this project and this environment, proven by
//! tags bound to the resource's own anchor (see `rehearsal::engine::ownership`). Copied tags, a namesake
//! environment of another project, and a create that hands back someone else's object all
//! fail the proof, and rehearsal neither plans, changes nor deletes them.

use rehearsal::engine::destroy::{self, DestroyOptions};

use super::*;
use crate::support::env_id;

/// A copy of a live resource under another id and anchor, with its tags as they were: what RDS
/// makes of a database restored by hand from a rehearsal snapshot, or EC2 of "launch more like
/// this".
fn copied(original: &FakeResource, id: &str, anchor: (&str, &str)) -> FakeResource {
    let mut copy = FakeResource {
        id: id.into(),
        ..original.clone()
    };
    copy.attributes.insert(anchor.0.into(), json!(anchor.1));
    copy.attributes.insert("id".into(), json!(id));
    // Made by hand in production's groups: a copy in one of the environment's groups would keep
    // that group from being deleted (DependencyViolation) until the copy goes.
    if copy.attributes.contains_key("security_groups") {
        copy.attributes
            .insert("security_groups".into(), json!(["sg-0prodserver1"]));
    }
    copy
}

async fn destroy_prerelease(provider: &Arc<FakeProvider>) -> destroy::DestroyReport {
    destroy::destroy(
        provider.clone(),
        &env_id("prerelease"),
        Arc::new(Silent),
        &DestroyOptions::default(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn copied_tags_prove_nothing_so_the_copies_are_left_alone() {
    let provider = production();
    let spec = shipped("prerelease");
    converge(provider.clone(), &spec).await;
    let db = live_one(&provider, "rds_instance.db");
    let server = live_one(&provider, "ec2_instance.server");
    provider.insert_resource(copied(
        &db,
        "hand-restored",
        ("identifier", "hand-restored"),
    ));
    provider.insert_resource(copied(
        &server,
        "i-0handlaunched0000",
        ("client_token", "launched-by-hand"),
    ));

    let plan = plan_for(provider.as_ref(), &spec).await;
    assert!(!plan.has_changes(), "{}", human(&plan, PLAIN));
    let report = destroy_prerelease(&provider).await;
    assert!(report.leftovers.is_empty(), "{report:#?}");
    assert_eq!(
        report.deleted.len(),
        10,
        "nine resources and the server's volume"
    );
    let cloud = provider.snapshot();
    assert!(cloud.resources.contains_key("hand-restored"));
    assert!(cloud.resources.contains_key("i-0handlaunched0000"));
}

#[tokio::test]
async fn a_namesake_environment_of_another_project_is_not_ours() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    // Another team's `prerelease`, in the same account, with names of its own.
    let mut text = shipped_text("prerelease");
    for (from, to) in [
        ("project = \"openchs\"", "project = \"moped\""),
        ("\"prerelease-from-prod\"", "\"moped-from-prod\""),
        ("\"prerelease-db\"", "\"moped-db\""),
        ("name = \"prerelease\"\n\n", "name = \"moped\"\n\n"),
        ("\"prerelease-server\"", "\"moped-server\""),
        // A task-definition family is one name in the account: a family with openchs's
        // revisions is not moped's to add to.
        (
            "family = \"prerelease-server\"",
            "family = \"moped-server\"",
        ),
        ("\"prerelease.example.com\"", "\"moped.example.com\""),
        // Group names are unique in a VPC.
        ("\"prerelease-server-sg\"", "\"moped-server-sg\""),
        ("\"prerelease-db-sg\"", "\"moped-db-sg\""),
    ] {
        text = edit(&text, from, to);
    }
    let moped = SpecFile::write("prerelease", &text);
    let moped = moped.load();
    let plan = plan_for(provider.as_ref(), &moped).await;
    assert_eq!(
        plan.count(ActionKind::Create),
        9,
        "it sees none of openchs's"
    );
    assert_eq!(
        plan.count(ActionKind::Delete),
        0,
        "and deletes none of them"
    );
    converge(provider.clone(), &moped).await;

    let report = destroy::destroy(
        provider.clone(),
        &moped.env,
        Arc::new(Silent),
        &DestroyOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        report.deleted.len(),
        10,
        "nine resources and the server's volume"
    );
    assert!(
        !plan_for(provider.as_ref(), &shipped("prerelease"))
            .await
            .has_changes(),
        "openchs's prerelease is whole"
    );
}

#[tokio::test]
async fn a_cluster_of_the_same_name_made_by_hand_is_never_adopted() {
    let provider = production();
    let arn = "arn:aws:ecs:eu-west-1:000000000000:cluster/prerelease";
    let by_hand = FakeResource {
        region: REGION.into(),
        kind: ResourceKind::EcsCluster,
        id: arn.into(),
        status: "ACTIVE".into(),
        attributes: json!({"name": "prerelease", "arn": arn, "id": arn})
            .as_object()
            .cloned()
            .unwrap(),
        tags: [("team".to_string(), "platform".to_string())].into(),
        transition: None,
        visible_from_ms: None,
    };
    provider.insert_resource(by_hand.clone());

    let spec = shipped("prerelease");
    let plan = plan_for(provider.as_ref(), &spec).await;
    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    let (step, error) = &summary.failed[0];
    assert_eq!(step, "+ ecs_cluster.main");
    assert!(
        matches!(error, StepError::Provider(ProviderError::NotOurs { .. })),
        "{error:?}"
    );
    assert!(
        summary
            .skipped
            .iter()
            .any(|(s, _)| s == "+ ecs_service.server"),
        "{summary:#?}"
    );
    assert_eq!(
        provider.snapshot().resources[arn],
        by_hand,
        "left exactly as it was"
    );

    // Destroy removes what this apply made, and not the cluster.
    let report = destroy_prerelease(&provider).await;
    assert!(report.leftovers.is_empty(), "{report:#?}");
    assert!(provider.snapshot().resources.contains_key(arn));
}

/// An object made by hand, untagged, with the name or identifier the spec asks for.
fn by_hand(kind: ResourceKind, id: &str, attributes: serde_json::Value) -> FakeResource {
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

#[tokio::test]
async fn a_group_or_snapshot_of_the_same_name_made_by_hand_is_refused_before_the_create() {
    let provider = production();
    let group = by_hand(
        ResourceKind::SecurityGroup,
        "sg-0byhand",
        json!({"name": "prerelease-server-sg", "vpc_id": "vpc-0prod0001", "id": "sg-0byhand"}),
    );
    let snapshot = by_hand(
        ResourceKind::RdsSnapshot,
        "prerelease-from-prod",
        json!({"identifier": "prerelease-from-prod", "source_db": "production-db"}),
    );
    provider.insert_resource(group.clone());
    provider.insert_resource(snapshot.clone());
    let creates_before = provider.calls(FakeOp::Create);

    let spec = shipped("prerelease");
    let plan = plan_for(provider.as_ref(), &spec).await;
    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    for step in ["+ security_group.server", "+ rds_snapshot.from_prod"] {
        let (_, error) = summary
            .failed
            .iter()
            .find(|(s, _)| s == step)
            .unwrap_or_else(|| panic!("{step} failed: {summary:#?}"));
        assert!(
            error.to_string().contains("never adopts"),
            "{step}: {error}"
        );
    }
    // Refused before the create call: neither name was sent to AWS as a create.
    let snapshot_now = provider.snapshot();
    assert_eq!(
        snapshot_now.resources["sg-0byhand"], group,
        "left as it was"
    );
    assert_eq!(
        snapshot_now.resources["prerelease-from-prod"], snapshot,
        "left as it was"
    );
    let created = summary.done.iter().filter(|s| s.starts_with("+ ")).count();
    assert_eq!(
        provider.calls(FakeOp::Create) - creates_before,
        u64::try_from(created).unwrap(),
        "only the creates that succeeded were sent; the refused ones never were"
    );

    let report = destroy_prerelease(&provider).await;
    assert!(report.leftovers.is_empty(), "{report:#?}");
    let after = provider.snapshot();
    assert!(after.resources.contains_key("sg-0byhand"));
    assert!(after.resources.contains_key("prerelease-from-prod"));
}
