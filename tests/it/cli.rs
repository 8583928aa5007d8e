//! The `rehearsal` binary as a person (or CI) runs it: in a project directory holding
//! `environments/`, against a fake cloud kept in a file (`REHEARSAL_PROVIDER=fake:PATH`), with
//! no terminal and `NO_COLOR=1`.
//!
//! Most command lines are pinned whole, exit code, stdout and stderr, as snapshots in
//! `snapshots/cli__*.snap` (see `Outcome::snapshot`); what the fake cloud holds afterwards is
//! asserted beside them.

use serde_json::Value;

use crate::project::{IN_PRODUCTION_S_WINDOW, PRERELEASE_OWNS, Project, RELEASE_FILE};

const PLAN_FILE: &str = "plans/prerelease.plan.json";

// --- validate --------------------------------------------------------------------------------

#[test]
fn validate_says_what_the_spec_describes() {
    let project = Project::new();
    project
        .rehearsal(&["validate", "prerelease"])
        .run()
        .snapshot("validate-prerelease");
    for env in ["production", "staging"] {
        project
            .rehearsal(&["validate", env])
            .run()
            .exits(0)
            .stdout_has("is valid");
    }
}

#[test]
fn validate_points_at_a_typo_with_the_line_and_a_hint() {
    let project = Project::new();
    project.edit(
        "prerelease",
        "instance_type = \"t3.medium\"",
        "instnce_type = \"t3.medium\"",
    );
    project
        .rehearsal(&["validate", "prerelease"])
        .run()
        .snapshot("validate-a-typo");
}

#[test]
fn validate_refuses_an_undeclared_var() {
    Project::new()
        .rehearsal(&["validate", "prerelease", "--var", "server_verison=3.2.0"])
        .run()
        .snapshot("validate-an-undeclared-var");
}

#[test]
fn a_variable_set_in_the_environment_for_another_spec_is_noted_and_ignored() {
    // CI sets REHEARSAL_VAR_server_version for every spec; production declares no such variable.
    Project::new()
        .rehearsal(&["validate", "production"])
        .env("REHEARSAL_VAR_server_version", "3.2.0")
        .run()
        .snapshot("validate-ignores-another-spec-s-variable");
}

#[test]
fn an_environment_holding_text_that_is_not_utf_8_is_no_panic() {
    let project = Project::new();
    project
        .rehearsal(&["validate", "prerelease"])
        .env_bytes("LEGACY_LOCALE_SETTING", b"caf\xe9")
        .run()
        .exits(0);
    project
        .rehearsal(&["validate", "prerelease"])
        .env_bytes("REHEARSAL_VAR_server_version", b"3.2.0-caf\xe9")
        .run()
        .snapshot("validate-a-variable-that-is-not-utf-8");
}

#[test]
fn a_missing_spec_is_named_with_where_specs_live() {
    Project::new()
        .rehearsal(&["validate", "prerelase"])
        .run()
        .snapshot("validate-a-missing-spec");
}

// --- plan, apply ---------------------------------------------------------------------------

#[test]
fn plan_prints_what_it_would_do_and_saves_it() {
    let project = Project::new();
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .snapshot("plan-prerelease");
    let plan: Value = serde_json::from_str(&project.read(PLAN_FILE)).unwrap();
    assert_eq!(plan["env"]["name"], "prerelease");
    assert_eq!(plan["actions"].as_array().unwrap().len(), 9);
    assert_eq!(
        project.owned_by("prerelease"),
        0,
        "planning changes nothing"
    );
}

#[test]
fn plan_with_a_var_plans_that_version() {
    let project = Project::new();
    let outcome = project
        .rehearsal(&[
            "plan",
            "prerelease",
            "--var",
            "server_version=3.2.0",
            "--json",
        ])
        .run()
        .exits(0);
    let plan = outcome.json();
    assert_eq!(plan["variables"]["server_version"], "3.2.0");
    assert_eq!(plan["summary"]["create"], 9);

    // REHEARSAL_VAR_<name> works too, below --var.
    let plan = project
        .rehearsal(&["plan", "prerelease", "--json"])
        .env("REHEARSAL_VAR_server_version", "3.3.0")
        .run()
        .json();
    assert_eq!(plan["variables"]["server_version"], "3.3.0");
}

#[test]
fn plan_without_a_var_plans_the_version_in_the_projects_release_file() {
    let project = Project::new();
    project.write(RELEASE_FILE, "3.2.0\n");
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .exits(0)
        .stdout_has("Using server_version = 3.2.0 (from server/version/minor_version).\n");
    let plan: Value = serde_json::from_str(&project.read(PLAN_FILE)).unwrap();
    assert_eq!(plan["variables"]["server_version"], "3.2.0");
    assert_eq!(
        plan["spec"]["variable_origins"]["server_version"],
        "server/version/minor_version"
    );

    // --var beats the file, and the plan says so.
    project
        .rehearsal(&["plan", "prerelease", "--var", "server_version=3.3.0"])
        .run()
        .exits(0)
        .stdout_has("Using server_version = 3.3.0 (from --var server_version).\n");
    let plan: Value = serde_json::from_str(&project.read(PLAN_FILE)).unwrap();
    assert_eq!(plan["variables"]["server_version"], "3.3.0");
}

#[test]
fn plan_with_no_release_file_and_no_var_is_refused_never_a_downgrade() {
    let project = Project::new();
    std::fs::remove_file(project.path(RELEASE_FILE)).unwrap();
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .snapshot("plan-without-a-release-version");
    assert!(
        !project.path(PLAN_FILE).exists(),
        "no plan is saved without a version"
    );
    // staging reads the same file, and is refused the same way.
    project
        .rehearsal(&["plan", "staging"])
        .run()
        .exits(1)
        .stderr_has("variable `server_version` has no value");
}

#[test]
fn detailed_exitcode_says_whether_there_are_changes() {
    let project = Project::new();
    project
        .rehearsal(&["plan", "prerelease", "--detailed-exitcode"])
        .run()
        .exits(2)
        .snapshot("plan-detailed-exitcode-changes");

    project
        .rehearsal(&["apply", PLAN_FILE, "--parallelism", "1"])
        .run()
        .snapshot("apply-the-saved-plan");
    assert_eq!(project.owned_by("prerelease"), PRERELEASE_OWNS);

    // The same plan again: nothing is done twice.
    project
        .rehearsal(&["apply", PLAN_FILE])
        .run()
        .snapshot("apply-the-saved-plan-again");
    assert_eq!(project.owned_by("prerelease"), PRERELEASE_OWNS);

    project
        .rehearsal(&["plan", "prerelease", "--detailed-exitcode"])
        .run()
        .exits(0)
        .snapshot("plan-detailed-exitcode-no-changes");
}

