//! `security_group`: a VPC security group of the environment's own, with its ingress and egress
//! rules, so that a pre-release reaches its own database and not production's.
//!
//! Rules are kept in one canonical form, the same for the spec (made here, by `complete`) and
//! for what AWS describes (made by the providers with [`rule`]): one object per protocol, port
//! range and peer, `{"protocol": "tcp", "from_port": 5432, "to_port": 5432, "cidr": "10.0.0.0/16"}`
//! or `{..., "security_group": "sg-..."}`. They are compared as sets, so a plan names the rules
//! added and removed, and an apply authorizes what is new and revokes what is gone.
//!
//! AWS gives a new group one egress rule, allow everything to 0.0.0.0/0
//! (https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html#custom-security-groups).
//! A spec without `egress` leaves AWS's egress as it is and does not manage it; a spec with
//! `egress` (even `[]`) owns the whole list, and that default is revoked unless listed, as
//! Terraform does when egress is declared.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Anchor, Kind, Name, Rule, SpecContext};
use crate::model::{Attributes, ReplaceOrder, ResourceKind};

pub const KIND: Kind = Kind {
    kind: ResourceKind::SecurityGroup,
    inputs: &["name", "description", "vpc_id", "ingress", "egress", "tags"],
    // Rules are authorized and revoked one by one; name, description and VPC are fixed at
    // creation (CreateSecurityGroup), so they force a new group.
    in_place: &["ingress", "egress", "tags"],
    outputs: &["id", "arn"],
    sets: &["ingress", "egress"],
    exact_maps: &["tags"],
    // CreateSecurityGroup takes no rules: they are authorized once the group exists, and the
    // default egress revoked then.
    set_after_create: &["ingress", "egress"],
    // The name is unique in its VPC.
    replace_order: ReplaceOrder::DeleteThenCreate,
    anchor: Anchor::Attribute("name"),
    // AWS refuses DeleteSecurityGroup with DependencyViolation while a network interface uses
    // the group (an instance, a database, a Fargate task):
    // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSecurityGroup.html
    deleted_after: &[
        ResourceKind::Ec2Instance,
        ResourceKind::RdsInstance,
        ResourceKind::EcsService,
    ],
    by_product: None,
    digested: &[],
    documents: None,
    complete,
    names: &[Name {
        attribute: "name",
        check: group_name,
    }],
    verdict: None,
    create_note: None,
    set_item: Some(rule_text),
    // Groups whose rules name each other: each needs the other's id before it exists.
    cycle_hint: Some(
        "security groups whose rules name each other cannot be made in any order: each \
         needs the other's id first. Let one allow the other's network with \
         cidr_blocks = [\"10.0.1.0/24\"] instead of source_security_group",
    ),
    final_snapshot: None,
    found_by: None,
    holds_data: None,
};

/// `[resources.security_group.NAME]`
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub name: String,
    /// AWS requires one, and cannot change it later.
    #[serde(default = "default_description")]
    pub description: String,
    pub vpc_id: String,
    /// Who may connect to the group's members. None unless listed.
    #[serde(default)]
    pub ingress: Vec<RuleSpec>,
    /// Where the group's members may connect. Left to AWS (allow all) unless listed; listed,
    /// this is the whole list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub egress: Option<Vec<RuleSpec>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing)]
    pub depends_on: Vec<String>,
    #[serde(default, skip_serializing)]
    pub timeout: Option<String>,
    /// `count = N`: N copies of this resource (see the README's "Several of a kind").
    #[serde(default, skip_serializing)]
    pub count: Option<u32>,
}

/// One rule as a spec writes it: a protocol, a port or range, and its peers.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// `tcp`, `udp`, `icmp`, or `all` (AWS's `-1`).
    pub protocol: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_port: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_port: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cidr_blocks: Vec<String>,
    /// Another group's id: `${security_group.server.id}`, or a source's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_security_group: Option<String>,
}

fn default_description() -> String {
    "Managed by rehearsal".into()
}

