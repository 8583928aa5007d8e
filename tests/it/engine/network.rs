//! The environment's own network: security group rules that change in place, and groups that
//! AWS deletes only once nothing uses them.

use rehearsal::apply::teardown::TeardownOptions;
use rehearsal::engine::destroy::{self, DestroyOptions};
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
            run: TeardownOptions {
                timeout: Duration::from_secs(3600),
                ..Default::default()
            },
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

/// Production's subnet, where the shipped pre-release runs its Fargate service.
const PROD_SUBNET: &str = "subnet-0prod0001";

#[tokio::test]
async fn a_fargate_service_whose_subnet_cannot_reach_its_image_is_refused_at_its_line() {
    let provider = production();
    provider.cut_off_subnet(PROD_SUBNET);
    let spec = shipped("prerelease");
    let err = workflow::make_plan(provider.as_ref(), &spec)
        .await
        .unwrap_err();
    assert!(matches!(err, PlanError::Egress { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "{}:153:1: ecs_service.server: its Fargate tasks could not pull their image: \
             subnet-0prod0001: its route table sends nothing to the internet (no 0.0.0.0/0 \
             route to an internet gateway or a NAT gateway), and its VPC has no ECR endpoints \
             (ecr.api, ecr.dkr and S3)",
            spec.path.display()
        )
    );
    let hint = err.hint().unwrap();
    assert!(hint.contains("NAT gateway"), "{hint}");
    assert!(hint.contains("assign_public_ip = true"), "{hint}");
    assert!(
        hint.contains("com.amazonaws.eu-west-1.ecr.api and ecr.dkr"),
        "{hint}"
    );
}

#[tokio::test]
async fn only_a_service_the_plan_starts_tasks_of_is_checked() {
    let provider = production();
    let spec = shipped("prerelease");
    converge(provider.clone(), &spec).await;
    provider.cut_off_subnet(PROD_SUBNET);
    // Nothing to change: no task is started, so nothing needs the way out.
    let plan = plan_for(provider.as_ref(), &spec).await;
    assert!(!plan.has_changes(), "{}", human(&plan, PLAIN));
    // A new server version is a new deployment, whose tasks pull the new image.
    let bumped = SpecFile::write("prerelease", &shipped_text("prerelease"))
        .load_with(&[("server_version", "9.9.9")]);
    let err = workflow::make_plan(provider.as_ref(), &bumped)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("ecs_service.server: its Fargate tasks could not pull their image"),
        "{err}"
    );
}

#[tokio::test]
async fn a_service_on_ec2_pulls_through_its_container_instances_and_is_not_checked() {
    let provider = production();
    provider.cut_off_subnet(PROD_SUBNET);
    let on_ec2 = prerelease_edited("launch_type = \"FARGATE\"", "launch_type = \"EC2\"");
    plan_for(provider.as_ref(), &on_ec2.load()).await;
}
