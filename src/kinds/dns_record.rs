//! `dns_record`: a Route 53 record in an existing hosted zone, so that the environment has one
//! name (`prerelease.example.com`) however often its server is made anew.
//!
//! Route 53 record sets carry no tags. Their ownership proof is a TXT record beside them,
//! `_rehearsal.<name>`, written in the same ChangeResourceRecordSets batch (all or nothing) and
//! holding what tags hold elsewhere: project, environment, address and the identity digest
//! anchored on the record's name (see `ownership`). A record without it is never the
//! environment's: never adopted, never changed, never deleted. The zone is only read.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Anchor, Kind, Name, Rule, SpecContext};
use crate::model::{Attributes, ReplaceOrder, ResourceKind};

/// Where the ownership TXT record of `name` lives.
pub const OWNER_PREFIX: &str = "_rehearsal.";

pub const KIND: Kind = Kind {
    kind: ResourceKind::DnsRecord,
    inputs: &["zone", "name", "type", "ttl", "values"],
    // A DELETE of the old values and a CREATE of the new ones in one batch.
    in_place: &["ttl", "values"],
    outputs: &["id", "zone_id", "status"],
    // Route 53 keeps a record's values in its own order.
    sets: &["values"],
    exact_maps: &[],
    set_after_create: &[],
    // A name and type are unique in a zone.
    replace_order: ReplaceOrder::DeleteThenCreate,
    anchor: Anchor::Attribute("name"),
    deleted_after: &[],
    by_product: None,
    digested: &[],
    documents: None,
    complete,
    names: &[Name {
        attribute: "name",
        check: record_name,
    }],
    verdict: None,
    create_note: None,
    set_item: None,
    cycle_hint: None,
    final_snapshot: None,
    // Route 53 scans list only the zones a spec names (five requests a second per account,
    // shared with production's own automation).
    found_by: Some("zone"),
    holds_data: None,
};

/// `[resources.dns_record.NAME]`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The hosted zone, by name (`example.com`): looked up, never created or deleted.
    pub zone: String,
    /// The record's full name (`prerelease.example.com`), inside the zone.
    pub name: String,
    #[serde(rename = "type")]
    pub record_type: String,
    #[serde(default = "default_ttl")]
    pub ttl: i64,
    pub values: crate::spec::refs::StringList,
    #[serde(default, skip_serializing)]
    pub depends_on: Vec<String>,
    #[serde(default, skip_serializing)]
    pub timeout: Option<String>,
    /// `count = N`: N copies of this resource (see the README's "Several of a kind").
    #[serde(default, skip_serializing)]
    pub count: Option<u32>,
}

fn default_ttl() -> i64 {
    300
}

/// The record types rehearsal writes: plain records, not Route 53 aliases.
const TYPES: &[&str] = &["A", "AAAA", "CNAME", "TXT", "MX", "SRV", "CAA"];

