//! Tags and names: what a spec may tag, and the names AWS accepts for what it names.

use super::*;

impl<'a> Validator<'a> {
    /// A resource's `tags` cannot use the namespaces AWS and rehearsal reserve: `aws:` is
    /// AWS's, and `rehearsal:` tags are how rehearsal proves what an environment owns.
    pub(super) fn check_tags(&self, resource: &[&str]) -> Result<(), SpecError> {
        let Some(DeValue::Table(tags)) = self
            .node(&[resource, &["tags"]].concat())
            .map(|v| v.get_ref())
        else {
            return Ok(());
        };
        for (key, _) in tags.iter() {
            let name = key.get_ref().as_ref();
            let lower = name.to_ascii_lowercase();
            let (message, hint) = if lower.starts_with(tags::RESERVED_PREFIX) {
                (
                    format!("the tag `{name}` is in rehearsal's own namespace"),
                    "rehearsal sets its `rehearsal:` tags itself: they are how it proves what an \
                     environment owns. Give this tag another name, like `release:env`",
                )
            } else if lower.starts_with(tags::AWS_PREFIX) {
                (
                    format!("the tag `{name}` is in AWS's namespace"),
                    "AWS reserves tag keys starting with `aws:` and refuses them in a request. \
                     Give this tag another name",
                )
            } else {
                continue;
            };
            return Err(self.error(key.span(), message, Some(hint.into())));
        }
        Ok(())
    }

    /// The names AWS knows the resource by, where they are known now, against AWS's rules:
    /// the error points at the value, or at the table for a default derived from its name.
    pub(super) fn check_names(
        &self,
        address: &Address,
        attrs: &Attributes,
        vars: &BTreeMap<String, String>,
        env: &EnvId,
    ) -> Result<(), SpecError> {
        let table = ["resources", address.kind.as_str(), address.base_name()];
        for name in kinds::describe(address.kind).names {
            let Some(value) = name.known_value(attrs) else {
                continue;
            };
            if let Err(rule) = (name.check)(&value) {
                let node = self.node(&[&table[..], &[name.attribute]].concat());
                let mut hint = rule.hint;
                if let Some(DeValue::String(written)) = node.map(|n| n.get_ref()) {
                    hint.push_str(&slug_suggestion(written, name, vars, env).unwrap_or_default());
                }
                let span = node.map(|v| v.span()).unwrap_or_else(|| self.span(&table));
                return Err(self.error(span, rule.message, Some(hint)));
            }
        }
        Ok(())
    }
}

/// When a name AWS refuses was made from variables (`production-before-${var.release}` with
/// release = 3.2.0) and their slugs make one it accepts: "; `${var.release | slug}` makes it
/// `production-before-3-2-0`".
pub(super) fn slug_suggestion(
    written: &str,
    name: &kinds::Name,
    vars: &BTreeMap<String, String>,
    env: &EnvId,
) -> Option<String> {
    let mut plain: Vec<String> = refs::pieces(written)
        .ok()?
        .into_iter()
        .filter_map(|piece| match piece {
            Piece::Reference {
                parsed: Ok(r @ (Reference::Variable(_) | Reference::Environment(_))),
                ..
            } => Some(format!("`${{{r} | slug}}`")),
            _ => None,
        })
        .collect();
    plain.dedup();
    if plain.is_empty() {
        return None;
    }
    let slugged = refs::interpolate(&Value::String(written.into()), &|r| match r {
        Reference::Variable(_) | Reference::Environment(_) => {
            plain_value(&Reference::Slug(Box::new(r.clone())), vars, env)
        }
        r => plain_value(r, vars, env),
    });
    let slugged = refs::unescape(&slugged).as_str()?.to_string();
    (name.check)(&slugged).ok()?;
    Some(format!("; {} makes it `{slugged}`", plain.join(" and ")))
}