/// Who a rule lets in (ingress) or out (egress).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    Cidr(String),
    Group(String),
    PrefixList(String),
}

/// A rule in canonical form: what the spec side and the AWS side both produce. `-1` (all
/// protocols) carries no ports, as AWS describes it.
pub fn rule(protocol: &str, from_port: Option<i64>, to_port: Option<i64>, peer: &Peer) -> Value {
    let protocol = protocol.to_ascii_lowercase();
    let mut out = serde_json::Map::new();
    out.insert("protocol".into(), json!(protocol));
    if protocol != "-1" {
        out.insert("from_port".into(), json!(from_port.unwrap_or(-1)));
        out.insert("to_port".into(), json!(to_port.unwrap_or(-1)));
    }
    match peer {
        Peer::Cidr(c) => out.insert("cidr".into(), json!(c)),
        Peer::Group(g) => out.insert("security_group".into(), json!(g)),
        Peer::PrefixList(p) => out.insert("prefix_list".into(), json!(p)),
    };
    Value::Object(out)
}

/// A canonical rule read back: protocol, ports and peer.
pub fn parse_rule(value: &Value) -> Option<(String, Option<i64>, Option<i64>, Peer)> {
    let protocol = value.get("protocol")?.as_str()?.to_string();
    let from = value.get("from_port").and_then(Value::as_i64);
    let to = value.get("to_port").and_then(Value::as_i64);
    let text = |k: &str| value.get(k).and_then(Value::as_str).map(str::to_string);
    let peer = if let Some(c) = text("cidr") {
        Peer::Cidr(c)
    } else if let Some(g) = text("security_group") {
        Peer::Group(g)
    } else {
        Peer::PrefixList(text("prefix_list")?)
    };
    Some((protocol, from, to, peer))
}

/// A rule as a person reads it in a plan: `tcp 5432 from sg-0abc`, `all to 0.0.0.0/0`.
pub fn rule_text(value: &Value, direction: &str) -> Option<String> {
    let (protocol, from, to, peer) = parse_rule(value)?;
    let ports = match (protocol.as_str(), from, to) {
        ("-1", ..) => String::new(),
        (_, Some(f), Some(t)) if f == t => format!(" {f}"),
        (_, Some(-1), Some(-1)) => String::new(),
        (_, Some(f), Some(t)) => format!(" {f}-{t}"),
        _ => String::new(),
    };
    let protocol = if protocol == "-1" { "all" } else { &protocol };
    let preposition = if direction == "egress" { "to" } else { "from" };
    let peer = match peer {
        Peer::Cidr(c) | Peer::Group(c) | Peer::PrefixList(c) => c,
    };
    Some(format!("{protocol}{ports} {preposition} {peer}"))
}

fn broken(cx: &SpecContext, list: &str, index: usize, message: String, hint: &str) -> Rule {
    Rule {
        message: format!(
            "security_group.{}: {list} rule {} {message}",
            cx.name,
            index + 1
        ),
        hint: hint.into(),
    }
}

/// Turn the spec's rule lists into canonical rules, one per peer, checking each.
fn complete(attrs: &mut Attributes, cx: &SpecContext) -> Result<(), Rule> {
    for list in ["ingress", "egress"] {
        let Some(Value::Array(rules)) = attrs.get(list) else {
            continue;
        };
        let mut canonical = vec![];
        for (i, r) in rules.iter().enumerate() {
            canonical.extend(canonical_rules(r, list, i, cx)?);
        }
        // One rule written twice is one rule to AWS (it refuses the duplicate).
        let mut seen = std::collections::BTreeSet::new();
        canonical.retain(|r| seen.insert(r.to_string()));
        attrs.insert(list.into(), Value::Array(canonical));
    }
    Ok(())
}

