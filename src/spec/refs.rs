//! `${...}` references inside spec strings: parsing them, and substituting what is known.
//!
//! A string that is exactly one reference takes the referenced value with its type (a list of
//! security groups stays a list); a reference inside a longer string is rendered as text. Inside
//! a list, a reference that yields a list is spliced in. `$${` writes a literal `${`.

use std::fmt;

use serde_json::Value;

use crate::model::{Address, ResourceKind, SourceAddress, SourceKind};

/// What a `${...}` points at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reference {
    Variable(String),
    /// `${env.name}` or `${env.region}`.
    Environment(String),
    Source {
        source: SourceAddress,
        attribute: String,
    },
    Resource {
        address: Address,
        attribute: String,
    },
    /// `${var.release | slug}`: a variable or `env.*` made into a name AWS accepts (see
    /// [`slug`]). Only values known when the spec is read can be transformed.
    Slug(Box<Reference>),
    /// `${count.index}`: in a resource declared with `count = N`, its copy's index, 0 to N-1.
    CountIndex,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Variable(name) => write!(f, "var.{name}"),
            Reference::Environment(attr) => write!(f, "env.{attr}"),
            Reference::Source { source, attribute } => write!(f, "{source}.{attribute}"),
            Reference::Resource { address, attribute } => write!(f, "{address}.{attribute}"),
            Reference::Slug(inner) => write!(f, "{inner} | slug"),
            Reference::CountIndex => write!(f, "count.index"),
        }
    }
}

/// Why a `${...}` could not be parsed, without position (the caller adds it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadReference {
    pub text: String,
    pub message: String,
    pub hint: String,
}

impl Reference {
    pub fn parse(expr: &str) -> Result<Reference, BadReference> {
        let bad = |message: String, hint: &str| BadReference {
            text: expr.to_string(),
            message,
            hint: hint.to_string(),
        };
        if let Some((inner, transform)) = expr.split_once('|') {
            let transform = transform.trim();
            if transform != "slug" {
                return Err(bad(
                    format!("`{transform}` is not a transform"),
                    "the one transform is `slug`, as in ${var.release | slug}",
                ));
            }
            return match Reference::parse(inner)? {
                inner @ (Reference::Variable(_) | Reference::Environment(_)) => {
                    Ok(Reference::Slug(Box::new(inner)))
                }
                other => Err(bad(
                    format!("`| slug` cannot transform `${{{other}}}`"),
                    "slug applies to values known when the spec is read: ${var.NAME | slug}, \
                     ${env.name | slug}; write a name from a resource or a source as it is",
                )),
            };
        }
        let parts: Vec<&str> = expr.trim().split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad(
                format!("`${{{expr}}}` is not a reference"),
                "references look like ${var.NAME}, ${source.KIND.NAME.ATTRIBUTE} or ${KIND.NAME.ATTRIBUTE}",
            ));
        }
        match parts.as_slice() {
            ["var", name] => Ok(Reference::Variable(name.to_string())),
            ["env", attr @ ("name" | "region")] => Ok(Reference::Environment(attr.to_string())),
            ["count", "index"] => Ok(Reference::CountIndex),
            ["env", other] => Err(bad(
                format!("the environment has no attribute `{other}`"),
                "use ${env.name} or ${env.region}",
            )),
            ["source", kind, name, attribute] => {
                let kind: SourceKind = kind.parse().map_err(|e: String| {
                    bad(
                        e,
                        &format!(
                            "source kinds are: {}",
                            list(SourceKind::ALL.iter().map(|k| k.as_str()))
                        ),
                    )
                })?;
                Ok(Reference::Source {
                    source: SourceAddress {
                        kind,
                        name: name.to_string(),
                    },
                    attribute: attribute.to_string(),
                })
            }
            [kind, name, attribute] => {
                let kind: ResourceKind = kind.parse().map_err(|e: String| {
                    bad(
                        e,
                        &format!(
                            "resource kinds are: {}; sources are written ${{source.KIND.NAME.ATTRIBUTE}}",
                            list(
                                ResourceKind::ALL
                                    .iter()
                                    .filter(|k| crate::kinds::describe(**k).is_declarable())
                                    .map(|k| k.as_str())
                            )
                        ),
                    )
                })?;
                Ok(Reference::Resource {
                    address: Address::new(kind, *name),
                    attribute: attribute.to_string(),
                })
            }
            _ => Err(bad(
                format!("`${{{expr}}}` is not a reference"),
                "references look like ${var.NAME}, ${source.KIND.NAME.ATTRIBUTE} or ${KIND.NAME.ATTRIBUTE}",
            )),
        }
    }
}

fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

