//! What rehearsal never does, against the emulator through the `rehearsal` binary: publish a
//! copy of production's data, lose track of what it made, adopt what it did not make, or take a
//! copied tag or another project's environment for its own.

use aws_sdk_ecs::types::Tag as EcsTag;

use crate::against_emulator::{
    FaultProxy, Proxying, REALISTIC, assert_unchanged, production, tagged,
};
use crate::emulator::Emulator;
use crate::project::{PRERELEASE_OWNS, Project};

async fn rds(em: &Emulator) -> aws_sdk_rds::Client {
    aws_sdk_rds::Client::new(&em.sdk_config().await)
}

async fn ecs(em: &Emulator) -> aws_sdk_ecs::Client {
    aws_sdk_ecs::Client::new(&em.sdk_config().await)
}

async fn publicly_accessible(em: &Emulator, identifier: &str) -> Option<bool> {
    rds(em)
        .await
        .describe_db_instances()
        .db_instance_identifier(identifier)
        .send()
        .await
        .expect("describe the database")
        .db_instances()[0]
        .publicly_accessible()
}

/// Names of the services in `cluster` that are not deleted.
async fn services_in(em: &Emulator, cluster: &str) -> Vec<String> {
    let ecs = ecs(em).await;
    let arns = ecs
        .list_services()
        .cluster(cluster)
        .send()
        .await
        .expect("list services")
        .service_arns()
        .to_vec();
    if arns.is_empty() {
        return vec![];
    }
    let described = ecs
        .describe_services()
        .cluster(cluster)
        .set_services(Some(arns))
        .send()
        .await
        .expect("describe services");
    described
        .services()
        .iter()
        .filter(|s| s.status() != Some("INACTIVE"))
        .filter_map(|s| s.service_name().map(str::to_owned))
        .collect()
}

