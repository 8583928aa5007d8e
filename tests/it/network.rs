//! The pre-release's own network and name, through the `rehearsal` binary against the emulator
//! in realistic mode (AWS's refusals: DeleteSecurityGroup while something uses the group, a
//! Route 53 CREATE of a record that exists): its security groups with their rules, its DNS
//! record with the owner record that proves it is the environment's, rule changes in place, and
//! a teardown that removes them and proves it, leaving what is not the environment's alone.

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};

use crate::against_emulator::{FaultProxy, Proxying, REALISTIC, dns_records, tagged};
use crate::emulator::{Emulator, Production};
use crate::project::Project;

fn realistic(em: &Emulator) -> (FaultProxy, Project) {
    let proxy = FaultProxy::start(
        em.endpoint(),
        Proxying {
            realism: Some(REALISTIC),
            ..Proxying::default()
        },
    );
    let project = Project::against(&proxy.endpoint);
    (proxy, project)
}

/// A security group by name, as the emulator holds it.
async fn group_named(
    ec2: &aws_sdk_ec2::Client,
    name: &str,
) -> Option<aws_sdk_ec2::types::SecurityGroup> {
    ec2.describe_security_groups()
        .filters(Filter::builder().name("group-name").values(name).build())
        .send()
        .await
        .expect("describe security groups")
        .security_groups()
        .first()
        .cloned()
}

/// `tcp 8080 10.0.0.0/16`, `tcp 5432 sg-...`: a group's ingress rules, sorted.
fn ingress_of(group: &aws_sdk_ec2::types::SecurityGroup) -> Vec<String> {
    let mut out = vec![];
    for p in group.ip_permissions() {
        let head = format!(
            "{} {}",
            p.ip_protocol().unwrap_or_default(),
            p.from_port().unwrap_or(-1)
        );
        for r in p.ip_ranges() {
            out.push(format!("{head} {}", r.cidr_ip().unwrap_or_default()));
        }
        for g in p.user_id_group_pairs() {
            out.push(format!("{head} {}", g.group_id().unwrap_or_default()));
        }
    }
    out.sort();
    out
}