/// One piece of a string: literal text or a reference.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    Reference {
        expr: String,
        parsed: Result<Reference, BadReference>,
        offset: usize,
    },
}

/// Split a string into text and `${...}` pieces. `offset` is the byte offset of `${` in `s`.
pub fn pieces(s: &str) -> Result<Vec<Piece>, BadReference> {
    let mut out = vec![];
    let mut text = String::new();
    let mut rest = s;
    let mut consumed = 0;
    while let Some(pos) = rest.find('$') {
        text.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(escaped) = after.strip_prefix("$${") {
            text.push_str("${");
            rest = escaped;
            consumed += pos + 3;
        } else if let Some(body) = after.strip_prefix("${") {
            let Some(end) = body.find('}') else {
                return Err(BadReference {
                    text: after.to_string(),
                    message: "`${` is not closed".into(),
                    hint: "close the reference with `}`, or write `$${` for a literal `${`".into(),
                });
            };
            if !text.is_empty() {
                out.push(Piece::Text(std::mem::take(&mut text)));
            }
            let expr = &body[..end];
            out.push(Piece::Reference {
                expr: expr.to_string(),
                parsed: Reference::parse(expr),
                offset: consumed + pos,
            });
            rest = &body[end + 1..];
            consumed += pos + 2 + end + 1;
        } else {
            text.push('$');
            rest = &after[1..];
            consumed += pos + 1;
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(out)
}

/// Every reference in a JSON value (strings inside objects and arrays).
pub fn references_in(value: &Value) -> Vec<Reference> {
    let mut found = vec![];
    walk_strings(value, &mut |s| {
        if let Ok(ps) = pieces(s) {
            for p in ps {
                if let Piece::Reference { parsed: Ok(r), .. } = p {
                    found.push(r);
                }
            }
        }
    });
    found
}

fn walk_strings(value: &Value, f: &mut dyn FnMut(&str)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|v| walk_strings(v, f)),
        Value::Object(map) => map.values().for_each(|v| walk_strings(v, f)),
        _ => {}
    }
}

/// True when a value still holds a reference nobody could resolve yet.
pub fn has_references(value: &Value) -> bool {
    !references_in(value).is_empty()
}

/// Substitute every reference `lookup` can answer; leave the others as `${...}` text.
pub fn interpolate(value: &Value, lookup: &dyn Fn(&Reference) -> Option<Value>) -> Value {
    match value {
        Value::String(s) => interpolate_str(s, lookup),
        Value::Array(items) => {
            let mut out = vec![];
            for item in items {
                let whole_reference =
                    matches!(item, Value::String(s) if single_reference(s).is_some());
                match interpolate(item, lookup) {
                    // A list spliced into a list: `["${source.rds_instance.db.security_groups}"]`.
                    Value::Array(inner) if whole_reference => out.extend(inner),
                    v => out.push(v),
                }
            }
            Value::Array(out)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), interpolate(v, lookup)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Substitute every reference and give back plain values (unescaped), or the first reference
/// `lookup` cannot answer. What the executor and the checks use, once everything a value refers
/// to exists; a plan, which may leave references for the apply, uses [`interpolate`].
pub fn resolve(
    value: &Value,
    lookup: &dyn Fn(&Reference) -> Option<Value>,
) -> Result<Value, Reference> {
    let value = interpolate(value, lookup);
    match references_in(&value).into_iter().next() {
        Some(missing) => Err(missing),
        None => Ok(unescape(&value)),
    }
}

/// Answers references to resources from what each one reported (its outputs, by address);
/// references to sources and variables are a plan's to answer, and get `None`.
pub fn from_resources(
    known: &std::collections::BTreeMap<Address, crate::model::Attributes>,
) -> impl Fn(&Reference) -> Option<Value> + '_ {
    |r| match r {
        Reference::Resource { address, attribute } => known.get(address)?.get(attribute).cloned(),
        _ => None,
    }
}

/// The reference `s` is made of, when it is exactly one (`"${source.rds_instance.db.port}"`).
pub fn single_reference(s: &str) -> Option<Reference> {
    match pieces(s).ok()?.as_slice() {
        [Piece::Reference { parsed: Ok(r), .. }] => Some(r.clone()),
        _ => None,
    }
}

fn interpolate_str(s: &str, lookup: &dyn Fn(&Reference) -> Option<Value>) -> Value {
    let Ok(ps) = pieces(s) else {
        return Value::String(s.to_string());
    };
    // What a lookup returns is plain text (a variable's value, an attribute AWS reported): a
    // `${` in it is escaped, so it is never mistaken for a reference, and `unescape` gives it
    // back as it was.
    if let [Piece::Reference { parsed: Ok(r), .. }] = ps.as_slice()
        && let Some(v) = lookup(r)
    {
        return escape(&v);
    }
    let mut out = String::new();
    for p in ps {
        match p {
            Piece::Text(t) => out.push_str(&t.replace("${", "$${")),
            Piece::Reference { expr, parsed, .. } => match parsed.ok().and_then(|r| lookup(&r)) {
                Some(Value::String(v)) => out.push_str(&v.replace("${", "$${")),
                Some(Value::Array(items)) => out.push_str(
                    &items
                        .iter()
                        .map(|i| {
                            i.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| i.to_string())
                        })
                        .collect::<Vec<_>>()
                        .join(",")
                        .replace("${", "$${"),
                ),
                Some(other) => out.push_str(&other.to_string().replace("${", "$${")),
                None => {
                    out.push_str("${");
                    out.push_str(&expr);
                    out.push('}');
                }
            },
        }
    }
    Value::String(out)
}