async fn cluster_is_active(em: &Emulator, name: &str) -> bool {
    ecs(em)
        .await
        .describe_clusters()
        .clusters(name)
        .send()
        .await
        .expect("describe clusters")
        .clusters()
        .iter()
        .any(|c| c.status() == Some("ACTIVE"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_copy_of_production_is_private_even_when_production_is_public() {
    let em = Emulator::start();
    let prod = em.seed_production();
    // Someone made production's database public. A restore that does not say otherwise copies
    // that (moto), or is public by default in a VPC with an internet gateway (AWS).
    rds(&em)
        .await
        .modify_db_instance()
        .db_instance_identifier(&prod.db_identifier)
        .publicly_accessible(true)
        .apply_immediately(true)
        .send()
        .await
        .expect("make production public");
    let before = production(&em, &prod).await;
    let project = Project::against(em.endpoint());

    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .exits(0)
        .shows("publicly_accessible = false");
    project
        .rehearsal(&["apply", "plans/prerelease.plan.json"])
        .run()
        .exits(0);
    assert_eq!(publicly_accessible(&em, "prerelease-db").await, Some(false));
    project
        .rehearsal(&["plan", "prerelease", "--detailed-exitcode"])
        .run()
        .exits(0)
        .shows("No changes.");
    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    assert_unchanged(&before, &production(&em, &prod).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_in_a_cluster_the_environment_does_not_own_is_found_and_destroyed() {
    let em = Emulator::start();
    let prod = em.seed_production();
    ecs(&em)
        .await
        .create_cluster()
        .cluster_name("shared")
        .send()
        .await
        .expect("a cluster made by hand");
    let before = production(&em, &prod).await;
    let project = Project::against(em.endpoint());
    project.edit(
        "prerelease",
        "cluster = \"${ecs_cluster.main.name}\"",
        "cluster = \"shared\"",
    );

    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    assert_eq!(services_in(&em, "shared").await, ["server"]);
    project
        .rehearsal(&["plan", "prerelease", "--detailed-exitcode"])
        .run()
        .exits(0)
        .shows("No changes.");

    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .exits(0)
        .shows("- ecs_service.server")
        .shows("Proof:");
    assert!(
        services_in(&em, "shared").await.is_empty(),
        "the service is gone"
    );
    assert!(
        cluster_is_active(&em, "shared").await,
        "the cluster it ran in is not the environment's, and stays"
    );
    assert_eq!(tagged(&em, "prerelease").await, Vec::<String>::new());
    assert_unchanged(&before, &production(&em, &prod).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_of_the_same_name_made_by_hand_is_never_adopted() {
    let em = Emulator::start();
    em.seed_production();
    // A hand-made cluster that happens to have the name the spec asks for, even with a
    // rehearsal:env tag someone copied.
    ecs(&em)
        .await
        .create_cluster()
        .cluster_name("prerelease")
        .tags(
            EcsTag::builder()
                .key("rehearsal:env")
                .value("prerelease")
                .build(),
        )
        .send()
        .await
        .expect("a cluster made by hand");
    // ECS answers CreateCluster of a name in use with the existing cluster (moto replaces it):
    // in realistic mode, as AWS does. rehearsal refuses it and names it.
    let proxy = FaultProxy::start(
        em.endpoint(),
        Proxying {
            realism: Some(REALISTIC),
            ..Proxying::default()
        },
    );
    let project = Project::against(&proxy.endpoint);

    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(4)
        .shows("ecs_cluster.main")
        .shows("never adopts");
    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    assert!(
        cluster_is_active(&em, "prerelease").await,
        "the hand-made cluster is still there"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_restored_by_hand_from_a_rehearsal_snapshot_is_not_the_environments() {
    let em = Emulator::start();
    em.seed_production();
    let project = Project::against(em.endpoint());
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);

    // Restored by hand without tags: RDS gives the new database the snapshot's tags, so it
    // carries every rehearsal tag of the snapshot.
    let rds = rds(&em).await;
    let snapshot = rds
        .describe_db_snapshots()
        .db_snapshot_identifier("prerelease-from-prod")
        .send()
        .await
        .unwrap()
        .db_snapshots()[0]
        .clone();
    let snapshot_tags = rds
        .list_tags_for_resource()
        .resource_name(snapshot.db_snapshot_arn().unwrap())
        .send()
        .await
        .unwrap()
        .tag_list()
        .to_vec();
    assert!(
        snapshot_tags
            .iter()
            .any(|t| t.key() == Some("rehearsal:env")),
        "the snapshot carries rehearsal's tags"
    );
    rds.restore_db_instance_from_db_snapshot()
        .db_instance_identifier("debugging-copy")
        .db_snapshot_identifier("prerelease-from-prod")
        .set_tags(Some(snapshot_tags))
        .send()
        .await
        .expect("a restore by hand");

    project
        .rehearsal(&["plan", "prerelease", "--detailed-exitcode"])
        .run()
        .exits(0)
        .shows("No changes.");
    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    let left: Vec<String> = rds
        .describe_db_instances()
        .send()
        .await
        .unwrap()
        .db_instances()
        .iter()
        .filter_map(|d| d.db_instance_identifier().map(str::to_owned))
        .collect();
    assert!(
        left.contains(&"debugging-copy".to_string()),
        "the copy made by hand is not rehearsal's to delete: {left:?}"
    );
    assert!(!left.contains(&"prerelease-db".to_string()), "{left:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_projects_prerelease_in_the_same_account_is_left_alone() {
    let em = Emulator::start();
    em.seed_production();
    let ours = Project::against(em.endpoint());
    let theirs = Project::against(em.endpoint());
    // Another team's pre-release: the same environment name, its own project and names.
    for (from, to) in [
        ("project = \"openchs\"", "project = \"avni-etl\""),
        ("\"prerelease-from-prod\"", "\"etl-prerelease-from-prod\""),
        ("\"prerelease-db\"", "\"etl-prerelease-db\""),
        (
            "[resources.ecs_cluster.main]\nname = \"prerelease\"",
            "[resources.ecs_cluster.main]\nname = \"etl-prerelease\"",
        ),
        (
            "family = \"prerelease-server\"",
            "family = \"etl-prerelease-server\"",
        ),
        // Group names are unique in a VPC, record names in a zone.
        ("\"prerelease-server-sg\"", "\"etl-prerelease-server-sg\""),
        ("\"prerelease-db-sg\"", "\"etl-prerelease-db-sg\""),
        (
            "\"prerelease.example.com\"",
            "\"etl-prerelease.example.com\"",
        ),
    ] {
        theirs.edit("prerelease", from, to);
    }
    theirs
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    let theirs_before = tagged(&em, "prerelease").await;
    assert_eq!(theirs_before.len(), PRERELEASE_OWNS, "{theirs_before:#?}");

    // Ours plans everything as new: nothing of theirs is a "duplicate" or a leftover.
    ours.rehearsal(&["plan", "prerelease"])
        .run()
        .exits(0)
        .shows("Plan: 9 to create, 0 to update, 0 to replace, 0 to delete.");
    ours.rehearsal(&["apply", "plans/prerelease.plan.json"])
        .run()
        .exits(0);
    ours.rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    assert_eq!(
        tagged(&em, "prerelease").await,
        theirs_before,
        "theirs is exactly as it was"
    );
    // Without a spec, destroy needs to be told whose prerelease it is.
    std::fs::remove_file(ours.path("environments/prerelease.toml")).unwrap();
    ours.rehearsal(&[
        "destroy",
        "prerelease",
        "--auto-approve",
        "--region",
        "eu-west-1",
    ])
    .run()
    .exits(64)
    .shows("--project");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_volume_the_servers_image_keeps_is_deleted_by_destroy_and_covered_by_its_proof() {
    let em = Emulator::start();
    let prod = em.seed_production();
    let before = production(&em, &prod).await;
    // Realistic mode launches with the image's block device mapping, and moto's images keep
    // their root volume when the instance ends (DeleteOnTermination false).
    let proxy = FaultProxy::start(
        em.endpoint(),
        Proxying {
            realism: Some(REALISTIC),
            ..Proxying::default()
        },
    );
    let project = Project::against(&proxy.endpoint);
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    let volumes: Vec<String> = tagged(&em, "prerelease")
        .await
        .into_iter()
        .filter(|t| t.starts_with("volume "))
        .collect();
    assert_eq!(volumes.len(), 1, "{volumes:?}");
    assert!(volumes[0].ends_with(" in-use"), "{volumes:?}");
    project
        .rehearsal(&["status", "prerelease"])
        .run()
        .exits(0)
        .shows("ebs_volume.server");

    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .exits(0)
        .shows("- ebs_volume.server")
        .shows("Proof: a final listing finds nothing");
    assert_eq!(
        tagged(&em, "prerelease").await,
        Vec::<String>::new(),
        "the volume is not left billing"
    );
    assert_unchanged(&before, &production(&em, &prod).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_named_like_productions_in_its_cluster_is_refused_before_the_create() {
    let em = Emulator::start();
    let prod = em.seed_production();
    let before = production(&em, &prod).await;
    let project = Project::against(em.endpoint());
    // A new user's spec: a service with production's name, in production's cluster. moto would
    // replace production's service and tag it; ECS would refuse the create; rehearsal asks first.
    project.edit(
        "prerelease",
        "cluster = \"${ecs_cluster.main.name}\"",
        "cluster = \"production\"",
    );

    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(4)
        .shows("ecs_service.server")
        .shows("there is already a ecs_service by that name")
        .shows("never adopts");
    // The next plan does not take production's service for the environment's, and destroy
    // leaves it running.
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .exits(0)
        .shows("+ ecs_service.server");
    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    assert_eq!(services_in(&em, "production").await, ["server"]);
    assert_unchanged(&before, &production(&em, &prod).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_restored_copy_runs_on_productions_parameter_and_option_groups_and_copies_its_tags() {
    let em = Emulator::start();
    em.seed_production();
    let project = Project::against(em.endpoint());
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .exits(0)
        // A fresh snapshot of a Single-AZ production suspends its I/O: the plan says so.
        .shows("a Single-AZ source database suspends its I/O");
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    let copy = rds(&em)
        .await
        .describe_db_instances()
        .db_instance_identifier("prerelease-db")
        .send()
        .await
        .expect("the copy")
        .db_instances()[0]
        .clone();
    // Left out of the restore, RDS would run the copy on the engine's default parameter group.
    assert_eq!(
        copy.db_parameter_groups()[0].db_parameter_group_name(),
        Some("production-postgres")
    );
    assert_eq!(
        copy.option_group_memberships()[0].option_group_name(),
        Some("production-postgres-options")
    );
    // A final snapshot of it starts with its tags, and destroy gives it ownership of its own.
    assert_eq!(copy.copy_tags_to_snapshot(), Some(true));
    project
        .rehearsal(&["plan", "prerelease", "--detailed-exitcode"])
        .run()
        .exits(0);
}
