//! AWS as it really behaves, on the fake cloud with AWS's own durations (the lifecycle table):
//! restores that take ten minutes, modifications that start a moment after they were asked,
//! refusals while something is busy, idempotency tokens AWS remembers for a day, failure states,
//! stopped resources and expired credentials.

use rehearsal::engine::destroy::{self, DestroyOptions};
use rehearsal::model::SourceKind;

use super::*;

/// A fake cloud as slow as AWS.
fn aws() -> Arc<FakeProvider> {
    Arc::new(FakeProvider::with_production(REGION).with_latency(Latency::aws()))
}

/// Apply a fresh plan of `spec`, killed after `after` (its future dropped mid-way).
async fn killed_after(provider: &Arc<FakeProvider>, spec: &rehearsal::spec::Spec, after: Duration) {
    let plan = plan_for(provider.as_ref(), spec).await;
    let apply = apply_plan(
        provider.clone(),
        plan,
        spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    );
    let outcome = tokio::time::timeout(after, apply).await;
    assert!(outcome.is_err(), "the apply was still running when killed");
}

fn status_of(provider: &FakeProvider, address: &str) -> String {
    live_one(provider, address).status
}

fn progress_of(events: &[Event], step: &str) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Progress { step: s, message } if s == step => Some(message.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn the_same_version_rehearsed_twice_in_a_row_works() {
    let provider = aws();
    let spec = shipped("prerelease");
    converge(provider.clone(), &spec).await;
    let first = live_one(&provider, "ec2_instance.server").id;
    let report = destroy::destroy(
        provider.clone(),
        &spec.env,
        Arc::new(Silent),
        &DestroyOptions::default(),
    )
    .await
    .unwrap();
    assert!(report.leftovers.is_empty(), "{report:#?}");

    // The same spec and version, planned again: AWS still remembers the first launch's
    // ClientToken, so the new launch must not reuse it.
    converge(provider.clone(), &spec).await;
    let second = live_one(&provider, "ec2_instance.server");
    assert_ne!(second.id, first);
    assert_eq!(second.status, "running");
}

#[tokio::test(start_paused = true)]
async fn an_apply_killed_while_the_snapshot_is_taken_finishes_when_run_again() {
    let provider = aws();
    let spec = shipped("prerelease");
    killed_after(&provider, &spec, MINUTE).await;
    assert_eq!(status_of(&provider, "rds_snapshot.from_prod"), "creating");

    // The new plan restores from the snapshot that is still being taken: the restore waits.
    let plan = plan_for(provider.as_ref(), &spec).await;
    assert!(labels(&plan).contains(&"+ rds_instance.db".to_string()));
    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded(), "{summary:#?}");
    assert_eq!(status_of(&provider, "rds_instance.db"), "available");
}

#[tokio::test(start_paused = true)]
async fn an_apply_killed_while_the_database_is_restored_finishes_when_run_again() {
    let provider = aws();
    let spec = shipped("prerelease");
    // Six minutes in: the snapshot is done, the restore is under way, no endpoint yet.
    killed_after(&provider, &spec, 6 * MINUTE).await;
    let db = live_one(&provider, "rds_instance.db");
    assert_eq!(db.status, "creating");
    assert!(!db.attributes.contains_key("endpoint"));

    // The server's user data needs the endpoint: its step waits for the database.
    let plan = plan_for(provider.as_ref(), &spec).await;
    assert!(labels(&plan).contains(&"+ ec2_instance.server".to_string()));
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
    let server = live_one(&provider, "ec2_instance.server");
    let endpoint = live_one(&provider, "rds_instance.db").attributes["endpoint"].clone();
    assert!(
        server.attributes["user_data"]
            .as_str()
            .unwrap()
            .contains(endpoint.as_str().unwrap())
    );
    assert!(
        progress_of(&recorded(&recorder), "+ ec2_instance.server")
            .contains(&"waiting for rds_instance.db, which is creating".to_string())
    );
}

#[tokio::test(start_paused = true)]
async fn a_change_to_a_database_still_being_restored_waits_until_rds_takes_changes() {
    let provider = aws();
    killed_after(&provider, &shipped("prerelease"), 6 * MINUTE).await;
    assert_eq!(status_of(&provider, "rds_instance.db"), "creating");

    // Run again with a bigger class: the database is changed in place, once RDS allows it.
    let edited = prerelease_edited(
        "instance_class = \"db.t3.medium\"",
        "instance_class = \"db.t3.large\"",
    );
    let spec = edited.load();
    let plan = plan_for(provider.as_ref(), &spec).await;
    assert!(labels(&plan).contains(&"~ rds_instance.db".to_string()));
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
    let progress = progress_of(&recorded(&recorder), "~ rds_instance.db");
    assert!(
        progress.contains(&"waiting until it can be changed: it is creating".to_string()),
        "{progress:?}"
    );
    let db = live_one(&provider, "rds_instance.db");
    assert_eq!(db.attributes["instance_class"], "db.t3.large");
    assert_eq!(db.status, "available");
}

