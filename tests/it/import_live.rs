//! Production, made by hand long before rehearsal, taken under management once by an
//! administrator: `rehearsal init --from-live` against the emulator's seeded production writes a
//! protected spec, tags what it declares, and plans as no change; the environment can never be
//! destroyed.

use crate::against_emulator::tagged;
use crate::emulator::Emulator;
use crate::project::Project;

#[tokio::test(flavor = "multi_thread")]
async fn production_taken_from_what_is_live_plans_as_no_change_and_is_never_destroyed() {
    let em = Emulator::start();
    em.seed_production();
    let project = Project::against(em.endpoint());
    project
        .rehearsal(&[
            "init",
            "production-live",
            "--from-live",
            "--project",
            "openchs",
            "--region",
            "eu-west-1",
            "--service",
            "production/server",
            "--task-definition",
            "server",
            "--db",
            "production-db",
            "--auto-approve",
        ])
        .run()
        .exits(0)
        .stdout_has("Imported ecs_service.server")
        .stdout_has("No changes.");
    project
        .rehearsal(&["validate", "production-live"])
        .run()
        .exits(0);
    project
        .rehearsal(&["plan", "production-live", "--detailed-exitcode"])
        .run()
        .exits(0);

    let written = project.read("environments/production-live.toml");
    for line in [
        "lifecycle = \"protected\"",
        "task_definition = \"${ecs_task_definition.server.arn}\"",
        "clone_of = \"${source.ecs_task_definition.server.arn}\"",
        "latest_snapshot_of = \"production-db\"",
    ] {
        assert!(written.contains(line), "{line} in:\n{written}");
    }
    let owned = tagged(&em, "production-live").await;
    let arn = |what: &str| format!("arn:aws:ecs:eu-west-1:123456789012:{what}");
    assert_eq!(
        owned,
        [
            "rds production-db".to_string(),
            format!("service {}", arn("service/production/server")),
            format!("task-definition {}", arn("task-definition/server:1")),
        ],
        "the emulator holds the ownership tags on what was imported"
    );

    project
        .rehearsal(&["destroy", "production-live", "--auto-approve"])
        .run()
        .exits(1)
        .stderr_has("protected");
    assert_eq!(
        tagged(&em, "production-live").await,
        owned,
        "nothing deleted"
    );
}
