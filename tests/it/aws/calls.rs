//! How the provider talks to AWS: tags on the create calls, batched reads.

use rehearsal::provider::Provider;
use serde_json::json;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_ride_on_the_create_calls_and_observe_reads_in_batches() {
    let w = world().await;
    w.emulator.start_recording();
    create_one_of_each(&w).await;
    let calls = w.emulator.stop_recording();
    let actions: Vec<&str> = calls.iter().map(|c| c.action.as_str()).collect();
    for tagging in ["CreateTags", "AddTagsToResource", "TagResource"] {
        assert!(
            !actions.contains(&tagging),
            "tags were added after creation: {actions:?}"
        );
    }
    for create in [
        "CreateDBSnapshot",
        "RestoreDBInstanceFromDBSnapshot",
        "RunInstances",
        "CreateCluster",
        "RegisterTaskDefinition",
        "CreateService",
        "CreateSecurityGroup",
        // The owner record, in the same batch as the record.
        "ChangeResourceRecordSets",
    ] {
        let call = calls
            .iter()
            .find(|c| c.action == create)
            .unwrap_or_else(|| panic!("no {create} in {actions:?}"));
        assert!(
            call.body.contains("rehearsal%3Aenv") || call.body.contains("rehearsal:env"),
            "{create} carried no ownership tags: {}",
            call.body
        );
    }
    let run = calls.iter().find(|c| c.action == "RunInstances").unwrap();
    assert!(
        run.body.contains("ClientToken=test-ec2_instance-server"),
        "{}",
        run.body
    );

    // observe: a fixed number of list/describe calls per kind, whatever the number of resources;
    // only the environment's task definitions (no batch API) cost one call each,
    // and services one listing per cluster in the region (production's and pre-release's), since
    // a service of the environment may live in any cluster.
    w.emulator.start_recording();
    let all = w
        .provider
        .observe(&env(), &Default::default())
        .await
        .unwrap();
    let calls = w.emulator.stop_recording();
    assert_eq!(
        all.len(),
        9,
        "eight resources and the server's volume: {all:#?}"
    );
    let count = |action: &str| calls.iter().filter(|c| c.action == action).count();
    for action in [
        "DescribeInstances",
        "DescribeVolumes",
        "DescribeDBInstances",
        "DescribeDBSnapshots",
        "ListClusters",
        "DescribeClusters",
        "GetResources",
        "DescribeSecurityGroups",
        // Zones are few: one listing, then each zone's record sets (the seeded example.com).
        "ListHostedZones",
        "ListResourceRecordSets",
    ] {
        assert_eq!(
            count(action),
            1,
            "{action} in {:?}",
            calls.iter().map(|c| &c.action).collect::<Vec<_>>()
        );
    }
    // User data is compared by the digest its launch recorded in a tag, not read back: a
    // re-plan costs the same for any number of servers.
    assert_eq!(count("DescribeInstanceAttribute"), 0);
    // Ours only: production's task definition carries no `rehearsal:env` tag, so it is not even
    // described, and the account's revisions are never listed.
    assert_eq!(count("DescribeTaskDefinition"), 1);
    assert_eq!(count("ListTaskDefinitions"), 0);
    // Two DescribeServices more reach moto than rehearsal makes: the ECS layer in front of it
    // (see `Emulator`) describes what ListServices lists, to leave out deleted services as
    // AWS does.
    assert_eq!((count("ListServices"), count("DescribeServices")), (2, 4));
    // One call per kind and page, plus those two of the ECS layer's.
    assert_eq!(calls.len(), 17);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_definitions_are_found_by_tag_not_by_listing_the_account() {
    let w = world().await;
    create_one_of_each(&w).await;
    let (before, calls_before) = observe_recorded(&w).await;
    assert_eq!(before.len(), 9, "{before:#?}");

    // Someone else's family, untagged, with many revisions: on a real account, hundreds.
    for revision in 1..=15 {
        w.ecs
            .register_task_definition()
            .family("other-app")
            .container_definitions(
                aws_sdk_ecs::types::ContainerDefinition::builder()
                    .name("app")
                    .image(format!("other-app:{revision}"))
                    .memory(256)
                    .build(),
            )
            .send()
            .await
            .expect("register other-app");
    }
    let listed = w
        .ecs
        .list_task_definitions()
        .family_prefix("other-app")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.task_definition_arns().len(), 15);

    let (after, calls_after) = observe_recorded(&w).await;
    let ids = |all: &[LiveResource]| {
        all.iter()
            .map(|r| (r.address.to_string(), r.id.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&after), ids(&before));
    assert_eq!(count_of(&calls_before, "DescribeTaskDefinition"), 1);
    assert_eq!(
        count_of(&calls_after, "DescribeTaskDefinition"),
        count_of(&calls_before, "DescribeTaskDefinition"),
        "15 unrelated revisions cost observe nothing"
    );
    assert_eq!(calls_after.len(), calls_before.len());
    for calls in [&calls_before, &calls_after] {
        assert_eq!(count_of(calls, "GetResources"), 1);
        assert_eq!(count_of(calls, "ListTaskDefinitions"), 0);
    }

    // A revision of ours deregistered behind rehearsal's back: the Tagging API may keep listing
    // it (moto does), but it is no longer part of the environment.
    let stale = w
        .ecs
        .register_task_definition()
        .family("prerelease-server")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("server")
                .image("a:0")
                .memory(512)
                .build(),
        )
        .set_tags(Some(
            ownership_tags("ecs_task_definition.old", "prerelease-server")
                .into_iter()
                .map(|(k, v)| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .send()
        .await
        .unwrap();
    let stale_arn = stale
        .task_definition()
        .and_then(|td| td.task_definition_arn())
        .unwrap()
        .to_owned();
    w.ecs
        .deregister_task_definition()
        .task_definition(&stale_arn)
        .send()
        .await
        .unwrap();
    let (now, _) = observe_recorded(&w).await;
    assert_eq!(
        ids(&now),
        ids(&before),
        "the deregistered revision is not observed"
    );

    // list_environments finds task definitions of every environment through the same tag.
    let staging = request_in(
        "staging",
        "ecs_task_definition.server",
        json!({"family": "staging-server", "containers": [{"name": "server", "image": "a:1", "memory": 512}]}),
    );
    let (staging_op, _) = op("ecs_task_definition.server");
    w.provider
        .create(&staging_op, &staging)
        .await
        .expect("create staging's task definition");
    let envs = w.provider.list_environments(REGION).await.unwrap();
    let summary: Vec<(&str, usize)> = envs
        .iter()
        .map(|e| (e.name.as_str(), e.resources))
        .collect();
    assert_eq!(summary, [(ENV, 9), ("staging", 1)], "{envs:?}");
    w.assert_production_untouched().await;
}

/// Every kind in the registry is found by the AWS provider's scan: a kind the scan forgot would
/// let `destroy` prove "nothing left" while that kind's resources keep running and billing.
/// `create_one_of_each` makes one of every kind; a new kind belongs there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_registered_kind_is_found_by_the_scan() {
    let w = world().await;
    create_one_of_each(&w).await;
    let found: std::collections::BTreeSet<rehearsal::model::ResourceKind> = w
        .provider
        .observe(&env(), &Default::default())
        .await
        .unwrap()
        .iter()
        .map(|r| r.address.kind)
        .collect();
    for kind in rehearsal::model::ResourceKind::ALL {
        assert!(
            found.contains(kind),
            "the scan found no {kind}: is it created by create_one_of_each, and scanned?"
        );
    }
    let listed = w.provider.list_environments(REGION).await.unwrap();
    assert_eq!(
        listed[0].resources,
        rehearsal::model::ResourceKind::ALL.len()
    );
}

/// Route 53 allows five requests a second per account, shared with production's own
/// automation: observing an environment lists the records of the zones its spec names, not of
/// every zone in the account. Without a spec (`status`, `reap`, `destroy` without a spec file),
/// every zone is listed, as nothing else says where the environment's records are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observing_with_a_spec_lists_only_the_zones_it_names() {
    let w = world().await;
    create_one_of_each(&w).await;
    let route53 = aws_sdk_route53::Client::new(&w.emulator.sdk_config().await);
    let unrelated = route53
        .create_hosted_zone()
        .name("payments.example.org")
        .caller_reference("another-team")
        .send()
        .await
        .expect("another team's zone")
        .hosted_zone()
        .unwrap()
        .id()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let zone_of = |call: &RecordedCall| {
        call.url
            .split("/hostedzone/")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_default()
            .to_owned()
    };

    let declared = crate::support::shipped("prerelease").declared();
    assert_eq!(
        declared
            .of(rehearsal::model::ResourceKind::DnsRecord)
            .collect::<Vec<_>>(),
        ["example.com"]
    );
    w.emulator.start_recording();
    let found = w.provider.observe(&env(), &declared).await.unwrap();
    let calls = w.emulator.stop_recording();
    assert!(
        found
            .iter()
            .any(|r| r.address.to_string() == "dns_record.server"),
        "{found:#?}"
    );
    let listed: Vec<String> = calls
        .iter()
        .filter(|c| c.action == "ListResourceRecordSets")
        .map(zone_of)
        .collect();
    assert_eq!(listed, std::slice::from_ref(&w.production.hosted_zone_id));
    assert_eq!(count_of(&calls, "ListHostedZones"), 0);
    assert_eq!(count_of(&calls, "ListHostedZonesByName"), 1);

    // No spec: every zone, the other team's too.
    let (found_without, calls) = observe_recorded(&w).await;
    assert_eq!(found_without, found);
    let mut listed: Vec<String> = calls
        .iter()
        .filter(|c| c.action == "ListResourceRecordSets")
        .map(zone_of)
        .collect();
    listed.sort();
    let mut every = vec![w.production.hosted_zone_id.clone(), unrelated];
    every.sort();
    assert_eq!(listed, every);

    // A teardown with the spec lists every zone all the same: a record the spec has since moved
    // to another zone is still the environment's to delete.
    w.emulator.start_recording();
    let found_by_teardown = w
        .provider
        .observe(&env(), &declared.clone().listing_everywhere())
        .await
        .unwrap();
    let calls = w.emulator.stop_recording();
    assert_eq!(found_by_teardown, found);
    let mut listed: Vec<String> = calls
        .iter()
        .filter(|c| c.action == "ListResourceRecordSets")
        .map(zone_of)
        .collect();
    listed.sort();
    assert_eq!(listed, every);
}
