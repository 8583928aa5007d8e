//! The engine against a fake production: plan the pre-release environment, apply it, change the
//! spec and plan again, refuse plans the world moved away from, and run steps in the right
//! order, side by side where they can.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rehearsal::apply::events::{Event, Recorder, Silent};
use rehearsal::apply::{ApplyOptions, StepError};
use rehearsal::graph::ExecutionGraph;
use rehearsal::model::{ResourceKind, tags};
use rehearsal::plan::render::{Style, human};
use rehearsal::plan::{ActionKind, Plan, PlanError};
use rehearsal::provider::fake::{FakeOp, FakeProvider, FakeResource, Latency};
use rehearsal::provider::{Provider, ProviderError};
use rehearsal::workflow::{self, RecheckError};
use serde_json::{Value, json};

use crate::support::{
    REGION, SpecFile, addr, apply_plan, converge, edit, plan_for, prerelease_edited, shipped,
    shipped_text, wave_labels,
};

const PLAIN: Style = Style { color: false };
const MINUTE: Duration = Duration::from_secs(60);

fn production() -> Arc<FakeProvider> {
    Arc::new(FakeProvider::with_production(REGION))
}

/// The live object behind an address in the fake cloud.
fn live_one(provider: &FakeProvider, address: &str) -> FakeResource {
    let found: Vec<FakeResource> = provider
        .snapshot()
        .resources
        .into_values()
        .filter(|r| r.tags.get(tags::ADDRESS).map(String::as_str) == Some(address))
        .collect();
    assert_eq!(found.len(), 1, "expected one {address}, found {found:#?}");
    found.into_iter().next().unwrap()
}

fn labels(plan: &Plan) -> Vec<String> {
    plan.actions
        .iter()
        .map(|a| format!("{} {}", a.action.symbol(), a.address))
        .collect()
}

fn recorded(recorder: &Recorder) -> Vec<Event> {
    recorder.0.lock().unwrap().clone()
}

/// Index of the first event matching.
#[track_caller]
fn index_of(events: &[Event], what: &str, wanted: impl Fn(&Event) -> bool) -> usize {
    events
        .iter()
        .position(wanted)
        .unwrap_or_else(|| panic!("no event for {what} in {events:#?}"))
}

fn started(events: &[Event], step: &str) -> usize {
    index_of(
        events,
        step,
        |e| matches!(e, Event::Started { step: s } if s == step),
    )
}

fn finished(events: &[Event], step: &str) -> usize {
    index_of(
        events,
        step,
        |e| matches!(e, Event::Finished { step: s, .. } if s == step),
    )
}

// --- A first plan -------------------------------------------------------------------------

