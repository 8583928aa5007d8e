//! Validation, one pass per file: [`variables`], [`sources`], [`resources`], [`names`] (tags and
//! AWS's names), [`references`], [`cycles`], and the spec's [`checks`]. [`Validator::build`] runs
//! them in that order.

mod checks;
mod cycles;
mod names;
mod references;
mod resources;
mod sources;
mod variables;
mod window;

pub(super) use super::*;

pub(super) struct Validator<'a> {
    pub(super) file: String,
    pub(super) text: &'a str,
    pub(super) tree: &'a DeTable<'a>,
    /// Where each line starts, so that every resource's location is found without counting
    /// the lines before it again.
    pub(super) lines: diagnostic::LineIndex,
}

impl<'a> Validator<'a> {
    pub(super) fn error(
        &self,
        span: std::ops::Range<usize>,
        message: String,
        hint: Option<String>,
    ) -> SpecError {
        SpecError::Invalid(Box::new(Diagnostic::new(
            &self.file, self.text, span, message, hint,
        )))
    }

    /// The spanned value at a key path like `["resources", "rds_instance", "db"]`.
    pub(super) fn node(&self, path: &[&str]) -> Option<&'a toml::Spanned<DeValue<'a>>> {
        let mut table = self.tree;
        let mut found = None;
        for (i, key) in path.iter().enumerate() {
            // A keyed look-up, not a scan: a spec of n resources looks up each of them.
            let value = table.get(*key)?;
            found = Some(value);
            if i + 1 < path.len() {
                match value.get_ref() {
                    DeValue::Table(t) => table = t,
                    _ => return None,
                }
            }
        }
        found
    }

    pub(super) fn span(&self, path: &[&str]) -> std::ops::Range<usize> {
        self.node(path).map(|v| v.span()).unwrap_or(0..0)
    }

    pub(super) fn location(&self, path: &[&str]) -> String {
        let (line, column) = self.lines.line_column(self.text, self.span(path).start);
        format!("{}:{line}:{column}", self.file)
    }

    pub(super) fn build(
        self,
        path: &Path,
        raw: RawSpec,
        inputs: &VariableInputs,
    ) -> Result<Spec, SpecError> {
        let env = &raw.environment;
        if let Some(stem) = path.file_stem().and_then(|s| s.to_str())
            && stem != env.name
            && path.extension().is_some_and(|e| e == "toml")
        {
            return Err(self.error(
                self.span(&["environment", "name"]),
                format!(
                    "the environment is named `{}` but the file is {stem}.toml",
                    env.name
                ),
                Some(format!(
                    "name the file environments/{}.toml, or set name = \"{stem}\": the name \
                     is what rehearsal tags and later destroys",
                    env.name
                )),
            ));
        }
        if !valid_name(&env.project) {
            return Err(self.error(
                self.span(&["environment", "project"]),
                format!("`{}` is not a valid project name", env.project),
                Some("use lowercase letters, digits and hyphens, starting with a letter".into()),
            ));
        }
        if !valid_name(&env.name) {
            return Err(self.error(
                self.span(&["environment", "name"]),
                format!("`{}` is not a valid environment name", env.name),
                Some("use lowercase letters, digits and hyphens, starting with a letter".into()),
            ));
        }
        let ttl = match (env.lifecycle, &env.ttl) {
            (Lifecycle::Protected, Some(_)) => {
                return Err(self.error(
                    self.span(&["environment", "ttl"]),
                    "a protected environment cannot have a time to live".into(),
                    Some("remove `ttl`, or set lifecycle = \"ephemeral\"".into()),
                ));
            }
            (Lifecycle::Protected, None) => None,
            (Lifecycle::Ephemeral, None) => Some(Duration::from_secs(24 * 3600)),
            (Lifecycle::Ephemeral, Some(ttl)) => {
                let d = self.duration(ttl, &["environment", "ttl"])?;
                if d > MAX_TTL {
                    return Err(self.error(
                        self.span(&["environment", "ttl"]),
                        format!("a time to live of {ttl} is longer than a year"),
                        Some(
                            "ephemeral environments are meant to go away: use at most \"365d\""
                                .into(),
                        ),
                    ));
                }
                Some(d)
            }
        };
        if let Some(table) = &env.team_table
            && let Err(message) = crate::team::check_table_name(table)
        {
            return Err(self.error(
                self.span(&["environment", "team_table"]),
                message,
                Some(
                    "name your team's DynamoDB table, e.g. team_table = \"rehearsal-team\"".into(),
                ),
            ));
        }
        let approvals = self.approvals(env)?;
        let env_id = EnvId {
            project: env.project.clone(),
            name: env.name.clone(),
            region: env.region.clone(),
        };
        let variables::Variables {
            values: variables,
            origins: variable_origins,
            notes: warnings,
        } = self.variables(&raw, inputs)?;

        let sources = self.sources(&raw, &variables, &env_id)?;
        let mut resources = self.resources(&raw, &variables, &env_id, &sources)?;
        self.check_cycles(&resources)?;
        let declared = resources.keys().cloned().collect();
        let checks = self.checks(&raw, &variables, &env_id, &declared, &sources)?;
        for r in resources.values_mut() {
            r.depends_on.remove(&r.address);
        }
        let names_a_database = sources.keys().any(|s| s.kind == SourceKind::RdsInstance)
            || resources
                .keys()
                .any(|a| a.kind == ResourceKind::RdsInstance);
        let snapshots = self.snapshots(
            &raw,
            env.lifecycle == Lifecycle::Protected,
            names_a_database,
        )?;
        let window = self.window(&raw)?;
        Ok(Spec {
            path: path.to_path_buf(),
            env: env_id,
            lifecycle: env.lifecycle,
            ttl,
            variables,
            variable_origins,
            sources,
            resources,
            checks,
            warnings,
            snapshots,
            window,
            team_table: env.team_table.clone(),
            approvals,
        })
    }

