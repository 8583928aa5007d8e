//! The `rehearsal` binary as a person (or CI) runs it: in a project directory holding
//! `environments/`, against a fake cloud kept in a file (`REHEARSAL_PROVIDER=fake:PATH`), with
//! no terminal and `NO_COLOR=1`.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use rehearsal::provider::fake::FakeCloud;
use serde_json::Value;
use tempfile::TempDir;

/// A project directory: a copy of `environments/`, a `plans/` directory to be, and a fake
/// cloud file seeded with production on first use.
struct Project {
    dir: TempDir,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        let environments = dir.path().join("environments");
        std::fs::create_dir(&environments).unwrap();
        for entry in std::fs::read_dir(crate::support::environments_dir()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                std::fs::copy(&path, environments.join(path.file_name().unwrap())).unwrap();
            }
        }
        Project { dir }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// `rehearsal ARGS...`, run in the project directory.
    fn rehearsal(&self, args: &[&str]) -> Run<'_> {
        Run {
            project: self,
            args: args.iter().map(|a| a.to_string()).collect(),
            env: vec![],
        }
    }

    fn write(&self, relative: &str, text: &str) {
        std::fs::write(self.path(relative), text).unwrap();
    }

    fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
    }

    /// What the fake cloud holds now.
    fn cloud(&self) -> FakeCloud {
        serde_json::from_str(&self.read("cloud.json")).expect("a fake cloud state file")
    }

    /// How many resources carry an environment's tag.
    fn owned_by(&self, env: &str) -> usize {
        self.cloud()
            .resources
            .values()
            .filter(|r| r.tags.get("rehearsal:env").map(String::as_str) == Some(env))
            .count()
    }
}

/// One command line, built up fluently.
struct Run<'a> {
    project: &'a Project,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Run<'_> {
    fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    #[track_caller]
    fn succeeds(self) -> Outcome {
        self.run().succeeds()
    }

    #[track_caller]
    fn fails(self) -> Outcome {
        self.run().fails()
    }

    #[track_caller]
    fn exits(self, code: i32) -> Outcome {
        self.run().exits(code)
    }

    fn run(self) -> Outcome {
        let cloud = self.project.path("cloud.json");
        let output = Command::new(env!("CARGO_BIN_EXE_rehearsal"))
            .args(&self.args)
            .current_dir(self.project.dir.path())
            // Nothing from the machine running the tests: no AWS_REGION, no REHEARSAL_VAR_...
            .env_clear()
            .env("REHEARSAL_PROVIDER", format!("fake:{}", cloud.display()))
            .env("NO_COLOR", "1")
            .envs(self.env)
            .stdin(Stdio::null())
            .output()
            .expect("the rehearsal binary runs");
        Outcome {
            command: format!("rehearsal {}", self.args.join(" ")),
            code: output.status.code().expect("exited, not killed"),
            stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
        }
    }
}

/// What the user sees: the exit code, stdout and stderr.
struct Outcome {
    command: String,
    code: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn show(&self) -> String {
        format!(
            "$ {}\nexit {}\n--- stdout\n{}--- stderr\n{}",
            self.command, self.code, self.stdout, self.stderr
        )
    }

    #[track_caller]
    fn exits(self, code: i32) -> Self {
        assert_eq!(self.code, code, "wrong exit code\n{}", self.show());
        self
    }

    #[track_caller]
    fn succeeds(self) -> Self {
        self.exits(0)
    }

    #[track_caller]
    fn fails(self) -> Self {
        self.exits(1)
    }

    #[track_caller]
    fn prints(self, text: &str) -> Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}\n{}",
            self.show()
        );
        self
    }

    #[track_caller]
    fn says(self, text: &str) -> Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}\n{}",
            self.show()
        );
        self
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", self.show()))
    }
}

const PLAN_FILE: &str = "plans/prerelease.plan.json";

// --- validate --------------------------------------------------------------------------------