#[test]
fn a_plan_overtaken_by_another_apply_is_refused_as_stale() {
    let project = Project::new();
    project
        .rehearsal(&[
            "plan",
            "prerelease",
            "--var",
            "server_version=3.2.0",
            "--out",
            "plans/new.json",
        ])
        .run()
        .exits(0);
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    let before = project.cloud();

    project
        .rehearsal(&["apply", "plans/new.json"])
        .run()
        .snapshot("apply-a-stale-plan");
    assert_eq!(project.cloud().resources, before.resources);
}

/// A saved plan carries the validated spec it was made from, as Terraform's plan file carries
/// its configuration: `apply PLAN` never reads `environments/` again.
#[test]
fn a_saved_plan_applies_after_its_spec_was_removed() {
    let project = Project::new();
    project.rehearsal(&["plan", "prerelease"]).run().exits(0);
    std::fs::remove_dir_all(project.path("environments")).unwrap();

    project
        .rehearsal(&["apply", PLAN_FILE])
        .run()
        .exits(0)
        .stdout_has("Applying 9 changes to prerelease");
    assert_eq!(project.owned_by("prerelease"), PRERELEASE_OWNS);

    // Applied again, it is told apart from a stale plan by the spec it carries.
    project
        .rehearsal(&["apply", PLAN_FILE])
        .run()
        .exits(3)
        .stderr_has("this plan was already applied: prerelease already matches it");
}

/// What was reviewed is what is applied: an edit to the spec after the plan changes nothing.
#[test]
fn a_saved_plan_applies_as_reviewed_after_its_spec_was_edited() {
    let project = Project::new();
    project.rehearsal(&["plan", "prerelease"]).run().exits(0);
    project.edit(
        "prerelease",
        "instance_type = \"t3.medium\"",
        "instance_type = \"m5.24xlarge\"",
    );

    project.rehearsal(&["apply", PLAN_FILE]).run().exits(0);
    let servers: Vec<_> = project
        .cloud()
        .resources
        .into_values()
        .filter(|r| {
            r.tags.get("rehearsal:address").map(String::as_str) == Some("ec2_instance.server")
        })
        .map(|r| r.attributes["instance_type"].clone())
        .collect();
    assert_eq!(
        servers,
        ["t3.medium"],
        "the reviewed size, not the edited one"
    );

    project
        .rehearsal(&["apply", PLAN_FILE])
        .run()
        .exits(3)
        .stderr_has("this plan was already applied");
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .exits(0)
        .stdout_has("m5.24xlarge");
}

#[test]
fn a_saved_plan_cannot_take_new_vars() {
    let project = Project::new();
    project.rehearsal(&["plan", "prerelease"]).run().exits(0);
    project
        .rehearsal(&["apply", PLAN_FILE, "--var", "server_version=3.2.0"])
        .run()
        .snapshot("apply-a-saved-plan-with-a-var");
}

#[test]
fn apply_without_a_terminal_needs_auto_approve() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease"])
        .run()
        .snapshot("apply-without-a-terminal");
    assert_eq!(project.owned_by("prerelease"), 0, "nothing was changed");

    project
        .rehearsal(&[
            "apply",
            "prerelease",
            "--auto-approve",
            "--parallelism",
            "1",
        ])
        .run()
        .snapshot("apply-auto-approve");
    assert_eq!(project.owned_by("prerelease"), PRERELEASE_OWNS);
    project
        .rehearsal(&["apply", "prerelease"])
        .run()
        .snapshot("apply-with-nothing-to-do");
}

// --- snapshot --------------------------------------------------------------------------------

/// The snapshots in the fake cloud, with their tags.
fn snapshots_in(project: &Project) -> Vec<rehearsal::provider::fake::FakeResource> {
    project
        .cloud()
        .resources
        .into_values()
        .filter(|r| r.kind == rehearsal::model::ResourceKind::RdsSnapshot)
        .collect()
}

#[test]
fn snapshot_takes_a_kept_snapshot_of_production_s_database_before_a_release() {
    let project = Project::new();
    project
        .rehearsal(&["snapshot", "production", "--reason", "before 3.2.0"])
        .at(IN_PRODUCTION_S_WINDOW)
        .run()
        .snapshot("snapshot-without-a-terminal");
    assert!(snapshots_in(&project).is_empty(), "nothing was taken");

    project
        .rehearsal(&[
            "snapshot",
            "production",
            "--reason",
            "before 3.2.0",
            "--auto-approve",
        ])
        .at(IN_PRODUCTION_S_WINDOW)
        .run()
        .snapshot("snapshot-auto-approve");
    let taken = snapshots_in(&project);
    assert_eq!(taken.len(), 1, "{taken:#?}");
    assert!(
        taken[0].id.starts_with("production-db-") && taken[0].id.ends_with("-before-3-2-0"),
        "{}",
        taken[0].id
    );
    assert_eq!(
        taken[0]
            .tags
            .get("rehearsal:snapshot-reason")
            .map(String::as_str),
        Some("before 3.2.0")
    );
    assert_eq!(
        taken[0].tags.get("rehearsal:keep").map(String::as_str),
        Some("true")
    );
}

#[test]
fn snapshot_refuses_a_reason_rds_cannot_tag() {
    Project::new()
        .rehearsal(&["snapshot", "production", "--reason", "Bob's release"])
        .run()
        .snapshot("snapshot-a-reason-rds-refuses");
}

/// Someone else's database with the name pre-release's would have: restoring it fails.
fn add_someone_elses_database_named_prerelease_db(project: &Project) {
    let mut cloud = project.cloud();
    cloud.sources.push(rehearsal::provider::fake::FakeSource {
        region: "eu-west-1".into(),
        kind: rehearsal::model::SourceKind::RdsInstance,
        key: "prerelease-db".into(),
        cluster: None,
        tags: Default::default(),
        attributes: Default::default(),
        unusable: Default::default(),
    });
    project.set_cloud(&cloud);
}

