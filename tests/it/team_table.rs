//! A team's rules shared through a DynamoDB table, against the emulator (moto serves DynamoDB
//! and STS): two applies of one plan started together never both apply, a lock whose lease ran
//! out is taken over, `force-unlock` removes a live one, the journal is in the table (and the
//! local file), and a plan applied from one working copy is refused from another.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use rehearsal::team::{Identity, LockRecord};
use serde_json::Value;

use crate::emulator::Emulator;
use crate::project::Project;

pub(crate) const TABLE: &str = "rehearsal-team";

/// The table as the README's `aws dynamodb create-table` makes it.
pub(crate) async fn create_table(em: &Emulator) -> aws_sdk_dynamodb::Client {
    let db = aws_sdk_dynamodb::Client::new(&em.sdk_config().await);
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    let string = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    db.create_table()
        .table_name(TABLE)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(string("pk"))
        .attribute_definitions(string("sk"))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create the team table");
    db
}

/// A one-cluster environment whose spec names the team table.
fn one_cluster(project: &Project, env: &str) {
    project.write(
        &format!("environments/{env}.toml"),
        &format!(
            "[environment]\nproject = \"openchs\"\nname = \"{env}\"\nregion = \"eu-west-1\"\n\
             lifecycle = \"ephemeral\"\nteam_table = \"{TABLE}\"\n\n\
             [resources.ecs_cluster.main]\nname = \"{env}\"\n"
        ),
    );
}

/// Someone else's lock on `env`, as their rehearsal wrote it, its lease ending `lease_secs`
/// from now (in the past when negative).
async fn someone_elses_lock(
    db: &aws_sdk_dynamodb::Client,
    env: &str,
    lease_secs: i64,
) -> LockRecord {
    let mut lock = LockRecord::new(
        env,
        &Identity {
            who: "arn:aws:iam::123456789012:user/crashed-ci".into(),
            account: Some("123456789012".into()),
        },
        "apply plans/x.plan.json",
    );
    let expires = time::OffsetDateTime::now_utc().unix_timestamp() + lease_secs;
    lock.lease_expires = Some(expires);
    let item = HashMap::from([
        ("pk".to_string(), AttributeValue::S(format!("lock#{env}"))),
        ("sk".into(), AttributeValue::S("lock".into())),
        ("lock_id".into(), AttributeValue::S(lock.id.clone())),
        (
            "lease_expires".into(),
            AttributeValue::N(expires.to_string()),
        ),
        (
            "record".into(),
            AttributeValue::S(serde_json::to_string(&lock).unwrap()),
        ),
    ]);
    db.put_item()
        .table_name(TABLE)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    lock
}

