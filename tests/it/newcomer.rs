//! A newcomer's first ten minutes: the README's snippet for trying rehearsal without AWS, the
//! counts and the order of what it prints, the hints a make target gives, and a spec that
//! takes production's security groups whole, as the README says it can.

use std::process::{Command, Stdio};

use crate::project::{PRERELEASE_OWNS, Project, RELEASE_FILE};

/// The first ```sh block after `heading` in README.md.
fn readme_snippet(heading: &str) -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let section = &readme[readme
        .find(heading)
        .unwrap_or_else(|| panic!("README.md has no `{heading}`"))..];
    let start = section.find("```sh\n").expect("a ```sh block") + "```sh\n".len();
    let end = start + section[start..].find("```").expect("the block ends");
    section[start..end].to_string()
}

/// `bash -eu -c SCRIPT` in the project's directory, with `rehearsal` on the PATH as a user who
/// ran `cargo install --path .` has it, and nothing else from the test's environment.
fn bash(project: &Project, script: &str) -> (i32, String, String) {
    let bin = project.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let link = bin.join("rehearsal");
    if !link.exists() {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_rehearsal"), &link).unwrap();
    }
    let out = Command::new("bash")
        .args(["-eu", "-c", script])
        .current_dir(project.path("."))
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("bash runs");
    (
        out.status.code().expect("exited"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_readme_s_try_it_without_aws_snippet_finishes_and_leaves_nothing_behind() {
    let project = Project::new();
    // The shipped spec as a newcomer has it, with its check of a server no fake cloud runs.
    project.write(
        "environments/prerelease.toml",
        &crate::support::shipped_text("prerelease"),
    );
    let snippet = readme_snippet("### Trying it without AWS");
    assert!(
        snippet.contains("fake:/tmp/cloud.json"),
        "the snippet names its state file:\n{snippet}"
    );
    // As written, but with the state file in this project: tests run side by side.
    let cloud = project.path("cloud.json");
    let script = snippet.replace("/tmp/cloud.json", &cloud.display().to_string());

    let (code, stdout, stderr) = bash(&project, &script);
    let shown = format!("$ {script}[exit {code}]\n--- stdout\n{stdout}--- stderr\n{stderr}");
    assert_eq!(code, 0, "{shown}");
    // The check was not waited for, and apply said so.
    assert!(
        stdout.contains(
            "Not run (--skip-checks): 1 check of the spec; `rehearsal check prerelease` runs it."
        ),
        "{shown}"
    );
    assert!(!stdout.contains("Checking prerelease"), "{shown}");
    // It was all there, and then it was all gone.
    assert!(
        stdout.contains(&format!(
            "prerelease (eu-west-1) owns {PRERELEASE_OWNS} resources:"
        )),
        "{shown}"
    );
    assert!(
        stdout.contains("Proof: a final listing finds nothing tagged rehearsal:env=prerelease"),
        "{shown}"
    );
    assert_eq!(project.owned_by("prerelease"), 0, "{shown}");
}

#[test]
fn a_version_bump_says_how_many_steps_its_changes_take_and_the_summary_counts_those() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0)
        .stdout_has("Applying 9 changes to prerelease (eu-west-1)...\n")
        .stdout_has("Summary: 9 done, 0 failed, 0 skipped.");
    // The server (new user data) is replaced, a create and a delete; the task definition gets a
    // new revision (the previous one is kept to roll back to); the service and the DNS record
    // are updated: four changes, five steps.
    project
        .rehearsal(&[
            "apply",
            "prerelease",
            "--var",
            "server_version=3.2.0",
            "--auto-approve",
        ])
        .run()
        .exits(0)
        .stdout_has("Plan: 1 to create, 2 to update, 1 to replace, 0 to delete.")
        .stdout_has("Applying 4 changes to prerelease (eu-west-1) in 5 steps...\n")
        .stdout_has("Summary: 5 done, 0 failed, 0 skipped.");
}

#[test]
fn one_of_a_thing_is_counted_in_the_singular() {
    let project = Project::new();
    project
        .rehearsal(&["validate", "production"])
        .run()
        .exits(0)
        .stdout_has("environment production in eu-west-1, 5 sources, 1 resource.");
    project
        .rehearsal(&[
            "apply",
            "production",
            "--var",
            "release=3.2.0",
            "--auto-approve",
        ])
        .at(crate::project::IN_PRODUCTION_S_WINDOW)
        .run()
        .exits(0)
        .stdout_has("Applying 1 change to production (eu-west-1)...")
        .stdout_has("Summary: 1 done, 0 failed, 0 skipped.");
    project
        .rehearsal(&["status", "production"])
        .run()
        .exits(0)
        .stdout_has("production (eu-west-1) owns 1 resource:");
}

#[test]
fn through_one_pipe_the_results_come_after_the_progress_they_sum_up() {
    let project = Project::new();
    project.rehearsal(&["plan", "prerelease"]).run().exits(0);
    // stdout and stderr into one pipe, as `make ... | tee log` or a CI log has them.
    let (code, both, _) = bash(
        &project,
        &format!(
            "REHEARSAL_PROVIDER=fake:{} rehearsal apply plans/prerelease.plan.json 2>&1 | cat",
            project.path("cloud.json").display()
        ),
    );
    assert_eq!(code, 0, "{both}");
    let lines: Vec<&str> = both.lines().collect();
    let at = |text: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(text))
            .unwrap_or_else(|| panic!("no line starts with {text:?}:\n{both}"))
    };
    let progress: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("[00:"))
        .collect();
    assert!(!progress.is_empty(), "{both}");
    let (first, last) = (progress[0], progress[progress.len() - 1]);
    assert!(at("Applying 9 changes") < first, "{both}");
    assert!(last < at("Summary: 9 done"), "{both}");
}

