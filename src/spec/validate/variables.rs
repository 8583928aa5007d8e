//! The variables pass: declared variables, their values from `--var`, the environment and
//! defaults, checked before anything refers to them.

use super::*;

impl<'a> Validator<'a> {
    /// Each declared variable's value: `--var`, then `REHEARSAL_VAR_<name>`, then its default.
    /// Values are plain text: a `${...}` in one would be a reference nothing checked, so it is
    /// refused (`$${` writes a literal `${`). Returns the values and the notes for the user.
    pub(super) fn variables(
        &self,
        raw: &RawSpec,
        inputs: &VariableInputs,
    ) -> Result<(BTreeMap<String, String>, Vec<String>), SpecError> {
        let known: Vec<&str> = raw.variables.keys().map(String::as_str).collect();
        for (name, _) in &inputs.cli {
            if !raw.variables.contains_key(name) {
                return Err(SpecError::Variables {
                    message: format!("--var {name}: the spec declares no variable `{name}`"),
                    hint: diagnostic::did_you_mean(name, &known)
                        .unwrap_or_else(|| format!("declared variables: {}", list_or_none(&known))),
                });
            }
        }
        // The environment is ambient: one CI job sets REHEARSAL_VAR_server_version for every
        // spec it runs. A name close to a declared one is a typo; another spec's is noted.
        let mut notes = vec![];
        for name in inputs.env.keys() {
            if raw.variables.contains_key(name) {
                continue;
            }
            let close = known
                .iter()
                .find(|k| k.eq_ignore_ascii_case(name))
                .copied()
                .or_else(|| diagnostic::closest(name, &known));
            if let Some(meant) = close {
                return Err(SpecError::Variables {
                    message: format!(
                        "{VAR_ENV_PREFIX}{name}: the spec declares no variable `{name}`"
                    ),
                    hint: format!("did you mean `{meant}`? Set {VAR_ENV_PREFIX}{meant} instead"),
                });
            }
            notes.push(format!(
                "{VAR_ENV_PREFIX}{name} is ignored: {} declares no variable `{name}`",
                self.file
            ));
        }
        let mut values = BTreeMap::new();
        for (name, var) in &raw.variables {
            let from_cli = inputs.cli.iter().rev().find(|(n, _)| n == name);
            let (value, given_as) = match (from_cli, inputs.env.get(name), &var.default) {
                (Some((_, v)), _, _) => (v, Some(format!("--var {name}"))),
                (None, Some(v), _) => (v, Some(format!("{VAR_ENV_PREFIX}{name}"))),
                (None, None, Some(v)) => (v, None),
                (None, None, None) => {
                    return Err(self.error(
                        self.span(&["variables", name]),
                        format!("variable `{name}` has no value"),
                        Some(format!(
                            "pass --var {name}=VALUE, set {VAR_ENV_PREFIX}{name}, or give it a default"
                        )),
                    ));
                }
            };
            if holds_reference(value) {
                let hint = "variables hold plain text: put the reference in the spec where the \
                            variable is used, or write `$${` for a literal `${`";
                let shown = diagnostic::clip(value, 80);
                return Err(match given_as {
                    Some(given_as) => SpecError::Variables {
                        message: format!("{given_as}: `{shown}` holds a reference"),
                        hint: hint.into(),
                    },
                    None => self.error(
                        self.span(&["variables", name, "default"]),
                        format!("the default of variable `{name}` holds a reference"),
                        Some(hint.into()),
                    ),
                });
            }
            values.insert(name.clone(), value.clone());
        }
        Ok((values, notes))
    }
}
