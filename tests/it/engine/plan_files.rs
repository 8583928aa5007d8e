//! Plans as files: saved and loaded exactly, other formats and edited files refused.

use super::*;

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
    assert_eq!(file["format_version"], 4);
    assert_eq!(file["tool_version"], env!("CARGO_PKG_VERSION"));
    // The spec it was made from travels with it, validated, variables applied.
    assert_eq!(file["spec"]["env"]["name"], "prerelease");
    assert_eq!(file["spec"]["variables"]["server_version"], "3.1.0");
    assert!(file["spec"]["resources"]["rds_instance.db"].is_object());
    assert!(file["integrity"]["record"].is_string(), "sealed");
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
            "source source.ecs_task_definition.prod_server",
            "source source.rds_instance.prod_db"
        ]
    );
    assert_eq!(file["actions"].as_array().unwrap().len(), 9);
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
            .ends_with("is in format 99, and this rehearsal (0.1.0) applies format 4 only"),
        "{err}"
    );
    assert!(matches!(err, PlanError::Format { .. }));

    // A plan made by the rehearsal before plans carried their spec: applying it would read
    // `environments/` again.
    let mut without_spec = serde_json::to_value(&plan).unwrap();
    without_spec["format_version"] = json!(3);
    without_spec.as_object_mut().unwrap().remove("spec");
    std::fs::write(&path, without_spec.to_string()).unwrap();
    let err = Plan::load(&path).unwrap_err();
    assert!(err.to_string().contains("is in format 3"), "{err}");
    assert!(matches!(err, PlanError::Format { .. }));

    // A plan made by the rehearsal before plans recorded their decisions as data.
    let mut older = serde_json::to_value(&plan).unwrap();
    older["format_version"] = json!(1);
    older["actions"][0]["reason"] = json!("because it does not exist yet");
    std::fs::write(&path, older.to_string()).unwrap();
    let err = Plan::load(&path).unwrap_err();
    assert!(err.to_string().contains("is in format 1"), "{err}");
    assert_eq!(
        err.hint().unwrap(),
        "a plan is applied exactly as it was decided: make a new one with `rehearsal plan ENV`, \
         review it, and apply that"
    );

    std::fs::write(&path, "[environment]\nname = \"prerelease\"\n").unwrap();
    assert!(
        Plan::load(&path)
            .unwrap_err()
            .to_string()
            .contains("not a plan file")
    );
}

/// A plan is applied only as it was made: a file edited afterwards is refused on load, naming
/// what was changed, before anything is observed or created.
#[tokio::test]
async fn an_edited_plan_is_refused_naming_what_was_changed() {
    let provider = FakeProvider::with_production(REGION);
    let plan = plan_for(&provider, &shipped("prerelease")).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prerelease.plan.json");
    plan.save(&path).unwrap();
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let refused = |edit: &dyn Fn(&mut Value)| {
        let mut raw = saved.clone();
        edit(&mut raw);
        std::fs::write(&path, raw.to_string()).unwrap();
        match Plan::load(&path) {
            Err(PlanError::Edited { edits, .. }) => edits,
            other => panic!("an edited plan is refused, not {other:?}"),
        }
    };

    // Pointed at the protected staging environment's name.
    assert_eq!(
        refused(&|p| p["env"]["name"] = json!("staging")),
        ["the environment was changed"]
    );
    // A bigger server than the one reviewed.
    let server = saved["actions"]
        .as_array()
        .unwrap()
        .iter()
        .position(|a| a["address"] == "ec2_instance.server")
        .unwrap();
    assert_eq!(
        refused(&|p| p["actions"][server]["desired"]["instance_type"] = json!("m5.24xlarge")),
        [format!(
            "action {} (+ ec2_instance.server) was changed",
            server + 1
        )]
    );
    // One action twice.
    assert_eq!(
        refused(&|p| {
            let first = p["actions"][0].clone();
            p["actions"].as_array_mut().unwrap().push(first);
        }),
        ["action 10 (+ rds_snapshot.from_prod) was added"]
    );
    // The spec it carries, which checks and the re-check of a stale plan read.
    assert_eq!(
        refused(&|p| p["spec"]["checks"] = json!([])),
        ["the spec was changed"]
    );
    // The record itself.
    assert_eq!(
        refused(&|p| p["integrity"]["spec"] = json!("0000")),
        ["its integrity record was edited"]
    );
}

/// Even a plan whose integrity record was recomputed after an edit is checked for what each
/// step needs, and for actions that appear twice, instead of failing half-way through an apply.
#[tokio::test]
async fn a_resealed_plan_missing_what_a_step_needs_is_refused_on_load() {
    let provider = FakeProvider::with_production(REGION);
    let plan = plan_for(&provider, &shipped("prerelease")).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prerelease.plan.json");
    let resealed = |edit: &dyn Fn(&mut Plan)| {
        let mut edited = plan.clone();
        edit(&mut edited);
        edited.integrity = rehearsal::plan::integrity::record(&edited);
        edited.save(&path).unwrap();
        match Plan::load(&path) {
            Err(PlanError::Read { message, .. }) => message,
            other => panic!("an incomplete plan is refused, not {other:?}"),
        }
    };
    assert_eq!(
        resealed(&|p| p.actions[0].desired = None),
        "+ rds_snapshot.from_prod has no `desired` attributes"
    );
    assert_eq!(
        resealed(&|p| {
            let first = p.actions[0].clone();
            p.actions.push(first);
        }),
        "+ rds_snapshot.from_prod appears twice"
    );
    assert_eq!(
        resealed(&|p| p.spec = None),
        "it holds no spec",
        "an apply plan needs the spec it was made from"
    );
    assert_eq!(
        resealed(&|p| p.spec.as_mut().unwrap().variables.clear()),
        "its spec is not the one its digest names"
    );
}
