//! A team's rules on one machine (the store in `.rehearsal/`, the fake cloud): a held lock
//! refuses a change and says who holds it, `--lock-timeout` waits for it, `force-unlock` removes
//! a lock whose process is gone, every change is journaled and `history` shows it, a plan is
//! applied once, and a paused environment refuses every change until it is resumed.

use std::time::{Duration, Instant};

use rehearsal::team::local::LocalStore;
use rehearsal::team::{Identity, LockRecord, TeamStore};
use serde_json::Value;

use crate::project::{PRERELEASE_OWNS, Project};

const USER: &str = "tester";

/// Alice's lock on `env`, held in the project's `.rehearsal/` by this test process (a command
/// of hers still running) for as long as the store lives.
pub(crate) fn alices_lock(project: &Project, env: &str) -> (LocalStore, LockRecord) {
    let store = LocalStore::open(project.path(".rehearsal"));
    let alice = Identity {
        who: "alice@laptop".into(),
        account: None,
    };
    let lock = LockRecord::new(env, &alice, "apply plans/prerelease.plan.json");
    let taken = block_on(store.try_lock(&lock)).unwrap();
    assert_eq!(taken, Ok(()), "the lock was free");
    (store, lock)
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn history(project: &Project, env: &str) -> Vec<Value> {
    let outcome = project
        .rehearsal(&["history", env, "--json"])
        .run()
        .exits(0);
    outcome.json().as_array().expect("a list").clone()
}

#[test]
fn a_held_lock_refuses_a_change_at_once_saying_who_holds_it_since_when_and_for_what() {
    let project = Project::new();
    let (_store, lock) = alices_lock(&project, "prerelease");
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .env("USER", USER)
        .run()
        .exits(8)
        .stderr_has(&format!(
            "error: prerelease is locked by alice@laptop since {} (apply plans/prerelease.plan.json), lock id {}",
            lock.since, lock.id
        ))
        .stderr_has("--lock-timeout 5m")
        .stderr_has(&format!("rehearsal force-unlock prerelease {}", lock.id));
    assert_eq!(project.owned_by("prerelease"), 0, "nothing was created");
    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .run()
        .exits(8);
    // What changes nothing takes no lock.
    project
        .rehearsal(&["destroy", "prerelease", "--dry-run"])
        .run()
        .exits(0);
    assert!(history(&project, "prerelease").is_empty());
}

#[test]
fn lock_timeout_waits_for_the_holder_to_finish_then_proceeds() {
    let project = Project::new();
    let (store, lock) = alices_lock(&project, "prerelease");
    let started = Instant::now();
    let apply = project
        .rehearsal(&[
            "apply",
            "prerelease",
            "--auto-approve",
            "--lock-timeout",
            "60s",
        ])
        .start();
    std::thread::sleep(Duration::from_millis(1500));
    block_on(store.release(&lock)).unwrap();
    apply.wait().exits(0);
    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert_eq!(project.owned_by("prerelease"), PRERELEASE_OWNS);
}

#[test]
fn lock_timeout_gives_up_when_the_holder_keeps_it() {
    let project = Project::new();
    let (_store, _lock) = alices_lock(&project, "prerelease");
    project
        .rehearsal(&[
            "apply",
            "prerelease",
            "--auto-approve",
            "--lock-timeout",
            "2s",
        ])
        .run()
        .exits(8)
        .stderr_has("waited 2s for it");
}

#[test]
fn force_unlock_removes_the_lock_of_a_process_that_is_gone_and_journals_it() {
    let project = Project::new();
    let (store, lock) = alices_lock(&project, "prerelease");
    // While it runs, its file lock is its own: the OS lets it go when the process ends.
    project
        .rehearsal(&["force-unlock", "prerelease", &lock.id, "--auto-approve"])
        .run()
        .exits(1)
        .stderr_has("held by a running process");
    project
        .rehearsal(&[
            "force-unlock",
            "prerelease",
            "0123456789ab",
            "--auto-approve",
        ])
        .run()
        .exits(1)
        .stderr_has(&format!(
            "the lock of prerelease is {}, not 0123456789ab",
            lock.id
        ));
    // Her process died: the OS released its file lock, its record stayed behind.
    drop(store);
    project
        .rehearsal(&["force-unlock", "prerelease", &lock.id])
        .run()
        .exits(64)
        .stderr_has("refusing to force-unlock without confirmation");
    project
        .rehearsal(&["force-unlock", "prerelease", &lock.id, "--auto-approve"])
        .env("USER", USER)
        .run()
        .exits(0)
        .stdout_has(&format!(
            "Removed lock {} of prerelease: held by alice@laptop",
            lock.id
        ));
    let journal = history(&project, "prerelease");
    assert_eq!(
        journal[0]["command"],
        format!("force-unlock prerelease {}", lock.id)
    );
    assert!(
        journal[0]["who"]["who"]
            .as_str()
            .unwrap()
            .starts_with("tester@")
    );
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
}

#[test]
fn history_shows_each_change_newest_first_with_its_plan_actions_and_result() {
    let project = Project::new();
    project.rehearsal(&["plan", "prerelease"]).run().exits(0);
    let plan: Value = serde_json::from_str(&project.read("plans/prerelease.plan.json")).unwrap();
    project
        .rehearsal(&["apply", "plans/prerelease.plan.json"])
        .env("USER", USER)
        .run()
        .exits(0);
    project
        .rehearsal(&["destroy", "prerelease", "--auto-approve"])
        .env("USER", USER)
        .run()
        .exits(0);
    let journal = history(&project, "prerelease");
    assert_eq!(journal.len(), 2, "{journal:#?}");
    let (destroy, apply) = (&journal[0], &journal[1]);
    assert_eq!(destroy["command"], "destroy prerelease");
    assert_eq!(apply["command"], "apply plans/prerelease.plan.json");
    for record in [destroy, apply] {
        assert_eq!(record["result"], "succeeded");
        assert_eq!(record["exit_code"], 0);
        assert!(
            record["who"]["who"]
                .as_str()
                .unwrap()
                .starts_with("tester@")
        );
        assert!(record["duration_secs"].as_f64().unwrap() > 0.0);
    }
    assert_eq!(
        apply["actions"].as_array().unwrap().len(),
        plan["actions"].as_array().unwrap().len()
    );
    assert!(apply["plan_digest"].as_str().is_some_and(|d| !d.is_empty()));
    // The destroy's deletes, each with the live object it deleted.
    let deletes = destroy["actions"].as_array().unwrap();
    assert_eq!(deletes.len(), PRERELEASE_OWNS);
    assert!(
        deletes
            .iter()
            .all(|a| a["action"] == "delete" && a["before"].is_string())
    );

    let shown = project.rehearsal(&["history"]).run().exits(0);
    let destroy_at = shown
        .stdout
        .find("destroy prerelease")
        .expect("the destroy");
    let apply_at = shown
        .stdout
        .find("apply plans/prerelease.plan.json")
        .expect("the apply");
    assert!(destroy_at < apply_at, "newest first:\n{}", shown.stdout);
    assert!(
        shown.stdout.contains("+ ecs_cluster.main"),
        "{}",
        shown.stdout
    );
}

#[test]
fn a_failed_apply_is_journaled_with_its_error() {
    let project = Project::new();
    project.rehearsal(&["plan", "prerelease"]).run().exits(0);
    project
        .rehearsal(&["apply", "plans/prerelease.plan.json"])
        .run()
        .exits(0);
    project
        .rehearsal(&["apply", "plans/prerelease.plan.json"])
        .run()
        .exits(3);
    let journal = history(&project, "prerelease");
    assert_eq!(journal[0]["exit_code"], 3);
    assert!(
        journal[0]["result"]
            .as_str()
            .unwrap()
            .starts_with("this plan was already applied")
    );
}

#[test]
fn a_plan_is_applied_once_even_when_the_world_is_put_back_as_it_was() {
    let project = Project::new();
    let before = {
        project.rehearsal(&["plan", "prerelease"]).run().exits(0);
        project.cloud()
    };
    project
        .rehearsal(&["apply", "plans/prerelease.plan.json"])
        .env("USER", USER)
        .run()
        .exits(0);
    // Everything it made is gone again, so the plan's re-check alone would pass.
    project.set_cloud(&before);
    project
        .rehearsal(&["apply", "plans/prerelease.plan.json"])
        .run()
        .exits(3)
        .stderr_has("was already applied to prerelease by tester@");
    assert_eq!(project.owned_by("prerelease"), 0);
}

#[test]
fn two_applies_of_one_plan_started_together_never_both_apply() {
    for _ in 0..5 {
        let project = Project::new();
        project.rehearsal(&["plan", "prerelease"]).run().exits(0);
        let started: Vec<_> = (0..2)
            .map(|_| {
                project
                    .rehearsal(&["apply", "plans/prerelease.plan.json"])
                    .start()
            })
            .collect();
        let mut codes: Vec<i32> = started.into_iter().map(|s| s.wait().code).collect();
        codes.sort();
        assert!(
            codes == [0, 3] || codes == [0, 8],
            "one applies, the other is refused: {codes:?}"
        );
        assert_eq!(project.owned_by("prerelease"), PRERELEASE_OWNS);
    }
}

#[test]
fn a_paused_environment_refuses_every_change_until_it_is_resumed() {
    let project = Project::new();
    project
        .rehearsal(&["pause", "prerelease", "--reason", "incident 42: no deploys"])
        .env("USER", USER)
        .run()
        .exits(0)
        .stdout_has("Paused prerelease");
    for change in [
        &["apply", "prerelease", "--auto-approve"][..],
        &["destroy", "prerelease", "--auto-approve"],
    ] {
        project
            .rehearsal(change)
            .run()
            .exits(9)
            .stderr_has("error: prerelease is paused by tester@")
            .stderr_has(": incident 42: no deploys")
            .stderr_has("rehearsal resume prerelease");
    }
    assert_eq!(project.owned_by("prerelease"), 0);
    // A pause says why.
    project
        .rehearsal(&["pause", "staging", "--reason", " "])
        .run()
        .exits(64);
    project
        .rehearsal(&["resume", "prerelease"])
        .env("USER", USER)
        .run()
        .exits(0)
        .stdout_has("Resumed prerelease: paused by tester@");
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    let journal = history(&project, "prerelease");
    let commands: Vec<&str> = journal
        .iter()
        .map(|r| r["command"].as_str().unwrap())
        .collect();
    assert_eq!(
        commands,
        ["apply prerelease", "resume prerelease", "pause prerelease"]
    );
    assert_eq!(journal[2]["reasons"][0], "incident 42: no deploys");
}

#[test]
fn a_lock_of_one_environment_leaves_the_others_alone() {
    let project = Project::new();
    let (_store, _lock) = alices_lock(&project, "staging");
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
}

#[test]
fn the_store_is_kept_out_of_git() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    assert_eq!(project.read(".rehearsal/.gitignore"), "*\n");
}

