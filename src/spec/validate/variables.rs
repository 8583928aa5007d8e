//! The variables pass: declared variables, their values from `--var`, the environment, a file
//! (`from_file`) or defaults, checked before anything refers to them.

use std::io::Read;

use super::*;

/// The longest value file read: a version is a line, and a path to something else (a device,
/// a log) must not be read whole.
const MAX_VALUE_FILE: u64 = 4096;

/// Variables' values, where each came from, and what the user should know.
pub(super) struct Variables {
    pub values: BTreeMap<String, String>,
    /// `--var NAME`, `REHEARSAL_VAR_NAME`, the file's path as written, or `default`.
    pub origins: BTreeMap<String, String>,
    pub notes: Vec<String>,
}

#[derive(Clone, Copy)]
enum Origin {
    Flag,
    Env,
    File,
    Default,
}

impl<'a> Validator<'a> {
    /// Each declared variable's value: `--var`, then `REHEARSAL_VAR_<name>`, then its file
    /// (`from_file`) or its default. A variable with neither has no value unless given one: a
    /// release version is never defaulted.
    /// Values are plain text: a `${...}` in one would be a reference nothing checked, so it is
    /// refused (`$${` writes a literal `${`). Returns the values and the notes for the user.
    pub(super) fn variables(
        &self,
        raw: &RawSpec,
        inputs: &VariableInputs,
    ) -> Result<Variables, SpecError> {
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
        let mut origins = BTreeMap::new();
        for (name, var) in &raw.variables {
            if var.from_file.is_some() && var.default.is_some() {
                return Err(self.error(
                    self.span(&["variables", name, "default"]),
                    format!("variable `{name}` has both `from_file` and a `default`"),
                    Some(
                        "a value read from a file has no fallback: a missing file would \
                         silently plan the default (a downgrade, for a release version); \
                         remove `default`"
                            .into(),
                    ),
                ));
            }
            let from_cli = inputs.cli.iter().rev().find(|(n, _)| n == name);
            let (value, origin) = match (from_cli, inputs.env.get(name), &var.from_file) {
                (Some((_, v)), _, _) => (v.clone(), Origin::Flag),
                (None, Some(v), _) => (v.clone(), Origin::Env),
                (None, None, Some(file)) => (self.read_value(name, file, inputs)?, Origin::File),
                (None, None, None) => match &var.default {
                    Some(v) => (v.clone(), Origin::Default),
                    None => {
                        return Err(self.error(
                            self.span(&["variables", name]),
                            format!("variable `{name}` has no value"),
                            Some(format!(
                                "pass --var {name}=VALUE, set {VAR_ENV_PREFIX}{name}, or give it \
                                 a default"
                            )),
                        ));
                    }
                },
            };
            let given_as = match origin {
                Origin::Flag => format!("--var {name}"),
                Origin::Env => format!("{VAR_ENV_PREFIX}{name}"),
                Origin::File => var.from_file.clone().unwrap_or_default(),
                Origin::Default => DEFAULT_ORIGIN.into(),
            };
            if holds_reference(&value) {
                let hint = "variables hold plain text: put the reference in the spec where the \
                            variable is used, or write `$${` for a literal `${`";
                let shown = diagnostic::clip(&value, 80);
                return Err(match origin {
                    Origin::Flag | Origin::Env => SpecError::Variables {
                        message: format!("{given_as}: `{shown}` holds a reference"),
                        hint: hint.into(),
                    },
                    Origin::File => self.error(
                        self.span(&["variables", name, "from_file"]),
                        format!("{given_as} (the value of `{name}`) holds a reference: `{shown}`"),
                        Some(hint.into()),
                    ),
                    Origin::Default => self.error(
                        self.span(&["variables", name, "default"]),
                        format!("the default of variable `{name}` holds a reference"),
                        Some(hint.into()),
                    ),
                });
            }
            values.insert(name.clone(), value);
            origins.insert(name.clone(), given_as);
        }
        Ok(Variables {
            values,
            origins,
            notes,
        })
    }
}

impl Validator<'_> {
    /// The value in a variable's `from_file`, trimmed: one line of text. A missing, empty or
    /// unreadable file is an error at the variable, naming the other ways to give the value.
    fn read_value(
        &self,
        name: &str,
        file: &str,
        inputs: &VariableInputs,
    ) -> Result<String, SpecError> {
        let problem = match &inputs.project_root {
            None => Err("was not read (no project root)".to_string()),
            Some(root) => read_small_file(&root.join(file)),
        };
        let problem = match problem {
            Ok(text) if text.trim().is_empty() => "is empty".to_string(),
            Ok(text) if text.trim().contains('\n') => "holds more than one line".to_string(),
            Ok(text) => return Ok(text.trim().to_string()),
            Err(problem) => problem,
        };
        if inputs.release_not_needed {
            return Ok(UNREAD.to_string());
        }
        Err(self.error(
            self.span(&["variables", name, "from_file"]),
            format!("variable `{name}` has no value: {file} {problem}"),
            Some(format!(
                "write it in {file} (one line, relative to where rehearsal runs), pass \
                 --var {name}=VALUE, or set {VAR_ENV_PREFIX}{name}"
            )),
        ))
    }
}

/// A regular file's text, at most [`MAX_VALUE_FILE`] bytes, or why not.
fn read_small_file(path: &Path) -> Result<String, String> {
    let not_found = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => "does not exist".to_string(),
        _ => format!("cannot be read: {e}"),
    };
    // A FIFO or a device would block or never end: only a regular file holds a value.
    if !std::fs::metadata(path).map_err(not_found)?.is_file() {
        return Err("is not a regular file".into());
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .map_err(not_found)?
        .take(MAX_VALUE_FILE + 1)
        .read_to_string(&mut text)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => "is not UTF-8 text".to_string(),
            _ => format!("cannot be read: {e}"),
        })?;
    if text.len() as u64 > MAX_VALUE_FILE {
        return Err(format!("is longer than {MAX_VALUE_FILE} bytes"));
    }
    Ok(text)
}