#[tokio::test(start_paused = true)]
async fn a_snapshot_of_a_busy_production_database_waits_for_it() {
    let provider = aws();
    // Production's nightly backup is running; it ends three minutes into the apply.
    provider.update_source(SourceKind::RdsInstance, "production-db", |db| {
        db.attributes.insert("status".into(), json!("backing-up"));
    });
    let aws = provider.clone();
    tokio::spawn(async move {
        tokio::time::sleep(3 * MINUTE).await;
        aws.update_source(SourceKind::RdsInstance, "production-db", |db| {
            db.attributes.insert("status".into(), json!("available"));
        });
    });
    let started = tokio::time::Instant::now();
    converge(provider.clone(), &shipped("prerelease")).await;
    assert!(
        started.elapsed() >= 3 * MINUTE + 15 * MINUTE,
        "the backup, then the snapshot and the restore: {:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn an_update_is_done_when_aws_has_made_it_not_when_it_was_asked() {
    let provider = aws();
    converge(provider.clone(), &shipped("prerelease")).await;
    let edited = prerelease_edited(
        "instance_class = \"db.t3.medium\"",
        "instance_class = \"db.t3.large\"",
    );
    let spec = edited.load();
    let plan = plan_for(provider.as_ref(), &spec).await;
    assert_eq!(labels(&plan), ["~ rds_instance.db"]);
    let recorder = Arc::new(Recorder::default());
    let started = tokio::time::Instant::now();
    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        recorder.clone(),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded(), "{summary:#?}");
    // RDS reports `available` for a moment, then `modifying` for a minute.
    assert!(
        started.elapsed() >= 65 * Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let progress = progress_of(&recorded(&recorder), "~ rds_instance.db");
    assert!(
        progress.contains(&"instance_class pending".to_string()),
        "{progress:?}"
    );
    assert!(progress.contains(&"modifying".to_string()), "{progress:?}");
    let db = live_one(&provider, "rds_instance.db");
    assert_eq!(db.attributes["instance_class"], "db.t3.large");
    assert_eq!(db.status, "available");
}

#[tokio::test(start_paused = true)]
async fn a_parameter_group_that_needs_a_reboot_is_reported() {
    let provider = aws();
    let spec = SpecFile::write(
        "prerelease",
        &edit(
            &shipped_text("prerelease"),
            "instance_class = \"db.t3.medium\"",
            "instance_class = \"db.t3.medium\"\nparameter_group = \"prerelease-postgres15\"",
        ),
    );
    converge(provider.clone(), &shipped("prerelease")).await;
    let spec = spec.load();
    let plan = plan_for(provider.as_ref(), &spec).await;
    let summary = apply_plan(
        provider,
        plan,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded(), "{summary:#?}");
    assert_eq!(summary.notes.len(), 1, "{:#?}", summary.notes);
    let (step, note) = &summary.notes[0];
    assert_eq!(step, "~ rds_instance.db");
    assert!(note.contains("only after a reboot"), "{note}");
}

#[tokio::test(start_paused = true)]
async fn a_restore_that_fails_fails_at_once_with_what_to_do() {
    let provider = aws();
    // Seven minutes in, two minutes into the restore, AWS gives up on it.
    let aws = provider.clone();
    tokio::spawn(async move {
        tokio::time::sleep(7 * MINUTE).await;
        aws.force_state("prerelease-db", "incompatible-restore");
    });
    let spec = shipped("prerelease");
    let plan = plan_for(provider.as_ref(), &spec).await;
    let started = tokio::time::Instant::now();
    let summary = apply_plan(
        provider,
        plan,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert!(
        started.elapsed() < 8 * MINUTE,
        "not the 45 minutes' timeout"
    );
    let (step, error) = &summary.failed[0];
    assert_eq!(step, "+ rds_instance.db");
    assert_eq!(
        error.to_string(),
        "rds_instance.db (prerelease-db) ended up incompatible-restore while waiting for it to \
         become available"
    );
    assert!(
        error
            .hint()
            .is_some_and(|h| h.starts_with("AWS will not recover it")),
        "{error:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_database_aws_cannot_snapshot_is_deleted_without_a_final_snapshot_and_says_so() {
    let provider = aws();
    let edited = prerelease_edited("final_snapshot = false", "final_snapshot = true");
    converge(provider.clone(), &edited.load()).await;
    provider.force_state("prerelease-db", "incompatible-restore");

    let recorder = Arc::new(Recorder::default());
    let report = destroy::destroy(
        provider.clone(),
        &edited.load().env,
        recorder.clone(),
        &DestroyOptions::default(),
    )
    .await
    .unwrap();
    assert!(report.leftovers.is_empty(), "{report:#?}");
    assert!(
        !provider
            .snapshot()
            .resources
            .keys()
            .any(|id| id.contains("-final-")),
        "no final snapshot"
    );
    assert!(
        progress_of(&recorded(&recorder), "- rds_instance.db (prerelease-db)").contains(
            &"no final snapshot: AWS cannot take one of a database that is incompatible-restore"
                .to_string()
        )
    );
}

#[tokio::test(start_paused = true)]
async fn an_update_to_a_stopped_server_leaves_it_stopped_and_does_not_hang() {
    let provider = aws();
    converge(provider.clone(), &shipped("prerelease")).await;
    let server = live_one(&provider, "ec2_instance.server");
    provider.force_state(&server.id, "stopped");
    let edited = prerelease_edited(
        "instance_type = \"t3.medium\"",
        "instance_type = \"t3.large\"",
    );
    let spec = edited.load();
    let plan = plan_for(provider.as_ref(), &spec).await;
    let started = tokio::time::Instant::now();
    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded(), "{summary:#?}");
    assert!(started.elapsed() < MINUTE);
    assert_eq!(status_of(&provider, "ec2_instance.server"), "stopped");
    assert_eq!(
        summary.notes,
        [(
            "~ ec2_instance.server".to_string(),
            "ec2_instance.server stays stopped, as it was".to_string()
        )]
    );
}

#[tokio::test(start_paused = true)]
async fn an_update_to_a_stopped_database_fails_at_once_with_what_to_do() {
    let provider = aws();
    converge(provider.clone(), &shipped("prerelease")).await;
    provider.force_state("prerelease-db", "stopped");
    let edited = prerelease_edited(
        "instance_class = \"db.t3.medium\"",
        "instance_class = \"db.t3.large\"",
    );
    let spec = edited.load();
    let plan = plan_for(provider.as_ref(), &spec).await;
    let started = tokio::time::Instant::now();
    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    assert!(started.elapsed() < MINUTE, "{:?}", started.elapsed());
    let (_, error) = &summary.failed[0];
    assert!(error.to_string().contains("is stopped"), "{error}");
    assert!(
        error
            .hint()
            .is_some_and(|h| h.starts_with("AWS refused it in its current state")),
        "{error:?}"
    );
    assert_eq!(
        status_of(&provider, "rds_instance.db"),
        "stopped",
        "not started"
    );
}

#[tokio::test(start_paused = true)]
async fn a_server_not_yet_visible_right_after_launch_is_waited_for() {
    let provider = aws();
    let spec = shipped("prerelease");
    let recorder = Arc::new(Recorder::default());
    let plan = plan_for(provider.as_ref(), &spec).await;
    let summary = apply_plan(
        provider.clone(),
        plan,
        &spec,
        recorder.clone(),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded(), "{summary:#?}");
    let progress = progress_of(&recorded(&recorder), "+ ec2_instance.server");
    assert!(
        progress.contains(&"not visible yet".to_string()),
        "{progress:?}"
    );
}

#[tokio::test]
async fn expired_credentials_say_so_with_a_hint() {
    let provider = production();
    provider.fail_nth_call(
        FakeOp::Create,
        1,
        ProviderError::CredentialsExpired {
            action: "rds:CreateDBSnapshot".into(),
            message: "The security token included in the request is expired".into(),
        },
    );
    let spec = shipped("prerelease");
    let plan = plan_for(provider.as_ref(), &spec).await;
    let summary = apply_plan(
        provider,
        plan,
        &spec,
        Arc::new(Silent),
        ApplyOptions::default(),
    )
    .await;
    let (_, error) = &summary.failed[0];
    assert!(
        error
            .to_string()
            .starts_with("the AWS credentials expired during rds:CreateDBSnapshot"),
        "{error}"
    );
    assert!(
        error
            .hint()
            .is_some_and(|h| h.starts_with("the session behind these credentials ended")),
        "{error:?}"
    );
}