#[tokio::test]
async fn a_new_environment_plans_six_creates_each_with_a_reason() {
    let provider = production();
    let plan = plan_for(provider.as_ref(), &shipped("prerelease")).await;

    assert_eq!(
        labels(&plan),
        [
            "+ rds_snapshot.from_prod",
            "+ rds_instance.db",
            "+ ec2_instance.server",
            "+ ecs_cluster.main",
            "+ ecs_task_definition.server",
            "+ ecs_service.server",
        ]
    );
    for action in &plan.actions {
        assert_eq!(
            action.reason, "because it does not exist yet",
            "{}",
            action.address
        );
    }

    // What production told the plan is already filled in; what only exists after apply is not.
    let db = plan
        .actions
        .iter()
        .find(|a| a.address == addr("rds_instance.db"))
        .unwrap();
    let desired = db.desired.as_ref().unwrap();
    assert_eq!(desired["snapshot"], "prerelease-from-prod");
    assert_eq!(desired["subnet_group"], "production-db-subnets");
    assert_eq!(
        desired["security_groups"],
        json!(["sg-0proddb0001"]),
        "production's list is spliced in"
    );
    assert_eq!(db.depends_on, [addr("rds_snapshot.from_prod")]);
    let server = plan
        .actions
        .iter()
        .find(|a| a.address == addr("ec2_instance.server"))
        .unwrap();
    assert_eq!(
        server.desired.as_ref().unwrap()["clone_of"],
        "i-0a1b2c3d4e5f60001"
    );
    let user_data = server
        .changes
        .iter()
        .find(|c| c.name == "user_data")
        .unwrap();
    assert_eq!(
        user_data.after, None,
        "the database endpoint is known only after apply"
    );

    let shown = human(&plan, PLAIN);
    assert!(
        shown.starts_with("rehearsal will make these changes to prerelease (eu-west-1):"),
        "{shown}"
    );
    assert!(
        shown.contains("  + rds_instance.db\n      because it does not exist yet\n"),
        "{shown}"
    );
    assert!(
        shown.contains("        instance_class = db.t3.medium\n"),
        "{shown}"
    );
    assert!(
        shown.contains("        user_data = (known after apply)\n"),
        "{shown}"
    );
    assert!(
        shown.ends_with("Plan: 6 to create, 0 to update, 0 to replace, 0 to delete.\n"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_source_production_does_not_have_is_named_with_where_it_is_declared() {
    let provider = production();
    let edited = prerelease_edited(
        "identifier = \"production-db\"",
        "identifier = \"production-dbb\"",
    );
    let err = workflow::make_plan(provider.as_ref(), &edited.load())
        .await
        .unwrap_err();
    assert!(matches!(err, PlanError::Source { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "cannot look up source.rds_instance.prod_db (rds_instance production-dbb, declared at {}:27:1): \
             rds_instance production-dbb was not found",
            edited.path.display()
        )
    );
    assert!(
        err.hint()
            .unwrap()
            .contains("check the identifier, name or tags")
    );
}

// --- Apply, and plan again ----------------------------------------------------------------

#[tokio::test]
async fn after_apply_the_same_spec_plans_no_changes() {
    let provider = production();
    let spec = shipped("prerelease");
    let summary = converge(provider.clone(), &spec).await;
    assert_eq!(summary.done.len(), 6);

    let again = plan_for(provider.as_ref(), &spec).await;
    assert!(!again.has_changes(), "{}", human(&again, PLAIN));
    assert_eq!(
        human(&again, PLAIN),
        format!(
            "No changes. prerelease (eu-west-1) matches {}.\n",
            spec.path.display()
        )
    );

    // What was created carries its owner, its address and its expiry, and the server was told
    // where the new database is.
    let server = live_one(&provider, "ec2_instance.server");
    assert_eq!(server.tags[tags::ENV], "prerelease");
    assert_eq!(server.tags[tags::LIFECYCLE], "ephemeral");
    assert!(server.tags.contains_key(tags::EXPIRES_AT));
    assert_eq!(server.tags["Name"], "prerelease-server");
    let user_data = server.attributes["user_data"].as_str().unwrap();
    assert!(
        user_data.contains("DATABASE_HOST=prerelease-db.fake.eu-west-1.rds.amazonaws.com"),
        "{user_data}"
    );
    assert!(user_data.contains("SERVER_VERSION=3.1.0"), "{user_data}");
    let service = live_one(&provider, "ecs_service.server");
    assert_eq!(service.attributes["cluster"], "prerelease");
    assert_eq!(
        service.attributes["task_definition"],
        "arn:aws:ecs:eu-west-1:000000000000:task-definition/prerelease-server:1"
    );
}

#[tokio::test]
async fn a_new_instance_type_is_an_in_place_update() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    let before = live_one(&provider, "ec2_instance.server");

    let edited = prerelease_edited(
        "instance_type = \"t3.medium\"",
        "instance_type = \"t3.large\"",
    );
    let spec = edited.load();
    let plan = plan_for(provider.as_ref(), &spec).await;
    assert_eq!(labels(&plan), ["~ ec2_instance.server"]);
    assert_eq!(
        plan.actions[0].reason,
        "because instance_type changed t3.medium → t3.large"
    );
    let shown = human(&plan, PLAIN);
    assert!(
        shown.contains(&format!("  ~ ec2_instance.server ({})\n", before.id)),
        "{shown}"
    );
    assert!(
        shown.contains("        instance_type: t3.medium → t3.large\n"),
        "{shown}"
    );
    assert!(
        shown.contains("Plan: 0 to create, 1 to update, 0 to replace, 0 to delete."),
        "{shown}"
    );

    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert_eq!(summary.done, ["~ ec2_instance.server"]);
    let after = live_one(&provider, "ec2_instance.server");
    assert_eq!(after.id, before.id, "the same server, changed in place");
    assert_eq!(after.attributes["instance_type"], "t3.large");
    assert!(!plan_for(provider.as_ref(), &spec).await.has_changes());
}

#[tokio::test]
async fn new_user_data_replaces_the_server_new_one_first() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    let old = live_one(&provider, "ec2_instance.server");

    let edited = prerelease_edited(
        "systemctl restart openchs",
        "systemctl restart openchs nginx",
    );
    let spec = edited.load();
    let plan = plan_for(provider.as_ref(), &spec).await;
    assert_eq!(labels(&plan), ["-/+ ec2_instance.server"]);
    assert_eq!(
        plan.actions[0].reason,
        "because user_data changed on line 4: systemctl restart openchs → systemctl restart openchs nginx, \
         which forces a new ec2_instance"
    );
    assert!(human(&plan, PLAIN).contains("user_data: (4 lines) → (4 lines)  # forces replacement"));

    let recorder = Arc::new(Recorder::default());
    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        recorder.clone(),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded(), "{summary:#?}");
    let events = recorded(&recorder);
    assert!(
        finished(&events, "+ ec2_instance.server") < started(&events, "- ec2_instance.server"),
        "an instance is replaced new one first: {events:#?}"
    );
    let new = live_one(&provider, "ec2_instance.server");
    assert_ne!(new.id, old.id);
    assert!(
        new.attributes["user_data"]
            .as_str()
            .unwrap()
            .contains("restart openchs nginx")
    );
    assert!(
        !provider.snapshot().resources.contains_key(&old.id),
        "the old server is gone"
    );
}

#[tokio::test]
async fn restoring_from_another_snapshot_replaces_the_database_and_what_uses_it() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    let old_db = live_one(&provider, "rds_instance.db");
    let old_server = live_one(&provider, "ec2_instance.server");

    // A second snapshot, and the database restored from it instead.
    let text = edit(
        &shipped_text("prerelease"),
        "snapshot = \"${rds_snapshot.from_prod.identifier}\"",
        "snapshot = \"${rds_snapshot.again.identifier}\"",
    );
    let text = text
        + "\n[resources.rds_snapshot.again]\nidentifier = \"prerelease-from-prod-2\"\n\
           source_db = \"${source.rds_instance.prod_db.identifier}\"\n";
    let edited = SpecFile::write("prerelease", &text);
    let spec = edited.load();
    let plan = plan_for(provider.as_ref(), &spec).await;

    assert_eq!(
        labels(&plan),
        [
            "+ rds_snapshot.again",
            "-/+ rds_instance.db",
            "-/+ ec2_instance.server",
            "-/+ ecs_task_definition.server",
            "~ ecs_service.server",
        ]
    );
    let reason = |a: &str| {
        plan.actions
            .iter()
            .find(|x| x.address == addr(a))
            .unwrap()
            .reason
            .clone()
    };
    assert_eq!(
        reason("rds_instance.db"),
        "because snapshot changed prerelease-from-prod → prerelease-from-prod-2, which forces a new rds_instance"
    );
    assert_eq!(
        reason("ec2_instance.server"),
        "because user_data depends on rds_instance.db.endpoint (known only after apply), which forces a new ec2_instance"
    );
    assert_eq!(
        reason("ecs_service.server"),
        "because task_definition depends on ecs_task_definition.server.arn (known only after apply)"
    );

    // A database name is unique: the old one goes before the new one is restored.
    let graph = ExecutionGraph::build(&plan).unwrap();
    let waves = wave_labels(&graph);
    let wave_of = |label: &str| {
        waves
            .iter()
            .position(|w| w.iter().any(|l| l == label))
            .unwrap()
    };
    assert!(
        wave_of("- rds_instance.db") < wave_of("+ rds_instance.db"),
        "{waves:?}"
    );
    assert!(
        wave_of("+ rds_instance.db") < wave_of("+ ec2_instance.server"),
        "{waves:?}"
    );
    assert!(
        wave_of("+ ecs_task_definition.server") < wave_of("~ ecs_service.server"),
        "{waves:?}"
    );
    assert!(
        wave_of("~ ecs_service.server") < wave_of("- ecs_task_definition.server"),
        "the old revision goes once the service moved: {waves:?}"
    );

    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded(), "{summary:#?}");
    let new_db = live_one(&provider, "rds_instance.db");
    assert_eq!(new_db.id, old_db.id, "same identifier");
    assert_eq!(new_db.attributes["snapshot"], "prerelease-from-prod-2");
    assert_ne!(live_one(&provider, "ec2_instance.server").id, old_server.id);
    assert!(
        live_one(&provider, "ecs_task_definition.server")
            .id
            .ends_with("prerelease-server:2")
    );
    assert!(!plan_for(provider.as_ref(), &spec).await.has_changes());
}

