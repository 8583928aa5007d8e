//! Source look-ups: production read, never changed.

use std::collections::BTreeMap;

use rehearsal::model::SourceKind;
use rehearsal::provider::{Provider, ProviderError};
use serde_json::json;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_finds_every_source_kind() {
    let w = world().await;
    let p = &w.provider;
    let prod = &w.production;

    let by_tags = SourceQuery {
        kind: SourceKind::Ec2Instance,
        id: None,
        tags: BTreeMap::from([("Name".to_owned(), "production-server".to_owned())]),
        cluster: None,
    };
    let server = p
        .lookup(REGION, &by_tags)
        .await
        .expect("server by tags")
        .attributes;
    assert_eq!(server["id"], json!(prod.instance_id));
    assert_eq!(server["image"], json!(prod.ami_id));
    assert_eq!(server["subnet"], json!(prod.subnet_id));
    assert_eq!(server["vpc"], json!(prod.vpc_id));
    assert_eq!(
        server["security_groups"],
        json!([prod.security_groups.server])
    );
    assert_eq!(server["instance_type"], json!("t3.medium"));
    assert_eq!(server["state"], json!("running"));
    assert!(
        server["private_ip"]
            .as_str()
            .is_some_and(|ip| ip.starts_with("10.0.1."))
    );
    let by_id = p
        .lookup(
            REGION,
            &query(SourceKind::Ec2Instance, Some(&prod.instance_id)),
        )
        .await
        .expect("server by id");
    assert_eq!(by_id.attributes, server);

    let db = p
        .lookup(
            REGION,
            &query(SourceKind::RdsInstance, Some("production-db")),
        )
        .await
        .expect("db")
        .attributes;
    assert_eq!(db["identifier"], json!("production-db"));
    assert_eq!(db["engine"], json!("postgres"));
    assert_eq!(db["instance_class"], json!("db.t3.medium"));
    assert_eq!(db["subnet_group"], json!(prod.db_subnet_group));
    assert_eq!(db["security_groups"], json!([prod.security_groups.db]));
    assert_eq!(db["status"], json!("available"));
    assert_eq!(db["port"], json!(5432));
    for key in ["arn", "engine_version", "endpoint", "parameter_group"] {
        assert!(db[key].is_string(), "{key} missing from {db:?}");
    }

    let cluster = p
        .lookup(REGION, &query(SourceKind::EcsCluster, Some("production")))
        .await
        .expect("cluster")
        .attributes;
    assert_eq!(cluster["arn"], json!(prod.cluster_arn));
    assert_eq!(cluster["status"], json!("ACTIVE"));

    let mut service_query = query(SourceKind::EcsService, Some("server"));
    service_query.cluster = Some("production".into());
    let service = p
        .lookup(REGION, &service_query)
        .await
        .expect("service")
        .attributes;
    assert_eq!(service["arn"], json!(prod.service_arn));
    assert_eq!(service["cluster"], json!("production"));
    assert_eq!(service["task_definition"], json!(prod.task_definition_arn));
    assert_eq!(service["desired_count"], json!(1));

    // The newest ACTIVE revision of the family.
    w.ecs
        .register_task_definition()
        .family("server")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("server")
                .image("example/openchs-server:3.1.0")
                .memory(1024)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let td = p
        .lookup(
            REGION,
            &query(SourceKind::EcsTaskDefinition, Some("server")),
        )
        .await
        .expect("task definition")
        .attributes;
    assert_eq!(td["family"], json!("server"));
    assert_eq!(td["revision"], json!(2));
    assert_eq!(td["image"], json!("example/openchs-server:3.1.0"));
    assert!(
        td["arn"]
            .as_str()
            .is_some_and(|a| a.ends_with("task-definition/server:2"))
    );

    // Missing sources are NotFound, named as the query names them.
    let missing = [
        query(SourceKind::RdsInstance, Some("no-such-db")),
        query(SourceKind::Ec2Instance, Some("i-0123456789abcdef0")),
        SourceQuery {
            tags: BTreeMap::from([("Name".to_owned(), "no-such-server".to_owned())]),
            ..query(SourceKind::Ec2Instance, None)
        },
        query(SourceKind::EcsCluster, Some("no-such-cluster")),
        SourceQuery {
            cluster: Some("production".into()),
            ..query(SourceKind::EcsService, Some("no-such-service"))
        },
        SourceQuery {
            cluster: Some("no-such-cluster".into()),
            ..query(SourceKind::EcsService, Some("server"))
        },
        query(SourceKind::EcsTaskDefinition, Some("no-such-family")),
    ];
    for q in missing {
        match p.lookup(REGION, &q).await {
            Err(ProviderError::NotFound { what }) => assert_eq!(what, q.describe()),
            other => panic!("{}: expected NotFound, got {other:?}", q.describe()),
        }
    }
    assert_eq!(
        p.lookup(REGION, &query(SourceKind::RdsInstance, Some("no-such-db")))
            .await
            .unwrap_err()
            .to_string(),
        "rds_instance no-such-db was not found"
    );
    w.assert_production_untouched().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_by_tags_refuses_an_ambiguous_match() {
    let w = world().await;
    let second = w
        .ec2
        .run_instances()
        .image_id(&w.production.ami_id)
        .min_count(1)
        .max_count(1)
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Instance)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("Name")
                        .value("production-server")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let second_id = second.instances()[0].instance_id().unwrap().to_owned();
    let q = SourceQuery {
        kind: SourceKind::Ec2Instance,
        id: None,
        tags: BTreeMap::from([("Name".to_owned(), "production-server".to_owned())]),
        cluster: None,
    };
    match w.provider.lookup(REGION, &q).await {
        Err(ProviderError::Api { code, message, .. }) => {
            assert_eq!(code, "AmbiguousSource");
            assert!(message.contains(&w.production.instance_id), "{message}");
            assert!(message.contains(&second_id), "{message}");
        }
        other => panic!("expected an ambiguity error, got {other:?}"),
    }
    // A terminated twin no longer counts.
    w.ec2
        .terminate_instances()
        .instance_ids(&second_id)
        .send()
        .await
        .unwrap();
    let found = w.provider.lookup(REGION, &q).await.expect("one left");
    assert_eq!(found.attributes["id"], json!(w.production.instance_id));
}