fn canonical_rules(r: &Value, list: &str, i: usize, cx: &SpecContext) -> Result<Vec<Value>, Rule> {
    let int = |k: &str| r.get(k).and_then(Value::as_i64);
    let written = r
        .get("protocol")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let protocol = match written.as_str() {
        "all" | "-1" => "-1",
        "tcp" | "udp" | "icmp" => written.as_str(),
        other => {
            return Err(broken(
                cx,
                list,
                i,
                format!("has protocol `{other}`, which rehearsal does not know"),
                "write protocol = \"tcp\", \"udp\", \"icmp\" or \"all\"",
            ));
        }
    };
    let (port, from, to) = (int("port"), int("from_port"), int("to_port"));
    let (from, to) = match (protocol, port, from, to) {
        ("-1", None, None, None) => (None, None),
        ("-1", ..) => {
            return Err(broken(
                cx,
                list,
                i,
                "gives ports for protocol `all`".into(),
                "a rule for all protocols covers every port: remove port, from_port and to_port",
            ));
        }
        (_, Some(p), None, None) => (Some(p), Some(p)),
        (_, None, Some(f), Some(t)) => (Some(f), Some(t)),
        // ICMP's "ports" are its type and code; none means all of them.
        ("icmp", None, None, None) => (Some(-1), Some(-1)),
        _ => {
            return Err(broken(
                cx,
                list,
                i,
                "needs either `port` or both `from_port` and `to_port`".into(),
                "write port = 5432, or from_port = 8000 and to_port = 8099",
            ));
        }
    };
    if protocol != "-1" && protocol != "icmp" {
        let (f, t) = (from.unwrap_or(-1), to.unwrap_or(-1));
        if !(0..=65535).contains(&f) || !(0..=65535).contains(&t) || f > t {
            return Err(broken(
                cx,
                list,
                i,
                format!("has the port range {f}-{t}"),
                "ports are 0 to 65535, and from_port is at most to_port",
            ));
        }
    }
    let cidrs: Vec<&str> = r
        .get("cidr_blocks")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let group = r.get("source_security_group").and_then(Value::as_str);
    let peers: Vec<Peer> = match (cidrs.is_empty(), group) {
        (false, None) => {
            for cidr in &cidrs {
                check_cidr(cidr).map_err(|why| broken(cx, list, i, why, CIDR_HINT))?;
            }
            cidrs.iter().map(|c| Peer::Cidr(c.to_string())).collect()
        }
        (true, Some(g)) => vec![Peer::Group(g.to_string())],
        _ => {
            return Err(broken(
                cx,
                list,
                i,
                "needs exactly one of `cidr_blocks` or `source_security_group`".into(),
                "allow addresses with cidr_blocks = [\"10.0.0.0/16\"], or a group with \
                 source_security_group = \"${security_group.NAME.id}\"",
            ));
        }
    };
    Ok(peers.iter().map(|p| rule(protocol, from, to, p)).collect())
}

const CIDR_HINT: &str =
    "write a network as AWS stores it: its first address and a prefix length, like 10.0.0.0/16";

/// A CIDR as AWS keeps it: a network address with a prefix length (AWS refuses host bits set:
/// `InvalidParameterValue`), IPv4 or IPv6. One that still waits for a reference is checked by
/// AWS.
fn check_cidr(cidr: &str) -> Result<(), String> {
    if cidr.contains("${") {
        return Ok(());
    }
    let bad = || format!("has `{cidr}`, which is not a network in CIDR notation");
    let (address, prefix) = cidr.split_once('/').ok_or_else(bad)?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    let ip: std::net::IpAddr = address.parse().map_err(|_| bad())?;
    let (bits, max) = match ip {
        std::net::IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, 32),
        std::net::IpAddr::V6(v6) => (u128::from(v6), 128),
    };
    if prefix > max {
        return Err(bad());
    }
    let host_bits = if prefix == 0 { bits } else { bits << prefix };
    if prefix < 128 && host_bits != 0 {
        return Err(format!(
            "has `{cidr}`, whose address has bits set beyond the /{prefix} prefix"
        ));
    }
    Ok(())
}

