//! The environment's own network: security group rules that change in place, and groups that
//! AWS deletes only once nothing uses them.

use rehearsal::destroy::{self, DestroyOptions};
use rehearsal::provider::fake::{Outcome, Transition};

use super::*;

#[tokio::test]
async fn a_rule_change_is_an_in_place_update_that_names_the_rules() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    let before = live_one(&provider, "security_group.server");

    let edited = prerelease_edited(
        "{ protocol = \"tcp\", port = 8080,",
        "{ protocol = \"tcp\", port = 8443,",
    );
    let spec = edited.load();
    let plan = plan_for(provider.as_ref(), &spec).await;
    assert_eq!(labels(&plan), ["~ security_group.server"]);
    assert_eq!(
        rehearsal::plan::render::reason(&plan, &plan.actions[0]),
        "because ingress changed: + tcp 8443 from 10.0.0.0/16, - tcp 8080 from 10.0.0.0/16"
    );
    assert!(
        human(&plan, PLAIN).contains(
            "        ingress: + tcp 8443 from 10.0.0.0/16, - tcp 8080 from 10.0.0.0/16\n"
        ),
        "{}",
        human(&plan, PLAIN)
    );

    converge(provider.clone(), &spec).await;
    let after = live_one(&provider, "security_group.server");
    assert_eq!(after.id, before.id, "changed in place, not replaced");
    assert_eq!(
        after.attributes["ingress"],
        json!([{"protocol": "tcp", "from_port": 8443, "to_port": 8443, "cidr": "10.0.0.0/16"}])
    );
    assert!(!plan_for(provider.as_ref(), &spec).await.has_changes());
}

#[tokio::test]
async fn declared_egress_replaces_aws_default_and_undeclared_egress_is_left_to_aws() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    let db = live_one(&provider, "security_group.db");
    assert_eq!(
        db.attributes["egress"],
        json!([]),
        "AWS's allow-all revoked"
    );
    let server_group = live_one(&provider, "security_group.server");
    assert_eq!(
        server_group.attributes["egress"],
        json!([{"protocol": "-1", "cidr": "0.0.0.0/0"}]),
        "AWS's default kept"
    );
    // The database's group lets in the server's group alone.
    assert_eq!(
        db.attributes["ingress"],
        json!([{"protocol": "tcp", "from_port": 5432, "to_port": 5432, "security_group": server_group.id}])
    );
    let database = live_one(&provider, "rds_instance.db");
    assert_eq!(database.attributes["security_groups"], json!([db.id]));
    let server = live_one(&provider, "ec2_instance.server");
    assert_eq!(
        server.attributes["security_groups"],
        json!([server_group.id])
    );
}

/// An instance someone launched by hand into the environment's group, still shutting down
/// when teardown starts: AWS refuses to delete the group (DependencyViolation) until it is
/// gone, and teardown waits for that instead of failing.
#[tokio::test(start_paused = true)]
async fn a_group_still_in_use_is_deleted_once_its_user_is_gone() {
    let provider = Arc::new(FakeProvider::with_production(REGION).with_latency(Latency::aws()));
    let spec = shipped("prerelease");
    converge(provider.clone(), &spec).await;
    let group = live_one(&provider, "security_group.server");
    let mut attributes = rehearsal::model::Attributes::new();
    attributes.insert("security_groups".into(), json!([group.id]));
    provider.insert_resource(FakeResource {
        region: REGION.into(),
        kind: ResourceKind::Ec2Instance,
        id: "i-0byhand".into(),
        status: "shutting-down".into(),
        attributes,
        tags: BTreeMap::new(),
        transition: Some(Transition {
            since_ms: 0,
            phases: vec![("shutting-down".into(), 40 * 60 * 1000)],
            then: Outcome::Gone,
            applies: Default::default(),
        }),
        visible_from_ms: None,
    });

    let recorder = Arc::new(Recorder::default());
    let report = destroy::destroy(
        provider.clone(),
        &spec.env,
        recorder.clone(),
        &DestroyOptions {
            timeout: Duration::from_secs(3600),
            ..DestroyOptions::default()
        },
    )
    .await
    .unwrap();
    assert!(report.leftovers.is_empty(), "{report:#?}");
    assert!(
        report
            .deleted
            .contains(&format!("- security_group.server ({})", group.id)),
        "{report:#?}"
    );
    let waited = recorded(&recorder).iter().any(|e| {
        matches!(e, Event::Progress { message, .. }
            if message.contains("in use by ec2_instance i-0byhand"))
    });
    assert!(waited, "{:#?}", recorded(&recorder));
    assert!(!provider.snapshot().resources.contains_key(&group.id));
}