#[test]
fn a_snapshot_is_journaled_with_its_reason() {
    let project = Project::new();
    project
        .rehearsal(&[
            "snapshot",
            "production",
            "--reason",
            "before 3.2.0",
            "--auto-approve",
        ])
        .at(crate::project::IN_PRODUCTION_S_WINDOW)
        .run()
        .exits(0);
    let journal = history(&project, "production");
    assert_eq!(journal[0]["command"], "snapshot production");
    assert_eq!(journal[0]["reasons"][0], "before 3.2.0");
    assert_eq!(journal[0]["actions"][0]["action"], "create");
}

#[test]
fn a_change_outside_the_window_is_journaled_with_the_reason_given_to_override_it() {
    let project = Project::new();
    // Saturday 2026-12-05, noon in Maputo: production's window is closed.
    project
        .rehearsal(&[
            "snapshot",
            "production",
            "--override-window",
            "incident 42: the login fix",
            "--auto-approve",
        ])
        .at("2026-12-05 10:00:00")
        .run()
        .exits(0);
    let journal = history(&project, "production");
    assert_eq!(journal[0]["command"], "snapshot production");
    assert_eq!(
        journal[0]["reasons"][0],
        "--override-window: incident 42: the login fix"
    );
}

#[test]
fn reap_leaves_an_expired_environment_whose_lock_is_held_until_it_is_released() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    let mut cloud = project.cloud();
    for r in cloud.resources.values_mut() {
        if let Some(at) = r.tags.get_mut("rehearsal:expires-at") {
            *at = "2000-01-01T00:00:00Z".into();
        }
    }
    project.set_cloud(&cloud);
    let reap = [
        "reap",
        "--region",
        "eu-west-1",
        "--execute",
        "--auto-approve",
    ];
    let (store, lock) = alices_lock(&project, "prerelease");
    project
        .rehearsal(&reap)
        .run()
        .exits(5)
        .stdout_has("openchs/prerelease: prerelease is locked by alice@laptop");
    assert_eq!(project.owned_by("prerelease"), PRERELEASE_OWNS);
    block_on(store.release(&lock)).unwrap();
    project
        .rehearsal(&reap)
        .run()
        .exits(0)
        .stdout_has("openchs/prerelease destroyed.");
    assert_eq!(project.owned_by("prerelease"), 0);
    assert_eq!(
        history(&project, "prerelease")[0]["command"],
        "reap prerelease"
    );
}

