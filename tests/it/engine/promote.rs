//! `rehearsal promote --from staging --to production`: production's service gets the image
//! staging ran before its latest bump (the checklist's "update production task definition to
//! previous staging release version"), as an ordinary plan of production, carried out by the
//! same executor. Production here is managed (on the fake, made by its spec; on AWS, imported).

use super::*;
use rehearsal::engine::promote::{self, Pick, PromoteError};
use rehearsal::plan::Observed;

use crate::support::report;

/// Production with its service and task definition managed, its image a variable.
const PRODUCTION: &str = r#"
[environment]
project = "openchs"
name = "production"
region = "eu-west-1"
lifecycle = "protected"

[variables.server_version]
default = "3.0.0"

[resources.ecs_cluster.main]
name = "production"

[resources.ecs_task_definition.server]
family = "server"
memory = "1024"
cpu = "512"

[[resources.ecs_task_definition.server.containers]]
name = "server"
image = "example/openchs-server:${var.server_version}"
memory = 1024
cpu = 512
port_mappings = [{ container_port = 8080 }]

[resources.ecs_service.server]
name = "server"
cluster = "${ecs_cluster.main.name}"
task_definition = "${ecs_task_definition.server.arn}"
desired_count = 2
launch_type = "EC2"
"#;

fn staging_at(version: &str) -> rehearsal::spec::Spec {
    SpecFile::write("staging", &shipped_text("staging")).load_with(&[("server_version", version)])
}

fn production_spec(text: &str) -> rehearsal::spec::Spec {
    SpecFile::write("production", text).load()
}

/// Production at 3.0.0; staging at 3.1.0, then bumped to 3.2.0.
async fn released() -> Arc<FakeProvider> {
    let provider = production();
    converge(provider.clone(), &production_spec(PRODUCTION)).await;
    converge(provider.clone(), &staging_at("3.1.0")).await;
    converge(provider.clone(), &staging_at("3.2.0")).await;
    provider
}

async fn promote(
    provider: &FakeProvider,
    to: &rehearsal::spec::Spec,
    pick: Pick,
) -> Result<Plan, PromoteError> {
    let from = staging_at("3.2.0");
    let from_live = provider.observe(&from.env, &from.declared()).await.unwrap();
    let observed = Observed::read(provider, to).await.unwrap();
    promote::plan(
        &from,
        &from_live,
        to,
        &observed,
        pick,
        "2026-12-06T12:00:00Z".into(),
    )
}

/// The image production's service runs, read from the fake cloud.
fn production_runs(provider: &FakeProvider) -> String {
    let cloud = provider.snapshot().resources;
    let service = cloud
        .values()
        .find(|r| {
            r.kind == ResourceKind::EcsService
                && r.tags.get(tags::ENV).map(String::as_str) == Some("production")
        })
        .expect("production's service");
    let arn = service.attributes["task_definition"].as_str().unwrap();
    let revision = cloud
        .values()
        .find(|r| r.id == arn || r.attributes.get("arn").and_then(Value::as_str) == Some(arn))
        .expect("the revision it runs");
    revision.attributes["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn production_gets_the_image_staging_ran_before_its_latest_bump() {
    let provider = released().await;
    let spec = production_spec(PRODUCTION);
    let plan = promote(&provider, &spec, Pick::Previous).await.unwrap();
    assert_eq!(
        labels(&plan),
        ["+ ecs_task_definition.server", "~ ecs_service.server"]
    );
    let text = human(&plan, PLAIN);
    for line in [
        "Promoted from staging, the revision it ran before its latest bump:",
        "  ecs_task_definition.server ← staging's staging-server:1",
        "    server: example/openchs-server:3.0.0 → example/openchs-server:3.1.0",
        "  The spec file still asks for example/openchs-server:3.0.0: the next `rehearsal plan \
         production` goes back to it; set server_version to 3.1.0 to stay.",
    ] {
        assert!(text.contains(line), "{line}\nnot in:\n{text}");
    }

    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded(), "{summary:#?}");
    assert_eq!(production_runs(&provider), "example/openchs-server:3.1.0");

    // What the plan said: the spec file at its default goes back, the variable stays.
    let file = SpecFile::write("production", PRODUCTION);
    assert!(
        plan_for(provider.as_ref(), &file.load())
            .await
            .has_changes()
    );
    let stay = plan_for(
        provider.as_ref(),
        &file.load_with(&[("server_version", "3.1.0")]),
    )
    .await;
    assert!(!stay.has_changes(), "{}", human(&stay, PLAIN));

    // Promoting an image production keeps a revision of deploys that revision again.
    let back = promote(&provider, &spec, Pick::Current).await.unwrap();
    converge_plan(&provider, back, &spec).await;
    assert_eq!(production_runs(&provider), "example/openchs-server:3.2.0");
    let again = promote(&provider, &spec, Pick::Previous).await.unwrap();
    assert_eq!(labels(&again), ["~ ecs_service.server"]);
    converge_plan(&provider, again, &spec).await;
    assert_eq!(production_runs(&provider), "example/openchs-server:3.1.0");
}