#[tokio::test]
async fn a_resource_taken_out_of_the_spec_is_deleted() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    let service = live_one(&provider, "ecs_service.server");

    let text = shipped_text("prerelease");
    let cut = text.find("[resources.ecs_service.server]").unwrap();
    let edited = SpecFile::write("prerelease", &text[..cut]);
    let spec = edited.load();
    let plan = plan_for(provider.as_ref(), &spec).await;
    assert_eq!(labels(&plan), ["- ecs_service.server"]);
    assert_eq!(
        plan.actions[0].reason,
        format!("because it is not in {}", edited.path.display())
    );
    assert!(human(&plan, PLAIN).contains(&format!("  - ecs_service.server ({})\n", service.id)));

    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert_eq!(summary.done, ["- ecs_service.server"]);
    assert!(!provider.snapshot().resources.contains_key(&service.id));
    assert!(!plan_for(provider.as_ref(), &spec).await.has_changes());
}

/// A second server with the same address tag, as an apply killed between "create" and "record"
/// would leave. Its id sorts after the real one's.
fn duplicate_of(original: &FakeResource) -> FakeResource {
    FakeResource {
        id: "i-0ffffffffffffffff".into(),
        ..original.clone()
    }
}

#[tokio::test]
async fn a_duplicate_left_by_an_interrupted_apply_is_deleted() {
    let provider = production();
    let spec = shipped("prerelease");
    converge(provider.clone(), &spec).await;
    let server = live_one(&provider, "ec2_instance.server");
    provider.insert_resource(duplicate_of(&server));

    let plan = plan_for(provider.as_ref(), &spec).await;
    assert_eq!(labels(&plan), ["- ec2_instance.server"]);
    assert_eq!(
        plan.actions[0].reason,
        format!(
            "because it duplicates ec2_instance.server ({}), left by an interrupted apply",
            server.id
        )
    );
    assert_eq!(
        plan.actions[0].live.as_ref().unwrap().id,
        "i-0ffffffffffffffff"
    );

    apply_plan(
        provider.clone(),
        plan,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert_eq!(
        live_one(&provider, "ec2_instance.server").id,
        server.id,
        "the original stays"
    );
}

#[tokio::test]
async fn an_update_next_to_a_duplicate_changes_the_server_that_stays() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    let server = live_one(&provider, "ec2_instance.server");
    provider.insert_resource(duplicate_of(&server));

    let edited = prerelease_edited(
        "instance_type = \"t3.medium\"",
        "instance_type = \"t3.large\"",
    );
    let spec = edited.load();
    let plan = plan_for(provider.as_ref(), &spec).await;
    assert_eq!(
        labels(&plan),
        ["~ ec2_instance.server", "- ec2_instance.server"]
    );
    assert_eq!(plan.actions[0].live.as_ref().unwrap().id, server.id);

    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded(), "{summary:#?}");
    let after = live_one(&provider, "ec2_instance.server");
    assert_eq!(after.id, server.id);
    assert_eq!(
        after.attributes["instance_type"], "t3.large",
        "the update went to the server that stays"
    );
    assert!(!plan_for(provider.as_ref(), &spec).await.has_changes());
}

