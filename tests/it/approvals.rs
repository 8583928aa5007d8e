//! Sign-off on one machine (the journal in `.rehearsal/`, the fake cloud, where who acts is the
//! OS user): staging's spec says `approvals = 2`, so a plan changes staging only once two people
//! other than the one applying it approved that very plan.

use serde_json::Value;

use crate::project::{Outcome, Project};

const PLAN: &str = "plans/staging.plan.json";

/// The project with staging requiring `n` approvals, and a saved plan of staging.
fn staging_requiring(n: u32) -> Project {
    let project = Project::new();
    project.edit(
        "staging",
        "lifecycle = \"protected\"",
        &format!("lifecycle = \"protected\"\napprovals = {n}"),
    );
    project.rehearsal(&["plan", "staging"]).run().exits(0);
    project
}

/// `rehearsal ARGS` as the OS user `user`.
fn as_user(project: &Project, user: &str, args: &[&str]) -> Outcome {
    project.rehearsal(args).env("USER", user).run()
}

fn approve(project: &Project, user: &str) -> Outcome {
    as_user(project, user, &["approve", PLAN, "--auto-approve"])
}

fn apply(project: &Project, user: &str) -> Outcome {
    as_user(project, user, &["apply", PLAN, "--auto-approve"])
}

fn staging_resources(project: &Project) -> usize {
    project.owned_by("staging")
}

#[test]
fn a_plan_is_applied_once_two_others_approved_it_and_ones_own_approval_never_counts() {
    let project = staging_requiring(2);
    apply(&project, "alice")
        .exits(10)
        .stderr_has("error: staging needs 2 approvals of this plan (")
        .stderr_has("by someone other than alice@")
        .stderr_has("no one approved it: 2 more needed")
        .stderr_has("rehearsal approve PLAN");
    assert_eq!(staging_resources(&project), 0, "nothing was changed");

    // The reviewer sees the plan and its digest, and signs it off.
    let bob = approve(&project, "bob")
        .exits(0)
        .stdout_has("+ ecs_cluster.main")
        .stdout_has("Plan digest: ")
        .stdout_has("Approved by bob@");
    assert!(
        bob.stdout
            .contains("(1 of 2 required; whoever applies it does not count)")
    );
    // Twice is once.
    approve(&project, "bob")
        .exits(0)
        .stdout_has("You (bob@")
        .stdout_has("already approved this plan");
    // Bob applying it himself: his own approval does not count.
    apply(&project, "bob")
        .exits(10)
        .stderr_has("by someone other than bob@")
        .stderr_has("approved by bob@")
        .stderr_has("2 more needed");
    // Alice signs it off too, but her own approval does not count when she applies it.
    approve(&project, "alice").exits(0);
    apply(&project, "alice")
        .exits(10)
        .stderr_has("1 more needed");
    assert_eq!(staging_resources(&project), 0, "nothing was changed");

    as_user(
        &project,
        "carol",
        &[
            "approve",
            PLAN,
            "--comment",
            "images checked",
            "--auto-approve",
        ],
    )
    .exits(0)
    .stdout_has("(3 of 2 required");
    apply(&project, "alice").exits(0);
    assert!(staging_resources(&project) > 0, "staging was changed");

    // The journal holds each approval (once), with its comment, and the apply.
    let history = project
        .rehearsal(&["history", "staging", "--json"])
        .run()
        .exits(0)
        .json();
    let records = history.as_array().unwrap();
    let approvals: Vec<&Value> = records
        .iter()
        .filter(|r| r["result"] == "approved")
        .collect();
    assert_eq!(approvals.len(), 3, "{history:#}");
    assert!(
        approvals
            .iter()
            .all(|r| r["plan_digest"] == records[0]["plan_digest"])
    );
    assert_eq!(approvals[0]["reasons"][0], "images checked");
    assert!(
        approvals[0]["who"]["who"]
            .as_str()
            .unwrap()
            .starts_with("carol@")
    );
    assert_eq!(records[0]["result"], "succeeded");
    project
        .rehearsal(&["history", "staging"])
        .run()
        .exits(0)
        .stdout_has("approve plans/staging.plan.json")
        .stdout_has("reason: images checked");

    // Nothing is left to sign off once it was carried out.
    approve(&project, "dave")
        .exits(3)
        .stderr_has("was already carried out on staging by alice@");
}

#[test]
fn a_plan_made_again_needs_approvals_of_its_own() {
    let project = staging_requiring(1);
    approve(&project, "bob").exits(0);
    // Remade: a new digest, which no one approved.
    project.rehearsal(&["plan", "staging"]).run().exits(0);
    apply(&project, "alice")
        .exits(10)
        .stderr_has("no one approved it: 1 more needed");
    approve(&project, "bob")
        .exits(0)
        .stdout_has("Approved by bob@");
    apply(&project, "alice").exits(0);
}

#[test]
fn apply_env_makes_a_plan_no_one_approved_and_is_refused_before_asking() {
    let project = staging_requiring(1);
    // No --auto-approve and no terminal: asking would be exit 64; the refusal comes first.
    as_user(&project, "alice", &["apply", "staging"])
        .exits(10)
        .stdout_has("+ ecs_cluster.main")
        .stderr_has("no one approved it");
    assert_eq!(staging_resources(&project), 0);
}

#[test]
fn a_rollback_made_now_is_refused_and_one_saved_and_approved_is_carried_out() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "staging", "--auto-approve"])
        .run()
        .exits(0);
    let bump = [
        "apply",
        "staging",
        "--var",
        "server_version=3.2.0",
        "--auto-approve",
    ];
    project.rehearsal(&bump).run().exits(0);
    project.edit(
        "staging",
        "lifecycle = \"protected\"",
        "lifecycle = \"protected\"\napprovals = 1",
    );
    as_user(
        &project,
        "alice",
        &["rollback", "staging", "--auto-approve"],
    )
    .exits(10)
    .stderr_has("no one approved it");
    let saved = "plans/staging.rollback.json";
    as_user(&project, "alice", &["rollback", "staging", "--out", saved]).exits(0);
    as_user(&project, "bob", &["approve", saved, "--auto-approve"]).exits(0);
    as_user(&project, "alice", &["apply", saved, "--auto-approve"]).exits(0);
}

#[test]
fn a_plan_whose_seal_is_broken_cannot_be_approved() {
    let project = staging_requiring(1);
    let plan = project.read(PLAN);
    assert!(plan.contains("\"desired_count\": 1"));
    project.write(
        PLAN,
        &plan.replacen("\"desired_count\": 1", "\"desired_count\": 9", 1),
    );
    approve(&project, "bob").exits(3);
    let history = project
        .rehearsal(&["history", "staging", "--json"])
        .run()
        .exits(0)
        .json();
    assert_eq!(history, serde_json::json!([]));
}

#[test]
fn approving_a_plan_of_an_environment_that_requires_none_says_so() {
    let project = Project::new();
    project.rehearsal(&["plan", "staging"]).run().exits(0);
    approve(&project, "bob")
        .exits(0)
        .stderr_has("staging's spec requires no approvals");
}

#[test]
fn a_safety_snapshot_needs_no_approvals() {
    let project = Project::new();
    project.edit(
        "production",
        "lifecycle = \"protected\"",
        "lifecycle = \"protected\"\napprovals = 2",
    );
    // "Create a DB snapshot in AWS RDS (just to be safe)": before a release is even planned,
    // and with no one else around to approve it.
    project
        .rehearsal(&["snapshot", "production", "--auto-approve"])
        .at(crate::project::IN_PRODUCTION_S_WINDOW)
        .env("USER", "alice")
        .run()
        .exits(0);
}
