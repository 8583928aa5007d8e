//! Several of a kind: `count = N` declares N copies of a resource, `server[0]` to
//! `server[N-1]`, each planned, referred to, owned and destroyed like any other resource.

use crate::project::Project;

/// The shipped pre-release with three servers instead of one, each named by its index, and
/// the database's parameter group referring to the second (to show a reference to one copy).
fn three_servers(project: &Project) {
    project.edit(
        "prerelease",
        "[resources.ec2_instance.server]\n",
        "[resources.ec2_instance.server]\ncount = 3\n",
    );
    project.edit(
        "prerelease",
        "tags = { Name = \"prerelease-server\" }",
        "tags = { Name = \"prerelease-server-${count.index}\" }",
    );
    // The DNS name points at the first.
    project.edit(
        "prerelease",
        "${ec2_instance.server.private_ip}",
        "${ec2_instance.server[0].private_ip}",
    );
}

#[test]
fn count_makes_copies_that_are_planned_created_and_destroyed_one_by_one() {
    let project = Project::new();
    three_servers(&project);
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .exits(0)
        .stdout_has("  + ec2_instance.server[0]\n")
        .stdout_has("  + ec2_instance.server[2]\n")
        .stdout_has("Plan: 11 to create");
    project
        .rehearsal(&["apply", "plans/prerelease.plan.json", "--auto-approve"])
        .run()
        .exits(0);
    let cloud = project.cloud();
    let mut servers: Vec<(String, String)> = cloud
        .resources
        .values()
        .filter(|r| r.kind == rehearsal::model::ResourceKind::Ec2Instance)
        .filter(|r| r.tags.get("rehearsal:env").map(String::as_str) == Some("prerelease"))
        .map(|r| (r.tags["rehearsal:address"].clone(), r.tags["Name"].clone()))
        .collect();
    servers.sort();
    // The address tag has no brackets: RDS refuses them in tag values.
    assert_eq!(
        servers,
        [
            (
                "ec2_instance.server.0".to_string(),
                "prerelease-server-0".to_string()
            ),
            (
                "ec2_instance.server.1".to_string(),
                "prerelease-server-1".to_string()
            ),
            (
                "ec2_instance.server.2".to_string(),
                "prerelease-server-2".to_string()
            ),
        ]
    );
    project
        .rehearsal(&["plan", "prerelease", "--detailed-exitcode"])
        .run()
        .exits(0)
        .stdout_has("No changes.");
    project
        .rehearsal(&["status", "prerelease"])
        .run()
        .exits(0)
        .stdout_has("ec2_instance.server[1]");

    // One fewer: the last copy goes, the others stay.
    project.edit("prerelease", "count = 3", "count = 2");
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .exits(0)
        .stdout_has("  - ec2_instance.server[2] (i-")
        .stdout_has("because it is not in environments/prerelease.toml")
        .stdout_has("Plan: 0 to create, 0 to update, 0 to replace, 1 to delete.");

    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    assert_eq!(project.owned_by("prerelease"), 0);
}

#[test]
fn a_reference_names_one_copy() {
    let project = Project::new();
    three_servers(&project);
    let spec = project.read("environments/prerelease.toml");
    project.write(
        "environments/prerelease.toml",
        &format!(
            "{spec}\n[checks.second]\ncommand = [\"/bin/sh\", \"-c\", \"test -n \\\"$0\\\"\", \"${{ec2_instance.server[1].private_ip}}\"]\ninterval = \"1s\"\ntimeout = \"1s\"\n"
        ),
    );
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0)
        .stdout_has("passed   check.second: /bin/sh -c test -n \"$0\" 10.");

    // The whole set is not one resource: the error says how to name a copy.
    project.edit(
        "prerelease",
        "${ec2_instance.server[1].private_ip}",
        "${ec2_instance.server.private_ip}",
    );
    project
        .rehearsal(&["validate", "prerelease"])
        .run()
        .exits(1)
        .stderr_has("unknown resource `ec2_instance.server`")
        .stderr_has("did you mean `ec2_instance.server[0]`?");
}

#[test]
fn count_index_outside_a_counted_resource_and_absurd_counts_are_refused() {
    let project = Project::new();
    project.edit(
        "prerelease",
        "tags = { Name = \"prerelease-server\" }",
        "tags = { Name = \"prerelease-server-${count.index}\" }",
    );
    project
        .rehearsal(&["validate", "prerelease"])
        .run()
        .exits(1)
        .stderr_has("ec2_instance.server uses ${count.index} but has no `count`")
        .stderr_has("add count = N");

    let project = Project::new();
    project.edit(
        "prerelease",
        "[resources.ec2_instance.server]\n",
        "[resources.ec2_instance.server]\ncount = 4000000000\n",
    );
    project
        .rehearsal(&["validate", "prerelease"])
        .run()
        .exits(1)
        .stderr_has("count = 4000000000 is more than 1000 copies");
}

/// The same against the emulator, through the AWS layer: copies of a server and of a
/// database (whose tags RDS checks) are created, found by their tags, and destroyed.
#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread")]
async fn copies_are_found_by_their_tags_on_aws_and_destroyed() {
    use crate::against_emulator::tagged;
    use crate::emulator::Emulator;

    let em = Emulator::start();
    em.seed_production();
    let project = Project::against(em.endpoint());
    three_servers(&project);
    project.edit(
        "prerelease",
        "[resources.rds_instance.db]\n",
        "[resources.rds_instance.db]\ncount = 2\n",
    );
    project.edit(
        "prerelease",
        "identifier = \"prerelease-db\"",
        "identifier = \"prerelease-db-${count.index}\"",
    );
    project.edit(
        "prerelease",
        "${rds_instance.db.endpoint}",
        "${rds_instance.db[0].endpoint}",
    );
    project.edit(
        "prerelease",
        "${rds_instance.db.endpoint}",
        "${rds_instance.db[1].endpoint}",
    );
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    let owned = tagged(&em, "prerelease").await;
    let servers = owned.iter().filter(|t| t.starts_with("ec2 ")).count();
    let databases: Vec<&String> = owned
        .iter()
        .filter(|t| t.contains("prerelease-db-"))
        .collect();
    assert_eq!((servers, databases.len()), (3, 2), "{owned:#?}");
    project
        .rehearsal(&["plan", "prerelease", "--detailed-exitcode"])
        .run()
        .exits(0)
        .shows("No changes.");
    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .exits(0)
        .shows("- ec2_instance.server[2]")
        .shows("- rds_instance.db[1]")
        .shows("Proof: a final listing finds nothing");
    assert_eq!(tagged(&em, "prerelease").await, Vec::<String>::new());
}