// --- Plans as files -----------------------------------------------------------------------

#[tokio::test]
async fn a_saved_plan_loads_back_exactly() {
    let provider = production();
    let plan = plan_for(provider.as_ref(), &shipped("prerelease")).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans/prerelease.plan.json");
    plan.save(&path).unwrap();

    assert_eq!(Plan::load(&path).unwrap(), plan);
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).expect("valid JSON");
    assert_eq!(file["format_version"], 1);
    assert_eq!(file["tool_version"], env!("CARGO_PKG_VERSION"));
    let digest = file["spec_digest"].as_str().unwrap();
    assert!(
        digest.len() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit()),
        "{digest}"
    );
    let fingerprints: Vec<&String> = file["fingerprints"].as_object().unwrap().keys().collect();
    assert_eq!(
        fingerprints,
        [
            "source source.ec2_instance.prod_server",
            "source source.rds_instance.prod_db"
        ]
    );
    assert_eq!(file["actions"].as_array().unwrap().len(), 6);
    assert_eq!(file["variables"]["server_version"], "3.1.0");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("plans"))
        .unwrap()
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temporary file is left next to the plan"
    );
}

#[tokio::test]
async fn a_plan_file_from_another_format_or_no_plan_at_all_is_refused() {
    let provider = production();
    let plan = plan_for(provider.as_ref(), &shipped("prerelease")).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prerelease.plan.json");

    let mut future = serde_json::to_value(&plan).unwrap();
    future["format_version"] = json!(99);
    std::fs::write(&path, future.to_string()).unwrap();
    let err = Plan::load(&path).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("plan format 99 is not the format this rehearsal reads (1)"),
        "{err}"
    );
    assert_eq!(
        err.hint().unwrap(),
        "make a new one with `rehearsal plan ENV`"
    );

    std::fs::write(&path, "[environment]\nname = \"prerelease\"\n").unwrap();
    assert!(
        Plan::load(&path)
            .unwrap_err()
            .to_string()
            .contains("not a plan file")
    );
}

// --- Plans the world moved away from ------------------------------------------------------

#[tokio::test]
async fn a_plan_is_stale_when_someone_else_applied_first() {
    let provider = production();
    let edited = SpecFile::write("prerelease", &shipped_text("prerelease"));
    let ours = plan_for(provider.as_ref(), &edited.load()).await;

    // Meanwhile a colleague applies a newer server version.
    converge(
        provider.clone(),
        &edited.load_with(&[("server_version", "3.2.0")]),
    )
    .await;

    let err = workflow::recheck(provider.as_ref(), &ours, Some(&edited.load()))
        .await
        .unwrap_err();
    let RecheckError::Stale { changes } = &err else {
        panic!("expected stale, got {err}")
    };
    assert_eq!(changes.len(), 6, "{changes:#?}");
    assert!(
        changes
            .iter()
            .all(|c| c.starts_with("resource ") && c.ends_with(" appeared")),
        "{changes:#?}"
    );
    let server = live_one(&provider, "ec2_instance.server");
    assert!(
        changes.contains(&format!(
            "resource ec2_instance.server {} appeared",
            server.id
        )),
        "{changes:#?}"
    );
    assert!(
        err.to_string()
            .starts_with("the plan is stale: live state changed since it was made:\n  resource ")
    );
    assert!(err.hint().unwrap().contains("make a fresh plan"));
}

