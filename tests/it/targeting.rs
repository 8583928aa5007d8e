//! `--target` / `--exclude` as a person uses them: plan a part of an environment and see what
//! came in with it and what stays as it is; apply an environment but one resource; destroy one
//! part and be told the rest remains. Against the fake cloud, as in `cli.rs`.

use serde_json::Value;

use crate::project::{PRERELEASE_OWNS, Project};

#[test]
fn a_targeted_plan_says_what_it_pulled_in_and_that_it_is_partial() {
    let project = Project::new();
    project
        .rehearsal(&["plan", "prerelease", "--target", "security_group.db"])
        .run()
        .snapshot("target-plan");
    project
        .rehearsal(&["show", "plans/prerelease.plan.json"])
        .run()
        .exits(0)
        .stdout_has("A partial plan: 2 of 9 resources considered.")
        .stdout_has("security_group.db needs security_group.server: included");

    let json = project
        .rehearsal(&[
            "plan",
            "prerelease",
            "--target",
            "security_group.db",
            "--json",
        ])
        .run()
        .exits(0)
        .json();
    assert_eq!(json["summary"]["changes"], 2);
    assert_eq!(json["summary"]["partial"]["considered"], 2);
    assert_eq!(json["summary"]["partial"]["total"], 9);
    let file: Value = serde_json::from_str(&project.read("plans/prerelease.plan.json")).unwrap();
    assert_eq!(file["targeting"]["targets"][0], "security_group.db");
    assert_eq!(
        project.owned_by("prerelease"),
        0,
        "planning changes nothing"
    );

    // A saved plan is applied as it was made: targeting it again is a usage error.
    project
        .rehearsal(&[
            "apply",
            "plans/prerelease.plan.json",
            "--target",
            "ecs_service.server",
        ])
        .run()
        .snapshot("target-a-saved-plan");
    project
        .rehearsal(&["apply", "plans/prerelease.plan.json", "--skip-checks"])
        .run()
        .exits(0);
    assert_eq!(
        project.owned_by("prerelease"),
        2,
        "the two groups, nothing else"
    );
}

#[test]
fn a_mistyped_target_is_a_usage_error_naming_the_closest_addresses() {
    Project::new()
        .rehearsal(&[
            "plan",
            "prerelease",
            "--target",
            "ecs_service.sever",
            "--detailed-exitcode",
        ])
        .run()
        .snapshot("target-a-typo");
    // Not an address at all: clap's own usage error.
    Project::new()
        .rehearsal(&["plan", "prerelease", "--exclude", "server"])
        .run()
        .exits(64)
        .stderr_has("is not an address like `rds_instance.db`");
}

#[test]
fn apply_with_an_exclude_leaves_that_out_with_what_depends_on_it() {
    let project = Project::new();
    project
        .rehearsal(&[
            "apply",
            "prerelease",
            "--exclude",
            "ec2_instance.server",
            "--auto-approve",
            "--skip-checks",
            "--parallelism",
            "1",
        ])
        .run()
        .exits(0)
        .stdout_has(
            "  ec2_instance.server excluded: dns_record.server depends on it, left out too\n",
        )
        .stdout_has("(a partial plan: 7 of 9 resources considered)");
    assert_eq!(
        project.owned_by("prerelease"),
        7,
        "no server, its volume or its DNS record"
    );
}

#[test]
fn a_targeted_destroy_deletes_what_depends_on_the_target_and_says_the_rest_remains() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve", "--skip-checks"])
        .run()
        .exits(0);

    project
        .rehearsal(&[
            "destroy",
            "prerelease",
            "--target",
            "ecs_cluster.main",
            "--auto-approve",
            "--parallelism",
            "1",
        ])
        .run()
        .snapshot("target-destroy");
    assert_eq!(project.owned_by("prerelease"), PRERELEASE_OWNS - 2);
    let cloud = project.read("cloud.json");
    assert!(!cloud.contains("\"rehearsal:address\": \"ecs_cluster.main\""));
    assert!(!cloud.contains("\"rehearsal:address\": \"ecs_service.server\""));
}

/// Against the emulator: `destroy --target` deletes the target and what depends on it, and
/// what moto holds afterwards is the rest of the environment, standing.
#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread")]
async fn a_targeted_destroy_leaves_the_rest_standing_in_the_emulator() {
    use crate::against_emulator::tagged;
    use crate::emulator::Emulator;

    let em = Emulator::start();
    em.seed_production();
    let project = Project::against(em.endpoint());
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    let before = tagged(&em, "prerelease").await;
    assert_eq!(before.len(), PRERELEASE_OWNS, "{before:#?}");
    assert!(
        before.iter().any(|o| o == "cluster prerelease"),
        "{before:#?}"
    );

    project
        .rehearsal(&[
            "destroy",
            "prerelease",
            "--target",
            "ecs_cluster.main",
            "--auto-approve",
        ])
        .run()
        .exits(0)
        .shows("ecs_cluster.main: ecs_service.server depends on it and must go first: included")
        .shows("Deleted 2 resources")
        .shows("finds none of the 2 resources targeted")
        .shows("The rest of prerelease remains: 8 resources not targeted, still standing.");

    let after = tagged(&em, "prerelease").await;
    let gone: Vec<&String> = before.iter().filter(|o| !after.contains(o)).collect();
    assert_eq!(gone.len(), 2, "{gone:#?}");
    assert!(gone.iter().any(|o| *o == "cluster prerelease"), "{gone:#?}");
    assert!(gone.iter().any(|o| o.starts_with("service ")), "{gone:#?}");
    assert!(after.iter().any(|o| o == "rds prerelease-db"), "{after:#?}");
    assert!(
        after
            .iter()
            .any(|o| o.starts_with("ec2 ") && o.ends_with("running")),
        "{after:#?}"
    );
}