#[test]
fn validate_says_what_the_spec_describes() {
    let project = Project::new();
    project
        .rehearsal(&["validate", "prerelease"])
        .succeeds()
        .prints("environments/prerelease.toml is valid: environment prerelease in eu-west-1, 2 sources, 6 resources.");
    for env in ["production", "staging"] {
        project
            .rehearsal(&["validate", env])
            .succeeds()
            .prints("is valid");
    }
}

#[test]
fn validate_points_at_a_typo_with_the_line_and_a_hint() {
    let project = Project::new();
    let spec = project.read("environments/prerelease.toml");
    project.write(
        "environments/prerelease.toml",
        &spec.replace(
            "instance_type = \"t3.medium\"",
            "instnce_type = \"t3.medium\"",
        ),
    );
    let line = spec
        .lines()
        .position(|l| l.starts_with("instance_type"))
        .unwrap()
        + 1;

    let outcome = project.rehearsal(&["validate", "prerelease"]).fails();
    let outcome = outcome
        .says(&format!(
            "error: environments/prerelease.toml:{line}:1: unknown field `instnce_type`"
        ))
        .says(&format!("{line} | instnce_type = \"t3.medium\"\n"))
        .says("   | ^^^^^^^^^^^^\n")
        .says("hint: did you mean `instance_type`?");
    assert_eq!(outcome.stdout, "");
}

#[test]
fn validate_refuses_an_undeclared_var() {
    Project::new()
        .rehearsal(&["validate", "prerelease", "--var", "server_verison=3.2.0"])
        .fails()
        .says("error: --var server_verison: the spec declares no variable `server_verison`")
        .says("hint: did you mean `server_version`?");
}

#[test]
fn a_missing_spec_is_named_with_where_specs_live() {
    Project::new()
        .rehearsal(&["validate", "prerelase"])
        .fails()
        .says("error: cannot read environments/prerelase.toml")
        .says("hint: environment specs live in environments/NAME.toml");
}

// --- plan, apply ---------------------------------------------------------------------------

#[test]
fn plan_prints_what_it_would_do_and_saves_it() {
    let project = Project::new();
    project
        .rehearsal(&["plan", "prerelease"])
        .succeeds()
        .prints("rehearsal will make these changes to prerelease (eu-west-1):")
        .prints("  + rds_instance.db\n      because it does not exist yet\n")
        .prints("Plan: 6 to create, 0 to update, 0 to replace, 0 to delete.")
        .prints("Saved the plan to plans/prerelease.plan.json. Apply exactly this plan with:\n  rehearsal apply plans/prerelease.plan.json");
    let plan: Value = serde_json::from_str(&project.read(PLAN_FILE)).unwrap();
    assert_eq!(plan["env"]["name"], "prerelease");
    assert_eq!(plan["actions"].as_array().unwrap().len(), 6);
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
        .succeeds();
    let plan = outcome.json();
    assert_eq!(plan["variables"]["server_version"], "3.2.0");
    assert_eq!(plan["summary"]["create"], 6);

    // REHEARSAL_VAR_<name> works too, below --var.
    let plan = project
        .rehearsal(&["plan", "prerelease", "--json"])
        .env("REHEARSAL_VAR_server_version", "3.3.0")
        .run()
        .json();
    assert_eq!(plan["variables"]["server_version"], "3.3.0");
}

