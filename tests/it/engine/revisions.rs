//! Revisions kept: staging's version bumps register new task-definition revisions and keep the
//! previous ones (`keep_revisions`, default 3) so that there is something to roll back to.

use super::*;
use rehearsal::engine::destroy::{DestroyOptions, destroy};
use rehearsal::plan::Reason;

/// Staging's spec, as shipped, at a server version.
fn staging_at(version: &str) -> rehearsal::spec::Spec {
    SpecFile::write("staging", &shipped_text("staging")).load_with(&[("server_version", version)])
}

/// The revisions of staging's task definition in the fake cloud, as `revision image`, oldest
/// first.
fn revisions(provider: &FakeProvider) -> Vec<String> {
    let mut found: Vec<(u64, String)> = provider
        .snapshot()
        .resources
        .into_values()
        .filter(|r| r.kind == ResourceKind::EcsTaskDefinition)
        .map(|r| {
            (
                r.attributes["revision"].as_u64().unwrap(),
                r.attributes["containers"][0]["image"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    found.sort();
    found.into_iter().map(|(r, i)| format!("{r} {i}")).collect()
}

/// What the service runs now.
fn running(provider: &FakeProvider) -> String {
    live_one(provider, "ecs_service.server").attributes["task_definition"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_version_bump_keeps_the_previous_revisions_to_roll_back_to() {
    let provider = production();
    converge(provider.clone(), &staging_at("3.1.0")).await;

    // The bump registers a new revision beside the running one, which stays.
    let bump = plan_for(provider.as_ref(), &staging_at("3.2.0")).await;
    assert_eq!(
        labels(&bump),
        ["+ ecs_task_definition.server", "~ ecs_service.server"]
    );
    let text = human(&bump, PLAIN);
    assert!(
        text.contains(
            "because containers[\"server\"].image changed example/openchs-server:3.1.0 → \
             example/openchs-server:3.2.0: a new revision, registered beside staging-server:1 \
             (kept, with the newest 3: keep_revisions = 3)"
        ),
        "{text}"
    );
    converge(provider.clone(), &staging_at("3.2.0")).await;
    converge(provider.clone(), &staging_at("3.3.0")).await;
    assert_eq!(
        revisions(&provider),
        [
            "1 example/openchs-server:3.1.0",
            "2 example/openchs-server:3.2.0",
            "3 example/openchs-server:3.3.0"
        ]
    );
    assert_eq!(running(&provider), "staging-server:3");

    // Kept revisions are not duplicates nor strangers: an unchanged spec plans nothing.
    let again = plan_for(provider.as_ref(), &staging_at("3.3.0")).await;
    assert!(!again.has_changes(), "{}", human(&again, PLAIN));

    // The fourth bump pushes the oldest out of the three kept: no service runs it, it goes.
    let fourth = plan_for(provider.as_ref(), &staging_at("3.4.0")).await;
    assert_eq!(
        labels(&fourth),
        [
            "+ ecs_task_definition.server",
            "~ ecs_service.server",
            "- ecs_task_definition.server"
        ]
    );
    let gone = &fourth.actions[2];
    assert_eq!(gone.reason, Reason::OlderThanKept { kept: 3 });
    assert!(gone.live.as_ref().unwrap().id.ends_with("staging-server:1"));
    assert!(human(&fourth, PLAIN).contains(
        "because it is older than the 3 revisions kept (keep_revisions = 3) and no service \
             runs it"
    ));
    converge(provider.clone(), &staging_at("3.4.0")).await;
    assert_eq!(
        revisions(&provider),
        [
            "2 example/openchs-server:3.2.0",
            "3 example/openchs-server:3.3.0",
            "4 example/openchs-server:3.4.0"
        ]
    );
    assert_eq!(running(&provider), "staging-server:4");
}

#[tokio::test]
async fn a_revision_a_service_runs_is_kept_however_old() {
    let provider = production();
    let text = edit(
        &shipped_text("staging"),
        "cpu = \"512\"\n",
        "cpu = \"512\"\nkeep_revisions = 1\n",
    );
    let spec = SpecFile::write("staging", &text);
    converge(provider.clone(), &spec.load()).await;
    // Keeping one: the bump's new revision is the one kept, but the service runs the old one
    // until it has moved, so the old one stays for this apply...
    let bump = plan_for(
        provider.as_ref(),
        &spec.load_with(&[("server_version", "3.2.0")]),
    )
    .await;
    assert_eq!(
        labels(&bump),
        ["+ ecs_task_definition.server", "~ ecs_service.server"]
    );
    converge(
        provider.clone(),
        &spec.load_with(&[("server_version", "3.2.0")]),
    )
    .await;
    // ... and goes in the next plan, once nothing runs it.
    let next = plan_for(
        provider.as_ref(),
        &spec.load_with(&[("server_version", "3.2.0")]),
    )
    .await;
    assert_eq!(labels(&next), ["- ecs_task_definition.server"]);
    assert_eq!(next.actions[0].reason, Reason::OlderThanKept { kept: 1 });
}

#[tokio::test]
async fn going_back_to_a_kept_version_deploys_its_revision_again() {
    let provider = production();
    converge(provider.clone(), &staging_at("3.1.0")).await;
    converge(provider.clone(), &staging_at("3.2.0")).await;
    // The spec goes back: revision 1 is what it asks for, so nothing is registered.
    let back = plan_for(provider.as_ref(), &staging_at("3.1.0")).await;
    assert_eq!(labels(&back), ["~ ecs_service.server"]);
    converge(provider.clone(), &staging_at("3.1.0")).await;
    assert_eq!(running(&provider), "staging-server:1");
    assert_eq!(revisions(&provider).len(), 2);
}

#[tokio::test]
async fn destroy_removes_every_kept_revision() {
    let provider = production();
    // Staging is protected; an ephemeral copy of it can be torn down.
    let text = edit(
        &shipped_text("staging"),
        "lifecycle = \"protected\"",
        "lifecycle = \"ephemeral\"\nttl = \"8h\"",
    );
    let spec = SpecFile::write("staging", &text);
    for version in ["3.1.0", "3.2.0", "3.3.0"] {
        converge(
            provider.clone(),
            &spec.load_with(&[("server_version", version)]),
        )
        .await;
    }
    assert_eq!(revisions(&provider).len(), 3);
    let report = destroy(
        provider.clone(),
        &spec.load().env,
        Arc::new(Silent),
        &DestroyOptions::default(),
    )
    .await
    .unwrap();
    assert!(report.leftovers.is_empty(), "{report:#?}");
    assert_eq!(revisions(&provider), Vec::<String>::new());
}