/// AWS's rule for a VPC security group name: up to 255 characters of a-z, A-Z, 0-9, spaces
/// and `._-:/()#,@[]+=&;{}!$*`, not starting with `sg-`
/// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html).
fn group_name(value: &str) -> Result<(), Rule> {
    let broken = |reason: String| {
        Err(Rule {
            message: format!("`{value}` is not a valid security group name: {reason}"),
            hint: "a security group name is 1 to 255 letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*, not starting with sg-".into(),
        })
    };
    let length = value.chars().count();
    if length == 0 {
        return broken("it is empty".into());
    }
    if length > 255 {
        return broken(format!(
            "it is {length} characters long, and the most is 255"
        ));
    }
    if value.to_ascii_lowercase().starts_with("sg-") {
        return broken("it starts with `sg-`, which AWS keeps for group ids".into());
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(c);
    if let Some(c) = value.chars().find(|c| !allowed(*c)) {
        return broken(format!("{} is not allowed", super::shown_char(c)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EnvId;

    fn completed(spec: Value) -> Result<Attributes, Rule> {
        let env = EnvId {
            project: "p".into(),
            name: "e".into(),
            region: "eu-west-1".into(),
        };
        let cx = SpecContext {
            env: &env,
            name: "db",
            aws_name: "db",
        };
        let mut attrs = spec.as_object().unwrap().clone();
        complete(&mut attrs, &cx).map(|()| attrs)
    }

    #[test]
    fn rules_become_one_canonical_rule_per_peer() {
        let attrs = completed(json!({"ingress": [
            {"protocol": "TCP", "port": 5432, "cidr_blocks": ["10.0.0.0/16", "10.1.0.0/16"]},
            {"protocol": "tcp", "port": 5432, "source_security_group": "${security_group.server.id}"},
            {"protocol": "all", "cidr_blocks": ["10.0.0.0/16"]},
        ], "egress": []}))
        .unwrap();
        assert_eq!(
            attrs["ingress"],
            json!([
                {"protocol": "tcp", "from_port": 5432, "to_port": 5432, "cidr": "10.0.0.0/16"},
                {"protocol": "tcp", "from_port": 5432, "to_port": 5432, "cidr": "10.1.0.0/16"},
                {"protocol": "tcp", "from_port": 5432, "to_port": 5432, "security_group": "${security_group.server.id}"},
                {"protocol": "-1", "cidr": "10.0.0.0/16"},
            ])
        );
        assert_eq!(attrs["egress"], json!([]));
        assert_eq!(
            rule_text(&attrs["ingress"][2], "ingress").unwrap(),
            "tcp 5432 from ${security_group.server.id}"
        );
        assert_eq!(
            rule_text(&attrs["ingress"][3], "egress").unwrap(),
            "all to 10.0.0.0/16"
        );
    }

    #[test]
    fn broken_rules_are_refused_with_a_hint() {
        let refused = |rule: Value| completed(json!({"ingress": [rule]})).unwrap_err();
        let r = refused(json!({"protocol": "tcp", "port": 22}));
        assert!(r.message.contains("ingress rule 1"), "{r:?}");
        assert!(r.hint.contains("cidr_blocks"));
        let r = refused(json!({"protocol": "tcp", "cidr_blocks": ["10.0.0.0/16"]}));
        assert!(r.message.contains("port"), "{r:?}");
        let r = refused(json!({"protocol": "tcp", "port": 22, "cidr_blocks": ["10.0.0.1/16"]}));
        assert!(r.message.contains("bits set"), "{r:?}");
        let r = refused(json!({"protocol": "gre", "port": 22, "cidr_blocks": ["10.0.0.0/16"]}));
        assert!(r.message.contains("gre"), "{r:?}");
        let r = refused(json!({"protocol": "all", "port": 22, "cidr_blocks": ["0.0.0.0/0"]}));
        assert!(r.message.contains("all"), "{r:?}");
        assert!(check_cidr("::/0").is_ok());
        assert!(check_cidr("0.0.0.0/0").is_ok());
        assert!(check_cidr("10.0.0.0/33").is_err());
        assert!(group_name("sg-db").is_err());
        assert!(group_name("prerelease-db").is_ok());
    }
}
