//! Tags on AWS's side: which tags are the user's, the tag calls' formats, and the creation-time
//! inputs AWS cannot describe back (recorded as `rehearsal:input:<attribute>` tags).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::{Attributes, tags};
use crate::provider::CreateRequest;

pub(crate) type TagMap = BTreeMap<String, String>;

/// Tags that belong to the user (the spec's `tags` attribute): not rehearsal's, not AWS's.
pub(crate) fn is_user_tag(key: &str) -> bool {
    !key.starts_with("rehearsal:") && !key.starts_with("aws:")
}

pub(crate) fn user_tags(all: &TagMap) -> TagMap {
    all.iter()
        .filter(|(k, _)| is_user_tag(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The `tags` attribute as JSON: the user's tags only.
pub(crate) fn user_tags_json(all: &TagMap) -> Value {
    Value::Object(
        user_tags(all)
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    )
}

pub(crate) fn input_key(attribute: &str) -> String {
    format!("{}{attribute}", tags::INPUT_PREFIX)
}

/// A scalar attribute as a tag value (tags are strings).
pub(crate) fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The user's tags as the spec gives them (the `tags` attribute), without rehearsal's or AWS's.
pub(crate) fn desired_user_tags(value: Option<&Value>) -> TagMap {
    match value {
        Some(Value::Object(map)) => map
            .iter()
            .filter(|(k, _)| is_user_tag(k))
            .filter_map(|(k, v)| scalar_string(v).map(|v| (k.clone(), v)))
            .collect(),
        _ => TagMap::new(),
    }
}

/// Every tag a create sets: the spec's `tags`, then the request's tags (rehearsal's ownership tags
/// and anything the engine adds), then the given inputs that the request sets.
pub(crate) fn creation_tags(request: &CreateRequest, inputs: &[&str]) -> TagMap {
    let mut all = desired_user_tags(request.attributes.get("tags"));
    all.extend(request.tags.iter().map(|(k, v)| (k.clone(), v.clone())));
    for &input in inputs {
        if let Some(value) = request.attributes.get(input).and_then(scalar_string) {
            all.insert(input_key(input), value);
        }
    }
    all
}

/// Copy the recorded inputs back into `attributes`; those named in `bools` are booleans.
pub(crate) fn read_inputs(all: &TagMap, attributes: &mut Attributes, bools: &[&str]) {
    for (key, value) in all {
        if let Some(name) = key.strip_prefix(tags::INPUT_PREFIX) {
            let value = if bools.contains(&name) {
                Value::Bool(value == "true")
            } else {
                Value::String(value.clone())
            };
            attributes.insert(name.to_owned(), value);
        }
    }
}

/// The tag changes that turn the user's tags in `current` into `desired`: (set, remove).
/// rehearsal's and AWS's tags are never touched.
pub(crate) fn user_tag_changes(current: &TagMap, desired: &TagMap) -> (TagMap, Vec<String>) {
    let set = desired
        .iter()
        .filter(|(k, v)| current.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove = current
        .keys()
        .filter(|k| is_user_tag(k) && !desired.contains_key(*k))
        .cloned()
        .collect();
    (set, remove)
}

/// Tags from AWS's key/value pairs, where either may be missing.
pub(crate) fn collect<'a>(
    pairs: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>,
) -> TagMap {
    pairs
        .into_iter()
        .filter_map(|(k, v)| Some((k?.to_owned(), v.unwrap_or_default().to_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(pairs: &[(&str, &str)]) -> TagMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn user_tags_exclude_rehearsal_and_aws() {
        let all = map(&[
            ("Name", "x"),
            (tags::ENV, "pre"),
            ("aws:cloudformation:stack", "s"),
        ]);
        assert_eq!(user_tags_json(&all), json!({"Name": "x"}));
    }

    #[test]
    fn inputs_round_trip() {
        let mut attrs = Attributes::new();
        let all = map(&[
            ("rehearsal:input:final_snapshot", "true"),
            ("rehearsal:input:snapshot", "s1"),
        ]);
        read_inputs(&all, &mut attrs, &["final_snapshot"]);
        assert_eq!(
            Value::Object(attrs),
            json!({"final_snapshot": true, "snapshot": "s1"})
        );
    }

    #[test]
    fn tag_changes_leave_rehearsal_tags_alone() {
        let current = map(&[("Name", "a"), ("Old", "x"), (tags::ENV, "pre")]);
        let desired = map(&[("Name", "b"), ("New", "y")]);
        let (set, remove) = user_tag_changes(&current, &desired);
        assert_eq!(set, map(&[("Name", "b"), ("New", "y")]));
        assert_eq!(remove, vec!["Old".to_string()]);
    }
}