    /// `approvals`: sign-off is a protected environment's rule (an ephemeral one is a copy
    /// anyone may remake), and asks for at least one person.
    fn approvals(&self, env: &super::schema::RawEnvironment) -> Result<u32, SpecError> {
        let Some(n) = env.approvals else {
            return Ok(0);
        };
        let at = self.span(&["environment", "approvals"]);
        if env.lifecycle != Lifecycle::Protected {
            return Err(self.error(
                at,
                "only a protected environment requires approvals".into(),
                Some("remove `approvals`, or set lifecycle = \"protected\"".into()),
            ));
        }
        if n == 0 {
            return Err(self.error(
                at,
                "approvals = 0 asks for no one".into(),
                Some("remove `approvals`, or ask for at least 1".into()),
            ));
        }
        Ok(n)
    }

    /// `[snapshots]`: `before_apply` only where the environment is protected (an ephemeral
    /// one's data is itself a copy), and names a database to take; `keep` at least 1.
    pub(super) fn snapshots(
        &self,
        raw: &RawSpec,
        protected: bool,
        names_a_database: bool,
    ) -> Result<Snapshots, SpecError> {
        let Some(table) = &raw.snapshots else {
            return Ok(Snapshots::default());
        };
        let before_apply = table.before_apply.unwrap_or(false);
        if before_apply && !protected {
            return Err(self.error(
                self.span(&["snapshots", "before_apply"]),
                "only a protected environment takes a snapshot before each apply".into(),
                Some(
                    "remove `before_apply`, or take one by hand with `rehearsal snapshot ENV`"
                        .into(),
                ),
            ));
        }
        if before_apply && !names_a_database {
            return Err(self.error(
                self.span(&["snapshots", "before_apply"]),
                "`before_apply` asks for a snapshot of each database, and the spec names none"
                    .into(),
                Some(
                    "declare the database as [sources.rds_instance.NAME] or \
                     [resources.rds_instance.NAME], or remove `before_apply`"
                        .into(),
                ),
            ));
        }
        if table.keep == Some(0) {
            return Err(self.error(
                self.span(&["snapshots", "keep"]),
                "keep = 0 would delete the snapshot just taken".into(),
                Some("keep at least 1, or leave `keep` out to keep every one".into()),
            ));
        }
        Ok(Snapshots {
            before_apply,
            keep: table.keep,
        })
    }

    pub(super) fn duration(&self, text: &str, path: &[&str]) -> Result<Duration, SpecError> {
        duration::parse(text).map_err(|message| {
            self.error(
                self.span(path),
                message,
                Some("write a duration like \"90m\", \"24h\" or \"7d\"".into()),
            )
        })
    }
}

/// A `${` that is not written `$${`: a reference, or the start of one.
pub(super) fn holds_reference(value: &str) -> bool {
    refs::pieces(value).map_or(true, |pieces| {
        pieces.iter().any(|p| matches!(p, Piece::Reference { .. }))
    })
}

/// A variable's value as text: `$${` written in it is a literal `${`. (It holds no reference:
/// [`holds_reference`] saw to that.)
pub(super) fn plain_text(value: &str) -> String {
    match refs::pieces(value) {
        Ok(pieces) => pieces
            .into_iter()
            .map(|p| match p {
                Piece::Text(t) => t,
                Piece::Reference { expr, .. } => format!("${{{expr}}}"),
            })
            .collect(),
        Err(_) => value.to_string(),
    }
}

/// Values known as soon as the spec is read: variables and the environment's own name.
pub(super) fn plain_value(
    r: &Reference,
    vars: &BTreeMap<String, String>,
    env: &EnvId,
) -> Option<Value> {
    match r {
        Reference::Variable(name) => vars.get(name).map(|v| Value::String(plain_text(v))),
        Reference::Environment(attr) if attr == "name" => Some(Value::String(env.name.clone())),
        Reference::Environment(_) => Some(Value::String(env.region.clone())),
        Reference::Slug(inner) => {
            let value = plain_value(inner, vars, env)?;
            Some(Value::String(refs::slug(value.as_str()?)))
        }
        _ => None,
    }
}

pub(super) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.len() <= 40
}

pub(super) fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}