#[test]
fn a_failed_step_skips_what_depends_on_it_and_the_summary_says_so() {
    let project = Project::new();
    project.rehearsal(&["status", "prerelease"]).run().exits(0);
    add_someone_elses_database_named_prerelease_db(&project);
    project
        .rehearsal(&[
            "apply",
            "prerelease",
            "--auto-approve",
            "--parallelism",
            "1",
        ])
        .run()
        .snapshot("apply-a-step-fails");
    // The snapshot, the cluster and the two security groups.
    assert_eq!(project.owned_by("prerelease"), 4);
}

// --- show, graph, status -------------------------------------------------------------------

#[test]
fn show_renders_a_saved_plan_for_people_and_for_jq() {
    let project = Project::new();
    project.rehearsal(&["plan", "prerelease"]).run().exits(0);

    project
        .rehearsal(&["show", PLAN_FILE])
        .run()
        .snapshot("show-the-saved-plan");

    let json = project
        .rehearsal(&["show", PLAN_FILE, "--json"])
        .run()
        .exits(0)
        .json();
    assert_eq!(json["summary"]["create"], 9);
    assert_eq!(json["summary"]["changes"], 9);
    assert_eq!(json["format_version"], 4);
    assert_eq!(json["actions"][0]["reason"]["why"], "does_not_exist");
    assert_eq!(
        json["actions"][0]["because"],
        "because it does not exist yet"
    );

    project
        .rehearsal(&["show", "plans/nope.plan.json"])
        .run()
        .snapshot("show-a-missing-plan");
}

#[test]
fn graph_prints_dot_with_the_ordered_steps() {
    let project = Project::new();
    // DOT that `dot -Tsvg` reads, pinned whole: tests/it/golden/graph-prerelease.dot.
    let outcome = project
        .rehearsal(&["graph", "prerelease"])
        .run()
        .exits(0)
        .stdout_is_golden("graph-prerelease.dot");
    assert_eq!(outcome.stderr, "");
    project
        .rehearsal(&["graph", "prerelease", "--steps"])
        .run()
        .snapshot("graph-steps");
}

#[test]
fn status_lists_what_an_environment_owns() {
    let project = Project::new();
    project
        .rehearsal(&["status", "prerelease"])
        .run()
        .snapshot("status-owns-nothing");
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    project
        .rehearsal(&["status", "prerelease"])
        .run()
        .snapshot("status-after-apply");
}

#[test]
fn status_without_an_environment_says_what_runs_where() {
    let project = Project::new();
    project
        .rehearsal(&["status"])
        .run()
        .exits(0)
        .snapshot("status-nothing-created");
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    project
        .rehearsal(&[
            "apply",
            "staging",
            "--auto-approve",
            "--var",
            "server_version=3.2.0",
        ])
        .run()
        .exits(0);
    // Its spec gone, staging is still found by its tags.
    std::fs::remove_file(project.path("environments/staging.toml")).unwrap();
    // (The table's layout is pinned by the engine's snapshot, whose clock the test holds; here
    // the expiry's words depend on the second the commands run in.)
    project
        .rehearsal(&["status"])
        .run()
        .exits(0)
        .stdout_has("ENVIRONMENT        REGION     LIFECYCLE  CREATED   EXPIRES")
        .stdout_has("prerelease         eu-west-1  ephemeral  just now  in ")
        .stdout_has("  service server: example/openchs-server:3.1.0 (prerelease-server:1)\n")
        .stdout_has("  server i-")
        .stdout_has(
            "  db prerelease-db: postgres 15.4, from prerelease-from-prod, under a minute old\n",
        )
        .stdout_has("production         eu-west-1  protected  -         -")
        .stdout_has("not created\n")
        .stdout_has("staging (no spec)  eu-west-1  protected  just now  -")
        .stdout_has("  service server: example/openchs-server:3.2.0 (staging-server:1)\n");
    let json = project
        .rehearsal(&["status", "--json"])
        .run()
        .exits(0)
        .json();
    let names: Vec<&str> = json["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["prerelease", "production", "staging"]);
    let staging = &json["environments"][2];
    assert_eq!(staging["has_spec"], false);
    assert_eq!(staging["lifecycle"], "protected");
    assert_eq!(
        staging["services"][0]["containers"][0]["image"],
        "example/openchs-server:3.2.0"
    );
    assert_eq!(
        staging["services"][0]["task_definition"],
        "staging-server:1"
    );
    let db = &json["environments"][0]["databases"][0];
    assert_eq!(db["engine_version"], "15.4");
    assert_eq!(db["restored_from"]["identifier"], "prerelease-from-prod");

    // One environment as JSON: the same row (ages aside: a second may pass between the two).
    let one = project
        .rehearsal(&["status", "prerelease", "--json"])
        .run()
        .exits(0)
        .json();
    let (one, all) = (&one["environments"][0], &json["environments"][0]);
    for field in [
        "name",
        "lifecycle",
        "resources",
        "services",
        "servers",
        "created_at",
    ] {
        assert_eq!(one[field], all[field], "{field}");
    }

    // Another region for every spec: what is there (nothing), with a note.
    project
        .rehearsal(&["status", "--region", "us-east-1"])
        .run()
        .exits(0)
        .stderr_has("note: using region us-east-1 from --region, not the specs' own")
        .stdout_has(
            "prerelease   us-east-1  ephemeral  -        -        -            not created",
        );

    // No specs at all: the region must be given, and every project's environments are shown.
    for spec in ["prerelease", "production"] {
        std::fs::remove_file(project.path(&format!("environments/{spec}.toml"))).unwrap();
    }
    project
        .rehearsal(&["status"])
        .run()
        .exits(64)
        .stderr_has("hint: pass --region eu-west-1, or set AWS_REGION");
    project
        .rehearsal(&["status", "--region", "eu-west-1"])
        .run()
        .exits(0)
        .stdout_has("prerelease (no spec)  eu-west-1  ephemeral  just now")
        .stdout_has("staging (no spec)     eu-west-1  protected  just now");
}

#[test]
fn status_lists_a_spec_it_cannot_plan_and_skips_one_it_cannot_read() {
    let project = Project::new();
    // A variable without a default: no plan without --var, but its [environment] says enough.
    project.write(
        "environments/qa.toml",
        "[environment]\nproject = \"openchs\"\nname = \"qa\"\nregion = \"eu-west-1\"\n\
         lifecycle = \"ephemeral\"\nttl = \"8h\"\n\n[variables.server_version]\n\
         description = \"build under test\"\n",
    );
    project.write("environments/broken.toml", "[environment\nname = \"x\"\n");
    project
        .rehearsal(&["status"])
        .run()
        .exits(0)
        .stdout_has("qa           eu-west-1  ephemeral  -        -        -            not created")
        .stderr_has(
            "note: skipping environments/broken.toml:1:13: unclosed table, expected `]` \
             (`rehearsal validate broken` says more)",
        );
}

// --- destroy -------------------------------------------------------------------------------

#[test]
fn destroy_dry_run_lists_and_changes_nothing() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    let before = project.read("cloud.json");

    project
        .rehearsal(&["destroy", "prerelease", "--dry-run"])
        .run()
        .snapshot("destroy-dry-run");
    let after = project.read("cloud.json");
    assert_eq!(
        serde_json::from_str::<Value>(&after).unwrap(),
        serde_json::from_str::<Value>(&before).unwrap()
    );
}

