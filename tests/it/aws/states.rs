//! States in between: waits and deletes of resources that are not ready or not deletable.

use std::time::Duration;

use rehearsal::engine::wait;
use rehearsal::provider::{DeleteOutcome, DeletePolicy, Provider, ProviderError};
use serde_json::json;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_and_deletes_handle_states_in_between() {
    let w = world().await;
    let p = &w.provider;
    let server = request(
        "ec2_instance.server",
        json!({"clone_of": w.production.instance_id}),
    );
    let live = create_ready(p, &server, "ec2_instance.server").await;

    // A stopped instance never becomes `running` by itself, and rehearsal does not start what
    // someone stopped: the wait says so at once instead of running into its timeout.
    w.ec2
        .stop_instances()
        .instance_ids(&live.id)
        .send()
        .await
        .unwrap();
    let (wait_op, _) = op("ec2_instance.server");
    let started = std::time::Instant::now();
    match wait::until_ready(p, &wait_op, &live).await {
        Err(ProviderError::InvalidState { state, message, .. }) => {
            assert_eq!(state, "stopped");
            assert!(
                message.contains("does not start what someone stopped"),
                "{message}"
            );
        }
        other => panic!("expected a refusal to wait, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(30));
    // A terminated one never will: a failure state, not a timeout.
    w.ec2
        .terminate_instances()
        .instance_ids(&live.id)
        .send()
        .await
        .unwrap();
    let (wait_op, _) = op("ec2_instance.server");
    match wait::until_ready(p, &wait_op, &live).await {
        Err(ProviderError::FailedState { state, target, .. }) => {
            assert_eq!((state.as_str(), target.as_str()), ("terminated", "running"));
        }
        other => panic!("expected a failed state, got {other:?}"),
    }

    // A stopped database is deleted as it is: RDS deletes stopped instances, and starting it
    // first would only bill it (and leave it running if the teardown stopped there).
    let snapshot = request(
        "rds_snapshot.from_prod",
        json!({"identifier": "prerelease-from-prod", "source_db": "production-db"}),
    );
    create_ready(p, &snapshot, "rds_snapshot.from_prod").await;
    let db = request(
        "rds_instance.db",
        json!({"identifier": "prerelease-db", "snapshot": "prerelease-from-prod", "deletion_protection": false}),
    );
    let db = create_ready(p, &db, "rds_instance.db").await;
    w.rds
        .stop_db_instance()
        .db_instance_identifier("prerelease-db")
        .send()
        .await
        .unwrap();
    let (del_op, progress) = op("rds_instance.db");
    // As destroy asks: the environment's own database may lose the protection moto's restore
    // copied from production.
    let policy = DeletePolicy {
        disable_deletion_protection: true,
        ..DeletePolicy::default()
    };
    assert_eq!(
        p.delete(&del_op, &db, &policy).await.unwrap(),
        DeleteOutcome::Accepted
    );
    assert!(
        !progress.messages().iter().any(|m| m.ends_with("starting")),
        "{:?}",
        progress.messages()
    );
    wait::until_gone(p, &del_op, &db).await.expect("gone");
    w.assert_production_untouched().await;
}