#[test]
fn under_make_the_hint_names_the_make_variable_not_only_the_flag() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    // What `make destroy-prerelease` runs, without a terminal and without AUTO_APPROVE=1.
    project
        .rehearsal(&["destroy", "prerelease"])
        .env("REHEARSAL_MAKE_TARGET", "destroy-prerelease")
        .run()
        .exits(64)
        .stderr_has(
            "error: refusing to destroy without confirmation: there is no terminal to ask on",
        )
        .stderr_has(
            "hint: review the plan, then run it from a terminal, or in CI pass AUTO_APPROVE=1 \
             (`make destroy-prerelease AUTO_APPROVE=1`)\n",
        );
    // Run by hand, the same refusal names the flag.
    project
        .rehearsal(&["destroy", "prerelease"])
        .run()
        .exits(64)
        .stderr_has("or in CI pass --auto-approve\n");

    // `make plan-prerelease-from-prod` in a project with no release version file.
    std::fs::remove_file(project.path(RELEASE_FILE)).unwrap();
    project
        .rehearsal(&["plan", "prerelease"])
        .env("REHEARSAL_MAKE_TARGET", "plan-prerelease-from-prod")
        .run()
        .exits(1)
        .stderr_has(
            "variable `server_version` has no value: server/version/minor_version does not exist",
        )
        .stderr_has(
            "hint: write it in server/version/minor_version (one line, relative to where \
             rehearsal runs), pass SERVER_VERSION=VALUE (`make plan-prerelease-from-prod \
             SERVER_VERSION=VALUE`), or set REHEARSAL_VAR_server_version",
        );
}

/// The Makefile says which target runs rehearsal: the hint above is what `make` users see.
#[test]
fn the_makefile_tells_rehearsal_which_target_runs_it() {
    let makefile = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Makefile"))
        .expect("Makefile");
    let line = makefile
        .lines()
        .position(|l| l.contains("export REHEARSAL_MAKE_TARGET = $@"))
        .expect("the Makefile exports REHEARSAL_MAKE_TARGET");
    let targets: String =
        makefile.lines().collect::<Vec<_>>()[line.saturating_sub(1)..=line].join(" ");
    for target in [
        "plan-prerelease-from-prod",
        "create-prerelease-from-prod",
        "destroy-prerelease",
    ] {
        assert!(targets.contains(target), "{target} is not in: {targets}");
    }
}

#[test]
fn a_string_that_is_one_reference_to_a_list_is_that_list() {
    let project = Project::new();
    // The README: "a list of security groups stays a list".
    project.edit(
        "prerelease",
        "security_groups = [\"${security_group.server.id}\"]\nuser_data",
        "security_groups = \"${source.ec2_instance.prod_server.security_groups}\"\nuser_data",
    );
    project
        .rehearsal(&["validate", "prerelease"])
        .run()
        .exits(0);
    let plan = project
        .rehearsal(&["plan", "prerelease", "--json"])
        .run()
        .exits(0)
        .json();
    let server = plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .find(|a| a["address"] == "ec2_instance.server")
        .expect("the server is planned");
    assert_eq!(
        server["desired"]["security_groups"],
        serde_json::json!(["sg-0prodserver1"]),
        "{server:#}"
    );
    project
        .rehearsal(&["apply", "plans/prerelease.plan.json"])
        .run()
        .exits(0);
    let groups = project
        .cloud()
        .resources
        .values()
        .find(|r| {
            r.kind == rehearsal::model::ResourceKind::Ec2Instance
                && r.tags
                    .get("rehearsal:env")
                    .is_some_and(|e| e == "prerelease")
        })
        .and_then(|r| r.attributes.get("security_groups").cloned())
        .expect("the server has security groups");
    assert_eq!(groups, serde_json::json!(["sg-0prodserver1"]));
}

#[test]
fn a_list_cannot_be_part_of_a_longer_string_nor_one_value_stand_for_a_list() {
    for (written, error, hint) in [
        (
            "security_groups = [\"sg-${source.ec2_instance.prod_server.security_groups}\"]",
            "`${source.ec2_instance.prod_server.security_groups}` is a list or a table, and \
             cannot be part of the text `sg-${source.ec2_instance.prod_server.security_groups}`",
            "hint: write the reference alone",
        ),
        (
            "security_groups = \"${source.ec2_instance.prod_server.subnet}\"",
            "`${source.ec2_instance.prod_server.subnet}` is one value, and a list belongs here: \
             write [\"${source.ec2_instance.prod_server.subnet}\"]",
            "hint: a string that is exactly one reference keeps its value's type",
        ),
        (
            "security_groups = \"sg-1\"",
            "invalid type: string \"sg-1\", expected a list of strings, or one reference to a list",
            "hint: write a list in brackets",
        ),
    ] {
        let project = Project::new();
        project.edit(
            "prerelease",
            "security_groups = [\"${security_group.server.id}\"]\nuser_data",
            &format!("{written}\nuser_data"),
        );
        project
            .rehearsal(&["validate", "prerelease"])
            .run()
            .exits(1)
            .stderr_has("error: environments/prerelease.toml:")
            .stderr_has(error)
            .stderr_has(hint);
    }
}
