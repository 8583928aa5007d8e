//! Sign-off through a team's DynamoDB table, against the emulator: an approval given from one
//! working copy counts for an apply from another, and who approves is whom STS says (moto
//! answers GetCallerIdentity with the session of the role the credentials came from).

use crate::emulator::Emulator;
use crate::project::{Outcome, Project};
use crate::team_table::{TABLE, create_table, journal_in_table};

const PLAN: &str = "plans/signed.plan.json";

/// A person's credentials: a session of the role `release`, named after them.
struct Person {
    arn: String,
    key: String,
    secret: String,
    token: String,
}

async fn person(em: &Emulator, name: &str) -> Person {
    let sts = aws_sdk_sts::Client::new(&em.sdk_config().await);
    let role = "arn:aws:iam::123456789012:role/release";
    let out = sts
        .assume_role()
        .role_arn(role)
        .role_session_name(name)
        .send()
        .await
        .expect("assume the release role");
    let creds = out.credentials().expect("credentials");
    Person {
        arn: out.assumed_role_user().unwrap().arn().to_string(),
        key: creds.access_key_id().to_string(),
        secret: creds.secret_access_key().to_string(),
        token: creds.session_token().to_string(),
    }
}

fn run_as(project: &Project, who: &Person, args: &[&str]) -> Outcome {
    project
        .rehearsal(args)
        .env("AWS_ACCESS_KEY_ID", &who.key)
        .env("AWS_SECRET_ACCESS_KEY", &who.secret)
        .env("AWS_SESSION_TOKEN", &who.token)
        .run()
}

/// A protected one-cluster environment that needs one approval, sharing the team table.
fn signed_off(project: &Project) {
    project.write(
        "environments/signed.toml",
        &format!(
            "[environment]\nproject = \"openchs\"\nname = \"signed\"\nregion = \"eu-west-1\"\n\
             lifecycle = \"protected\"\nteam_table = \"{TABLE}\"\napprovals = 1\n\n\
             [resources.ecs_cluster.main]\nname = \"signed\"\n"
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approval_given_from_one_working_copy_counts_for_an_apply_from_another() {
    let em = Emulator::start();
    let db = create_table(&em).await;
    let (alice, bob) = (person(&em, "alice").await, person(&em, "bob").await);
    let (alices_copy, bobs_copy) = (
        Project::against(em.endpoint()),
        Project::against(em.endpoint()),
    );
    signed_off(&alices_copy);
    signed_off(&bobs_copy);
    run_as(&alices_copy, &alice, &["plan", "signed"]).exits(0);
    std::fs::create_dir_all(bobs_copy.path("plans")).unwrap();
    bobs_copy.write(PLAN, &alices_copy.read(PLAN));

    // Alice's own approval does not count for her apply.
    run_as(&alices_copy, &alice, &["approve", PLAN, "--auto-approve"]).exits(0);
    run_as(&alices_copy, &alice, &["apply", PLAN, "--auto-approve"])
        .exits(10)
        .stderr_has(&format!("by someone other than {}", alice.arn))
        .stderr_has("1 more needed");

    // Bob signs it off from his own working copy: it is in the table.
    run_as(
        &bobs_copy,
        &bob,
        &[
            "approve",
            PLAN,
            "--comment",
            "looks right",
            "--auto-approve",
        ],
    )
    .exits(0)
    .stdout_has("Approved plan ")
    .stdout_has(&format!("as {}, in DynamoDB table {TABLE}", bob.arn));
    let journal = journal_in_table(&db, "signed").await;
    let bobs = journal
        .iter()
        .find(|r| r["who"]["who"] == bob.arn.as_str())
        .expect("bob's approval is in the table");
    assert_eq!(bobs["result"], "approved");
    assert_eq!(bobs["reasons"][0], "looks right");

    run_as(&alices_copy, &alice, &["apply", PLAN, "--auto-approve"]).exits(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approval_or_an_apply_weighing_approvals_is_refused_when_sts_cannot_say_who() {
    let em = Emulator::start();
    let project = Project::against(em.endpoint());
    project.write(
        "environments/signed.toml",
        "[environment]\nproject = \"openchs\"\nname = \"signed\"\nregion = \"eu-west-1\"\n\
         lifecycle = \"protected\"\napprovals = 1\n\n[resources.ecs_cluster.main]\nname = \"signed\"\n",
    );
    project.rehearsal(&["plan", "signed"]).run().exits(0);
    // STS unreachable: the local user rehearsal would journal as is no one's word.
    project
        .rehearsal(&["approve", PLAN, "--auto-approve"])
        .env("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")
        .env("USER", "mallory")
        .env("AWS_MAX_ATTEMPTS", "1")
        .run()
        .exits(1)
        .stderr_has("error: an approval must say who gives it, and AWS could not: mallory@")
        .stderr_has("aws sts get-caller-identity");
    // Nor is an apply counted against approvals when STS cannot say who applies.
    let bob = person(&em, "bob").await;
    run_as(&project, &bob, &["approve", PLAN, "--auto-approve"]).exits(0);
    project
        .rehearsal(&["apply", PLAN, "--auto-approve"])
        .env("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")
        .env("AWS_MAX_ATTEMPTS", "1")
        .run()
        .exits(1)
        .stderr_has("is not an identity from STS, so its own approval cannot be told apart");
    let history = project
        .rehearsal(&["history", "signed", "--json"])
        .run()
        .exits(0)
        .json();
    let results: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["result"].as_str().unwrap())
        .collect();
    assert_eq!(results.len(), 2, "{history:#}");
    assert!(
        results[0].starts_with("an approval must say who gives it"),
        "{history:#}"
    );
    assert_eq!(results[1], "approved", "bob's only: mallory's was refused");
    let ecs = aws_sdk_ecs::Client::new(&em.sdk_config().await);
    let clusters = ecs.list_clusters().send().await.unwrap();
    assert!(
        !clusters
            .cluster_arns()
            .iter()
            .any(|a| a.ends_with("/signed")),
        "nothing was created: {clusters:?}"
    );
}
