//! Versions in sight: the release version has one source, `server/version/minor_version`,
//! which `rehearsal plan` reads itself, and a version bump shows, in the plan, the apply and
//! `status`, which revision it registers and the image each container runs.

use serde_json::Value;

use crate::project::{Project, RELEASE_FILE};

const STAGING_PLAN: &str = "plans/staging.plan.json";

#[test]
fn a_version_bump_in_the_release_file_shows_the_image_and_the_revision_everywhere() {
    let project = Project::new();
    // Staging at 3.1.0, the version in the project's file.
    project
        .rehearsal(&["apply", "staging", "--auto-approve"])
        .run()
        .exits(0)
        .stdout_has("registered staging-server:1, which runs example/openchs-server:3.1.0");

    // The release: the checklist's "update server/version/minor_version", and no --var.
    project.write(RELEASE_FILE, "3.2.0\n");
    project
        .rehearsal(&["plan", "staging"])
        .run()
        .snapshot("plan-staging-version-bump");

    let plan = project
        .rehearsal(&["show", STAGING_PLAN, "--json"])
        .run()
        .json();
    let registers = &plan["actions"][0]["registers"];
    assert_eq!(plan["actions"][0]["address"], "ecs_task_definition.server");
    assert_eq!(registers["family"], "staging-server");
    assert_eq!(registers["after"], "staging-server:1");
    assert_eq!(
        registers["runs"],
        serde_json::json!([{
            "container": "server",
            "image": "example/openchs-server:3.2.0",
            "was": "example/openchs-server:3.1.0"
        }])
    );

    project
        .rehearsal(&["apply", STAGING_PLAN])
        .run()
        .exits(0)
        .stdout_has(
            "note     + ecs_task_definition.server: registered staging-server:2, which runs \
             example/openchs-server:3.2.0",
        );
    project
        .rehearsal(&["status", "staging"])
        .run()
        .exits(0)
        .stdout_has("staging-server:1  (runs example/openchs-server:3.1.0)")
        .stdout_has("staging-server:2  (runs example/openchs-server:3.2.0)")
        .stdout_has("(runs staging-server:2: example/openchs-server:3.2.0)");
    project
        .rehearsal(&["revisions", "staging"])
        .run()
        .exits(0)
        .stdout_has("example/openchs-server:3.2.0")
        .stdout_has("example/openchs-server:3.1.0");
}

#[test]
fn a_new_task_definition_shows_its_image_though_its_environment_waits_for_the_apply() {
    // Pre-release's container names the database it creates: the document is known only
    // after apply, its image is known now.
    let project = Project::new();
    let plan: Value = project
        .rehearsal(&["plan", "prerelease", "--json"])
        .run()
        .exits(0)
        .json();
    let definition = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["address"] == "ecs_task_definition.server")
        .expect("a task definition to create");
    assert_eq!(definition["registers"]["after"], Value::Null);
    assert_eq!(
        definition["registers"]["runs"],
        serde_json::json!([{"container": "server", "image": "example/openchs-server:3.1.0"}])
    );
}

#[test]
fn without_the_release_file_what_an_environment_owns_is_still_listed_destroyed_and_protected() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    // A checkout without server/version/minor_version: no release is planned, and none is
    // needed to see or tear down what pre-release owns.
    std::fs::remove_file(project.path(RELEASE_FILE)).unwrap();
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .exits(1)
        .stderr_has("server/version/minor_version does not exist");
    project
        .rehearsal(&["status", "prerelease"])
        .run()
        .exits(0)
        .stdout_has("runs example/openchs-server:3.1.0");
    // Nor to list what staging keeps, or to roll it back: a rollback in an emergency does not
    // wait for a version file.
    project
        .rehearsal(&[
            "apply",
            "staging",
            "--var",
            "server_version=3.1.0",
            "--auto-approve",
        ])
        .run()
        .exits(0);
    project
        .rehearsal(&[
            "apply",
            "staging",
            "--var",
            "server_version=3.2.0",
            "--auto-approve",
        ])
        .run()
        .exits(0);
    project
        .rehearsal(&["revisions", "staging"])
        .run()
        .exits(0)
        .stdout_has("example/openchs-server:3.2.0");
    project
        .rehearsal(&["rollback", "staging", "--auto-approve"])
        .run()
        .exits(0);
    // Staging's spec still says it is protected.
    project
        .rehearsal(&["destroy", "staging", "--auto-approve"])
        .run()
        .exits(1)
        .stderr_has("protected");
    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    assert_eq!(project.owned_by("prerelease"), 0);
}