/// A value made into a name AWS accepts: lowercase, every run of characters other than ASCII
/// letters and digits one hyphen, no hyphen at either end. `3.2.0` → `3-2-0`,
/// `Release 2026/11` → `release-2026-11`.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
            gap = false;
        } else {
            gap = true;
        }
    }
    out
}

/// Plain text made spec text: every `${` written `$${`. The inverse of [`unescape`].
pub fn escape(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(s.replace("${", "$${")),
        Value::Array(items) => Value::Array(items.iter().map(escape).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), escape(v))).collect())
        }
        other => other.clone(),
    }
}

/// Turn `$${` escapes into `${` once every reference is resolved: the value AWS should get.
pub fn unescape(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(s.replace("$${", "${")),
        Value::Array(items) => Value::Array(items.iter().map(unescape).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), unescape(v))).collect())
        }
        other => other.clone(),
    }
}

/// Attributes whose value is a list of strings, wherever they are read: a server's, a
/// database's or a service's `security_groups`, a service's `subnets`, a record's `values`.
pub const STRING_LISTS: &[&str] = &["security_groups", "subnets", "values"];

/// Attributes whose value is a list or a table, never one piece of text: inside a longer
/// string they would have to be flattened, which nobody means.
const STRUCTURED: &[&str] = &[
    "security_groups",
    "subnets",
    "values",
    "volumes",
    "metadata_options",
    "ingress",
    "egress",
    "definition",
    "containers",
    "requires_compatibilities",
    "tags",
];

impl Reference {
    /// The attribute it reads from a source or a resource, if any.
    pub fn attribute(&self) -> Option<&str> {
        match self {
            Reference::Source { attribute, .. } | Reference::Resource { attribute, .. } => {
                Some(attribute)
            }
            _ => None,
        }
    }

    /// It reads a list of strings (`${source.ec2_instance.prod.security_groups}`).
    pub fn is_string_list(&self) -> bool {
        self.attribute().is_some_and(|a| STRING_LISTS.contains(&a))
    }

    /// It reads a list or a table, which cannot be part of a longer string.
    pub fn is_structured(&self) -> bool {
        self.attribute().is_some_and(|a| STRUCTURED.contains(&a))
    }
}

/// A spec's list of strings (`security_groups = ["sg-1", "${security_group.server.id}"]`), or
/// one reference that is the whole list (`security_groups =
/// "${source.ec2_instance.prod_server.security_groups}"`): a string that is exactly one
/// reference keeps its value's type. Any other string where a list belongs is refused when the
/// spec is read, at its line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum StringList {
    List(Vec<String>),
    /// The reference as written, resolved to the list by a plan.
    Reference(String),
}

