//! `--target` / `--exclude`: a partial plan considers a target with what it needs, leaves an
//! exclude out with what needs it, says so, seals it, and never reaches past the environment.

use rehearsal::engine::destroy::{self, DestroyError, DestroyOptions};
use rehearsal::plan::targeting::{Request, TargetError};

use super::*;
use crate::support::env_id;

fn request(targets: &[&str], excludes: &[&str]) -> Request {
    Request {
        targets: targets.iter().map(|a| addr(a)).collect(),
        excludes: excludes.iter().map(|a| addr(a)).collect(),
    }
}

async fn targeted(provider: &dyn Provider, targets: &[&str], excludes: &[&str]) -> Plan {
    workflow::make_targeted_plan(
        provider,
        &shipped("prerelease"),
        &request(targets, excludes),
    )
    .await
    .unwrap_or_else(|e| panic!("plan failed: {e}"))
}

#[tokio::test]
async fn a_target_pulls_in_what_it_needs_and_the_plan_says_so() {
    let provider = production();
    let plan = targeted(provider.as_ref(), &["security_group.db"], &[]).await;

    assert_eq!(
        labels(&plan),
        ["+ security_group.server", "+ security_group.db"],
        "the database's group refers to the server's, so that comes too; nothing else"
    );
    assert_eq!(plan.partial(), Some((2, 9)));
    let shown = human(&plan, PLAIN);
    assert!(
        shown.contains("A partial plan: 2 of 9 resources considered.\n  --target security_group.db\n  security_group.db needs security_group.server: included\nThe rest of prerelease (7 resources) is not planned and not changed."),
        "{shown}"
    );
    assert!(
        shown.contains("Plan: 2 to create, 0 to update, 0 to replace, 0 to delete (a partial plan: 2 of 9 resources considered)."),
        "{shown}"
    );
    let json = rehearsal::plan::render::json(&plan);
    assert_eq!(
        json["summary"]["partial"],
        json!({"considered": 2, "total": 9})
    );
    assert_eq!(
        json["targeting"]["pulled_in"],
        json!([{"address": "security_group.db", "with": ["security_group.server"]}])
    );
}

#[tokio::test]
async fn a_targeted_apply_changes_only_that_and_a_second_one_finds_it_already_applied() {
    let provider = production();
    let spec = shipped("prerelease");
    let plan = targeted(provider.as_ref(), &["security_group.db"], &[]).await;
    let summary = apply_plan(
        provider.clone(),
        plan.clone(),
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded(), "{summary:#?}");
    let owned = provider.observe(&spec.env, &spec.declared()).await.unwrap();
    let mut addresses: Vec<String> = owned.iter().map(|r| r.address.to_string()).collect();
    addresses.sort();
    assert_eq!(addresses, ["security_group.db", "security_group.server"]);

    // The same partial plan again: done, though the rest of the spec is still to make.
    let again = workflow::recheck(provider.as_ref(), &plan, Some(&spec)).await;
    assert!(
        matches!(again, Err(RecheckError::AlreadyApplied { .. })),
        "{again:?}"
    );
    let same = targeted(provider.as_ref(), &["security_group.db"], &[]).await;
    assert!(!same.has_changes());
    assert!(
        human(&same, PLAIN).contains("in the 2 resources this partial plan considered."),
        "{}",
        human(&same, PLAIN)
    );
    assert_eq!(plan_for(provider.as_ref(), &spec).await.actions.len(), 7);
}

#[tokio::test]
async fn a_partial_plan_whose_world_moved_is_stale_like_any_plan() {
    let provider = production();
    let spec = shipped("prerelease");
    let plan = targeted(provider.as_ref(), &["security_group.db"], &[]).await;
    // Meanwhile another partial apply makes the cluster.
    let cluster = targeted(provider.as_ref(), &["ecs_cluster.main"], &[]).await;
    let summary = apply_plan(
        provider.clone(),
        cluster,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded(), "{summary:#?}");
    let again = workflow::recheck(provider.as_ref(), &plan, Some(&spec)).await;
    assert!(
        matches!(again, Err(RecheckError::Stale { .. })),
        "{again:?}"
    );
}

