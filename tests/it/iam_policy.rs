//! The README's IAM policy (`docs/iam-policy.json`) names exactly the AWS actions the code
//! calls: a call added without its permission fails here, not in a user's account.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

/// Actions AWS checks on rehearsal's behalf, which the code never names: passing a task's
/// execution role, and the KMS grants behind a restore or launch from encrypted snapshots.
const CHECKED_BY_AWS: &[&str] = &["iam:PassRole", "kms:"];

fn policy() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/iam-policy.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("the policy")).expect("JSON")
}

fn policy_actions() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for statement in policy()["Statement"].as_array().expect("statements") {
        match &statement["Action"] {
            Value::String(one) => {
                out.insert(one.clone());
            }
            Value::Array(many) => {
                out.extend(many.iter().filter_map(Value::as_str).map(str::to_owned))
            }
            other => panic!("an Action that is neither a string nor a list: {other}"),
        }
    }
    out
}

/// `"ec2:RunInstances"` and the like, as the AWS layer names the calls it makes (in errors and
/// refusals). The fake provider imitates AWS and makes no calls.
fn called_actions() -> BTreeSet<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeSet::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path != src.join("provider/fake") {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.extend(quoted_actions(&text));
            }
        }
    }
    out
}

/// The `"service:Action"` string literals in `text`: every quote followed by a service, a colon,
/// an action name and a closing quote.
fn quoted_actions(text: &str) -> Vec<String> {
    const SERVICES: &[&str] = &["ec2", "rds", "ecs", "tag", "iam", "route53"];
    text.match_indices('"')
        .filter_map(|(at, _)| {
            let rest = &text[at + 1..];
            let literal = &rest[..rest.find('"')?];
            let (service, action) = literal.split_once(':')?;
            let is_action = SERVICES.contains(&service)
                && action.starts_with(|c: char| c.is_ascii_uppercase())
                && action.chars().all(|c| c.is_ascii_alphanumeric());
            is_action.then(|| literal.to_owned())
        })
        .collect()
}

#[test]
fn the_iam_policy_allows_every_call_rehearsal_makes_and_nothing_else() {
    let allowed = policy_actions();
    let called = called_actions();
    assert!(called.contains("ec2:RunInstances"), "{called:?}");
    let missing: Vec<&String> = called.difference(&allowed).collect();
    assert!(
        missing.is_empty(),
        "docs/iam-policy.json does not allow {missing:?}"
    );
    let unused: Vec<&String> = allowed
        .difference(&called)
        .filter(|a| !CHECKED_BY_AWS.iter().any(|p| a.starts_with(p)))
        .collect();
    assert!(
        unused.is_empty(),
        "docs/iam-policy.json allows {unused:?}, which rehearsal never calls"
    );
}

/// Destructive actions on what has no tags, each with the condition keys that limit it instead.
/// Route 53 record sets carry no tags (rehearsal proves ownership with an owner TXT record), so
/// ChangeResourceRecordSets is limited to the hosted zone's ARN and, with Route 53's own keys,
/// to the record names, types and change actions of the batch:
/// https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/specifying-rrset-conditions.html
const LIMITED_WITHOUT_TAGS: &[(&str, &[&str])] = &[(
    "route53:ChangeResourceRecordSets",
    &[
        "route53:ChangeResourceRecordSetsNormalizedRecordNames",
        "route53:ChangeResourceRecordSetsRecordTypes",
        "route53:ChangeResourceRecordSetsActions",
    ],
)];

#[test]
fn every_destructive_action_is_limited_to_resources_carrying_the_projects_tags() {
    let destructive = |a: &str| {
        let verb = a.split(':').nth(1).unwrap_or_default();
        [
            "Delete",
            "Terminate",
            "Deregister",
            "Modify",
            "Stop",
            "Update",
            "Remove",
            "Untag",
            "Authorize",
            "Revoke",
            "Change",
        ]
        .iter()
        .any(|v| verb.starts_with(v))
    };
    let mut limited_without_tags = BTreeSet::new();
    for statement in policy()["Statement"].as_array().unwrap() {
        let actions: Vec<&str> = match &statement["Action"] {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let exception = LIMITED_WITHOUT_TAGS
            .iter()
            .find(|(action, _)| actions.contains(action));
        if let Some((action, keys)) = exception {
            assert_eq!(
                actions,
                [*action],
                "{}: {action} has a statement of its own, with its own conditions",
                statement["Sid"]
            );
            let conditions: BTreeSet<&str> = statement["Condition"]
                .as_object()
                .into_iter()
                .flat_map(|operators| operators.values())
                .filter_map(Value::as_object)
                .flat_map(|keys| keys.keys().map(String::as_str))
                .collect();
            for key in *keys {
                assert!(
                    conditions.contains(key),
                    "{}: {action} is not limited by {key}",
                    statement["Sid"]
                );
            }
            let resources: Vec<&str> = match &statement["Resource"] {
                Value::String(one) => vec![one.as_str()],
                Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            assert!(
                !resources.is_empty()
                    && resources.iter().all(
                        |r| r.starts_with("arn:aws:route53:::hostedzone/") && !r.ends_with('*')
                    ),
                "{}: {action} must name its hosted zones, not {resources:?}",
                statement["Sid"]
            );
            limited_without_tags.insert(*action);
            continue;
        }
        if actions.iter().any(|a| destructive(a)) {
            let condition =
                statement["Condition"]["StringEquals"]["aws:ResourceTag/rehearsal:project"]
                    .as_str();
            assert!(
                condition.is_some(),
                "{} allows {actions:?} without an aws:ResourceTag condition",
                statement["Sid"]
            );
        }
    }
    assert_eq!(
        limited_without_tags.len(),
        LIMITED_WITHOUT_TAGS.len(),
        "every documented exception is in the policy"
    );
}