#[test]
fn every_command_that_changes_aws_refuses_while_its_environment_is_locked() {
    let project = Project::new();
    project.write(
        "environments/production-live.toml",
        &project
            .read("environments/production.toml")
            .replace("name = \"production\"", "name = \"production-live\""),
    );
    let _locks: Vec<_> = [
        "prerelease",
        "production",
        "production-live",
        "production-new",
    ]
    .iter()
    .map(|env| alices_lock(&project, env))
    .collect();
    let commands: [&[&str]; 5] = [
        &["apply", "prerelease", "--auto-approve"],
        &["destroy", "prerelease", "--auto-approve"],
        &["snapshot", "production", "--auto-approve"],
        &[
            "import",
            "production-live",
            "ecs_service.server",
            "production/server",
            "--auto-approve",
        ],
        &[
            "init",
            "production-new",
            "--from-live",
            "--project",
            "openchs",
            "--region",
            "eu-west-1",
            "--service",
            "production/server",
            "--auto-approve",
        ],
    ];
    for command in commands {
        // In production's window, so that what refuses is the lock.
        project
            .rehearsal(command)
            .at(crate::project::IN_PRODUCTION_S_WINDOW)
            .run()
            .exits(8)
            .stderr_has("is locked by alice@laptop");
    }
}
