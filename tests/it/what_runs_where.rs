//! "There is a simple way to find out what code is running in any given environment": three
//! environments applied against the emulator (behind the layer that makes ECS deployments finish
//! and gives services their creation time), and `rehearsal status` answers what runs where in
//! one table.

use crate::emulator::Emulator;
use crate::project::{IN_PRODUCTION_S_WINDOW, Project};

#[tokio::test(flavor = "multi_thread")]
async fn status_says_what_runs_where_for_three_environments() {
    let em = Emulator::start();
    em.seed_production();
    let project = Project::against(em.endpoint());
    for (env, var) in [
        ("production", "release=3.2.0"),
        ("staging", "server_version=3.2.0"),
        ("prerelease", "server_version=3.2.1-rc1"),
    ] {
        let apply = project.rehearsal(&["apply", env, "--auto-approve", "--var", var]);
        // Production changes only in its [window].
        let apply = if env == "production" {
            apply.at(IN_PRODUCTION_S_WINDOW)
        } else {
            apply
        };
        apply.run().exits(0);
    }

    let table = project.rehearsal(&["status"]).run().exits(0);
    let lines: Vec<&str> = table.stdout.lines().collect();
    let row = |name: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{}", table.stdout))
    };
    // One row each, in name order; what runs continues on the lines below a row.
    let (pre, prod, staging) = (row("prerelease"), row("production"), row("staging"));
    assert!(pre < prod && prod < staging, "{}", table.stdout);
    let cell = |from: usize, to: usize| lines[from..to].join("\n");
    let prerelease = cell(pre, prod);
    for wanted in [
        "ephemeral  just now  in 23 hours",
        "service server: example/openchs-server:3.2.1-rc1 (prerelease-server:1)",
        "db prerelease-db: postgres",
        ", from prerelease-from-prod, under a minute old",
    ] {
        assert!(prerelease.contains(wanted), "{wanted:?} in\n{prerelease}");
    }
    assert!(
        prerelease.contains("server i-") && prerelease.contains(": ami-"),
        "the server's image:\n{prerelease}"
    );
    let production = cell(prod, staging);
    assert!(
        production.contains("protected  just now")
            && production.contains("snapshot production-before-3-2-0, under a minute old (kept)"),
        "{production}"
    );
    let staging = cell(staging, lines.len());
    assert!(
        staging.contains("protected")
            && staging.contains("service server: example/openchs-server:3.2.0 (staging-server:1)"),
        "{staging}"
    );

    // The same as JSON, for scripts.
    let json = project
        .rehearsal(&["status", "--json"])
        .run()
        .exits(0)
        .json();
    let envs = json["environments"].as_array().unwrap();
    assert_eq!(envs.len(), 3, "{json:#}");
    let db = &envs[0]["databases"][0];
    assert_eq!(db["engine"], "postgres");
    assert!(db["engine_version"].is_string(), "{db:#}");
    assert!(db["created_at"].is_string(), "{db:#}");
    assert_eq!(db["restored_from"]["identifier"], "prerelease-from-prod");
    assert!(db["restored_from"]["age_seconds"].is_i64(), "{db:#}");
    assert!(envs[0]["last_change_at"].is_string(), "{:#}", envs[0]);
    assert!(envs[0]["services"][0]["deployed_at"].is_string());
    assert!(envs[0]["servers"][0]["launched_at"].is_string());
}
