//! A first plan: what a new environment plans, and sources that are missing.

use super::*;

#[tokio::test]
async fn a_new_environment_plans_nine_creates_each_with_a_reason() {
    let provider = production();
    let plan = plan_for(provider.as_ref(), &shipped("prerelease")).await;

    assert_eq!(
        labels(&plan),
        [
            "+ rds_snapshot.from_prod",
            "+ ecs_cluster.main",
            "+ security_group.server",
            "+ security_group.db",
            "+ rds_instance.db",
            "+ ec2_instance.server",
            "+ ecs_task_definition.server",
            "+ ecs_service.server",
            "+ dns_record.server",
        ]
    );
    for action in &plan.actions {
        assert_eq!(
            rehearsal::plan::render::reason(&plan, action),
            "because it does not exist yet",
            "{}",
            action.address
        );
    }

    // What production told the plan is already filled in; what only exists after apply is not.
    let db = plan
        .actions
        .iter()
        .find(|a| a.address == addr("rds_instance.db"))
        .unwrap();
    let desired = db.desired.as_ref().unwrap();
    assert_eq!(desired["snapshot"], "prerelease-from-prod");
    assert_eq!(desired["subnet_group"], "production-db-subnets");
    assert_eq!(
        desired["security_groups"],
        json!(["${security_group.db.id}"]),
        "its own group, known once created"
    );
    assert_eq!(
        db.depends_on,
        [addr("rds_snapshot.from_prod"), addr("security_group.db")]
    );
    // Production's VPC is filled in, and so are the rules that wait for nothing.
    let group = plan
        .actions
        .iter()
        .find(|a| a.address == addr("security_group.server"))
        .unwrap();
    let desired = group.desired.as_ref().unwrap();
    assert_eq!(desired["vpc_id"], "vpc-0prod0001");
    assert_eq!(
        desired["ingress"],
        json!([{"protocol": "tcp", "from_port": 8080, "to_port": 8080, "cidr": "10.0.0.0/16"}])
    );
    assert!(
        human(&plan, PLAIN).contains("ingress = [tcp 8080 from 10.0.0.0/16]"),
        "{}",
        human(&plan, PLAIN)
    );
    let server = plan
        .actions
        .iter()
        .find(|a| a.address == addr("ec2_instance.server"))
        .unwrap();
    assert_eq!(
        server.desired.as_ref().unwrap()["clone_of"],
        "i-0a1b2c3d4e5f60001"
    );
    let user_data = server
        .changes
        .iter()
        .find(|c| c.name == "user_data")
        .unwrap();
    assert_eq!(
        user_data.after, None,
        "the database endpoint is known only after apply"
    );

    let shown = human(&plan, PLAIN);
    assert!(
        shown.starts_with(
            "Using server_version = 3.1.0 (from server/version/minor_version).\n\
             rehearsal will make these changes to prerelease (eu-west-1):"
        ),
        "{shown}"
    );
    assert!(
        shown.contains("  + rds_instance.db\n      because it does not exist yet\n"),
        "{shown}"
    );
    assert!(
        shown.contains("        instance_class = db.t3.medium\n"),
        "{shown}"
    );
    assert!(
        shown.contains("        user_data = (known after apply)\n"),
        "{shown}"
    );
    assert!(
        shown.contains("Plan: 9 to create, 0 to update, 0 to replace, 0 to delete.\n"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_source_production_does_not_have_is_named_with_where_it_is_declared() {
    let provider = production();
    let edited = prerelease_edited(
        "identifier = \"production-db\"",
        "identifier = \"production-dbb\"",
    );
    let err = workflow::make_plan(provider.as_ref(), &edited.load())
        .await
        .unwrap_err();
    assert!(matches!(err, PlanError::Source { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "cannot look up source.rds_instance.prod_db (rds_instance production-dbb, declared at {}:37:1): \
             rds_instance production-dbb was not found",
            edited.path.display()
        )
    );
    assert!(
        err.hint()
            .unwrap()
            .contains("check the identifier, name or tags")
    );
}

/// Every kind in the registry is found again by the fake's observe: a kind its scan forgot
/// would let `destroy` prove "nothing left" while that kind's resources stay. The shipped
/// pre-release spec declares every kind; a new kind belongs in it (or in this test's spec).
#[tokio::test]
async fn every_registered_kind_is_observed_after_apply() {
    let provider = production();
    let spec = shipped("prerelease");
    converge(provider.clone(), &spec).await;
    let found: std::collections::BTreeSet<ResourceKind> = provider
        .observe(&spec.env, &Default::default())
        .await
        .unwrap()
        .iter()
        .map(|r| r.address.kind)
        .collect();
    for kind in ResourceKind::ALL {
        assert!(
            found.contains(kind),
            "no {kind} was observed after apply: is it in environments/prerelease.toml, and \
             does the fake's observe see it?"
        );
    }
}

/// A spec and the plan made from it declare the same names (one computation,
/// `kinds::declared`): the task-definition family, looked up by name, and the zone, the only
/// one whose records are listed (see README "How it works").
#[tokio::test]
async fn a_plan_declares_what_its_spec_declares() {
    let provider = production();
    let spec = shipped("prerelease");
    let plan = plan_for(provider.as_ref(), &spec).await;
    let declared = spec.declared();
    assert_eq!(plan.declared(), declared);
    let names = |kind| declared.of(kind).collect::<Vec<_>>();
    assert_eq!(
        names(ResourceKind::EcsTaskDefinition),
        ["prerelease-server"]
    );
    assert_eq!(names(ResourceKind::DnsRecord), ["example.com"]);
    assert!(names(ResourceKind::Ec2Instance).is_empty());
}
