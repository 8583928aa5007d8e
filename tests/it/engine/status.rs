//! What runs where: three environments applied on the fake cloud at different times, then one
//! scan of the region and the table `rehearsal status` prints, with ages counted from a time
//! the test chooses.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use rehearsal::engine::status::{self, SpecEnvironment};
use rehearsal::model::tags;
use rehearsal::provider::Provider;
use rehearsal::provider::fake::FakeProvider;
use rehearsal::spec::{self, VariableInputs};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::support::{REGION, converge, environments_dir, shipped};

const DAY: Duration = Duration::from_secs(86_400);
const HOUR: Duration = Duration::from_secs(3600);

/// The fake's clock in memory starts at 2026-01-01T00:00:00Z.
const START: OffsetDateTime = datetime!(2026-01-01 00:00:00 UTC);

fn declared(name: &str, lifecycle: &str) -> SpecEnvironment {
    SpecEnvironment {
        env: shipped(name).env,
        lifecycle: Some(lifecycle.to_owned()),
    }
}

#[tokio::test(start_paused = true)]
async fn one_table_says_what_runs_where_created_expires_and_last_changed() {
    let provider = Arc::new(FakeProvider::with_production(REGION));
    // Day 0: production's release snapshot; day 1: staging on 3.1.0; day 2: the pre-release.
    converge(provider.clone(), &shipped("production")).await;
    tokio::time::advance(DAY).await;
    converge(provider.clone(), &shipped("staging")).await;
    tokio::time::advance(DAY).await;
    converge(provider.clone(), &shipped("prerelease")).await;
    // Two hours later staging moves to 3.2.0: a new revision, a new deployment.
    tokio::time::advance(2 * HOUR).await;
    let inputs = VariableInputs {
        cli: vec![("server_version".into(), "3.2.0".into())],
        ..VariableInputs::default()
    };
    let staging = spec::load(&environments_dir().join("staging.toml"), &inputs).unwrap();
    converge(provider.clone(), &staging).await;

    let mut found = provider.observe_region(REGION).await.unwrap();
    // The expiry is the plan's wall clock plus the ttl: fixed here, so the table is stable.
    for r in &mut found {
        if r.tags.contains_key(tags::EXPIRES_AT) {
            r.tags
                .insert(tags::EXPIRES_AT.into(), "2026-01-04T00:00:00Z".into());
        }
    }
    let specs = [
        declared("prerelease", "ephemeral"),
        declared("production", "protected"),
        declared("staging", "protected"),
        // Declared, never applied.
        SpecEnvironment {
            env: rehearsal::model::EnvId {
                project: "openchs".into(),
                name: "demo".into(),
                region: REGION.into(),
            },
            lifecycle: Some("ephemeral".into()),
        },
    ];
    let projects = BTreeSet::from(["openchs".to_owned()]);
    let now = START + Duration::from_secs(2 * 86_400 + 3 * 3600);
    let overview = status::overview(
        &specs,
        Some(&projects),
        &BTreeMap::from([(REGION.to_owned(), found)]),
        now,
    );
    insta::assert_snapshot!(overview.table());

    let staging = &overview.environments[3];
    assert_eq!(staging.name, "staging");
    assert_eq!(
        staging.services[0].task_definition.as_deref(),
        Some("staging-server:2"),
        "the revision the service's deployment runs, joined by ARN"
    );
    assert!(
        staging.last_change_at > staging.created_at,
        "the release moved staging's last change: {staging:#?}"
    );
    let demo = &overview.environments[0];
    assert_eq!((demo.name.as_str(), demo.resources), ("demo", 0));
}