#[tokio::test]
async fn a_plan_is_stale_when_what_it_would_change_was_changed() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    let edited = prerelease_edited(
        "instance_type = \"t3.medium\"",
        "instance_type = \"t3.large\"",
    );
    let spec = edited.load();
    let ours = plan_for(provider.as_ref(), &spec).await;

    // Someone resizes the server by hand in the console.
    let mut server = live_one(&provider, "ec2_instance.server");
    server
        .attributes
        .insert("instance_type".into(), json!("t3.xlarge"));
    provider.insert_resource(server.clone());

    let err = workflow::recheck(provider.as_ref(), &ours, Some(&spec))
        .await
        .unwrap_err();
    let RecheckError::Stale { changes } = err else {
        panic!("expected stale, got {err}")
    };
    assert_eq!(
        changes,
        [format!(
            "resource ec2_instance.server {} changed",
            server.id
        )]
    );
}

#[tokio::test]
async fn a_plan_made_before_a_crashed_run_left_a_duplicate_is_stale() {
    let provider = production();
    let spec = shipped("prerelease");
    converge(provider.clone(), &spec).await;
    let edited = prerelease_edited("desired_count = 1", "desired_count = 2");
    let ours = plan_for(provider.as_ref(), &edited.load()).await;
    assert_eq!(labels(&ours), ["~ ecs_service.server"]);

    provider.insert_resource(duplicate_of(&live_one(&provider, "ec2_instance.server")));
    let err = workflow::recheck(provider.as_ref(), &ours, Some(&edited.load()))
        .await
        .unwrap_err();
    let RecheckError::Stale { changes } = err else {
        panic!("expected stale, got {err}")
    };
    assert_eq!(
        changes,
        ["resource ec2_instance.server i-0ffffffffffffffff appeared"]
    );
}

#[tokio::test]
async fn a_plan_is_not_stale_when_only_lifecycle_words_changed() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    let edited = prerelease_edited("desired_count = 1", "desired_count = 2");
    let ours = plan_for(provider.as_ref(), &edited.load()).await;

    // The database goes through its nightly backup: a state word, not a change.
    let mut db = live_one(&provider, "rds_instance.db");
    db.status = "backing-up".into();
    db.attributes.insert("status".into(), json!("backing-up"));
    provider.insert_resource(db);
    assert!(
        workflow::recheck(provider.as_ref(), &ours, Some(&edited.load()))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_plan_applied_twice_is_refused_the_second_time() {
    let provider = production();
    let spec = shipped("prerelease");
    let once = plan_for(provider.as_ref(), &spec).await;
    let summary = apply_plan(
        provider.clone(),
        once.clone(),
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded());
    let creates = provider.calls(FakeOp::Create);

    let err = workflow::recheck(provider.as_ref(), &once, Some(&spec))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RecheckError::AlreadyApplied { env } if env == "prerelease"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "this plan was already applied: prerelease already matches it"
    );
    assert_eq!(
        err.hint().unwrap(),
        "nothing to do; `rehearsal plan prerelease` shows the current state"
    );
    assert_eq!(
        provider.calls(FakeOp::Create),
        creates,
        "nothing was created twice"
    );

    // Without the spec to re-plan it can only say the world moved.
    let err = workflow::recheck(provider.as_ref(), &once, None)
        .await
        .unwrap_err();
    assert!(matches!(err, RecheckError::Stale { .. }), "{err}");
}

// --- Order ----------------------------------------------------------------------------------

#[tokio::test]
async fn creates_run_in_waves_of_what_is_ready() {
    let provider = production();
    let plan = plan_for(provider.as_ref(), &shipped("prerelease")).await;
    let graph = ExecutionGraph::build(&plan).unwrap();
    assert_eq!(
        wave_labels(&graph),
        [
            vec!["+ ecs_cluster.main", "+ rds_snapshot.from_prod"],
            vec!["+ rds_instance.db"],
            vec!["+ ec2_instance.server", "+ ecs_task_definition.server"],
            vec!["+ ecs_service.server"],
        ]
    );
    assert_eq!(
        graph.to_text(),
        "1. + ecs_cluster.main, + rds_snapshot.from_prod\n2. + rds_instance.db\n\
         3. + ec2_instance.server, + ecs_task_definition.server\n4. + ecs_service.server\n"
    );
    let dot = graph.to_dot();
    assert!(dot.starts_with("digraph plan {"), "{dot}");
    assert_eq!(
        dot.matches(" -> ").count(),
        5,
        "one edge per dependency: {dot}"
    );
}

