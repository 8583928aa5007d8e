//! Reading the spec's attributes (JSON) into the values SDK builders want, and writing what AWS
//! describes back into attributes. A value of the wrong type is an error that names it; a missing
//! optional value is `None`.

use serde_json::Value;

use super::errors;
use crate::model::{Attributes, ResourceKind};
use crate::provider::ProviderError;

/// An AWS time as RFC 3339 (whole seconds, UTC), the form of `model::times` attributes.
pub(crate) fn rfc3339(at: &aws_smithy_types::DateTime) -> Option<String> {
    let at = time::OffsetDateTime::from_unix_timestamp(at.secs()).ok()?;
    at.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// Typed access to one resource's attributes.
pub(crate) struct Reader<'a> {
    kind: ResourceKind,
    attrs: &'a Attributes,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(kind: ResourceKind, attrs: &'a Attributes) -> Self {
        Reader { kind, attrs }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.attrs.get(key).filter(|v| !v.is_null())
    }

    fn wrong(&self, key: &str, expected: &str, got: &Value) -> ProviderError {
        errors::attribute(self.kind, format!("`{key}` must be {expected}, not {got}"))
    }

    pub(crate) fn str(&self, key: &str) -> Result<Option<String>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrong(key, "a string", other)),
        }
    }

    pub(crate) fn required_str(&self, key: &str) -> Result<String, ProviderError> {
        self.str(key)?
            .ok_or_else(|| errors::attribute(self.kind, format!("`{key}` is required")))
    }

    /// A string the spec may also write as a number (ECS task `cpu` and `memory`).
    pub(crate) fn str_or_number(&self, key: &str) -> Result<Option<String>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(self.wrong(key, "a string", other)),
        }
    }

    pub(crate) fn bool(&self, key: &str) -> Result<Option<bool>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
            Some(other) => Err(self.wrong(key, "true or false", other)),
        }
    }

    pub(crate) fn i32(&self, key: &str) -> Result<Option<i32>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => int_of(value)
                .and_then(|n| i32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| self.wrong(key, "a whole number", value)),
        }
    }

    /// An array of strings; a single string counts as a list of one.
    pub(crate) fn str_list(&self, key: &str) -> Result<Option<Vec<String>>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => str_list(value)
                .map(Some)
                .ok_or_else(|| self.wrong(key, "a list of strings", value)),
        }
    }

    pub(crate) fn array(&self, key: &str) -> Result<&'a [Value], ProviderError> {
        match self.get(key) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(self.wrong(key, "a list", other)),
        }
    }
}

/// A whole number written as a number or as a numeric string.
pub(crate) fn int_of(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A list of strings, flattening nested lists (a reference to a list inside a list).
pub(crate) fn str_list(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.extend(str_list(item)?);
            }
            Some(out)
        }
        _ => None,
    }
}

/// Attributes under construction from what AWS describes; absent fields are left out.
#[derive(Default)]
pub(crate) struct Builder(Attributes);

impl Builder {
    pub(crate) fn new() -> Self {
        Builder::default()
    }

    pub(crate) fn set(&mut self, key: &str, value: impl Into<Value>) -> &mut Self {
        self.0.insert(key.to_owned(), value.into());
        self
    }

    pub(crate) fn opt(&mut self, key: &str, value: Option<impl Into<Value>>) -> &mut Self {
        if let Some(value) = value {
            self.0.insert(key.to_owned(), value.into());
        }
        self
    }

    /// A string that AWS reports as empty when unset.
    pub(crate) fn nonempty(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        self.opt(key, value.filter(|s| !s.is_empty()))
    }

    pub(crate) fn strings<'s>(
        &mut self,
        key: &str,
        values: impl IntoIterator<Item = &'s str>,
    ) -> &mut Self {
        let list: Vec<Value> = values
            .into_iter()
            .map(|s| Value::String(s.to_owned()))
            .collect();
        self.set(key, Value::Array(list))
    }

    pub(crate) fn into_inner(self) -> Attributes {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_flatten_and_numbers_parse() {
        assert_eq!(
            str_list(&json!(["a", ["b", "c"]])),
            Some(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(str_list(&json!([1])), None);
        assert_eq!(int_of(&json!("512")), Some(512));
        let attrs = json!({"n": "x"}).as_object().cloned().unwrap_or_default();
        assert!(
            Reader::new(ResourceKind::EcsService, &attrs)
                .i32("n")
                .is_err()
        );
    }
}
