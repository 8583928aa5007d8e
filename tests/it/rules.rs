//! A team's rules, through the binary on the fake cloud: the change window of a spec (judged at
//! a fixed clock through libfaketime) and consent for what cannot be undone (issue 17, items 3
//! and 4).

use crate::project::{IN_PRODUCTION_S_WINDOW, Project};

/// Friday 2026-12-04, 11:00 in Maputo: working hours, but "Do NOT release on Friday".
const FRIDAY: &str = "2026-12-04 09:00:00";
/// Thursday 2026-12-03, 17:00 in Maputo: the window has just closed.
const THURSDAY_EVENING: &str = "2026-12-03 15:00:00";

const STAGING_SERVICE: &str = "[resources.ecs_service.server]
name = \"server\"
cluster = \"${ecs_cluster.main.name}\"
task_definition = \"${ecs_task_definition.server.arn}\"
desired_count = 1
launch_type = \"EC2\"
";

// --- windows -----------------------------------------------------------------------------------

#[test]
fn production_is_not_changed_on_a_friday() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "production", "--auto-approve"])
        .at(FRIDAY)
        .run()
        .snapshot("window-closed-on-friday");
    assert_eq!(owned_by_production(&project), 0, "nothing was taken");
    project
        .rehearsal(&["snapshot", "production", "--auto-approve"])
        .at(FRIDAY)
        .run()
        .exits(7)
        .stderr_has("next opens Monday 2026-12-07 10:00");
    assert_eq!(owned_by_production(&project), 0);
}

#[test]
fn the_window_closes_at_the_end_of_its_hours() {
    Project::new()
        .rehearsal(&["apply", "production", "--auto-approve"])
        .at(THURSDAY_EVENING)
        .run()
        .exits(7)
        .stderr_has("it is Thursday 2026-12-03 17:00 there; it next opens Monday 2026-12-07 10:00");
}

#[test]
fn plan_says_the_window_is_closed_and_plans_and_apply_refuses_the_plan() {
    let project = Project::new();
    project
        .rehearsal(&["plan", "production"])
        .at(FRIDAY)
        .run()
        .exits(0)
        .stdout_has("+ rds_snapshot.before_release")
        .stderr_has("note: the change window of production is closed")
        .stderr_has("`apply` will refuse this plan until then");
    project
        .rehearsal(&["apply", "plans/production.plan.json"])
        .at(FRIDAY)
        .run()
        .exits(7);
    // Inside the window the same plan goes ahead.
    project
        .rehearsal(&["apply", "plans/production.plan.json"])
        .at(IN_PRODUCTION_S_WINDOW)
        .run()
        .exits(0);
    assert_eq!(project.owned_by("production"), 1);
}

#[test]
fn an_emergency_overrides_the_window_with_a_reason() {
    let project = Project::new();
    project
        .rehearsal(&[
            "apply",
            "production",
            "--auto-approve",
            "--override-window",
            "restore the login fix",
        ])
        .at(FRIDAY)
        .run()
        .exits(0)
        .stderr_has(
            "note: the change window of production is closed; going ahead (--override-window): \
             restore the login fix",
        );
    assert_eq!(project.owned_by("production"), 1);
    project
        .rehearsal(&[
            "snapshot",
            "production",
            "--auto-approve",
            "--override-window",
            "  ",
        ])
        .at(FRIDAY)
        .run()
        .exits(64)
        .stderr_has("say why the change cannot wait for the window");
}

#[test]
fn destroy_waits_for_the_window_and_a_dry_run_does_not() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    let text = project.read("environments/prerelease.toml");
    project.write(
        "environments/prerelease.toml",
        &format!(
            "{text}\n[window]\ndays = [\"mon\"]\nhours = \"09:00-10:00\"\ntime_zone = \"UTC\"\n"
        ),
    );
    project
        .rehearsal(&["destroy", "prerelease", "--dry-run"])
        .at(FRIDAY)
        .run()
        .exits(0);
    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .at(FRIDAY)
        .run()
        .exits(7)
        .stderr_has("it next opens Monday 2026-12-07 09:00");
    assert_ne!(project.owned_by("prerelease"), 0, "nothing was deleted");
}

#[test]
fn rollback_and_import_wait_for_the_window_and_a_saved_rollback_does_not() {
    let project = Project::new();
    let text = project.read("environments/staging.toml");
    project.write(
        "environments/staging.toml",
        &format!(
            "{text}\n[window]\ndays = [\"mon\"]\nhours = \"09:00-10:00\"\ntime_zone = \"UTC\"\n"
        ),
    );
    for args in [
        &["rollback", "staging", "--auto-approve"][..],
        &[
            "import",
            "staging",
            "ecs_service.server",
            "staging/server",
            "--auto-approve",
        ],
    ] {
        project
            .rehearsal(args)
            .at(FRIDAY)
            .run()
            .exits(7)
            .stderr_has("the change window of staging is closed");
    }
    // Saved for review, a rollback changes nothing yet: refused for its own reason (nothing
    // deployed to roll back from), not the window's.
    project
        .rehearsal(&["rollback", "staging", "--out", "plans/rollback.json"])
        .at(FRIDAY)
        .run()
        .exits(1);
}

#[test]
fn a_window_that_cannot_be_read_points_at_its_line() {
    let project = Project::new();
    let text = project.read("environments/production.toml");
    for (from, to, name) in [
        ("\"thu\"]", "\"thursday\"]", "window-a-day-misspelt"),
        (
            "\"10:00-17:00\"",
            "\"17:00-10:00\"",
            "window-hours-backwards",
        ),
        ("\"Africa/Maputo\"", "\"CAT\"", "window-an-abbreviation"),
    ] {
        project.write("environments/production.toml", &text.replacen(from, to, 1));
        project
            .rehearsal(&["validate", "production"])
            .run()
            .snapshot(name);
    }
}