#[tokio::test]
async fn a_spec_emptied_of_resources_deletes_dependents_first() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;

    let text = shipped_text("prerelease");
    let cut = text.find("# --- What we copy from").unwrap();
    let edited = SpecFile::write("prerelease", &text[..cut]);
    let spec = edited.load();
    let plan = plan_for(provider.as_ref(), &spec).await;
    assert_eq!(plan.count(ActionKind::Delete), 6);

    let graph = ExecutionGraph::build(&plan).unwrap();
    assert_eq!(
        wave_labels(&graph),
        [
            // Nothing else waits for servers, databases and services; clusters and task
            // definitions wait for services, snapshots for the databases restored from them.
            vec![
                "- ec2_instance.server",
                "- ecs_service.server",
                "- rds_instance.db"
            ],
            vec![
                "- ecs_cluster.main",
                "- ecs_task_definition.server",
                "- rds_snapshot.from_prod"
            ],
        ]
    );

    let recorder = Arc::new(Recorder::default());
    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        recorder.clone(),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded(), "{summary:#?}");
    let events = recorded(&recorder);
    for (first, then) in [
        ("- ecs_service.server", "- ecs_cluster.main"),
        ("- ecs_service.server", "- ecs_task_definition.server"),
        ("- ec2_instance.server", "- rds_snapshot.from_prod"),
        ("- rds_instance.db", "- rds_snapshot.from_prod"),
    ] {
        assert!(
            finished(&events, first) < started(&events, then),
            "{first} before {then}: {events:#?}"
        );
    }
    assert!(provider.observe(&spec.env).await.unwrap().is_empty());
}

// --- Time ---------------------------------------------------------------------------------

fn ten_minute_cluster_and_snapshot() -> Latency {
    Latency {
        create: [
            (ResourceKind::EcsCluster, 10 * MINUTE),
            (ResourceKind::RdsSnapshot, 10 * MINUTE),
        ]
        .into(),
        ..Default::default()
    }
}

async fn timed_apply(
    provider: Arc<FakeProvider>,
    parallelism: usize,
) -> (Duration, rehearsal::apply::Summary) {
    let spec = shipped("prerelease");
    let plan = plan_for(provider.as_ref(), &spec).await;
    let started = tokio::time::Instant::now();
    let options = ApplyOptions {
        parallelism,
        ..Default::default()
    };
    let summary = apply_plan(provider, plan, &spec, Arc::new(Silent), options).await;
    (started.elapsed(), summary)
}

#[tokio::test(start_paused = true)]
async fn independent_slow_creates_run_side_by_side() {
    let provider = Arc::new(
        FakeProvider::with_production(REGION).with_latency(ten_minute_cluster_and_snapshot()),
    );
    let (took, summary) = timed_apply(provider, 10).await;
    assert!(summary.succeeded(), "{summary:#?}");
    assert!(
        took >= 10 * MINUTE && took < 11 * MINUTE,
        "took {took:?}, not about 10 minutes"
    );
}

#[tokio::test(start_paused = true)]
async fn with_parallelism_one_they_run_one_after_the_other() {
    let provider = Arc::new(
        FakeProvider::with_production(REGION).with_latency(ten_minute_cluster_and_snapshot()),
    );
    let (took, summary) = timed_apply(provider, 1).await;
    assert!(summary.succeeded(), "{summary:#?}");
    assert!(
        took >= 20 * MINUTE && took < 21 * MINUTE,
        "took {took:?}, not about 20 minutes"
    );
}

#[tokio::test(start_paused = true)]
async fn a_database_slower_than_its_timeout_fails_after_exactly_that_long() {
    // The spec gives the database 45 minutes; this one would take an hour.
    let latency = Latency {
        create: [(ResourceKind::RdsInstance, 60 * MINUTE)].into(),
        ..Default::default()
    };
    let provider = Arc::new(FakeProvider::with_production(REGION).with_latency(latency));
    let (took, summary) = timed_apply(provider, 10).await;
    assert!(took >= 45 * MINUTE && took < 46 * MINUTE, "took {took:?}");
    assert_eq!(summary.failed.len(), 1);
    let (step, error) = &summary.failed[0];
    assert_eq!(step, "+ rds_instance.db");
    assert_eq!(
        error.to_string(),
        "timed out after 2700s waiting for rds_instance.db (prerelease-db) to become available"
    );
    assert!(
        error
            .hint()
            .is_some_and(|h| h.starts_with("AWS may still finish it")),
        "{error:?}"
    );
}

// --- Failure ------------------------------------------------------------------------------