/// Every record set of the zone, as `name type values`.
async fn zone_records(route53: &aws_sdk_route53::Client, prod: &Production) -> Vec<String> {
    let sets = route53
        .list_resource_record_sets()
        .hosted_zone_id(&prod.hosted_zone_id)
        .send()
        .await
        .expect("list record sets");
    sets.resource_record_sets()
        .iter()
        .filter(|s| !matches!(s.r#type().as_str(), "NS" | "SOA"))
        .map(|s| {
            let values: Vec<&str> = s.resource_records().iter().map(|r| r.value()).collect();
            format!("{} {} {}", s.name(), s.r#type().as_str(), values.join(","))
        })
        .collect()
}

async fn create_record(
    route53: &aws_sdk_route53::Client,
    prod: &Production,
    name: &str,
    value: &str,
) {
    let set = ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::A)
        .ttl(300)
        .resource_records(ResourceRecord::builder().value(value).build().unwrap())
        .build()
        .unwrap();
    route53
        .change_resource_record_sets()
        .hosted_zone_id(&prod.hosted_zone_id)
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    Change::builder()
                        .action(ChangeAction::Create)
                        .resource_record_set(set)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("a record made by hand");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_prerelease_gets_its_own_groups_and_name_changes_rules_in_place_and_leaves_nothing() {
    let em = Emulator::start();
    let prod = em.seed_production();
    let config = em.sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let route53 = aws_sdk_route53::Client::new(&config);
    // Not the environment's: a record without an owner record, and another project's group
    // with that project's own ownership tags, for an address the spec also declares.
    create_record(&route53, &prod, "legacy.example.com", "10.0.1.200").await;
    let moped = rehearsal::model::EnvId {
        project: "moped".into(),
        name: "prerelease".into(),
        region: crate::emulator::REGION.into(),
    };
    let moped_tags = crate::support::owned_tags(&moped, "security_group.server", "moped-server-sg");
    let moped_group = ec2
        .create_security_group()
        .group_name("moped-server-sg")
        .description("another project's")
        .vpc_id(&prod.vpc_id)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::SecurityGroup)
                .set_tags(Some(
                    moped_tags
                        .iter()
                        .map(|(k, v)| Tag::builder().key(k).value(v).build())
                        .collect(),
                ))
                .build(),
        )
        .send()
        .await
        .expect("another project's group")
        .group_id()
        .unwrap()
        .to_owned();
    let (_proxy, project) = realistic(&em);

    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0)
        .shows("+ security_group.server")
        .shows("ingress = [tcp 8080 from 10.0.0.0/16]")
        .shows("+ dns_record.server");

    // The groups, with their rules: the database's lets in the server's group alone, and its
    // declared `egress = []` revoked AWS's allow-all.
    let server_sg = group_named(&ec2, "prerelease-server-sg")
        .await
        .expect("server group");
    let db_sg = group_named(&ec2, "prerelease-db-sg")
        .await
        .expect("db group");
    let server_sg_id = server_sg.group_id().unwrap().to_owned();
    assert_eq!(server_sg.vpc_id(), Some(prod.vpc_id.as_str()));
    assert_eq!(ingress_of(&server_sg), ["tcp 8080 10.0.0.0/16"]);
    assert_eq!(ingress_of(&db_sg), [format!("tcp 5432 {server_sg_id}")]);
    assert!(db_sg.ip_permissions_egress().is_empty(), "{db_sg:?}");
    assert_eq!(
        server_sg.ip_permissions_egress().len(),
        1,
        "AWS's default egress stays"
    );
    // The database and the server use them, not production's.
    let db = aws_sdk_rds::Client::new(&config)
        .describe_db_instances()
        .db_instance_identifier("prerelease-db")
        .send()
        .await
        .unwrap()
        .db_instances()[0]
        .clone();
    let db_groups: Vec<&str> = db
        .vpc_security_groups()
        .iter()
        .filter_map(|g| g.vpc_security_group_id())
        .collect();
    assert_eq!(db_groups, [db_sg.group_id().unwrap()]);
    let servers = ec2
        .describe_instances()
        .filters(
            Filter::builder()
                .name("tag:rehearsal:env")
                .values("prerelease")
                .build(),
        )
        .filters(
            Filter::builder()
                .name("instance-state-name")
                .values("running")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let server = &servers.reservations()[0].instances()[0];
    let server_groups: Vec<&str> = server
        .security_groups()
        .iter()
        .filter_map(|g| g.group_id())
        .collect();
    assert_eq!(server_groups, [server_sg_id.as_str()]);
    // The name, pointing at the server, with its owner record written beside it.
    let ip = server.private_ip_address().unwrap();
    assert_eq!(
        dns_records(&em, "prerelease").await,
        [format!("dns prerelease.example.com. A {ip}")]
    );
    let owner = zone_records(&route53, &prod)
        .await
        .into_iter()
        .find(|r| r.starts_with("_rehearsal.prerelease.example.com. TXT"))
        .expect("an owner record");
    for part in [
        "\"rehearsal:project=",
        "\"rehearsal:env=prerelease\"",
        "\"rehearsal:address=dns_record.server\"",
        "\"rehearsal:identity=",
    ] {
        assert!(owner.contains(part), "{owner}");
    }

    // A rule change is an update in place, and says which rules come and go.
    project.edit(
        "prerelease",
        "{ protocol = \"tcp\", port = 8080,",
        "{ protocol = \"tcp\", port = 8443,",
    );
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .exits(0)
        .shows("~ security_group.server")
        .shows("because ingress changed: + tcp 8443 from 10.0.0.0/16, - tcp 8080 from 10.0.0.0/16")
        .shows("Plan: 0 to create, 1 to update, 0 to replace, 0 to delete.");
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    let server_sg = group_named(&ec2, "prerelease-server-sg").await.unwrap();
    assert_eq!(
        server_sg.group_id(),
        Some(server_sg_id.as_str()),
        "the same group"
    );
    assert_eq!(ingress_of(&server_sg), ["tcp 8443 10.0.0.0/16"]);

    // Teardown: the groups after the server and the database that use them (AWS refuses
    // before), both records in one batch, and a listing that proves it.
    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .exits(0)
        .shows("- security_group.server")
        .shows("- dns_record.server")
        .shows("Proof:");
    // All that carries `rehearsal:env=prerelease` now is the other project's group.
    assert_eq!(
        tagged(&em, "prerelease").await,
        [format!("security-group {moped_group}")]
    );
    assert!(group_named(&ec2, "prerelease-server-sg").await.is_none());
    assert!(group_named(&ec2, "prerelease-db-sg").await.is_none());
    // Production's record and the one made by hand, as they were.
    let left: Vec<String> = zone_records(&route53, &prod)
        .await
        .into_iter()
        .filter(|r| !r.starts_with("app.example.com. A "))
        .collect();
    assert_eq!(left, ["legacy.example.com. A 10.0.1.200"]);
    assert!(
        group_named(&ec2, "moped-server-sg").await.is_some(),
        "another project's group stays"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_of_the_same_name_made_by_hand_is_refused_and_left_as_it_was() {
    let em = Emulator::start();
    let prod = em.seed_production();
    let route53 = aws_sdk_route53::Client::new(&em.sdk_config().await);
    create_record(&route53, &prod, "prerelease.example.com", "192.0.2.1").await;
    let before = zone_records(&route53, &prod).await;
    let (_proxy, project) = realistic(&em);

    // Route 53 refuses a CREATE of a record that exists (moto adds a second one; the realism
    // layer refuses, as AWS does): rehearsal says whose it is not and what to do.
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(4)
        .shows("dns_record.server")
        .shows("already exists")
        .shows("never takes one over");
    assert_eq!(
        zone_records(&route53, &prod).await,
        before,
        "the zone is as it was"
    );
    assert_eq!(dns_records(&em, "prerelease").await, Vec::<String>::new());

    // It is not the environment's: destroy removes everything else and leaves it.
    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    assert_eq!(tagged(&em, "prerelease").await, Vec::<String>::new());
    assert_eq!(zone_records(&route53, &prod).await, before);
}

/// The way out of production's subnets, as their route table holds it: a default route to a
/// NAT gateway, or to the internet gateway.
async fn default_route(ec2: &aws_sdk_ec2::Client, prod: &Production, to: Option<&str>) {
    let _ = ec2
        .delete_route()
        .route_table_id(&prod.private_route_table_id)
        .destination_cidr_block("0.0.0.0/0")
        .send()
        .await;
    if let Some(target) = to {
        let route = ec2
            .create_route()
            .route_table_id(&prod.private_route_table_id)
            .destination_cidr_block("0.0.0.0/0");
        let route = if target.starts_with("nat-") {
            route.nat_gateway_id(target)
        } else {
            route.gateway_id(target)
        };
        route.send().await.expect("a default route");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fargate_service_plans_only_where_its_tasks_can_pull_their_image() {
    use rehearsal::provider::Provider;
    let em = Emulator::start();
    let prod = em.seed_production();
    let ec2 = aws_sdk_ec2::Client::new(&em.sdk_config().await);

    // The provider reads the subnet's own route table; a subnet AWS does not know is left out.
    let egress = em
        .provider()
        .await
        .subnet_egress(
            crate::emulator::REGION,
            &[prod.subnet_id.clone(), "subnet-0000000000000dead".into()],
        )
        .await
        .unwrap();
    assert_eq!(egress.len(), 1, "{egress:?}");
    assert_eq!(
        egress[&prod.subnet_id].other_default_route.as_deref(),
        Some(prod.nat_gateway_id.as_str())
    );

    // Production's subnets reach the internet through the NAT gateway: the shipped pre-release
    // (assign_public_ip = false) plans.
    let project = Project::against(em.endpoint());
    project.rehearsal(&["plan", "prerelease"]).run().exits(0);

    // Without the route, the plan stops at the service's line.
    default_route(&ec2, &prod, None).await;
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .exits(1)
        .stderr_has(&format!(
            "error: environments/prerelease.toml:153:1: ecs_service.server: its Fargate tasks \
             could not pull their image: {}: its route table sends nothing to the internet",
            prod.subnet_id
        ));

    // ECR's endpoints do not help an image from Docker Hub.
    for (service, kind) in [
        ("ecr.api", aws_sdk_ec2::types::VpcEndpointType::Interface),
        ("ecr.dkr", aws_sdk_ec2::types::VpcEndpointType::Interface),
        ("s3", aws_sdk_ec2::types::VpcEndpointType::Gateway),
    ] {
        let endpoint = ec2
            .create_vpc_endpoint()
            .vpc_id(&prod.vpc_id)
            .service_name(format!(
                "com.amazonaws.{}.{service}",
                crate::emulator::REGION
            ))
            .vpc_endpoint_type(kind.clone());
        let endpoint = if kind == aws_sdk_ec2::types::VpcEndpointType::Gateway {
            endpoint.route_table_ids(&prod.private_route_table_id)
        } else {
            endpoint.subnet_ids(&prod.subnet_id)
        };
        endpoint.send().await.expect("a VPC endpoint");
    }
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .exits(1)
        .stderr_has("the VPC's ECR endpoints do not help, as the image is not in ECR");

    // An internet gateway takes tasks out only with a public address.
    default_route(&ec2, &prod, Some(&prod.internet_gateway_id)).await;
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .exits(1)
        .stderr_has(&format!(
            "through internet gateway {}, which only tasks with a public address can use",
            prod.internet_gateway_id
        ));
    project.edit(
        "prerelease",
        "assign_public_ip = false",
        "assign_public_ip = true",
    );
    project.rehearsal(&["plan", "prerelease"]).run().exits(0);
}