impl<'de> serde::Deserialize<'de> for StringList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = StringList;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of strings, or one reference to a list")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<StringList, A::Error> {
                let mut items = vec![];
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(StringList::List(items))
            }

            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<StringList, E> {
                match single_reference(s) {
                    Some(r) if r.is_string_list() => Ok(StringList::Reference(s.to_string())),
                    Some(_) => {
                        let shown = crate::spec::diagnostic::clip(s, 120);
                        Err(E::custom(format!(
                            "`{shown}` is one value, and a list belongs here: write [\"{shown}\"]"
                        )))
                    }
                    None => Err(E::custom(format!(
                        "invalid type: string \"{}\", expected a list of strings, or one \
                         reference to a list such as \"${{source.ec2_instance.NAME.security_groups}}\"",
                        crate::spec::diagnostic::clip(s, 80)
                    ))),
                }
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(r: &Reference) -> Option<Value> {
        match r {
            Reference::Variable(n) if n == "version" => Some(json!("1.4.2")),
            Reference::Source { attribute, .. } if attribute == "security_groups" => {
                Some(json!(["sg-1", "sg-2"]))
            }
            Reference::Resource { attribute, .. } if attribute == "port" => Some(json!(5432)),
            _ => None,
        }
    }

    #[test]
    fn resolving_gives_plain_values_or_names_the_first_reference_nobody_knows() {
        let known: std::collections::BTreeMap<Address, crate::model::Attributes> = [(
            "rds_instance.db".parse().unwrap(),
            json!({"endpoint": "db.local", "motd": "costs $${x}"})
                .as_object()
                .cloned()
                .unwrap(),
        )]
        .into();
        let lookup = from_resources(&known);
        assert_eq!(
            resolve(&json!("${rds_instance.db.endpoint}:5432"), &lookup),
            Ok(json!("db.local:5432"))
        );
        // What AWS reported is text, never a reference: it comes back as it was written.
        assert_eq!(
            resolve(&json!("${rds_instance.db.motd}"), &lookup),
            Ok(json!("costs $${x}"))
        );
        assert_eq!(
            resolve(
                &json!([
                    "${rds_instance.db.endpoint}",
                    "${rds_instance.gone.endpoint}"
                ]),
                &lookup
            )
            .unwrap_err()
            .to_string(),
            "rds_instance.gone.endpoint"
        );
        // Sources and variables are a plan's to answer.
        assert!(resolve(&json!("${var.version}"), &lookup).is_err());
    }

    #[test]
    fn a_reference_inside_text_is_rendered_as_text() {
        let v = interpolate(&json!("app:${var.version}"), &vars);
        assert_eq!(v, json!("app:1.4.2"));
    }

    #[test]
    fn a_whole_reference_keeps_its_type_and_lists_splice() {
        assert_eq!(
            interpolate(&json!("${rds_instance.db.port}"), &vars),
            json!(5432)
        );
        let v = interpolate(
            &json!(["${source.rds_instance.prod.security_groups}", "sg-3"]),
            &vars,
        );
        assert_eq!(v, json!(["sg-1", "sg-2", "sg-3"]));
    }

    #[test]
    fn unknown_references_stay_for_later() {
        let v = interpolate(
            &json!("host=${rds_instance.db.endpoint} v=${var.version}"),
            &vars,
        );
        assert_eq!(v, json!("host=${rds_instance.db.endpoint} v=1.4.2"));
        assert!(has_references(&v));
    }

    #[test]
    fn escapes_survive_interpolation_and_unescape_once() {
        let v = interpolate(&json!("echo $${HOME} ${var.version}"), &vars);
        assert!(!has_references(&v));
        assert_eq!(unescape(&v), json!("echo ${HOME} 1.4.2"));
    }

    #[test]
    fn looked_up_text_is_never_read_as_a_reference() {
        let shell = |_: &Reference| Some(json!("echo ${HOME}"));
        for template in [json!("${var.script}"), json!("run: ${var.script}")] {
            let v = interpolate(&template, &shell);
            assert!(!has_references(&v), "{v}");
            assert!(unescape(&v).as_str().unwrap().ends_with("echo ${HOME}"));
        }
    }

    #[test]
    fn a_slug_is_lowercase_letters_digits_and_single_hyphens() {
        assert_eq!(slug("3.2.0"), "3-2-0");
        assert_eq!(slug("Release 2026/11 -- RC1"), "release-2026-11-rc1");
        assert_eq!(slug("..v1..."), "v1");
        assert_eq!(slug("café"), "caf");
        assert_eq!(slug("---"), "");
    }

    #[test]
    fn slug_transforms_variables_and_the_environment_only() {
        let parsed = |expr: &str| Reference::parse(expr);
        assert_eq!(
            parsed("var.release | slug"),
            Ok(Reference::Slug(Box::new(Reference::Variable(
                "release".into()
            ))))
        );
        assert_eq!(
            parsed(" env.name|slug "),
            Ok(Reference::Slug(Box::new(Reference::Environment(
                "name".into()
            ))))
        );
        assert!(parsed("source.rds_instance.db.identifier | slug").is_err());
        assert!(parsed("var.release | upper").is_err());
        assert!(parsed("var.release | slug | slug").is_err());
        let v = interpolate(&json!("before-${var.version | slug}"), &|r| match r {
            Reference::Slug(inner) => vars(inner).map(|v| json!(slug(v.as_str().unwrap()))),
            r => vars(r),
        });
        assert_eq!(v, json!("before-1-4-2"));
    }

    #[test]
    fn parse_errors_say_what_is_wrong() {
        assert!(pieces("${var.x").is_err());
        let Piece::Reference { parsed, .. } = &pieces("${bucket.x.y}").unwrap()[0] else {
            panic!("expected a reference")
        };
        assert!(
            parsed
                .as_ref()
                .unwrap_err()
                .message
                .contains("unknown resource kind `bucket`")
        );
    }
}