#[tokio::test]
async fn an_exclude_leaves_out_what_depends_on_it_and_the_plan_says_so() {
    let provider = production();
    let plan = targeted(provider.as_ref(), &[], &["ec2_instance.server"]).await;

    let planned = labels(&plan);
    assert_eq!(planned.len(), 7, "{planned:?}");
    for gone in ["+ ec2_instance.server", "+ dns_record.server"] {
        assert!(!planned.contains(&gone.to_string()), "{planned:?}");
    }
    let shown = human(&plan, PLAIN);
    assert!(
        shown.contains(
            "  ec2_instance.server excluded: dns_record.server depends on it, left out too\n"
        ),
        "{shown}"
    );
    assert!(
        shown.contains("(a partial plan: 7 of 9 resources considered)"),
        "{shown}"
    );
}

#[tokio::test]
async fn an_exclude_wins_over_a_target_that_needs_it() {
    let provider = production();
    let plan = targeted(
        provider.as_ref(),
        &["dns_record.server"],
        &["ec2_instance.server"],
    )
    .await;
    assert!(
        labels(&plan)
            .iter()
            .all(|l| !l.ends_with("ec2_instance.server") && !l.ends_with("dns_record.server")),
        "{:?}",
        labels(&plan)
    );
}

#[tokio::test]
async fn an_unknown_address_is_refused_with_the_closest_known_ones() {
    let provider = production();
    let spec = shipped("prerelease");
    let err = workflow::make_targeted_plan(
        provider.as_ref(),
        &spec,
        &request(&["ecs_service.sever"], &[]),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "--target ecs_service.sever: prerelease has no such resource"
    );
    assert_eq!(
        err.hint().as_deref(),
        Some("did you mean `ecs_service.server`?")
    );

    // Production's server, which the spec reads as a source, is not the environment's to target.
    let err = workflow::make_targeted_plan(
        provider.as_ref(),
        &spec,
        &request(&[], &["ec2_instance.prod_server"]),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            &err,
            PlanError::Target(TargetError::Unknown {
                flag: "--exclude",
                ..
            })
        ),
        "{err}"
    );
    assert_eq!(
        err.hint().as_deref(),
        Some("did you mean `ec2_instance.server`?")
    );
    assert_eq!(
        rehearsal::Error::from(err).exit_code(),
        rehearsal::exit::USAGE
    );
}

#[tokio::test]
async fn the_targeting_is_sealed_in_the_plan_file() {
    let provider = production();
    let plan = targeted(provider.as_ref(), &["security_group.db"], &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prerelease.plan.json");
    plan.save(&path).unwrap();
    assert_eq!(
        Plan::load(&path).unwrap(),
        plan,
        "loads back, targeting and all"
    );

    let refused = |edit: &dyn Fn(&mut Value)| {
        let mut file: Value = serde_json::to_value(&plan).unwrap();
        edit(&mut file);
        std::fs::write(&path, file.to_string()).unwrap();
        match Plan::load(&path) {
            Err(PlanError::Edited { edits, .. }) => edits,
            other => panic!("expected an edit to be refused: {other:?}"),
        }
    };
    assert_eq!(
        refused(&|p| p["targeting"]["considered"]
            .as_array_mut()
            .unwrap()
            .push(json!("ec2_instance.server"))),
        ["the targeting was changed"]
    );
    assert_eq!(
        refused(&|p| {
            p.as_object_mut().unwrap().remove("targeting");
        }),
        ["the targeting was removed"]
    );

    // Even with its record recomputed, a partial plan acts on nothing it did not consider.
    let mut forged = plan.clone();
    let targeting = forged.targeting.as_mut().unwrap();
    targeting.considered.remove(&addr("security_group.server"));
    forged.integrity = rehearsal::plan::integrity::record(&forged);
    forged.save(&path).unwrap();
    let err = Plan::load(&path).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("+ security_group.server is outside what it was targeted to"),
        "{err}"
    );
}