#[test]
fn destroy_deletes_everything_and_proves_it() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);

    project
        .rehearsal(&[
            "destroy",
            "prerelease",
            "--auto-approve",
            "--parallelism",
            "1",
        ])
        .run()
        .snapshot("destroy-auto-approve");
    project
        .rehearsal(&["status", "prerelease"])
        .run()
        .exits(0)
        .stdout_has("prerelease (eu-west-1) owns nothing.");
    assert_eq!(project.owned_by("prerelease"), 0);
    assert_eq!(
        project.cloud().sources.len(),
        5,
        "production is still there"
    );

    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .snapshot("destroy-with-nothing-left");
}

#[test]
fn destroy_lists_what_it_could_not_delete_and_why() {
    let project = Project::new();
    project.rehearsal(&["status", "prerelease"]).run().exits(0);
    add_a_database_that_never_finishes(&project);
    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve", "--timeout", "2s"])
        .run()
        .snapshot("destroy-leaves-something-behind");
    assert_eq!(project.owned_by("prerelease"), 1);
}

/// A pre-release database AWS never finishes making (left by a run that was killed, say): it
/// cannot be deleted until it is made, so a destroy waits for it until its `--timeout`.
fn add_a_database_that_never_finishes(project: &Project) {
    let mut cloud = project.cloud();
    let mut tags = crate::support::owned_tags(
        &crate::support::env_id("prerelease"),
        "rds_instance.db",
        "prerelease-db",
    );
    tags.insert("rehearsal:lifecycle".into(), "ephemeral".into());
    cloud.resources.insert(
        "prerelease-db".into(),
        rehearsal::provider::fake::FakeResource {
            region: "eu-west-1".into(),
            kind: rehearsal::model::ResourceKind::RdsInstance,
            id: "prerelease-db".into(),
            status: "creating".into(),
            attributes: [("identifier".to_string(), "prerelease-db".into())]
                .into_iter()
                .collect(),
            tags,
            transition: None,
            visible_from_ms: None,
        },
    );
    project.set_cloud(&cloud);
}

/// `destroy --out` saves the destroy plan for review instead of carrying it out: `show` renders
/// it, and `apply` carries it out, without the spec, with the same passes and proof.
#[test]
fn a_saved_destroy_plan_is_shown_then_applied_with_the_same_proof() {
    let project = Project::new();
    project.edit(
        "prerelease",
        "final_snapshot = false",
        "final_snapshot = true",
    );
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);

    project
        .rehearsal(&["destroy", "prerelease", "--out", "plans/teardown.json"])
        .run()
        .snapshot("destroy-out");
    assert_eq!(
        project.owned_by("prerelease"),
        PRERELEASE_OWNS,
        "nothing deleted yet"
    );
    project
        .rehearsal(&["show", "plans/teardown.json"])
        .run()
        .snapshot("show-a-destroy-plan");
    let plan: Value = serde_json::from_str(&project.read("plans/teardown.json")).unwrap();
    let db = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["address"] == "rds_instance.db")
        .unwrap();
    let final_snapshot = db["final_snapshot"]["identifier"]
        .as_str()
        .unwrap()
        .to_string();

    std::fs::remove_dir_all(project.path("environments")).unwrap();
    project
        .rehearsal(&["apply", "plans/teardown.json", "--parallelism", "1"])
        .run()
        .exits(0)
        .stdout_has("Destroying 10 resources of prerelease (eu-west-1)...")
        .stdout_has("Deleted 10 resources in 1 pass.")
        .stdout_has(
            "Proof: a final listing finds nothing tagged rehearsal:env=prerelease in eu-west-1.",
        );
    let cloud = project.cloud();
    let left: Vec<&String> = cloud
        .resources
        .iter()
        .filter(|(_, r)| r.tags.get("rehearsal:env").map(String::as_str) == Some("prerelease"))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        left,
        [&final_snapshot],
        "only the final snapshot the plan named"
    );
    assert_eq!(cloud.sources.len(), 5, "production is still there");

    project
        .rehearsal(&["apply", "plans/teardown.json"])
        .run()
        .exits(3)
        .stderr_has("this plan was already applied: prerelease already matches it");
}

/// A destroy plan is re-checked like any plan: one the world moved away from is refused.
#[test]
fn a_destroy_plan_overtaken_by_an_apply_is_refused_as_stale() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    project
        .rehearsal(&["destroy", "prerelease", "--out", "plans/teardown.json"])
        .run()
        .exits(0);
    project
        .rehearsal(&[
            "apply",
            "prerelease",
            "--var",
            "server_version=3.2.0",
            "--auto-approve",
        ])
        .run()
        .exits(0);
    let before = project.cloud();

    project
        .rehearsal(&["apply", "plans/teardown.json"])
        .run()
        .exits(3)
        .stderr_has("the plan is stale");
    assert_eq!(project.cloud().resources, before.resources);
}

#[test]
fn destroy_without_a_terminal_needs_auto_approve() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    project
        .rehearsal(&["destroy", "prerelease"])
        .run()
        .snapshot("destroy-without-a-terminal");
    assert_eq!(project.owned_by("prerelease"), PRERELEASE_OWNS);
}

