//! The README's IAM policy (`docs/iam-policy.json`) names exactly the AWS actions the code
//! calls: a call added without its permission fails here, not in a user's account.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

/// Actions AWS checks on rehearsal's behalf, which the code never names: passing a task's
/// execution role, and the KMS grants behind a restore or launch from encrypted snapshots.
const CHECKED_BY_AWS: &[&str] = &["iam:PassRole", "kms:"];

fn policy() -> Value {
    let read = |name: &str| -> Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs")
            .join(name);
        serde_json::from_str(&std::fs::read_to_string(path).expect("the policy")).expect("JSON")
    };
    // A team that shares a table attaches its policy beside the main one (a managed policy
    // holds at most 6,144 characters): together they are what rehearsal needs.
    let mut policy = read("iam-policy.json");
    let team = read("iam-team-policy.json");
    let statements = policy["Statement"].as_array_mut().expect("statements");
    statements.extend(
        team["Statement"]
            .as_array()
            .expect("statements")
            .iter()
            .cloned(),
    );
    policy
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
    const SERVICES: &[&str] = &[
        "ec2", "rds", "ecs", "tag", "iam", "route53", "dynamodb", "sts",
    ];
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
            if on_the_team_table_only(&actions, &statement["Resource"]) {
                continue;
            }
            if let [only] = actions[..]
                && ONLY_ON_EVERY_RESOURCE.iter().any(|(a, _)| *a == only)
            {
                continue;
            }
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