async fn converge_plan(provider: &Arc<FakeProvider>, plan: Plan, spec: &rehearsal::spec::Spec) {
    let summary = apply_plan(
        provider.clone(),
        plan,
        spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded(), "{summary:#?}");
}

#[tokio::test]
async fn a_pick_names_staging_s_current_revision_or_any_it_keeps() {
    let provider = released().await;
    let spec = production_spec(PRODUCTION);
    let current = promote(&provider, &spec, Pick::Current).await.unwrap();
    let text = human(&current, PLAIN);
    assert!(
        text.contains("server: example/openchs-server:3.0.0 → example/openchs-server:3.2.0"),
        "{text}"
    );
    assert!(text.contains("staging's staging-server:2"), "{text}");
    let first = promote(&provider, &spec, Pick::Revision(1)).await.unwrap();
    assert!(human(&first, PLAIN).contains("→ example/openchs-server:3.1.0"));

    let missing = promote(&provider, &spec, Pick::Revision(9))
        .await
        .unwrap_err();
    assert!(matches!(missing, PromoteError::NoSuchRevision { .. }));
    assert_eq!(
        report(missing),
        "error: staging keeps no revision 9 of staging-server\n\
         hint: staging keeps revisions 2, 1; `rehearsal revisions staging` lists them"
    );
}

#[tokio::test]
async fn a_staging_that_kept_no_previous_release_has_nothing_to_promote() {
    let provider = production();
    converge(provider.clone(), &production_spec(PRODUCTION)).await;
    converge(provider.clone(), &staging_at("3.1.0")).await;
    let spec = production_spec(PRODUCTION);
    let error = promote(&provider, &spec, Pick::Previous).await.unwrap_err();
    assert!(matches!(error, PromoteError::NoPrevious { .. }), "{error}");
    let text = report(error);
    assert!(
        text.contains("staging keeps no revision of staging-server before staging-server:1"),
        "{text}"
    );
    assert!(
        text.contains("`--pick current` promotes what it runs now"),
        "{text}"
    );
}

#[tokio::test]
async fn production_must_be_protected_and_manage_what_it_gets() {
    let provider = released().await;

    // Not protected.
    let loose = production_spec(&PRODUCTION.replace(
        "lifecycle = \"protected\"",
        "lifecycle = \"ephemeral\"\nttl = \"8h\"",
    ));
    let error = promote(&provider, &loose, Pick::Previous)
        .await
        .unwrap_err();
    assert!(
        matches!(error, PromoteError::NotProtected { .. }),
        "{error}"
    );

    // As shipped, production only looks its service and family up.
    let shipped = production_spec(&shipped_text("production"));
    let error = promote(&provider, &shipped, Pick::Previous)
        .await
        .unwrap_err();
    assert!(matches!(error, PromoteError::NotManaged { .. }), "{error}");
    assert!(report(error).contains("rehearsal import production ecs_task_definition.server"));

    // Declared, but never imported: a promote would create it.
    let other = production();
    converge(other.clone(), &staging_at("3.1.0")).await;
    converge(other.clone(), &staging_at("3.2.0")).await;
    let error = promote(&other, &production_spec(PRODUCTION), Pick::Previous)
        .await
        .unwrap_err();
    assert!(matches!(error, PromoteError::NotImported { .. }), "{error}");
}

#[tokio::test]
async fn containers_are_matched_by_name() {
    let provider = released().await;
    let renamed = PRODUCTION.replace("name = \"server\"\nimage", "name = \"api\"\nimage");
    let error = promote(&provider, &production_spec(&renamed), Pick::Previous)
        .await
        .unwrap_err();
    assert_eq!(
        report(error),
        "error: the containers of ecs_task_definition.server do not match by name: staging's \
         staging-server:1 has server, production declares api\n\
         hint: promote moves images container by container: both task definitions must name \
         the same containers"
    );
}