#[test]
fn destroy_works_from_tags_when_the_spec_is_gone() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    std::fs::remove_file(project.path("environments/prerelease.toml")).unwrap();

    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .snapshot("destroy-without-a-spec-or-a-region");
    assert_eq!(project.owned_by("prerelease"), PRERELEASE_OWNS);

    // The region is not enough: which project's `prerelease`?
    project
        .rehearsal(&[
            "destroy",
            "prerelease",
            "--region",
            "eu-west-1",
            "--auto-approve",
        ])
        .run()
        .snapshot("destroy-without-a-spec-or-a-project");
    assert_eq!(project.owned_by("prerelease"), PRERELEASE_OWNS);

    project
        .rehearsal(&[
            "destroy",
            "prerelease",
            "--region",
            "eu-west-1",
            "--project",
            "openchs",
            "--auto-approve",
            "--parallelism",
            "1",
        ])
        .run()
        .snapshot("destroy-without-a-spec");
    assert_eq!(project.owned_by("prerelease"), 0);
}

#[test]
fn destroy_refuses_production() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "production", "--auto-approve"])
        .at(IN_PRODUCTION_S_WINDOW)
        .run()
        .exits(0);
    assert_eq!(project.owned_by("production"), 1, "the release snapshot");

    project
        .rehearsal(&["destroy", "production", "--auto-approve"])
        .run()
        .snapshot("destroy-production");
    // Not even with the spec out of the way: the tags say it is protected.
    std::fs::remove_file(project.path("environments/production.toml")).unwrap();
    project
        .rehearsal(&[
            "destroy",
            "production",
            "--region",
            "eu-west-1",
            "--project",
            "openchs",
            "--auto-approve",
        ])
        .run()
        .snapshot("destroy-production-without-its-spec");
    assert_eq!(project.owned_by("production"), 1);
}

// --- the region ----------------------------------------------------------------------------

/// `--region`, then `AWS_REGION`, then `AWS_DEFAULT_REGION`, then the spec's, as the AWS CLI
/// reads them (with the spec as its config file); a note says when it is not the spec's.
#[test]
fn the_region_is_the_flag_then_aws_region_then_aws_default_region_then_the_spec() {
    let project = Project::new();
    // The fake production lives in the spec's region, eu-west-1.
    project.rehearsal(&["status", "prerelease"]).run().exits(0);

    project
        .rehearsal(&["validate", "prerelease"])
        .env("AWS_DEFAULT_REGION", "us-west-2")
        .run()
        .snapshot("region-from-aws-default-region");
    project
        .rehearsal(&["plan", "prerelease"])
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-west-2")
        .run()
        .snapshot("region-from-aws-region");
    project
        .rehearsal(&["validate", "prerelease", "--region", "eu-west-1"])
        .env("AWS_REGION", "us-east-1")
        .run()
        .snapshot("region-from-the-flag");
}

#[test]
fn a_saved_plan_applies_where_it_was_made() {
    let project = Project::new();
    project.rehearsal(&["plan", "prerelease"]).run().exits(0);
    project
        .rehearsal(&["apply", PLAN_FILE, "--region", "us-east-1"])
        .run()
        .snapshot("region-flag-with-a-saved-plan");
    project
        .rehearsal(&["apply", PLAN_FILE, "--parallelism", "1"])
        .env("AWS_REGION", "us-east-1")
        .run()
        .snapshot("region-from-aws-region-with-a-saved-plan");
    assert!(
        project
            .cloud()
            .resources
            .values()
            .all(|r| r.region == "eu-west-1")
    );
}

#[test]
fn status_and_destroy_without_a_spec_take_the_region_from_the_environment() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    std::fs::remove_file(project.path("environments/prerelease.toml")).unwrap();
    project
        .rehearsal(&["status", "prerelease", "--project", "openchs"])
        .env("AWS_REGION", "eu-west-1")
        .run()
        .snapshot("status-without-a-spec");
    project
        .rehearsal(&[
            "destroy",
            "prerelease",
            "--project",
            "openchs",
            "--auto-approve",
        ])
        .env("AWS_DEFAULT_REGION", "eu-west-1")
        .run()
        .exits(0)
        .stderr_has("working from tags alone in eu-west-1 (from AWS_DEFAULT_REGION)");
    assert_eq!(project.owned_by("prerelease"), 0);
}

// --- reap ----------------------------------------------------------------------------------

#[test]
fn reap_destroys_only_expired_environments() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    project
        .rehearsal(&["apply", "staging", "--auto-approve"])
        .run()
        .exits(0);

    project
        .rehearsal(&["reap", "--region", "eu-west-1"])
        .run()
        .snapshot("reap-nothing-expired");
    assert_eq!(project.owned_by("prerelease"), PRERELEASE_OWNS);

    // A day later (as far as the tags are concerned).
    let mut cloud = project.cloud();
    for r in cloud.resources.values_mut() {
        if let Some(at) = r.tags.get_mut("rehearsal:expires-at") {
            *at = "2000-01-01T00:00:00Z".into();
        }
    }
    project.set_cloud(&cloud);

    project
        .rehearsal(&["reap", "--region", "eu-west-1"])
        .run()
        .snapshot("reap-dry-run");
    assert_eq!(
        project.owned_by("prerelease"),
        PRERELEASE_OWNS,
        "a dry run by default"
    );

    // Progress of deletes side by side comes in any order: assertions, not a snapshot.
    project
        .rehearsal(&[
            "reap",
            "--region",
            "eu-west-1",
            "--execute",
            "--auto-approve",
        ])
        .run()
        .exits(0)
        .stdout_has("prerelease expired at 2000-01-01T00:00:00Z (10 resources)")
        .stdout_has("staging has no expiry: left alone")
        .stdout_has("prerelease destroyed.");
    assert_eq!(project.owned_by("prerelease"), 0);
    assert_eq!(project.owned_by("staging"), 3);
}

// --- help and completions ------------------------------------------------------------------

#[test]
fn completions_print_a_shell_script() {
    let project = Project::new();
    project
        .rehearsal(&["completions", "bash"])
        .run()
        .exits(0)
        .stdout_has("_rehearsal()")
        .stdout_has("complete -F _rehearsal");
    project
        .rehearsal(&["completions", "zsh"])
        .run()
        .exits(0)
        .stdout_has("#compdef rehearsal");
}