#[tokio::test]
async fn a_failed_create_skips_exactly_what_depends_on_it() {
    let provider = production();
    provider.fail_address(
        FakeOp::Create,
        addr("rds_instance.db"),
        ProviderError::AccessDenied {
            action: "rds:RestoreDBInstanceFromDBSnapshot".into(),
            message: "User is not authorized to perform rds:RestoreDBInstanceFromDBSnapshot".into(),
        },
    );
    let spec = shipped("prerelease");
    let plan = plan_for(provider.as_ref(), &spec).await;
    let recorder = Arc::new(Recorder::default());
    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        recorder.clone(),
        ApplyOptions::default(),
    )
    .await;

    let mut done = summary.done.clone();
    done.sort();
    assert_eq!(done, ["+ ecs_cluster.main", "+ rds_snapshot.from_prod"]);
    assert_eq!(summary.failed.len(), 1);
    let (step, error) = &summary.failed[0];
    assert_eq!(step, "+ rds_instance.db");
    assert_eq!(
        error,
        &StepError::Provider(ProviderError::AccessDenied {
            action: "rds:RestoreDBInstanceFromDBSnapshot".into(),
            message: "User is not authorized to perform rds:RestoreDBInstanceFromDBSnapshot".into(),
        })
    );
    assert_eq!(
        error.hint().unwrap(),
        "grant `rds:RestoreDBInstanceFromDBSnapshot` to the credentials in use (see the IAM \
         policy in README.md), or pick other credentials with AWS_PROFILE"
    );
    let mut skipped = summary.skipped.clone();
    skipped.sort();
    let because = "+ rds_instance.db".to_string();
    assert_eq!(
        skipped,
        [
            ("+ ec2_instance.server".to_string(), because.clone()),
            ("+ ecs_service.server".to_string(), because.clone()),
            ("+ ecs_task_definition.server".to_string(), because.clone()),
        ]
    );
    assert!(!summary.succeeded());

    let skip_events = recorded(&recorder)
        .into_iter()
        .filter(|e| matches!(e, Event::Skipped { .. }))
        .count();
    assert_eq!(skip_events, 3);
    let mut owned: Vec<String> = provider
        .observe(&spec.env)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.address.to_string())
        .collect();
    owned.sort();
    assert_eq!(
        owned,
        ["ecs_cluster.main", "rds_snapshot.from_prod"],
        "nothing was attempted that needed the database"
    );

    // Once the cause is fixed, the next plan picks up from what exists.
    let healthy = production_like(&provider);
    let next = plan_for(&healthy, &spec).await;
    assert_eq!(
        labels(&next),
        [
            "+ rds_instance.db",
            "+ ec2_instance.server",
            "+ ecs_task_definition.server",
            "+ ecs_service.server"
        ]
    );
}

/// A provider over the same cloud, without the faults.
fn production_like(provider: &FakeProvider) -> FakeProvider {
    FakeProvider::with_cloud(provider.snapshot())
}

#[tokio::test]
async fn a_throttled_create_fails_its_step_with_advice() {
    let provider = production();
    provider.throttle_next(1);
    let spec = shipped("prerelease");
    let plan = plan_for(provider.as_ref(), &spec).await;
    let options = ApplyOptions {
        parallelism: 1,
        ..Default::default()
    };
    let summary = apply_plan(provider.clone(), plan, &spec, Arc::new(Silent), options).await;
    // With parallelism 1 the first step to run is the first label: the cluster.
    assert_eq!(summary.failed.len(), 1, "{summary:#?}");
    assert_eq!(summary.failed[0].0, "+ ecs_cluster.main");
    assert!(
        summary.failed[0]
            .1
            .hint()
            .unwrap()
            .starts_with("wait a minute and run the command again")
    );
    let skipped: BTreeMap<_, _> = summary.skipped.iter().cloned().collect();
    assert_eq!(skipped.keys().collect::<Vec<_>>(), ["+ ecs_service.server"]);
}

// --- What AWS left behind -----------------------------------------------------------------

#[tokio::test]
async fn a_database_that_failed_to_restore_is_replaced() {
    let provider = production();
    let spec = shipped("prerelease");
    converge(provider.clone(), &spec).await;
    let mut db = live_one(&provider, "rds_instance.db");
    db.status = "incompatible-restore".into();
    provider.insert_resource(db);

    let plan = plan_for(provider.as_ref(), &spec).await;
    let db_action = plan
        .actions
        .iter()
        .find(|a| a.address == addr("rds_instance.db"))
        .unwrap();
    assert_eq!(db_action.action, ActionKind::Replace);
    assert_eq!(
        db_action.reason,
        "because it is in state `incompatible-restore` and cannot recover"
    );

    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded(), "{summary:#?}");
    assert_eq!(live_one(&provider, "rds_instance.db").status, "available");
    assert!(!plan_for(provider.as_ref(), &spec).await.has_changes());
}

#[tokio::test]
async fn a_cluster_still_being_deleted_is_created_anew_and_the_plan_says_why() {
    let provider = production();
    let spec = shipped("prerelease");
    converge(provider.clone(), &spec).await;
    let mut cluster = live_one(&provider, "ecs_cluster.main");
    cluster.status = "DEPROVISIONING".into();
    provider.insert_resource(cluster.clone());

    let plan = plan_for(provider.as_ref(), &spec).await;
    let create = plan
        .actions
        .iter()
        .find(|a| a.address == addr("ecs_cluster.main"))
        .unwrap();
    assert_eq!(create.action, ActionKind::Create);
    assert_eq!(
        create.reason,
        format!(
            "because the previous one ({}) is DEPROVISIONING",
            cluster.id
        )
    );
}