// --- consent -----------------------------------------------------------------------------------

#[test]
fn deleting_a_protected_service_needs_consent_by_name() {
    // A new user removes the service from staging's spec: the plan would delete it.
    let project = Project::new();
    project
        .rehearsal(&["apply", "staging", "--auto-approve"])
        .run()
        .exits(0);
    project.edit("staging", STAGING_SERVICE, "");
    project
        .rehearsal(&["plan", "staging"])
        .run()
        .snapshot("consent-needed-to-delete-a-service");
    assert!(
        !project.path("plans/staging.plan.json").exists(),
        "no plan to apply by mistake"
    );
    project
        .rehearsal(&["apply", "staging", "--auto-approve"])
        .run()
        .exits(1)
        .stderr_has("--allow-destroy ecs_service.server");
    assert_eq!(services(&project), 1, "the service is still there");

    project
        .rehearsal(&["plan", "staging", "--allow-destroy", "ecs_service.server"])
        .run()
        .exits(0)
        .stdout_has("Deletes and replaces: 1 (0 holding data).")
        .stdout_has("Consent given (--allow-destroy): ecs_service.server.");
    let plan: serde_json::Value =
        serde_json::from_str(&project.read("plans/staging.plan.json")).unwrap();
    assert_eq!(plan["consent"], serde_json::json!(["ecs_service.server"]));
    project
        .rehearsal(&["show", "plans/staging.plan.json"])
        .run()
        .stdout_has("Consent given (--allow-destroy): ecs_service.server.");
    let json = project
        .rehearsal(&["show", "plans/staging.plan.json", "--json"])
        .run()
        .exits(0);
    let summary: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(summary["summary"]["deletes_and_replaces"], 1);
    assert_eq!(summary["summary"]["holding_data"], 0);
    assert_eq!(summary["summary"]["routine_retention"], 0);
    project
        .rehearsal(&["apply", "plans/staging.plan.json"])
        .run()
        .exits(0);
    assert_eq!(services(&project), 0, "deleted, with consent");
}

#[test]
fn apply_of_an_environment_takes_consent_too() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "staging", "--auto-approve"])
        .run()
        .exits(0);
    project.edit("staging", STAGING_SERVICE, "");
    project
        .rehearsal(&[
            "apply",
            "staging",
            "--auto-approve",
            "--allow-destroy",
            "ecs_service.server",
        ])
        .run()
        .exits(0)
        .stdout_has("Consent given (--allow-destroy): ecs_service.server.");
    assert_eq!(services(&project), 0);
}

#[test]
fn consent_edited_into_a_saved_plan_is_refused() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "staging", "--auto-approve"])
        .run()
        .exits(0);
    project.edit("staging", STAGING_SERVICE, "");
    project
        .rehearsal(&[
            "plan",
            "staging",
            "--allow-destroy",
            "ecs_service.server",
            "--out",
            "plans/consented.json",
        ])
        .run()
        .exits(0);
    let text = project.read("plans/consented.json");
    project.write(
        "plans/forged.json",
        &text.replace(
            "\"ecs_service.server\"\n  ]",
            "\"ecs_service.server\", \"ecs_cluster.main\"\n  ]",
        ),
    );
    project
        .rehearsal(&["apply", "plans/forged.json"])
        .run()
        .exits(3)
        .stderr_has("the consent was changed");
}

#[test]
fn a_staging_version_bump_needs_no_consent() {
    // Each bump registers a revision; beyond keep_revisions (3) the oldest is deleted, as the
    // spec declares: shown and counted, never asked about.
    let project = Project::new();
    for version in ["3.1.0", "3.2.0", "3.3.0"] {
        project
            .rehearsal(&[
                "apply",
                "staging",
                "--auto-approve",
                "--var",
                &format!("server_version={version}"),
            ])
            .run()
            .exits(0);
    }
    project
        .rehearsal(&[
            "apply",
            "staging",
            "--auto-approve",
            "--var",
            "server_version=3.4.0",
        ])
        .run()
        .exits(0)
        .stdout_has("Deletes and replaces: 1 (0 holding data, 1 routine retention");
}

#[test]
fn replacing_a_protected_database_says_what_data_goes() {
    let project = Project::new();
    let protected = project
        .read("environments/prerelease.toml")
        .replacen(
            "lifecycle = \"ephemeral\"\nttl = \"24h\"",
            "lifecycle = \"protected\"",
            1,
        )
        .replacen("final_snapshot = false", "final_snapshot = true", 1);
    project.write("environments/prerelease.toml", &protected);
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    project.edit(
        "prerelease",
        "identifier = \"prerelease-from-prod\"",
        "identifier = \"prerelease-from-prod-2\"",
    );
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .snapshot("consent-needed-to-replace-a-database");
    project
        .rehearsal(&[
            "plan",
            "prerelease",
            "--allow-destroy",
            "rds_snapshot.from_prod",
            "--allow-destroy",
            "rds_instance.db",
            "--allow-destroy",
            "ec2_instance.server",
        ])
        .run()
        .exits(0)
        .stdout_has(
            "      data: the database prerelease-db and its data go; final snapshot \
             prerelease-db-final-",
        )
        .stdout_has("Deletes and replaces: 3 (2 holding data).");
}

/// What production owns in the fake cloud; no cloud yet (no command reached it) owns nothing.
fn owned_by_production(project: &Project) -> usize {
    if project.path("cloud.json").exists() {
        project.owned_by("production")
    } else {
        0
    }
}

fn services(project: &Project) -> usize {
    project
        .cloud()
        .resources
        .values()
        .filter(|r| r.kind == rehearsal::model::ResourceKind::EcsService)
        .count()
}