#[test]
fn every_command_has_an_example_in_its_help() {
    let project = Project::new();
    project
        .rehearsal(&["--help"])
        .run()
        .exits(0)
        .stdout_has("Examples:\n  rehearsal validate prerelease");
    for command in [
        "validate",
        "plan",
        "show",
        "apply",
        "graph",
        "status",
        "destroy",
        "reap",
        "completions",
    ] {
        let outcome = project.rehearsal(&[command, "--help"]).run().exits(0);
        assert!(
            outcome.stdout.contains("Example")
                && outcome.stdout.contains(&format!("rehearsal {command}")),
            "`rehearsal {command} --help` shows no example:\n{}",
            outcome.stdout
        );
    }
}

#[test]
fn an_unknown_provider_is_refused_with_the_choices() {
    let project = Project::new();
    project
        .rehearsal(&["plan", "prerelease"])
        .env("REHEARSAL_PROVIDER", "gcp")
        .run()
        .snapshot("an-unknown-provider");
    assert!(!project.path(PLAN_FILE).exists());
}

#[test]
fn a_failed_plan_removes_the_previous_plan_so_it_cannot_be_applied_by_mistake() {
    let project = Project::new();
    project.rehearsal(&["plan", "prerelease"]).run().exits(0);
    assert!(project.path(PLAN_FILE).exists());

    // Production's database cannot be found any more: this plan fails...
    project.edit(
        "prerelease",
        "identifier = \"production-db\"",
        "identifier = \"production-db-gone\"",
    );
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .snapshot("plan-fails-and-removes-the-previous-plan");
    // ...and the next step of the checklist has nothing old to apply.
    assert!(!project.path(PLAN_FILE).exists());
    project
        .rehearsal(&["apply", PLAN_FILE])
        .run()
        .snapshot("apply-a-removed-plan");
}

#[test]
fn a_name_only_the_plan_can_resolve_is_checked_by_the_plan() {
    let project = Project::new();
    project.rehearsal(&["plan", "prerelease"]).run().exits(0);
    // Production's identifier is known once the plan looks it up; with it, a dot.
    project.edit(
        "prerelease",
        "identifier = \"prerelease-from-prod\"",
        "identifier = \"${source.rds_instance.prod_db.identifier}.before-rehearsal\"",
    );
    project
        .rehearsal(&["validate", "prerelease"])
        .run()
        .exits(0);
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .snapshot("plan-a-name-aws-would-refuse");
    assert!(!project.path(PLAN_FILE).exists());
}

#[test]
fn a_broken_spec_also_removes_the_previous_plan() {
    let project = Project::new();
    project.rehearsal(&["plan", "prerelease"]).run().exits(0);
    project.edit("prerelease", "instance_type", "instance_typo");
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .snapshot("plan-a-broken-spec-removes-the-previous-plan");
    assert!(!project.path(PLAN_FILE).exists());
}

#[test]
fn a_plan_that_cannot_be_written_removes_the_previous_plan_and_says_so() {
    let project = Project::new();
    project.rehearsal(&["plan", "prerelease"]).run().exits(0);
    project
        .rehearsal(&["plan", "prerelease", "--var", "server_version=3.2.0"])
        .on_a_full_disk()
        .run()
        .snapshot("plan-cannot-be-written");
    assert_eq!(
        plans_directory(&project),
        Vec::<String>::new(),
        "neither the previous plan nor a partial one is left"
    );
    project
        .rehearsal(&["apply", PLAN_FILE])
        .run()
        .exits(1)
        .stderr_has("cannot read plan plans/prerelease.plan.json");
}

#[test]
fn a_killed_plan_s_temporary_file_is_removed_by_the_next_plan() {
    let project = Project::new();
    std::fs::create_dir(project.path("plans")).unwrap();
    // A plan killed while writing left its temporary file; its process is gone.
    let mut finished = std::process::Command::new("true").spawn().unwrap();
    let gone = finished.id();
    finished.wait().unwrap();
    let stale = format!("plans/.prerelease.plan.json.{gone}.tmp");
    project.write(&stale, "{\n  \"format_version\": 2,\n  \"tool_ver");
    // Another plan of the same file is being written right now, by a process that runs.
    let running = format!("plans/.prerelease.plan.json.{}.tmp", std::process::id());
    project.write(&running, "{");
    project.rehearsal(&["plan", "prerelease"]).run().exits(0);
    assert_eq!(
        plans_directory(&project),
        [running.trim_start_matches("plans/"), "prerelease.plan.json"],
        "the stale temporary file is gone; the live one is not touched"
    );
}