#[tokio::test]
async fn a_plan_made_before_production_moved_is_stale() {
    let provider = production();
    let spec = shipped("prerelease");
    let ours = plan_for(provider.as_ref(), &spec).await;

    // Production's database moves to another subnet group before the plan is applied.
    let mut cloud = provider.snapshot();
    let prod_db = cloud
        .sources
        .iter_mut()
        .find(|s| s.key == "production-db")
        .unwrap();
    prod_db
        .attributes
        .insert("subnet_group".into(), json!("production-db-subnets-v2"));
    let moved = FakeProvider::with_cloud(cloud);

    let err = workflow::recheck(&moved, &ours, Some(&spec))
        .await
        .unwrap_err();
    let RecheckError::Stale { changes } = err else {
        panic!("expected stale, got {err}")
    };
    assert_eq!(changes, ["source source.rds_instance.prod_db changed"]);
}

/// The release-day safety net: "Create a DB snapshot in AWS RDS (just to be safe)", one per
/// release. The next release's snapshot is made beside the last one, which is never deleted.
#[tokio::test]
async fn each_release_gets_its_own_kept_snapshot_and_the_last_one_stays() {
    let provider = Arc::new(FakeProvider::with_production(REGION));
    let production = |release: &str| {
        let inputs = rehearsal::spec::VariableInputs {
            cli: vec![("release".into(), release.into())],
            env: Default::default(),
        };
        rehearsal::spec::load(
            &crate::support::environments_dir().join("production.toml"),
            &inputs,
        )
        .unwrap()
    };
    converge(provider.clone(), &production("r41")).await;

    let plan = plan_for(provider.as_ref(), &production("r42")).await;
    assert_eq!(labels(&plan), ["+ rds_snapshot.before_release"]);
    assert_eq!(
        plan.actions[0].reason,
        "because it does not exist yet (the kept production-before-r41 stays as it is)"
    );
    converge(provider.clone(), &production("r42")).await;

    let snapshots: Vec<String> = provider
        .snapshot()
        .resources
        .values()
        .filter(|r| r.kind == ResourceKind::RdsSnapshot)
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(
        snapshots,
        ["production-before-r41", "production-before-r42"]
    );
    assert!(
        !plan_for(provider.as_ref(), &production("r42"))
            .await
            .has_changes()
    );
}

/// A plan file edited by hand into something the executor cannot carry out is refused on
/// load, with what is missing, instead of failing half-way through an apply.
#[tokio::test]
async fn a_hand_edited_plan_missing_what_a_step_needs_is_refused_on_load() {
    let provider = FakeProvider::with_production(REGION);
    let plan = plan_for(&provider, &shipped("prerelease")).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prerelease.plan.json");
    plan.save(&path).unwrap();
    let mut raw: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    raw["actions"][0].as_object_mut().unwrap().remove("desired");
    std::fs::write(&path, raw.to_string()).unwrap();

    let Err(PlanError::Read { message, .. }) = Plan::load(&path) else {
        panic!("an incomplete plan is refused");
    };
    assert_eq!(
        message,
        "+ rds_snapshot.from_prod has no `desired` attributes"
    );
}

/// The clone launches from production's image, subnet and security groups, and the plan says
/// so. When production's server moves to a new image, the next plan replaces the clone and
/// says why.
#[tokio::test]
async fn the_clone_follows_production_servers_image_and_says_so() {
    let provider = Arc::new(FakeProvider::with_production(REGION));
    let spec = shipped("prerelease");
    let plan = plan_for(provider.as_ref(), &spec).await;
    let server = plan
        .actions
        .iter()
        .find(|a| a.address == addr("ec2_instance.server"))
        .unwrap();
    let desired = server.desired.as_ref().unwrap();
    assert_eq!(desired["image"], json!("ami-04681a1dbd79675a5"));
    assert_eq!(desired["subnet"], json!("subnet-0prod0001"));
    assert_eq!(desired["security_groups"], json!(["sg-0prodserver1"]));
    converge(provider.clone(), &spec).await;

    let mut cloud = provider.snapshot();
    let production_server = cloud
        .sources
        .iter_mut()
        .find(|s| s.key == "i-0a1b2c3d4e5f60001")
        .unwrap();
    production_server.attributes["image"] = json!("ami-0newer000000001");
    let moved_on = FakeProvider::with_cloud(cloud);
    let plan = plan_for(&moved_on, &spec).await;
    assert_eq!(labels(&plan)[0], "-/+ ec2_instance.server");
    assert!(
        plan.actions[0]
            .reason
            .starts_with("because image changed ami-04681a1dbd79675a5 → ami-0newer000000001"),
        "{}",
        plan.actions[0].reason
    );
}
