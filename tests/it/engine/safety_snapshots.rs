//! "Create a DB snapshot in AWS RDS (just to be safe)": a snapshot plan of each database an
//! environment names, kept through teardown, taken first before a protected environment's
//! apply, and pruned to the newest N of those rehearsal took, never another.

use rehearsal::engine::destroy::{self, DestroyOptions};
use rehearsal::engine::ownership;
use rehearsal::engine::snapshot;
use rehearsal::kinds::final_snapshot;
use rehearsal::model::EnvId;
use rehearsal::spec::Spec;

use super::*;
use crate::support::{env_id, owned_tags};

fn at(text: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
}

/// `rehearsal snapshot ENV --reason REASON` at `now`: plan it, carry it out; the plan.
async fn take(provider: &Arc<FakeProvider>, spec: &Spec, reason: Option<&str>, now: &str) -> Plan {
    let (plan, live) = snapshot::plan(provider.as_ref(), spec, reason, at(now))
        .await
        .unwrap_or_else(|e| panic!("snapshot plan: {e}"));
    let graph = ExecutionGraph::build(&plan).unwrap();
    let summary = rehearsal::apply::execute(
        plan.clone(),
        &graph,
        live,
        provider.clone(),
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded(), "{summary:#?}");
    plan
}

fn snapshot_ids(provider: &FakeProvider) -> Vec<String> {
    let mut ids: Vec<String> = provider
        .snapshot()
        .resources
        .into_values()
        .filter(|r| r.kind == ResourceKind::RdsSnapshot)
        .map(|r| r.id)
        .collect();
    ids.sort();
    ids
}

fn fake_snapshot(id: &str, of: &str, tags: BTreeMap<String, String>) -> FakeResource {
    let mut attributes = serde_json::Map::new();
    attributes.insert("identifier".into(), json!(id));
    attributes.insert("source_db".into(), json!(of));
    FakeResource {
        region: REGION.into(),
        kind: ResourceKind::RdsSnapshot,
        id: id.into(),
        status: "available".into(),
        attributes,
        tags,
        transition: None,
        visible_from_ms: None,
    }
}

/// The tags rehearsal writes on a safety snapshot of `of` that `env` took at `taken_at`.
fn safety_tags(env: &EnvId, id: &str, of: &str, taken_at: &str) -> BTreeMap<String, String> {
    let mut tags = owned_tags(env, &snapshot::address(id).to_string(), id);
    tags.insert(tags::KEEP.into(), "true".into());
    tags.insert(snapshot::OF.into(), of.into());
    tags.insert(snapshot::REASON.into(), "manual".into());
    tags.insert(snapshot::TAKEN_AT.into(), taken_at.into());
    tags
}

#[tokio::test]
async fn a_snapshot_of_each_database_is_kept_tagged_and_survives_destroy() {
    let provider = production();
    let spec = shipped("prerelease");
    converge(provider.clone(), &spec).await;

    let plan = take(
        &provider,
        &spec,
        Some("before 3.2.0"),
        "2026-12-06T10:15:00Z",
    )
    .await;
    // The database pre-release owns; not production's, which it only reads to copy: a
    // pre-release's snapshot must not suspend production's I/O.
    assert_eq!(
        labels(&plan),
        ["+ rds_snapshot.prerelease_db_20261206_101500_before_3_2_0"]
    );
    let shown = human(&plan, PLAIN);
    assert!(
        shown.contains(
            "because a snapshot of prerelease-db (rds_instance.db) was asked for: before 3.2.0"
        ),
        "{shown}"
    );
    assert!(
        shown.contains(
            "note: while RDS takes this snapshot, a Single-AZ database suspends its I/O for a few \
             seconds to a few minutes\n"
        ),
        "{shown}"
    );
    assert!(
        !shown.contains("latest_snapshot_of"),
        "no way around it: {shown}"
    );

    let env = env_id("prerelease");
    let taken = live_one(
        &provider,
        "rds_snapshot.prerelease_db_20261206_101500_before_3_2_0",
    );
    assert_eq!(taken.id, "prerelease-db-20261206-101500-before-3-2-0");
    assert_eq!(taken.status, "available");
    assert_eq!(taken.attributes["source_db"], json!("prerelease-db"));
    for (key, value) in [
        (tags::KEEP, "true"),
        (snapshot::OF, "prerelease-db"),
        (snapshot::REASON, "before 3.2.0"),
        (snapshot::TAKEN_AT, "2026-12-06T10:15:00Z"),
        (tags::ENV, "prerelease"),
        (tags::PROJECT, "openchs"),
    ] {
        assert_eq!(
            taken.tags.get(key).map(String::as_str),
            Some(value),
            "{key}: {:#?}",
            taken.tags
        );
    }
    let owned = provider
        .observe(&env, &Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id == taken.id)
        .unwrap();
    assert!(ownership::belongs_to(&owned, &env), "{owned:#?}");

    // A later plan of the spec leaves them alone: they are history, not drift.
    let replan = plan_for(provider.as_ref(), &spec).await;
    assert!(!replan.has_changes(), "{:?}", labels(&replan));

    // Teardown keeps them, and lists them as kept.
    let report = destroy::destroy(
        provider.clone(),
        &env,
        Arc::new(Silent),
        &DestroyOptions::default(),
    )
    .await
    .unwrap();
    assert!(report.leftovers.is_empty(), "{:#?}", report.leftovers);
    let kept: Vec<&str> = report.kept.iter().map(|r| r.id.as_str()).collect();
    assert!(kept.contains(&taken.id.as_str()), "{kept:?}");
    let left = snapshot_ids(&provider);
    assert!(left.contains(&taken.id), "{left:?}");
}