/// A team's DynamoDB table holds only rehearsal's own locks, journal and pauses, and its items
/// carry no tags: its item writes are limited to the table named, never to a wildcard.
fn on_the_team_table_only(actions: &[&str], resource: &Value) -> bool {
    let resources: Vec<&str> = match resource {
        Value::String(one) => vec![one],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    actions.iter().all(|a| a.starts_with("dynamodb:"))
        && !resources.is_empty()
        && resources.iter().all(|r| {
            r.starts_with("arn:aws:dynamodb:")
                && r.split_once(":table/")
                    .is_some_and(|(_, name)| !name.is_empty() && !name.contains(['*', '?', '/']))
        })
}

// --- Tags: the one thing that makes a resource rehearsal's ---------------------------------------
//
// The statements that let rehearsal change and delete are limited to what carries
// `rehearsal:project` (aws:ResourceTag). So whoever could put that tag on production's database
// could then delete it: a tag may be written only in the call that creates the resource, or on what
// already carries the project's tag.

/// The actions that write or remove tags on an existing resource.
const TAG_WRITES: &[&str] = &[
    "ec2:CreateTags",
    "ec2:DeleteTags",
    "rds:AddTagsToResource",
    "rds:RemoveTagsFromResource",
    "ecs:TagResource",
    "ecs:UntagResource",
];

/// Tag writes that AWS authorizes inside a create call, and the condition key that names that
/// call (`ec2:CreateAction`, `ecs:CreateAction`). RDS has no such key: see
/// [`RDS_TAGS_IN_THE_CREATE_CALL`].
const CREATE_ACTION_KEYS: &[(&str, &str)] = &[
    ("ec2:CreateTags", "ec2:CreateAction"),
    ("ecs:TagResource", "ecs:CreateAction"),
];

/// RDS authorizes `rds:AddTagsToResource` for the tags of CreateDBSnapshot and
/// RestoreDBInstanceFromDBSnapshot, with only `aws:RequestTag` to go by, and no key naming the
/// create call. So the statement that allows it with `aws:RequestTag` names the identifiers the
/// specs create (a name or a name prefix), never a wildcard for every database or snapshot, and
/// never the production database the policy snapshots.
const RDS_TAGS_IN_THE_CREATE_CALL: &str = "rds:AddTagsToResource";

/// Actions the Service Authorization Reference gives neither a resource type nor a condition key,
/// so that IAM can only allow them on `*`, each in a statement of its own.
const ONLY_ON_EVERY_RESOURCE: &[(&str, &str)] = &[(
    "ecs:DeregisterTaskDefinition",
    "it marks a task definition revision INACTIVE (services running it go on running); deleting \
     it, ecs:DeleteTaskDefinitions, requires the project's tag",
)];

const PROJECT_TAG: &str = "rehearsal:project";

struct Statement {
    sid: String,
    allow: bool,
    actions: Vec<String>,
    resources: Vec<String>,
    /// (operator, key, values)
    conditions: Vec<(String, String, Vec<String>)>,
}

impl Statement {
    fn values(&self, operator: &str, key: &str) -> Option<&[String]> {
        self.conditions
            .iter()
            .find(|(op, k, _)| op == operator && k == key)
            .map(|(_, _, v)| v.as_slice())
    }

    /// The project a `StringEquals` on `aws:{kind}/rehearsal:project` requires, if any.
    fn project(&self, kind: &str) -> Option<&str> {
        match self.values("StringEquals", &format!("aws:{kind}/{PROJECT_TAG}")) {
            Some([one]) if !one.is_empty() && !one.contains('*') => Some(one),
            _ => None,
        }
    }

    fn on_every_resource(&self) -> bool {
        self.resources.iter().any(|r| r == "*")
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(one) => vec![one.clone()],
        Value::Array(many) => many
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => vec![],
    }
}

fn statements_of(policy: &Value) -> Vec<Statement> {
    policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .map(|s| Statement {
            sid: s["Sid"].as_str().unwrap_or("(no Sid)").to_owned(),
            allow: s["Effect"] == "Allow",
            actions: strings(&s["Action"]),
            resources: strings(&s["Resource"]),
            conditions: s["Condition"]
                .as_object()
                .into_iter()
                .flatten()
                .flat_map(|(op, keys)| {
                    keys.as_object()
                        .into_iter()
                        .flatten()
                        .map(move |(k, v)| (op.clone(), k.clone(), strings(v)))
                })
                .collect(),
        })
        .collect()
}

/// The project every tag condition of the policy names (`openchs` in the shipped policy).
fn the_project(statements: &[Statement]) -> String {
    let named: BTreeSet<&str> = statements
        .iter()
        .flat_map(|s| [s.project("RequestTag"), s.project("ResourceTag")])
        .flatten()
        .collect();
    assert_eq!(
        named.len(),
        1,
        "the policy's tag conditions name one project: {named:?}"
    );
    named.into_iter().next().unwrap().to_owned()
}

/// True when a statement allows the create call `action` only with the project's tag in the
/// request (aws:RequestTag): the call a tag write is allowed inside creates tagged resources.
fn created_only_with_the_projects_tags(statements: &[Statement], action: &str) -> bool {
    statements.iter().any(|s| {
        s.allow && s.actions.iter().any(|a| a == action) && s.project("RequestTag").is_some()
    })
}

/// The reasons `statement` lets its holder write tags on a resource it does not own, one for
/// each tag-writing action it allows; empty when it lets it write none.
fn tag_writes_on_what_it_does_not_own(
    statements: &[Statement],
    statement: &Statement,
    project: &str,
) -> Vec<String> {
    let mut found = Vec::new();
    if !statement.allow {
        return found;
    }
    let owned = statement.project("ResourceTag") == Some(project);
    for action in statement
        .actions
        .iter()
        .filter(|a| TAG_WRITES.contains(&a.as_str()))
    {
        if owned {
            continue;
        }
        if let Some((_, key)) = CREATE_ACTION_KEYS.iter().find(|(a, _)| a == action) {
            let service = action.split(':').next().unwrap();
            match statement.values("StringEquals", key) {
                Some(creates) if !creates.is_empty() => {
                    for create in creates {
                        let create = format!("{service}:{create}");
                        if !created_only_with_the_projects_tags(statements, &create) {
                            found.push(format!(
                                "{action} inside {create}, which the policy does not limit to \
                                 requests carrying {PROJECT_TAG}"
                            ));
                        }
                    }
                }
                _ => found.push(format!(
                    "{action} on {:?} with neither {key} nor aws:ResourceTag/{PROJECT_TAG}",
                    statement.resources
                )),
            }
            continue;
        }
        if action == RDS_TAGS_IN_THE_CREATE_CALL && statement.project("RequestTag") == Some(project)
        {
            let production = production_databases(statements);
            for resource in &statement.resources {
                let name = resource
                    .strip_prefix("arn:aws:rds:*:*:db:")
                    .or_else(|| resource.strip_prefix("arn:aws:rds:*:*:snapshot:"));
                match name {
                    Some(name) if !name.is_empty() && !name.starts_with('*') => {
                        if production.iter().any(|p| resource == p) {
                            found.push(format!("{action} on production's database {resource}"));
                        }
                    }
                    _ => found.push(format!(
                        "{action} on {resource}: not an identifier a spec creates, so any \
                         existing database or snapshot there can be given the project's tag"
                    )),
                }
            }
            continue;
        }
        found.push(format!(
            "{action} on {:?} without aws:ResourceTag/{PROJECT_TAG}",
            statement.resources
        ));
    }
    found
}

/// The databases the policy snapshots without their carrying the project's tags: production's.
fn production_databases(statements: &[Statement]) -> Vec<String> {
    statements
        .iter()
        .filter(|s| s.allow && s.actions.iter().any(|a| a == "rds:CreateDBSnapshot"))
        .filter(|s| s.project("RequestTag").is_none())
        .flat_map(|s| s.resources.iter().filter(|r| r.contains(":db:")).cloned())
        .collect()
}

#[test]
fn nobody_holding_the_policy_can_tag_a_resource_it_does_not_own_and_then_delete_it() {
    let statements = statements_of(&policy());
    let project = the_project(&statements);
    let mut holes = Vec::new();
    for statement in &statements {
        for why in tag_writes_on_what_it_does_not_own(&statements, statement, &project) {
            holes.push(format!("{}: {why}", statement.sid));
        }
    }
    assert!(
        holes.is_empty(),
        "the policy lets its holder put {PROJECT_TAG} = {project} on (or take it off) what it does \
         not own, which the next statement then lets it delete:\n  {}",
        holes.join("\n  ")
    );
    // And the tags a create call sets are still allowed, where AWS asks for a tag permission.
    for (action, key) in CREATE_ACTION_KEYS {
        assert!(
            statements.iter().any(|s| s.allow
                && s.actions.iter().any(|a| a == action)
                && s.values("StringEquals", key).is_some()),
            "no statement allows {action} inside a create call ({key}): rehearsal's creates, \
             which tag in the same call, would be refused"
        );
    }
    assert!(
        statements.iter().any(|s| s.allow
            && s.actions.iter().any(|a| a == RDS_TAGS_IN_THE_CREATE_CALL)
            && s.project("RequestTag") == Some(project.as_str())),
        "no statement allows {RDS_TAGS_IN_THE_CREATE_CALL} for the tags of a create call: \
         CreateDBSnapshot and RestoreDBInstanceFromDBSnapshot with tags would be refused"
    );
}

#[test]
fn a_security_group_is_created_only_with_the_projects_tags() {
    let statements = statements_of(&policy());
    let project = the_project(&statements);
    let creating: Vec<&Statement> = statements
        .iter()
        .filter(|s| s.allow && s.actions.iter().any(|a| a == "ec2:CreateSecurityGroup"))
        .collect();
    let mut on_groups = 0;
    for s in &creating {
        let on_a_group = s
            .resources
            .iter()
            .any(|r| r == "*" || r.starts_with("arn:aws:ec2:*:*:security-group/"));
        if on_a_group {
            on_groups += 1;
            assert_eq!(
                s.project("RequestTag"),
                Some(project.as_str()),
                "{}: ec2:CreateSecurityGroup on {:?} without aws:RequestTag/{PROJECT_TAG}: a group \
                 created without the project's tags is one rehearsal cannot find or delete",
                s.sid,
                s.resources
            );
        } else {
            // The VPC the group is created in is authorized too, and carries no request tags.
            assert!(
                s.resources
                    .iter()
                    .all(|r| r.starts_with("arn:aws:ec2:*:*:vpc/")),
                "{}: ec2:CreateSecurityGroup on {:?}, neither a security group nor a VPC",
                s.sid,
                s.resources
            );
        }
    }
    assert!(
        on_groups > 0,
        "no statement allows ec2:CreateSecurityGroup on a security group"
    );
}

#[test]
fn nothing_that_changes_or_deletes_is_allowed_on_every_resource() {
    let reads = |a: &str| {
        let verb = a.split(':').nth(1).unwrap_or_default();
        ["Describe", "List", "Get"]
            .iter()
            .any(|v| verb.starts_with(v))
    };
    for s in statements_of(&policy())
        .iter()
        .filter(|s| s.allow && s.on_every_resource())
    {
        if let [only] = &s.actions[..]
            && let Some((_, why)) = ONLY_ON_EVERY_RESOURCE.iter().find(|(a, _)| a == only)
        {
            assert!(
                s.conditions.is_empty(),
                "{}: {only} supports no condition key, so a condition only makes AWS refuse it; \
                 on every resource it is harmless enough: {why}",
                s.sid
            );
            continue;
        }
        let changes: Vec<&String> = s.actions.iter().filter(|a| !reads(a)).collect();
        assert!(
            changes.is_empty(),
            "{} allows {changes:?} on every resource (\"*\"): whatever the condition, it reaches \
             production's resources as well; name the resource types instead",
            s.sid
        );
    }
}