#[test]
fn detailed_exitcode_says_whether_there_are_changes() {
    let project = Project::new();
    project
        .rehearsal(&["plan", "prerelease", "--detailed-exitcode"])
        .exits(2);

    project
        .rehearsal(&["apply", PLAN_FILE])
        .succeeds()
        .prints("Applying 6 changes to prerelease (eu-west-1)...")
        .prints("Summary: 6 done, 0 failed, 0 skipped.")
        .says("+ rds_instance.db: done");
    assert_eq!(project.owned_by("prerelease"), 6);

    // The same plan again: nothing is done twice.
    project
        .rehearsal(&["apply", PLAN_FILE])
        .fails()
        .says("error: this plan was already applied: prerelease already matches it")
        .says("hint: nothing to do; `rehearsal plan prerelease` shows the current state");
    assert_eq!(project.owned_by("prerelease"), 6);

    project
        .rehearsal(&["plan", "prerelease", "--detailed-exitcode"])
        .exits(0)
        .prints("No changes. prerelease (eu-west-1) matches environments/prerelease.toml.");
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
        .succeeds();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .succeeds();
    let before = project.cloud();

    project
        .rehearsal(&["apply", "plans/new.json"])
        .fails()
        .says("error: the plan is stale: live state changed since it was made:\n  resource ")
        .says("appeared")
        .says("hint: make a fresh plan with `rehearsal plan ENV`, review it, and apply that");
    assert_eq!(project.cloud().resources, before.resources);
}

#[test]
fn a_saved_plan_cannot_take_new_vars() {
    let project = Project::new();
    project.rehearsal(&["plan", "prerelease"]).succeeds();
    project
        .rehearsal(&["apply", PLAN_FILE, "--var", "server_version=3.2.0"])
        .fails()
        .says("error: --var cannot change a saved plan");
}

#[test]
fn apply_without_a_terminal_needs_auto_approve() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease"])
        .fails()
        .prints("Plan: 6 to create")
        .says("error: refusing to apply without confirmation: there is no terminal to ask on")
        .says("hint: review the plan and pass --auto-approve");
    assert_eq!(project.owned_by("prerelease"), 0, "nothing was changed");

    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .succeeds()
        .prints("Summary: 6 done");
    assert_eq!(project.owned_by("prerelease"), 6);
    project
        .rehearsal(&["apply", "prerelease"])
        .succeeds()
        .prints("Nothing to apply.");
}

// --- show, graph, status -------------------------------------------------------------------

#[test]
fn show_renders_a_saved_plan_for_people_and_for_jq() {
    let project = Project::new();
    project.rehearsal(&["plan", "prerelease"]).succeeds();

    project
        .rehearsal(&["show", PLAN_FILE])
        .succeeds()
        .prints("Plan ")
        .prints(" for prerelease, made ")
        .prints(&format!(" by rehearsal {}.", env!("CARGO_PKG_VERSION")))
        .prints("  + ec2_instance.server\n")
        .prints("Plan: 6 to create");

    let json = project
        .rehearsal(&["show", PLAN_FILE, "--json"])
        .succeeds()
        .json();
    assert_eq!(json["summary"]["create"], 6);
    assert_eq!(json["summary"]["changes"], 6);
    assert_eq!(json["format_version"], 2);
    assert_eq!(json["actions"][0]["reason"]["why"], "does_not_exist");
    assert_eq!(
        json["actions"][0]["because"],
        "because it does not exist yet"
    );

    project
        .rehearsal(&["show", "plans/nope.plan.json"])
        .fails()
        .says("error: cannot read plan plans/nope.plan.json")
        .says("hint: make a new one with `rehearsal plan ENV`");
}

#[test]
fn graph_prints_dot_with_the_ordered_steps() {
    let project = Project::new();
    project
        .rehearsal(&["graph", "prerelease"])
        .succeeds()
        .prints("// Steps in order (each line can run once the lines above are done):\n")
        .prints("//   1. + ecs_cluster.main, + rds_snapshot.from_prod\n")
        .prints("//   4. + ecs_service.server\n")
        .prints("digraph plan {");
    let steps = project
        .rehearsal(&["graph", "prerelease", "--steps"])
        .succeeds();
    assert_eq!(
        steps.stdout,
        "1. + ecs_cluster.main, + rds_snapshot.from_prod\n2. + rds_instance.db\n\
         3. + ec2_instance.server, + ecs_task_definition.server\n4. + ecs_service.server\n"
    );
}