#[tokio::test]
async fn a_protected_environment_snapshots_the_database_it_names_as_a_source() {
    let provider = production();
    let plan = take(
        &provider,
        &shipped("production"),
        None,
        "2026-12-06T10:15:00Z",
    )
    .await;
    assert_eq!(
        labels(&plan),
        ["+ rds_snapshot.production_db_20261206_101500"]
    );
    let taken = live_one(&provider, "rds_snapshot.production_db_20261206_101500");
    assert_eq!(taken.attributes["source_db"], json!("production-db"));
    assert_eq!(
        taken.tags.get(tags::ENV).map(String::as_str),
        Some("production")
    );
}

#[tokio::test]
async fn a_reason_rds_cannot_tag_is_refused_before_anything_is_read() {
    let provider = production();
    let refused = snapshot::plan(
        provider.as_ref(),
        &shipped("production"),
        Some("it's 3.2.0"),
        at("2026-12-06T10:15:00Z"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "the reason `it's 3.2.0` cannot be a tag value: RDS refuses '\\'' in a tag value"
    );
    assert_eq!(provider.calls(FakeOp::Observe), 0);
    assert!(snapshot_ids(&provider).is_empty());
}

#[tokio::test]
async fn an_environment_with_no_database_has_nothing_to_snapshot() {
    let provider = production();
    let spec = SpecFile::write(
        "nodb",
        "[environment]\nproject = \"openchs\"\nname = \"nodb\"\nregion = \"eu-west-1\"\n\
         lifecycle = \"ephemeral\"\n",
    );
    let refused = snapshot::plan(
        provider.as_ref(),
        &spec.load(),
        None,
        at("2026-12-06T10:15:00Z"),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.to_string(), "nodb names no database to snapshot");
}

fn production_keeping(keep: u32, before_apply: bool) -> SpecFile {
    let text = shipped_text("production");
    SpecFile::write(
        "production",
        &format!("{text}\n[snapshots]\nbefore_apply = {before_apply}\nkeep = {keep}\n"),
    )
}

#[tokio::test]
async fn keep_prunes_only_the_oldest_safety_snapshots_rehearsal_took() {
    let provider = production();
    let spec = production_keeping(2, false).load();
    let production = env_id("production");
    // The release snapshot the spec declares, kept after destroy.
    converge(provider.clone(), &spec).await;
    take(&provider, &spec, None, "2026-12-01T09:00:00Z").await;
    take(&provider, &spec, None, "2026-12-02T09:00:00Z").await;

    // What is not ours to prune, all older than ours: a snapshot taken by hand; staging's
    // safety snapshot of the same database; one with production's tags copied onto another
    // identifier; a final snapshot production keeps.
    provider.insert_resource(fake_snapshot(
        "production-db-by-hand",
        "production-db",
        BTreeMap::new(),
    ));
    let staging = env_id("staging");
    let id = "staging-production-db-20261101-090000";
    provider.insert_resource(fake_snapshot(
        id,
        "production-db",
        safety_tags(&staging, id, "production-db", "2026-11-01T09:00:00Z"),
    ));
    let copied_from = "production-db-20261101-090000";
    provider.insert_resource(fake_snapshot(
        "copy-of-ours",
        "production-db",
        safety_tags(
            &production,
            copied_from,
            "production-db",
            "2026-11-01T09:00:00Z",
        ),
    ));
    let mut final_tags = owned_tags(
        &production,
        "rds_snapshot.db_final",
        "production-db-final-20261101t090000",
    );
    final_tags.insert(tags::KEEP.into(), "true".into());
    final_tags.insert(final_snapshot::OF.into(), "production-db".into());
    provider.insert_resource(fake_snapshot(
        "production-db-final-20261101t090000",
        "production-db",
        final_tags,
    ));

    let plan = take(&provider, &spec, Some("3.2.0"), "2026-12-03T09:00:00Z").await;
    assert_eq!(
        labels(&plan),
        [
            "+ rds_snapshot.production_db_20261203_090000_3_2_0",
            "- rds_snapshot.production_db_20261201_090000",
        ]
    );
    // The old one goes only once the new one is there.
    assert_eq!(
        wave_labels(&ExecutionGraph::build(&plan).unwrap()),
        [
            ["+ rds_snapshot.production_db_20261203_090000_3_2_0"],
            ["- rds_snapshot.production_db_20261201_090000"],
        ]
    );
    let shown = human(&plan, PLAIN);
    assert!(
        shown.contains(
            "because [snapshots] keep = 2 keeps only the newest 2 safety snapshots rehearsal \
             took of production-db"
        ),
        "{shown}"
    );
    assert_eq!(
        snapshot_ids(&provider),
        [
            "copy-of-ours",
            "production-before-manual",
            "production-db-20261202-090000",
            "production-db-20261203-090000-3-2-0",
            "production-db-by-hand",
            "production-db-final-20261101t090000",
            "staging-production-db-20261101-090000",
        ]
    );
}

#[tokio::test]
async fn before_apply_snapshots_first_and_every_other_step_waits_for_it() {
    let provider = production();
    let spec = production_keeping(1, true).load();
    // A change: the release snapshot of a new release.
    let plan = plan_for(provider.as_ref(), &spec).await;
    assert_eq!(
        labels(&plan)[1..],
        ["+ rds_snapshot.before_release".to_string()]
    );
    let first = &plan.actions[0];
    assert!(
        first.address.name.starts_with("production_db_")
            && first.address.name.ends_with("_before_apply"),
        "{}",
        first.address
    );
    let graph = ExecutionGraph::build(&plan).unwrap();
    let waves = wave_labels(&graph);
    assert_eq!(waves.len(), 2, "{waves:?}");
    assert_eq!(waves[0], [format!("+ {}", first.address)]);
    assert_eq!(waves[1], ["+ rds_snapshot.before_release"]);
    assert!(
        human(&plan, PLAIN).contains("because [snapshots] before_apply = true: production-db"),
        "{}",
        human(&plan, PLAIN)
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

    // Nothing to change: no snapshot either.
    let again = plan_for(provider.as_ref(), &spec).await;
    assert!(!again.has_changes(), "{:?}", labels(&again));
}

#[tokio::test]
async fn a_failed_safety_snapshot_skips_the_change_it_guards() {
    let provider = production();
    let spec = production_keeping(3, true).load();
    let plan = plan_for(provider.as_ref(), &spec).await;
    let first = plan.actions[0].address.clone();
    provider.fail_address(
        FakeOp::Create,
        first.clone(),
        ProviderError::Api {
            action: "rds:CreateDBSnapshot".into(),
            code: "SnapshotQuotaExceeded".into(),
            message: "Cannot create more than 100 manual snapshots".into(),
        },
    );
    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert_eq!(summary.failed.len(), 1, "{summary:#?}");
    assert_eq!(
        summary.skipped,
        [(
            "+ rds_snapshot.before_release".to_string(),
            format!("+ {first}")
        )]
    );
    assert!(snapshot_ids(&provider).is_empty());
}

const VAULT: &str = r#"
[environment]
project = "openchs"
name = "vault"
region = "eu-west-1"
lifecycle = "protected"

[sources.rds_instance.prod_db]
identifier = "production-db"

[resources.rds_snapshot.seed]
source_db = "${source.rds_instance.prod_db.identifier}"

[resources.rds_instance.db]
snapshot = "${rds_snapshot.seed.id}"
instance_class = "db.t3.medium"

[snapshots]
before_apply = true
"#;

#[tokio::test]
async fn a_database_the_spec_no_longer_declares_is_snapshotted_before_it_is_deleted() {
    let provider = production();
    let spec = SpecFile::write("vault", VAULT);
    converge(provider.clone(), &spec.load()).await;

    let without_db = SpecFile::write(
        "vault",
        &edit(
            VAULT,
            "[resources.rds_instance.db]\nsnapshot = \"${rds_snapshot.seed.id}\"\n\
             instance_class = \"db.t3.medium\"\n",
            "",
        ),
    );
    let plan = plan_for(provider.as_ref(), &without_db.load()).await;
    let graph = ExecutionGraph::build(&plan).unwrap();
    let waves = wave_labels(&graph);
    assert_eq!(waves.len(), 2, "{waves:?}");
    assert_eq!(waves[1], ["- rds_instance.db"]);
    let first: Vec<&str> = waves[0]
        .iter()
        .map(|s| s.trim_start_matches("+ rds_snapshot."))
        .collect();
    assert_eq!(first.len(), 2, "{first:?}");
    assert!(
        first[0].starts_with("vault_db_") && first[0].ends_with("_before_apply"),
        "{first:?}"
    );
    assert!(first[1].starts_with("vault_production_db_"), "{first:?}");
}