/// A DNS name as Route 53 reports it, without the final dot and in lowercase.
pub fn normal_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn complete(attrs: &mut Attributes, cx: &SpecContext) -> Result<(), Rule> {
    let text = |k: &str| attrs.get(k).and_then(Value::as_str).unwrap_or_default();
    let record_type = text("type").to_ascii_uppercase();
    if !TYPES.contains(&record_type.as_str()) {
        return Err(Rule {
            message: format!(
                "dns_record.{}: `{}` is not a record type rehearsal writes",
                cx.name,
                text("type")
            ),
            hint: format!("write type = one of {}", TYPES.join(", ")),
        });
    }
    let (zone, name) = (text("zone").to_string(), text("name").to_string());
    if !zone.contains("${") && !name.contains("${") {
        let (zone, name) = (normal_name(&zone), normal_name(&name));
        if name != zone && !name.ends_with(&format!(".{zone}")) {
            return Err(Rule {
                message: format!(
                    "dns_record.{}: `{name}` is not in the zone `{zone}`",
                    cx.name
                ),
                hint: format!("write the full name, like name = \"prerelease.{zone}\""),
            });
        }
        if name == zone {
            return Err(Rule {
                message: format!(
                    "dns_record.{}: `{name}` is the zone's apex, whose records the zone's owner manages",
                    cx.name
                ),
                hint: format!("give the environment a name of its own, like prerelease.{zone}"),
            });
        }
    }
    let ttl = attrs.get("ttl").and_then(Value::as_i64).unwrap_or(300);
    if !(0..=2_147_483_647).contains(&ttl) {
        return Err(Rule {
            message: format!("dns_record.{}: ttl {ttl} is out of range", cx.name),
            hint: "a TTL is a number of seconds from 0 to 2147483647; 60 to 300 suits a \
                   name that changes with each release"
                .into(),
        });
    }
    let empty = attrs
        .get("values")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    if empty {
        return Err(Rule {
            message: format!("dns_record.{} has no values", cx.name),
            hint: "write values = [\"${ec2_instance.server.private_ip}\"]".into(),
        });
    }
    attrs.insert("type".into(), Value::String(record_type));
    for key in ["zone", "name"] {
        if let Some(Value::String(s)) = attrs.get(key)
            && !s.contains("${")
        {
            let normal = s.trim_end_matches('.').to_string();
            attrs.insert(key.into(), Value::String(normal));
        }
    }
    Ok(())
}

/// A record name rehearsal writes: dot-separated labels of letters, digits, hyphens and
/// underscores, each 1 to 63 characters, 253 in all, in lowercase (DNS names are
/// case-insensitive and Route 53 answers in lowercase, so `Prerelease` would never match).
/// https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DomainNameFormat.html
fn record_name(value: &str) -> Result<(), Rule> {
    let value = value.trim_end_matches('.');
    let broken = |reason: String| {
        Err(Rule {
            message: format!("`{value}` is not a valid DNS record name: {reason}"),
            hint: "a record name is labels of lowercase letters, digits, hyphens and \
                   underscores, separated by dots, like prerelease.example.com"
                .into(),
        })
    };
    if value.is_empty() {
        return broken("it is empty".into());
    }
    if value.len() > 253 {
        return broken(format!(
            "it is {} characters long, and the most is 253",
            value.len()
        ));
    }
    for label in value.split('.') {
        if label.is_empty() || label.len() > 63 {
            return broken(format!("the label `{label}` is not 1 to 63 characters"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
        {
            return broken(format!("{} is not allowed", super::shown_char(c)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EnvId;
    use serde_json::json;

    fn completed(spec: Value) -> Result<Attributes, Rule> {
        let env = EnvId {
            project: "p".into(),
            name: "e".into(),
            region: "eu-west-1".into(),
        };
        let cx = SpecContext {
            env: &env,
            name: "server",
            aws_name: "server",
        };
        let mut attrs = spec.as_object().unwrap().clone();
        complete(&mut attrs, &cx).map(|()| attrs)
    }

    #[test]
    fn a_record_must_be_inside_its_zone_and_not_its_apex() {
        let ok = completed(
            json!({"zone": "example.com.", "name": "prerelease.example.com.",
            "type": "a", "ttl": 60, "values": ["10.0.1.5"]}),
        )
        .unwrap();
        assert_eq!(ok["type"], "A");
        assert_eq!(ok["name"], "prerelease.example.com");
        assert_eq!(ok["zone"], "example.com");
        let outside = completed(
            json!({"zone": "example.com", "name": "prerelease.example.org",
            "type": "A", "values": ["10.0.1.5"]}),
        )
        .unwrap_err();
        assert!(outside.message.contains("not in the zone"), "{outside:?}");
        let apex = completed(json!({"zone": "example.com", "name": "example.com",
            "type": "A", "values": ["10.0.1.5"]}))
        .unwrap_err();
        assert!(apex.message.contains("apex"), "{apex:?}");
        let no_values = completed(
            json!({"zone": "example.com", "name": "a.example.com", "type": "A", "values": []}),
        )
        .unwrap_err();
        assert!(no_values.hint.contains("values"));
        assert!(record_name("Prerelease.example.com").is_err());
        assert!(record_name("pre_release-1.example.com").is_ok());
    }
}