#[test]
fn status_lists_what_an_environment_owns() {
    let project = Project::new();
    project
        .rehearsal(&["status", "prerelease"])
        .succeeds()
        .prints("prerelease (eu-west-1) owns nothing.");
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .succeeds();
    project
        .rehearsal(&["status", "prerelease"])
        .succeeds()
        .prints("prerelease (eu-west-1) owns 6 resources:")
        .prints("  rds_instance.db ")
        .prints("(expires ");
}

// --- destroy -------------------------------------------------------------------------------

#[test]
fn destroy_dry_run_lists_and_changes_nothing() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .succeeds();
    let before = project.read("cloud.json");

    project
        .rehearsal(&["destroy", "prerelease", "--dry-run"])
        .succeeds()
        .prints("Would delete 6 resources owned by prerelease (eu-west-1):")
        .prints("  - ecs_service.server ")
        .prints("Dry run: nothing was changed.");
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
        .succeeds();

    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .succeeds()
        .prints("Will delete 6 resources owned by prerelease (eu-west-1):")
        .prints("Deleted 6 resources in 1 pass")
        .prints(
            "Proof: a final listing finds nothing tagged rehearsal:env=prerelease in eu-west-1.",
        )
        .says("pass 1: 6 left");
    project
        .rehearsal(&["status", "prerelease"])
        .succeeds()
        .prints("prerelease (eu-west-1) owns nothing.");
    assert_eq!(project.owned_by("prerelease"), 0);
    assert_eq!(
        project.cloud().sources.len(),
        5,
        "production is still there"
    );

    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .succeeds()
        .prints("Nothing to destroy: prerelease owns nothing in eu-west-1.");
}

#[test]
fn destroy_without_a_terminal_needs_auto_approve() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .succeeds();
    project
        .rehearsal(&["destroy", "prerelease"])
        .fails()
        .says("error: refusing to destroy without confirmation")
        .says("--auto-approve");
    assert_eq!(project.owned_by("prerelease"), 6);
}

#[test]
fn destroy_works_from_tags_when_the_spec_is_gone() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .succeeds();
    std::fs::remove_file(project.path("environments/prerelease.toml")).unwrap();

    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .fails()
        .says("error: cannot read the spec of prerelease, and no region was given")
        .says("hint: pass --region (or set AWS_REGION)");
    assert_eq!(project.owned_by("prerelease"), 6);

    project
        .rehearsal(&[
            "destroy",
            "prerelease",
            "--region",
            "eu-west-1",
            "--auto-approve",
        ])
        .succeeds()
        .says("note: cannot use environments/prerelease.toml")
        .says("working from tags alone in eu-west-1")
        .prints(
            "Proof: a final listing finds nothing tagged rehearsal:env=prerelease in eu-west-1.",
        );
    assert_eq!(project.owned_by("prerelease"), 0);
}

#[test]
fn destroy_refuses_production() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "production", "--auto-approve"])
        .succeeds();
    assert_eq!(project.owned_by("production"), 1, "the release snapshot");

    project
        .rehearsal(&["destroy", "production", "--auto-approve"])
        .fails()
        .says("error: environment production is protected: rehearsal never destroys it")
        .says(
            "hint: protected environments (production, staging) are never torn down by rehearsal",
        );
    // Not even with the spec out of the way: the tags say it is protected.
    std::fs::remove_file(project.path("environments/production.toml")).unwrap();
    project
        .rehearsal(&[
            "destroy",
            "production",
            "--region",
            "eu-west-1",
            "--auto-approve",
        ])
        .fails()
        .says("error: environment production is protected");
    assert_eq!(project.owned_by("production"), 1);
}

// --- reap ----------------------------------------------------------------------------------

