//! Revisions and rollback at the command line, against the fake cloud: staging at 3.1.0, bumped
//! to 3.2.0, lists both revisions, and rolls back to 3.1.0 through a plan like any other.

use crate::project::Project;

/// Staging applied at 3.1.0, then bumped to 3.2.0.
fn staging_bumped() -> Project {
    let project = Project::new();
    project
        .rehearsal(&["apply", "staging", "--auto-approve"])
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
        .exits(0)
        .stdout_has("Plan: 1 to create, 1 to update, 0 to replace, 0 to delete.");
    project
}

/// The revision the staging service runs, `staging-server:N`.
fn running(project: &Project) -> String {
    let cloud = project.cloud();
    let service = cloud
        .resources
        .values()
        .find(|r| r.tags.get("rehearsal:address").map(String::as_str) == Some("ecs_service.server"))
        .expect("the service");
    service.attributes["task_definition"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn revisions_lists_what_is_kept_newest_first_and_what_runs() {
    let project = staging_bumped();
    project
        .rehearsal(&["revisions", "staging"])
        .run()
        .snapshot("revisions-after-a-bump");
    let listed = project
        .rehearsal(&["revisions", "staging", "--json"])
        .run()
        .exits(0)
        .json();
    let revisions = &listed[0]["revisions"];
    assert_eq!(revisions[0]["revision"], 2);
    assert_eq!(revisions[0]["images"][0], "example/openchs-server:3.2.0");
    assert_eq!(revisions[0]["runs_in"][0], "ecs_service.server");
    assert_eq!(revisions[1]["revision"], 1);
    assert_eq!(revisions[1]["runs_in"], serde_json::json!([]));
    assert!(
        revisions[1]["registered_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
}

#[test]
fn a_rollback_is_a_plan_that_names_what_differs_and_what_it_does_not_undo() {
    let project = staging_bumped();
    project
        .rehearsal(&[
            "rollback",
            "staging",
            "--var",
            "server_version=3.2.0",
            "--out",
            "plans/staging.rollback.json",
        ])
        .run()
        .snapshot("rollback-plan");
    assert_eq!(running(&project), "staging-server:2", "only planned");
    project
        .rehearsal(&["apply", "plans/staging.rollback.json"])
        .run()
        .exits(0)
        .stdout_has("Summary: 1 done, 0 failed, 0 skipped.");
    assert_eq!(running(&project), "staging-server:1");
    // The spec still asks for 3.2.0: the next plan rolls forward, and registers nothing.
    project
        .rehearsal(&["plan", "staging", "--var", "server_version=3.2.0"])
        .run()
        .exits(0)
        .stdout_has("Plan: 0 to create, 1 to update, 0 to replace, 0 to delete.");
    // Asking for 3.1.0 stays where the rollback went.
    project
        .rehearsal(&["plan", "staging", "--detailed-exitcode"])
        .run()
        .exits(0)
        .stdout_has("No changes.");
}

#[test]
fn a_rollback_carried_out_at_once_exits_0_once_the_earlier_revision_runs() {
    let project = staging_bumped();
    project
        .rehearsal(&["rollback", "staging", "server", "--auto-approve"])
        .run()
        .exits(0)
        .stdout_has("Summary: 1 done, 0 failed, 0 skipped.");
    assert_eq!(running(&project), "staging-server:1");
}

#[test]
fn a_rollback_with_nothing_earlier_kept_is_refused() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "staging", "--auto-approve"])
        .run()
        .exits(0);
    project
        .rehearsal(&["rollback", "staging", "--auto-approve"])
        .run()
        .snapshot("rollback-with-nothing-to-roll-back-to");
    project
        .rehearsal(&["rollback", "staging", "web"])
        .run()
        .exits(1)
        .stderr_has("staging declares no service `web`");
}

#[test]
fn check_judges_the_service_against_the_newest_revision_kept() {
    let project = Project::new();
    // Ten versions: revisions 8, 9 and 10 are kept, and "staging-server:10" sorts before
    // "staging-server:8" as text.
    for minor in 1..=10 {
        let version = format!("server_version=3.{minor}.0");
        project
            .rehearsal(&["apply", "staging", "--var", &version, "--auto-approve"])
            .run()
            .exits(0);
    }
    assert_eq!(running(&project), "staging-server:10");
    project
        .rehearsal(&["revisions", "staging"])
        .run()
        .exits(0)
        .stdout_has("3 revisions kept (keep_revisions = 3)");
    project
        .rehearsal(&["check", "staging", "--var", "server_version=3.10.0"])
        .run()
        .exits(0)
        .stdout_has("passed   deployment of ecs_service.server: runs what the spec asks");
}

#[test]
fn check_judges_a_service_sent_back_to_a_kept_revision_against_that_revision() {
    let project = staging_bumped();
    // The spec goes back to 3.1.0: its revision is still kept, so the service is sent back to
    // it and nothing is registered.
    project
        .rehearsal(&["apply", "staging", "--auto-approve"])
        .run()
        .exits(0)
        .stdout_has("Plan: 0 to create, 1 to update, 0 to replace, 0 to delete.");
    assert_eq!(running(&project), "staging-server:1");
    // Revision 2 is newer, but it is not what the spec asks for.
    project
        .rehearsal(&["check", "staging"])
        .run()
        .exits(0)
        .stdout_has("passed   deployment of ecs_service.server: runs what the spec asks");
    // Asked for 3.2.0 again, the same service running revision 1 is not what the spec asks.
    project
        .rehearsal(&["check", "staging", "--var", "server_version=3.2.0"])
        .run()
        .exits(6)
        .stdout_has("FAILED   deployment of ecs_service.server");
}

#[test]
fn a_rollback_plan_applied_again_is_refused_as_already_applied_not_stale() {
    let project = staging_bumped();
    project
        .rehearsal(&[
            "rollback",
            "staging",
            "--var",
            "server_version=3.2.0",
            "--out",
            "plans/staging.rollback.json",
        ])
        .run()
        .exits(0);
    project
        .rehearsal(&["apply", "plans/staging.rollback.json"])
        .run()
        .exits(0);
    assert_eq!(running(&project), "staging-server:1");
    // The service already runs the revision the plan leads to: nothing is done again (the
    // spec it carries still asks for 3.2.0, so re-planning it is no test of that).
    let again = project
        .rehearsal(&["apply", "plans/staging.rollback.json"])
        .run()
        .exits(3)
        .stderr_has("this plan was already applied: staging already matches it");
    assert!(!again.stdout.contains("Applying"), "{}", again.show());
    assert_eq!(running(&project), "staging-server:1");
    // Once staging moved on (3.3.0 deployed), the same plan is stale: it would undo that.
    project
        .rehearsal(&[
            "apply",
            "staging",
            "--var",
            "server_version=3.3.0",
            "--auto-approve",
        ])
        .run()
        .exits(0);
    project
        .rehearsal(&["apply", "plans/staging.rollback.json"])
        .run()
        .exits(3)
        .stderr_has("the plan is stale");
}