async fn lock_item(db: &aws_sdk_dynamodb::Client, env: &str) -> Option<String> {
    let found = db
        .get_item()
        .table_name(TABLE)
        .key("pk", AttributeValue::S(format!("lock#{env}")))
        .key("sk", AttributeValue::S("lock".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    found
        .item()
        .and_then(|i| i.get("lock_id"))
        .and_then(|v| v.as_s().ok().cloned())
}

/// The journal records of `env` in the table itself.
pub(crate) async fn journal_in_table(db: &aws_sdk_dynamodb::Client, env: &str) -> Vec<Value> {
    let out = db
        .query()
        .table_name(TABLE)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(format!("journal#{env}")))
        .send()
        .await
        .unwrap();
    out.items()
        .iter()
        .map(|i| serde_json::from_str(i["record"].as_s().unwrap()).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_applies_of_one_plan_started_together_never_both_apply_20_of_20() {
    let em = Emulator::start();
    let db = create_table(&em).await;
    let project = Project::against(em.endpoint());
    for trial in 0..20 {
        let env = format!("race{trial}");
        one_cluster(&project, &env);
        let plan = format!("plans/{env}.plan.json");
        project.rehearsal(&["plan", &env]).run().exits(0);
        // Half the trials wait for the lock: the later one is then refused as already applied.
        let wait = if trial % 2 == 0 { "0" } else { "30s" };
        let started: Vec<_> = (0..2)
            .map(|_| {
                project
                    .rehearsal(&["apply", &plan, "--lock-timeout", wait])
                    .start()
            })
            .collect();
        let outcomes: Vec<_> = started.into_iter().map(|s| s.wait()).collect();
        let mut codes: Vec<i32> = outcomes.iter().map(|o| o.code).collect();
        codes.sort();
        let shown: Vec<String> = outcomes.iter().map(|o| o.show()).collect();
        assert!(
            codes == [0, 3] || codes == [0, 8],
            "trial {trial}: one applies, the other is refused:\n{}",
            shown.join("\n")
        );
        if wait != "0" {
            assert_eq!(
                codes,
                [0, 3],
                "the one that waited is refused as already applied"
            );
        }
        let applied = journal_in_table(&db, &env)
            .await
            .into_iter()
            .filter(|r| r["exit_code"] == 0)
            .count();
        assert_eq!(applied, 1, "trial {trial}: the table journals one apply");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_whose_lease_ran_out_is_taken_over_and_a_live_one_refuses() {
    let em = Emulator::start();
    let db = create_table(&em).await;
    let project = Project::against(em.endpoint());
    one_cluster(&project, "stale");
    let live = someone_elses_lock(&db, "stale", 300).await;
    project
        .rehearsal(&["apply", "stale", "--auto-approve"])
        .run()
        .exits(8)
        .stderr_has(&format!(
            "stale is locked by arn:aws:iam::123456789012:user/crashed-ci since {} (apply plans/x.plan.json), lock id {}",
            live.since, live.id
        ));
    // Its holder crashed and stopped renewing: once the lease ran out, the lock is anyone's.
    someone_elses_lock(&db, "stale", -5).await;
    project
        .rehearsal(&["apply", "stale", "--auto-approve"])
        .run()
        .exits(0);
    assert_eq!(lock_item(&db, "stale").await, None, "released when done");
}

#[tokio::test(flavor = "multi_thread")]
async fn force_unlock_removes_a_lock_from_the_table_and_journals_it() {
    let em = Emulator::start();
    let db = create_table(&em).await;
    let project = Project::against(em.endpoint());
    one_cluster(&project, "stuck");
    let lock = someone_elses_lock(&db, "stuck", 300).await;
    project
        .rehearsal(&["force-unlock", "stuck", "0123456789ab", "--auto-approve"])
        .run()
        .exits(1)
        .stderr_has(&format!(
            "the lock of stuck is {}, not 0123456789ab",
            lock.id
        ));
    assert_eq!(lock_item(&db, "stuck").await, Some(lock.id.clone()));
    project
        .rehearsal(&["force-unlock", "stuck", &lock.id, "--auto-approve"])
        .run()
        .exits(0)
        .stdout_has("held by arn:aws:iam::123456789012:user/crashed-ci");
    assert_eq!(lock_item(&db, "stuck").await, None);
    let journal = journal_in_table(&db, "stuck").await;
    assert_eq!(journal.len(), 1);
    assert_eq!(
        journal[0]["command"],
        format!("force-unlock stuck {}", lock.id)
    );
    project
        .rehearsal(&["apply", "stuck", "--auto-approve"])
        .run()
        .exits(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn history_reads_the_table_and_the_local_file_keeps_a_copy() {
    let em = Emulator::start();
    let db = create_table(&em).await;
    let project = Project::against(em.endpoint());
    one_cluster(&project, "journaled");
    project
        .rehearsal(&["apply", "journaled", "--auto-approve"])
        .run()
        .exits(0);
    project
        .rehearsal(&["destroy", "journaled", "--auto-approve"])
        .run()
        .exits(0);
    let in_table = journal_in_table(&db, "journaled").await;
    assert_eq!(in_table.len(), 2);
    // Who: the caller's identity from STS.
    let who = in_table[0]["who"]["who"].as_str().unwrap().to_string();
    assert!(who.starts_with("arn:aws:"), "{who}");
    let shown = project
        .rehearsal(&["history", "journaled", "--json"])
        .run()
        .exits(0)
        .json();
    let commands: Vec<&str> = shown
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["command"].as_str().unwrap())
        .collect();
    assert_eq!(commands, ["destroy journaled", "apply journaled"]);
    let local = project.read(".rehearsal/journal.jsonl");
    assert_eq!(local.lines().count(), 2, "{local}");
    // From another working copy: the same history, from the table.
    let other = Project::against(em.endpoint());
    one_cluster(&other, "journaled");
    let there = other
        .rehearsal(&["history", "journaled", "--json"])
        .run()
        .exits(0)
        .json();
    assert_eq!(there, shown);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_applied_from_one_working_copy_is_refused_from_another() {
    let em = Emulator::start();
    create_table(&em).await;
    let alice = Project::against(em.endpoint());
    let bob = Project::against(em.endpoint());
    for copy in [&alice, &bob] {
        one_cluster(copy, "replay");
    }
    alice.rehearsal(&["plan", "replay"]).run().exits(0);
    let plan = alice.read("plans/replay.plan.json");
    alice
        .rehearsal(&["apply", "plans/replay.plan.json"])
        .run()
        .exits(0);
    // The cluster is deleted behind rehearsal's back: the plan's re-check alone would pass.
    let ecs = aws_sdk_ecs::Client::new(&em.sdk_config().await);
    ecs.delete_cluster().cluster("replay").send().await.unwrap();
    std::fs::create_dir_all(bob.path("plans")).unwrap();
    bob.write("plans/replay.plan.json", &plan);
    bob.rehearsal(&["apply", "plans/replay.plan.json"])
        .run()
        .exits(3)
        .stderr_has("was already applied to replay by arn:aws:");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pause_in_the_table_stops_every_working_copy() {
    let em = Emulator::start();
    create_table(&em).await;
    let ops = Project::against(em.endpoint());
    let ci = Project::against(em.endpoint());
    for copy in [&ops, &ci] {
        one_cluster(copy, "paused");
    }
    ops.rehearsal(&["pause", "paused", "--reason", "incident 42"])
        .run()
        .exits(0);
    ci.rehearsal(&["apply", "paused", "--auto-approve"])
        .run()
        .exits(9)
        .stderr_has(": incident 42");
    ops.rehearsal(&["resume", "paused"]).run().exits(0);
    ci.rehearsal(&["apply", "paused", "--auto-approve"])
        .run()
        .exits(0);
}