#[test]
fn reap_destroys_only_expired_environments() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .succeeds();
    project
        .rehearsal(&["apply", "staging", "--auto-approve"])
        .succeeds();

    project
        .rehearsal(&[
            "reap",
            "--region",
            "eu-west-1",
            "--execute",
            "--auto-approve",
        ])
        .succeeds()
        .prints("prerelease is not expired yet (until ")
        .prints("staging has no expiry: left alone");
    assert_eq!(project.owned_by("prerelease"), 6);

    // A day later (as far as the tags are concerned).
    let mut cloud = project.cloud();
    for r in cloud.resources.values_mut() {
        if let Some(at) = r.tags.get_mut("rehearsal:expires-at") {
            *at = "2000-01-01T00:00:00Z".into();
        }
    }
    project.write("cloud.json", &serde_json::to_string(&cloud).unwrap());

    project
        .rehearsal(&["reap", "--region", "eu-west-1"])
        .succeeds()
        .prints("prerelease expired at 2000-01-01T00:00:00Z (6 resources)")
        .prints("Dry run: pass --execute to destroy the expired environments.");
    assert_eq!(project.owned_by("prerelease"), 6, "a dry run by default");

    project
        .rehearsal(&[
            "reap",
            "--region",
            "eu-west-1",
            "--execute",
            "--auto-approve",
        ])
        .succeeds()
        .prints("prerelease destroyed.");
    assert_eq!(project.owned_by("prerelease"), 0);
    assert_eq!(project.owned_by("staging"), 3);
}

// --- help and completions ------------------------------------------------------------------

#[test]
fn completions_print_a_shell_script() {
    let project = Project::new();
    project
        .rehearsal(&["completions", "bash"])
        .succeeds()
        .prints("_rehearsal()")
        .prints("complete -F _rehearsal");
    project
        .rehearsal(&["completions", "zsh"])
        .succeeds()
        .prints("#compdef rehearsal");
}

#[test]
fn every_command_has_an_example_in_its_help() {
    let project = Project::new();
    project
        .rehearsal(&["--help"])
        .succeeds()
        .prints("Examples:\n  rehearsal validate prerelease");
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
        let outcome = project.rehearsal(&[command, "--help"]).succeeds();
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
        .fails()
        .says("error: REHEARSAL_PROVIDER=gcp is not a provider")
        .says(
            "hint: use REHEARSAL_PROVIDER=aws (the default) or REHEARSAL_PROVIDER=fake:STATE.json",
        );
    assert!(!project.path(PLAN_FILE).exists());
}

#[test]
fn a_failed_plan_removes_the_previous_plan_so_it_cannot_be_applied_by_mistake() {
    let project = Project::new();
    project.rehearsal(&["plan", "prerelease"]).run().succeeds();
    assert!(project.path(PLAN_FILE).exists());

    // Production's database cannot be found any more: this plan fails...
    let spec = project.read("environments/prerelease.toml");
    project.write(
        "environments/prerelease.toml",
        &spec.replacen(
            "identifier = \"production-db\"",
            "identifier = \"production-db-gone\"",
            1,
        ),
    );
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .fails()
        .says("cannot look up source.rds_instance.prod_db")
        .says("the previous plan at plans/prerelease.plan.json was removed");
    // ...and the next step of the checklist has nothing old to apply.
    assert!(!project.path(PLAN_FILE).exists());
    project
        .rehearsal(&["apply", PLAN_FILE])
        .run()
        .fails()
        .says("cannot read plan");
}

#[test]
fn a_broken_spec_also_removes_the_previous_plan() {
    let project = Project::new();
    project.rehearsal(&["plan", "prerelease"]).run().succeeds();
    let spec = project.read("environments/prerelease.toml");
    project.write(
        "environments/prerelease.toml",
        &spec.replacen("instance_type", "instance_typo", 1),
    );
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .fails()
        .says("unknown field `instance_typo`");
    assert!(!project.path(PLAN_FILE).exists());
}