/// What `plans/` holds, hidden files too, sorted.
fn plans_directory(project: &Project) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(project.path("plans"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// --- exit codes: README.md's table, one command line per row ---------------------------------

/// The table in README.md ("Exit codes"): each code it documents.
fn documented_exit_codes() -> Vec<u8> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let table = readme
        .split("### Exit codes")
        .nth(1)
        .expect("README.md has an Exit codes section");
    table
        .lines()
        .skip_while(|l| !l.starts_with("| Code"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.split('|').nth(1).unwrap().trim().parse().expect("a code"))
        .collect()
}

#[test]
fn the_readme_documents_every_exit_code_and_no_other() {
    use rehearsal::exit;
    assert_eq!(
        documented_exit_codes(),
        [
            exit::SUCCESS,
            exit::ERROR,
            exit::CHANGES,
            exit::REPLAN,
            exit::STEPS_FAILED,
            exit::LEFTOVERS,
            exit::CHECKS_FAILED,
            exit::WINDOW_CLOSED,
            exit::LOCKED,
            exit::PAUSED,
            exit::NOT_APPROVED,
            exit::USAGE
        ]
    );
}

#[test]
fn exit_0_no_changes_and_proven_destroyed() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    project
        .rehearsal(&["plan", "prerelease", "--detailed-exitcode"])
        .run()
        .exits(0);
    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .exits(0)
        .stdout_has("Proof: ");
}

#[test]
fn exit_1_an_error() {
    let project = Project::new();
    project.edit("prerelease", "instance_type", "instance_typo");
    project
        .rehearsal(&["validate", "prerelease"])
        .run()
        .exits(1)
        .stderr_has("unknown field `instance_typo`");
    project
        .rehearsal(&["plan", "prerelease", "--detailed-exitcode"])
        .run()
        .exits(1);
    project
        .rehearsal(&["show", "plans/none.plan.json"])
        .run()
        .exits(1)
        .stderr_has("cannot read plan");
    project
        .rehearsal(&["destroy", "production", "--auto-approve"])
        .run()
        .exits(1)
        .stderr_has("protected");
}

#[test]
fn exit_2_the_plan_has_changes() {
    Project::new()
        .rehearsal(&["plan", "prerelease", "--detailed-exitcode"])
        .run()
        .exits(2)
        .stdout_has("Plan: 9 to create");
}

#[test]
fn exit_3_plan_again() {
    let project = Project::new();
    for out in ["plans/first.json", "plans/second.json"] {
        project
            .rehearsal(&["plan", "prerelease", "--out", out])
            .run()
            .exits(0);
    }
    project
        .rehearsal(&[
            "plan",
            "prerelease",
            "--var",
            "server_version=3.2.0",
            "--out",
            "plans/stale.json",
        ])
        .run()
        .exits(0);
    project
        .rehearsal(&["apply", "plans/first.json"])
        .run()
        .exits(0);
    // Already applied.
    project
        .rehearsal(&["apply", "plans/first.json"])
        .run()
        .exits(3)
        .stderr_has("already applied");
    // Stale: the world moved since the plan was made.
    project
        .rehearsal(&["apply", "plans/stale.json"])
        .run()
        .exits(3)
        .stderr_has("stale");

    // Another plan format, and a damaged file.
    let text = project.read("plans/second.json");
    let mut other: Value = serde_json::from_str(&text).unwrap();
    other["format_version"] = 99.into();
    project.write("plans/other-format.json", &other.to_string());
    project
        .rehearsal(&["apply", "plans/other-format.json"])
        .run()
        .exits(3)
        .stderr_has("format 99");
    project.write("plans/damaged.json", &text[..text.len() / 2]);
    project
        .rehearsal(&["apply", "plans/damaged.json"])
        .run()
        .exits(3)
        .stderr_has("not a plan file");
    project
        .rehearsal(&["show", "plans/damaged.json"])
        .run()
        .exits(3);
}

#[test]
fn exit_4_a_step_failed() {
    let project = Project::new();
    project.rehearsal(&["status", "prerelease"]).run().exits(0);
    add_someone_elses_database_named_prerelease_db(&project);
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(4)
        .stdout_has("Summary: 4 done, 1 failed, 4 skipped.")
        .stdout_has("DB instance prerelease-db already exists");
}

#[test]
fn exit_5_something_was_left_behind() {
    let project = Project::new();
    project.rehearsal(&["status", "prerelease"]).run().exits(0);
    add_a_database_that_never_finishes(&project);
    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve", "--timeout", "2s"])
        .run()
        .exits(5)
        .stdout_has("NOT DESTROYED:")
        .stdout_has("(last seen: it is still creating)");
}

#[test]
fn exit_6_a_check_failed() {
    let project = Project::new();
    let spec = project.read("environments/prerelease.toml");
    project.write(
        "environments/prerelease.toml",
        &format!("{spec}\n[checks.ready]\ncommand = [\"/bin/false\"]\ninterval = \"1s\"\ntimeout = \"1s\"\n"),
    );
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(6)
        .stdout_has("Summary: 9 done, 0 failed, 0 skipped.")
        .stdout_has("FAILED   check.ready: /bin/false: exited with status 1");
}

#[test]
fn exit_7_the_window_is_closed() {
    // Saturday 2026-12-05, noon in Maputo: "Do NOT release on Friday or weekend".
    Project::new()
        .rehearsal(&["apply", "production", "--auto-approve"])
        .at("2026-12-05 10:00:00")
        .run()
        .exits(7)
        .stderr_has("the change window of production is closed");
}

#[test]
fn exit_64_usage() {
    let project = Project::new();
    for args in [
        &[
            "plan",
            "prerelease",
            "--detailed-exitcode",
            "--var",
            "broken",
        ][..],
        &[
            "plan",
            "prerelease",
            "--detailed-exitcode",
            "--no-such-flag",
        ],
        &["plan"],
        &["apply", "prerelease", "--parallelism", "0"],
        &[],
    ] {
        let outcome = project.rehearsal(args).run().exits(64);
        assert!(
            outcome.stderr.starts_with("error: ") || args.is_empty(),
            "{}",
            outcome.show()
        );
    }
    project.rehearsal(&["plan", "prerelease"]).run().exits(0);
    project
        .rehearsal(&["apply", PLAN_FILE, "--var", "server_version=3.2.0"])
        .run()
        .exits(64)
        .stderr_has("--var cannot change a saved plan");
    project
        .rehearsal(&["apply", "prerelease"])
        .run()
        .exits(64)
        .stderr_has("no terminal");
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    project
        .rehearsal(&["destroy", "prerelease"])
        .run()
        .exits(64)
        .stderr_has("no terminal");
    project.rehearsal(&["reap"]).run().exits(64);
    assert_eq!(
        project.owned_by("prerelease"),
        PRERELEASE_OWNS,
        "nothing was destroyed"
    );

    // --help and --version are not errors.
    project.rehearsal(&["--help"]).run().exits(0);
    project
        .rehearsal(&["--version"])
        .run()
        .exits(0)
        .stdout_has(env!("CARGO_PKG_VERSION"));
}

/// Production's image deregistered since its server was launched: the plan stops at the clone's
/// line, says which attribute and why, and what to set instead; an image in the spec wins.
#[test]
fn a_clone_of_a_server_whose_image_is_gone_is_a_plan_error_at_its_line() {
    let project = Project::new();
    let mut cloud = rehearsal::provider::fake::FakeCloud::production("eu-west-1");
    let server = cloud
        .sources
        .iter_mut()
        .find(|s| s.kind == rehearsal::model::SourceKind::Ec2Instance)
        .expect("production's server");
    server.unusable.insert(
        "image".into(),
        "image ami-04681a1dbd79675a5 has been deregistered since that server was launched".into(),
    );
    project.set_cloud(&cloud);
    // The error points at the server's table, wherever the shipped spec has it.
    let line = 1 + project
        .read("environments/prerelease.toml")
        .lines()
        .position(|l| l == "[resources.ec2_instance.server]")
        .expect("the shipped pre-release has a server");
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .exits(1)
        .stderr_has(&format!(
            "error: environments/prerelease.toml:{line}:1: ec2_instance.server: `image` comes from \
             source.ec2_instance.prod_server.image, but image ami-04681a1dbd79675a5 has been \
             deregistered since that server was launched",
        ))
        .stderr_has("hint: set `image` in [resources.ec2_instance.server] to one that exists");
    assert!(!project.path("plans/prerelease.plan.json").exists());

    project.edit(
        "prerelease",
        "instance_type = \"t3.medium\"",
        "instance_type = \"t3.medium\"\nimage = \"ami-0new\"",
    );
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .exits(0)
        .stdout_has("image = ami-0new");
}

#[test]
fn a_fargate_service_whose_subnet_has_no_way_out_is_refused_at_its_line() {
    let project = Project::new();
    project.rehearsal(&["plan", "prerelease"]).run().exits(0);
    // Someone removed the NAT gateway route from production subnet's route table: a task there
    // could not pull its image, and ECS would say so only once the apply waits for the rollout.
    let mut cloud = project.cloud();
    cloud.cut_off_subnet("subnet-0prod0001");
    project.set_cloud(&cloud);
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .snapshot("plan-a-fargate-service-with-no-way-out");
    assert!(!project.path(PLAN_FILE).exists());
}

// --- import, init --from-live ------------------------------------------------------------------

/// Production's cluster and service in the fake cloud, made by hand long before rehearsal.
fn production_made_by_hand(project: &Project) {
    use rehearsal::model::ResourceKind;
    use rehearsal::provider::fake::{FakeCloud, FakeResource};
    let mut cloud = FakeCloud::production("eu-west-1");
    let arn = |what: &str| format!("arn:aws:ecs:eu-west-1:000000000000:{what}");
    let by_hand = |kind, id: String, attributes: Value| FakeResource {
        region: "eu-west-1".into(),
        kind,
        id: id.clone(),
        status: rehearsal::kinds::lifecycle(kind).ready.clone(),
        attributes: attributes.as_object().cloned().unwrap(),
        tags: [("team".to_string(), "platform".to_string())].into(),
        transition: None,
        visible_from_ms: None,
    };
    for resource in [
        by_hand(
            ResourceKind::EcsCluster,
            arn("cluster/production"),
            serde_json::json!({"name": "production", "arn": arn("cluster/production"),
                "id": arn("cluster/production")}),
        ),
        by_hand(
            ResourceKind::EcsService,
            arn("service/production/server"),
            serde_json::json!({"name": "server", "cluster": "production", "desired_count": 2,
                "task_definition": arn("task-definition/server:1"),
                "arn": arn("service/production/server"), "id": arn("service/production/server")}),
        ),
    ] {
        cloud.resources.insert(resource.id.clone(), resource);
    }
    project.set_cloud(&cloud);
}

const PRODUCTION_LIVE: &str = r#"[environment]
project = "openchs"
name = "production-live"
region = "eu-west-1"
lifecycle = "protected"

[resources.ecs_service.server]
name = "server"
cluster = "production"
task_definition = "arn:aws:ecs:eu-west-1:000000000000:task-definition/server:1"
desired_count = 2
"#;

#[test]
fn import_shows_what_it_tags_and_asks_first() {
    let project = Project::new();
    production_made_by_hand(&project);
    project.write("environments/production-live.toml", PRODUCTION_LIVE);
    project
        .rehearsal(&[
            "import",
            "production-live",
            "ecs_service.server",
            "production/server",
        ])
        .run()
        .snapshot("import-without-a-terminal");
    assert_eq!(project.owned_by("production-live"), 0);

    project
        .rehearsal(&[
            "import",
            "production-live",
            "ecs_service.server",
            "production/server",
            "--auto-approve",
        ])
        .run()
        .snapshot("import-auto-approve");
    assert_eq!(project.owned_by("production-live"), 1);
    project
        .rehearsal(&["plan", "production-live", "--detailed-exitcode"])
        .run()
        .exits(0)
        .stdout_has("No changes");
    // Protected: never destroyed, imported or not.
    project
        .rehearsal(&["destroy", "production-live", "--auto-approve"])
        .run()
        .exits(1)
        .stderr_has("protected");
    assert_eq!(project.owned_by("production-live"), 1);
}

#[test]
fn import_into_an_ephemeral_environment_is_refused() {
    let project = Project::new();
    production_made_by_hand(&project);
    project
        .rehearsal(&[
            "import",
            "prerelease",
            "ecs_service.server",
            "production/server",
            "--auto-approve",
        ])
        .run()
        .snapshot("import-into-an-ephemeral-environment");
}

#[test]
fn init_from_live_writes_a_spec_that_plans_as_no_change() {
    let project = Project::new();
    production_made_by_hand(&project);
    project
        .rehearsal(&[
            "init",
            "production-live",
            "--from-live",
            "--project",
            "openchs",
            "--region",
            "eu-west-1",
            "--cluster",
            "production",
            "--service",
            "production/server",
            "--auto-approve",
        ])
        .run()
        .snapshot("init-from-live");
    insta::assert_snapshot!(
        "init-from-live-spec",
        project.read("environments/production-live.toml")
    );
    assert_eq!(project.owned_by("production-live"), 2);
    project
        .rehearsal(&["validate", "production-live"])
        .run()
        .exits(0);
    project
        .rehearsal(&["plan", "production-live", "--detailed-exitcode"])
        .run()
        .exits(0);
    // Never over a spec.
    project
        .rehearsal(&[
            "init",
            "production-live",
            "--from-live",
            "--project",
            "openchs",
            "--region",
            "eu-west-1",
            "--cluster",
            "production",
        ])
        .run()
        .exits(64)
        .stderr_has("already exists");
}

/// `rehearsal apply ... | head`: the reader goes away after a few lines. What the command does
/// does not depend on who reads it: the apply finishes, nothing panics, and the environment is
/// there, with no half-finished apply left for a closed pipe.
#[test]
fn a_reader_that_goes_away_stops_the_output_not_the_command() {
    let project = Project::new();
    let (code, stderr) = project
        .rehearsal(&["apply", "prerelease", "--auto-approve", "--skip-checks"])
        .run_with_stdout_closed();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(code, 0, "{stderr}");
    project
        .rehearsal(&["plan", "prerelease", "--detailed-exitcode"])
        .run()
        .exits(0);
    let (code, stderr) = project
        .rehearsal(&["status", "--json"])
        .run_with_stdout_closed();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(code, 0, "{stderr}");
}
