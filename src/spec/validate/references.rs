//! The references pass: every `${...}` names a variable, a source or a resource that exists,
//! and an attribute it has.

use super::*;

impl<'a> Validator<'a> {
    /// Check every `${...}` under `path`; return the references found.
    pub(super) fn check_references(
        &self,
        path: &[&str],
        declared: &BTreeSet<Address>,
        sources: &BTreeMap<SourceAddress, SourceSpec>,
        vars: &BTreeMap<String, String>,
        variables_only: bool,
    ) -> Result<Vec<Reference>, SpecError> {
        let Some(node) = self.node(path) else {
            return Ok(vec![]);
        };
        let mut strings = vec![];
        collect_strings(node, &mut strings);
        let mut found = vec![];
        for (text, span) in strings {
            let content_start = span.start + diagnostic::quote_len(&self.text[span.clone()]);
            let ps = refs::pieces(&text).map_err(|bad| {
                self.error(span.clone(), bad.message.clone(), Some(bad.hint.clone()))
            })?;
            for piece in ps {
                let Piece::Reference {
                    expr,
                    parsed,
                    offset,
                } = piece
                else {
                    continue;
                };
                // `offset` is into the value; escapes before the reference (`\"`, `\t`) make the
                // value shorter than the file text, never longer, so find the reference itself
                // in the file from there on.
                let literal = format!("${{{expr}}}");
                let from = (content_start + offset).min(span.end);
                let at = match self
                    .text
                    .get(from..span.end)
                    .and_then(|rest| rest.find(&literal))
                {
                    Some(i) => (from + i)..(from + i + literal.len()),
                    None => span.clone(),
                };
                let reference =
                    parsed.map_err(|bad| self.error(at.clone(), bad.message, Some(bad.hint)))?;
                self.check_reference(
                    &reference,
                    at.clone(),
                    declared,
                    sources,
                    vars,
                    variables_only,
                )?;
                // A list or a table cannot be part of a longer string: `"sg-${...security_groups}"`
                // would have to flatten it, which nobody means.
                if reference.is_structured() && refs::single_reference(&text).is_none() {
                    return Err(self.error(
                        at,
                        format!(
                            "`${{{reference}}}` is a list or a table, and cannot be part of the text `{}`",
                            diagnostic::clip(&text, 80)
                        ),
                        Some(
                            "write the reference alone, \"${...}\", to use the whole list (in a \
                             list, it is spliced in), or refer to one value"
                                .into(),
                        ),
                    ));
                }
                found.push(reference);
            }
        }
        Ok(found)
    }

    pub(super) fn check_reference(
        &self,
        reference: &Reference,
        at: std::ops::Range<usize>,
        declared: &BTreeSet<Address>,
        sources: &BTreeMap<SourceAddress, SourceSpec>,
        vars: &BTreeMap<String, String>,
        variables_only: bool,
    ) -> Result<(), SpecError> {
        match reference {
            Reference::Variable(name) if !vars.contains_key(name) => {
                let known: Vec<&str> = vars.keys().map(String::as_str).collect();
                Err(self.error(
                    at,
                    format!("unknown variable `{name}`"),
                    Some(diagnostic::did_you_mean(name, &known).unwrap_or_else(|| {
                        format!(
                            "declare it under [variables.{name}]; declared: {}",
                            list_or_none(&known)
                        )
                    })),
                ))
            }
            Reference::Variable(_) | Reference::Environment(_) => Ok(()),
            Reference::Slug(inner) => {
                self.check_reference(inner, at, declared, sources, vars, variables_only)
            }
            _ if variables_only => Err(self.error(
                at,
                format!("a source can only use variables, not `${{{reference}}}`"),
                Some("sources are looked up before anything is created".into()),
            )),
            // Whether the resource has a `count` is checked where its references are.
            Reference::CountIndex => Ok(()),
            Reference::Source { source, attribute } => {
                if !sources.contains_key(source) {
                    let known: Vec<String> = sources.keys().map(|s| s.to_string()).collect();
                    let known: Vec<&str> = known.iter().map(String::as_str).collect();
                    return Err(self.error(
                        at,
                        format!("unknown source `{source}`"),
                        Some(
                            diagnostic::did_you_mean(&source.to_string(), &known).unwrap_or_else(
                                || {
                                    format!(
                                        "declare it under [sources.{}.{}]",
                                        source.kind, source.name
                                    )
                                },
                            ),
                        ),
                    ));
                }
                if !source.kind.attributes().contains(&attribute.as_str()) {
                    return Err(self.error(
                        at,
                        format!("source {} has no attribute `{attribute}`", source.kind),
                        Some(
                            diagnostic::did_you_mean(attribute, source.kind.attributes())
                                .unwrap_or_else(|| {
                                    format!(
                                        "its attributes are: {}",
                                        source.kind.attributes().join(", ")
                                    )
                                }),
                        ),
                    ));
                }
                Ok(())
            }
            Reference::Resource { address, attribute } => {
                if !declared.contains(address) {
                    return Err(self.unknown_resource(at, address, declared));
                }
                let kind = kinds::describe(address.kind);
                if !kind.has_attribute(attribute) {
                    let mut all: Vec<&str> = kind.inputs.to_vec();
                    all.extend(kind.outputs);
                    return Err(self.error(
                        at,
                        format!("{} has no attribute `{attribute}`", address.kind),
                        Some(
                            diagnostic::did_you_mean(attribute, &all).unwrap_or_else(|| {
                                format!("its attributes are: {}", all.join(", "))
                            }),
                        ),
                    ));
                }
                Ok(())
            }
        }
    }

    pub(super) fn unknown_resource(
        &self,
        at: std::ops::Range<usize>,
        address: &Address,
        declared: &BTreeSet<Address>,
    ) -> SpecError {
        let known: Vec<String> = declared.iter().map(|a| a.to_string()).collect();
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        self.error(
            at,
            format!("unknown resource `{address}`"),
            Some(diagnostic::did_you_mean(&address.to_string(), &known).unwrap_or_else(|| {
                format!(
                    "declare it under [resources.{}.{}]; sources are written ${{source.KIND.NAME.ATTRIBUTE}}",
                    address.kind, address.name
                )
            })),
        )
    }
}

pub(super) fn collect_strings(
    node: &toml::Spanned<DeValue<'_>>,
    out: &mut Vec<(String, std::ops::Range<usize>)>,
) {
    match node.get_ref() {
        DeValue::String(s) => out.push((s.to_string(), node.span())),
        DeValue::Array(items) => items.iter().for_each(|i| collect_strings(i, out)),
        DeValue::Table(t) => t.iter().for_each(|(_, v)| collect_strings(v, out)),
        _ => {}
    }
}