fn quick_destroy(request: Request) -> DestroyOptions {
    let mut options = DestroyOptions {
        request,
        ..Default::default()
    };
    options.run.pause = Duration::from_secs(1);
    options.run.max_pause = Duration::from_secs(4);
    options
}

#[tokio::test]
async fn a_targeted_destroy_takes_what_depends_on_the_target_first_and_leaves_the_rest() {
    let provider = production();
    let spec = shipped("prerelease");
    converge(provider.clone(), &spec).await;
    let env = env_id("prerelease");

    let options = quick_destroy(request(&["ecs_cluster.main"], &[]));
    let plan = destroy::plan(provider.as_ref(), &env, Some(&spec), &options)
        .await
        .unwrap();
    assert_eq!(
        labels(&plan),
        ["- ecs_service.server", "- ecs_cluster.main"]
    );
    let shown = human(&plan, PLAIN);
    assert!(
        shown.contains("  ecs_cluster.main: ecs_service.server depends on it and must go first: included\nThe rest of prerelease (8 resources) is not destroyed and remains.\n"),
        "{shown}"
    );
    assert!(
        shown.contains("Plan: 2 to delete (a partial plan: 2 of 10 resources considered)."),
        "{shown}"
    );

    let report = rehearsal::apply::teardown::teardown(
        &plan,
        provider.clone(),
        Arc::new(Silent),
        &options.run,
    )
    .await
    .unwrap();
    assert!(report.leftovers.is_empty(), "{report:#?}");
    assert_eq!(report.deleted.len(), 2, "{report:#?}");
    assert_eq!(report.rest.len(), 8, "the rest remains, and is told apart");
    let left: Vec<String> = provider
        .observe(&env, &spec.declared())
        .await
        .unwrap()
        .iter()
        .map(|r| r.address.to_string())
        .collect();
    assert_eq!(left.len(), 8, "{left:?}");
    assert!(
        !left
            .iter()
            .any(|a| a.starts_with("ecs_service") || a.starts_with("ecs_cluster"))
    );

    // Once what it targeted is gone, the same plan is done, though the rest still stands.
    let again = workflow::recheck(provider.as_ref(), &plan, Some(&spec)).await;
    assert!(
        matches!(again, Err(RecheckError::AlreadyApplied { .. })),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_destroy_exclude_keeps_what_the_excluded_resource_needs_and_its_volume() {
    let provider = production();
    let spec = shipped("prerelease");
    converge(provider.clone(), &spec).await;
    let env = env_id("prerelease");
    // Targeted, the server takes its volume with it.
    let options = quick_destroy(request(&["ec2_instance.server"], &[]));
    let plan = destroy::plan(provider.as_ref(), &env, Some(&spec), &options)
        .await
        .unwrap();
    assert!(
        labels(&plan).contains(&"- ebs_volume.server".to_string()),
        "{:?}",
        labels(&plan)
    );
    let options = quick_destroy(request(&[], &["ec2_instance.server"]));
    let plan = destroy::plan(provider.as_ref(), &env, Some(&spec), &options)
        .await
        .unwrap();
    let doomed = labels(&plan);
    for stays in [
        "ec2_instance.server",
        "ebs_volume.server",
        "security_group.server",
        "rds_instance.db",
    ] {
        assert!(
            !doomed.contains(&format!("- {stays}")),
            "{stays}: {doomed:?}"
        );
    }
    assert!(
        doomed.contains(&"- dns_record.server".to_string()),
        "{doomed:?}"
    );
}

#[tokio::test]
async fn a_targeted_destroy_without_the_spec_is_refused_not_guessed() {
    let provider = production();
    converge(provider.clone(), &shipped("prerelease")).await;
    let options = quick_destroy(request(&["ecs_cluster.main"], &[]));
    let err = destroy::plan(provider.as_ref(), &env_id("prerelease"), None, &options)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DestroyError::Target(TargetError::NoSpec { .. })),
        "{err}"
    );
    assert_eq!(
        provider
            .observe(&env_id("prerelease"), &Default::default())
            .await
            .unwrap()
            .len(),
        10
    );
}
