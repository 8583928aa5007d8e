//! `environments/NAME.toml` → a validated [`Spec`]: typed parse, variables, references checked
//! against what exists, dependency cycles found. Every error points at `file:line:column`.

mod checks;
pub mod diagnostic;
pub mod duration;
pub mod refs;
pub mod schema;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use petgraph::graph::DiGraph;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use thiserror::Error;
use toml::de::{DeTable, DeValue};

pub use diagnostic::Diagnostic;
use refs::{Piece, Reference};
use schema::{Lifecycle, RawSpec, ResourceTable};

use crate::kinds;
use crate::model::{
    Address, Attributes, Declared, EnvId, ResourceKind, SourceAddress, SourceKind, SourceQuery,
    tags,
};

/// Environment variables named `REHEARSAL_VAR_<name>` set spec variables (below `--var`).
pub const VAR_ENV_PREFIX: &str = "REHEARSAL_VAR_";

/// The longest an ephemeral environment may live.
pub const MAX_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

/// How long a create, update or delete may wait for AWS unless the spec or `--timeout` says.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, Error)]
pub enum SpecError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(Box<Diagnostic>),
    #[error("{}", diagnostic::clip(.message, diagnostic::MESSAGE_WIDTH))]
    Variables { message: String, hint: String },
}

impl SpecError {
    pub fn hint(&self) -> Option<String> {
        match self {
            SpecError::Read { path, .. } => Some(format!(
                "environment specs live in environments/NAME.toml; is `{}` the right name?",
                path.file_stem().and_then(|s| s.to_str()).unwrap_or("?")
            )),
            SpecError::Invalid(d) => d.hint.clone(),
            SpecError::Variables { hint, .. } => {
                Some(diagnostic::clip(hint, diagnostic::MESSAGE_WIDTH))
            }
        }
    }
}

/// A look-up of an existing resource that rehearsal only reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceSpec {
    pub address: SourceAddress,
    pub query: SourceQuery,
    /// Where it is declared, for "not found" errors.
    pub location: String,
}

/// A resource the environment owns, as the spec wants it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceSpec {
    pub address: Address,
    /// Spec attributes with variables substituted; `${source...}` and `${kind.name.attr}`
    /// references remain until a plan (or the executor) can resolve them.
    pub attributes: Attributes,
    /// Explicit `depends_on` plus every resource referenced.
    pub depends_on: BTreeSet<Address>,
    pub sources: BTreeSet<SourceAddress>,
    pub timeout: Option<Duration>,
    pub location: String,
}

/// A validated environment spec with its variables applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    pub path: PathBuf,
    pub env: EnvId,
    pub lifecycle: Lifecycle,
    pub ttl: Option<Duration>,
    pub variables: BTreeMap<String, String>,
    pub sources: BTreeMap<SourceAddress, SourceSpec>,
    pub resources: BTreeMap<Address, ResourceSpec>,
    /// `[checks.NAME]`, by name: what must be true once the environment exists.
    pub checks: Vec<crate::checks::Check>,
    /// What the user should know that is not an error (a `REHEARSAL_VAR_` for a variable the
    /// spec does not declare, ignored); the CLI prints each as a `note:`.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl Spec {
    /// A digest of everything the spec resolved to, variables included: two plans of the same
    /// spec and variables have the same digest.
    pub fn digest(&self) -> String {
        let canonical = serde_json::to_vec(&(
            &self.env,
            &self.lifecycle,
            &self.variables,
            &self.sources,
            &self.resources,
            &self.checks,
        ))
        .expect("a spec serializes to JSON");
        hex::encode(Sha256::digest(canonical))
    }

    pub fn is_protected(&self) -> bool {
        self.lifecycle == Lifecycle::Protected
    }

    /// What this spec declares by name (see [`Declared`]).
    pub fn declared(&self) -> Declared {
        crate::kinds::declared(
            self.resources
                .values()
                .map(|r| (r.address.kind, &r.attributes)),
        )
    }
}

/// The most copies one `count` may declare: more is a typo, and no input may make validation
/// hang.
pub const MAX_COUNT: u32 = 1000;

/// One resource as declared, before its references are checked.
struct Entry<'r> {
    address: Address,
    /// Its copy's index, for a table with `count`.
    index: Option<u32>,
    count: Option<u32>,
    value: Value,
    depends_on: &'r [String],
    timeout: Option<&'r str>,
}

/// `value` with `${count.index}` written as `index`, in every string.
fn with_count_index(value: &Value, index: u32) -> Value {
    match value {
        Value::String(s) => Value::String(s.replace("${count.index}", &index.to_string())),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| with_count_index(v, index)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), with_count_index(v, index)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Where to find `environments/NAME.toml`, or a path given directly.
pub fn spec_path(environments_dir: &Path, env_or_path: &str) -> PathBuf {
    if env_or_path.ends_with(".toml") || env_or_path.contains('/') {
        PathBuf::from(env_or_path)
    } else {
        environments_dir.join(format!("{env_or_path}.toml"))
    }
}

/// Variable values from outside the spec, highest precedence first.
#[derive(Debug, Clone, Default)]
pub struct VariableInputs {
    /// `--var name=value`, in order.
    pub cli: Vec<(String, String)>,
    /// `REHEARSAL_VAR_name=value` from the process environment.
    pub env: BTreeMap<String, String>,
}

impl VariableInputs {
    /// `--var` values and the process's `REHEARSAL_VAR_<name>` variables. Other variables are
    /// not read, whatever they hold; a `REHEARSAL_VAR_` value that is not UTF-8 is refused.
    pub fn from_process(cli: Vec<(String, String)>) -> Result<Self, SpecError> {
        let mut env = BTreeMap::new();
        for (key, value) in std::env::vars_os() {
            let Some(name) = key.to_str().and_then(|k| k.strip_prefix(VAR_ENV_PREFIX)) else {
                continue;
            };
            let value = value.into_string().map_err(|_| SpecError::Variables {
                message: format!("{VAR_ENV_PREFIX}{name} is not UTF-8 text"),
                hint: format!("set it to plain text, or unset it: unset {VAR_ENV_PREFIX}{name}"),
            })?;
            env.insert(name.to_string(), value);
        }
        Ok(VariableInputs { cli, env })
    }
}

/// Parse `name=value` as given to `--var`.
pub fn parse_var_arg(arg: &str) -> Result<(String, String), String> {
    match arg.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("`{arg}` is not NAME=VALUE")),
    }
}

pub fn load(path: &Path, inputs: &VariableInputs) -> Result<Spec, SpecError> {
    let bytes = std::fs::read(path).map_err(|source| SpecError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_bytes(path, &bytes, inputs)
}

/// Parse and validate a spec file's bytes: text that is not UTF-8 is refused at its first
/// invalid byte.
pub fn parse_bytes(path: &Path, bytes: &[u8], inputs: &VariableInputs) -> Result<Spec, SpecError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(path, text, inputs),
        Err(e) => Err(not_utf8(path, bytes, e)),
    }
}

fn not_utf8(path: &Path, bytes: &[u8], error: std::str::Utf8Error) -> SpecError {
    let at = error.valid_up_to();
    let bad = error.error_len().unwrap_or(bytes.len() - at);
    let shown: Vec<String> = bytes[at..at + bad]
        .iter()
        .map(|b| format!("0x{b:02X}"))
        .collect();
    // The lossy text has the same valid start, then one U+FFFD (3 bytes) for the bad bytes.
    let text = String::from_utf8_lossy(bytes);
    SpecError::Invalid(Box::new(Diagnostic::new(
        &path.display().to_string(),
        &text,
        at..at + '\u{FFFD}'.len_utf8(),
        format!(
            "the spec is not UTF-8: {} {} cannot be read as text",
            if bad == 1 { "byte" } else { "bytes" },
            shown.join(" ")
        ),
        Some(
            "save the file as UTF-8: an editor may have saved it as Latin-1 or Windows-1252 \
             (`iconv -f latin1 -t utf-8` converts it)"
                .into(),
        ),
    )))
}

/// Parse and validate spec text. `path` is used for messages and the file-name check.
pub fn parse(path: &Path, text: &str, inputs: &VariableInputs) -> Result<Spec, SpecError> {
    let file = path.display().to_string();
    let raw: RawSpec = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let message = e.message().trim().to_string();
        let hint = diagnostic::hint_for_serde_message(&message);
        SpecError::Invalid(Box::new(Diagnostic::new(
            &file,
            text,
            span,
            message,
            Some(hint),
        )))
    })?;
    // The typed parse succeeded, so the spanned parse does too; it gives us positions.
    let spanned = DeTable::parse(text).map_err(|e| {
        let message = e.message().trim().to_string();
        let hint = diagnostic::hint_for_serde_message(&message);
        SpecError::Invalid(Box::new(Diagnostic::new(
            &file,
            text,
            e.span().unwrap_or(0..0),
            message,
            Some(hint),
        )))
    })?;
    Validator {
        file,
        text,
        tree: spanned.get_ref(),
        lines: diagnostic::LineIndex::new(text),
    }
    .build(path, raw, inputs)
}

struct Validator<'a> {
    file: String,
    text: &'a str,
    tree: &'a DeTable<'a>,
    /// Where each line starts, so that every resource's location is found without counting
    /// the lines before it again.
    lines: diagnostic::LineIndex,
}

impl<'a> Validator<'a> {
    fn error(
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
    fn node(&self, path: &[&str]) -> Option<&'a toml::Spanned<DeValue<'a>>> {
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

    fn span(&self, path: &[&str]) -> std::ops::Range<usize> {
        self.node(path).map(|v| v.span()).unwrap_or(0..0)
    }

    fn location(&self, path: &[&str]) -> String {
        let (line, column) = self.lines.line_column(self.text, self.span(path).start);
        format!("{}:{line}:{column}", self.file)
    }

    fn build(self, path: &Path, raw: RawSpec, inputs: &VariableInputs) -> Result<Spec, SpecError> {
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
        let env_id = EnvId {
            project: env.project.clone(),
            name: env.name.clone(),
            region: env.region.clone(),
        };
        let (variables, warnings) = self.variables(&raw, inputs)?;

        let sources = self.sources(&raw, &variables, &env_id)?;
        let mut resources = self.resources(&raw, &variables, &env_id, &sources)?;
        self.check_cycles(&resources)?;
        let declared = resources.keys().cloned().collect();
        let checks = self.checks(&raw, &variables, &env_id, &declared, &sources)?;
        for r in resources.values_mut() {
            r.depends_on.remove(&r.address);
        }
        Ok(Spec {
            path: path.to_path_buf(),
            env: env_id,
            lifecycle: env.lifecycle,
            ttl,
            variables,
            sources,
            resources,
            checks,
            warnings,
        })
    }

    fn duration(&self, text: &str, path: &[&str]) -> Result<Duration, SpecError> {
        duration::parse(text).map_err(|message| {
            self.error(
                self.span(path),
                message,
                Some("write a duration like \"90m\", \"24h\" or \"7d\"".into()),
            )
        })
    }

    /// Each declared variable's value: `--var`, then `REHEARSAL_VAR_<name>`, then its default.
    /// Values are plain text: a `${...}` in one would be a reference nothing checked, so it is
    /// refused (`$${` writes a literal `${`). Returns the values and the notes for the user.
    fn variables(
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

    fn sources(
        &self,
        raw: &RawSpec,
        vars: &BTreeMap<String, String>,
        env: &EnvId,
    ) -> Result<BTreeMap<SourceAddress, SourceSpec>, SpecError> {
        let mut out = BTreeMap::new();
        let mut add = |kind: SourceKind,
                       name: &str,
                       id: Option<&str>,
                       tags: &BTreeMap<String, String>,
                       cluster: Option<&str>|
         -> Result<(), SpecError> {
            let path = ["sources", kind.as_str(), name];
            self.check_references(&path, &BTreeSet::new(), &BTreeMap::new(), vars, true)?;
            let subst = |s: &str| -> String {
                let value =
                    refs::interpolate(&Value::String(s.into()), &|r| plain_value(r, vars, env));
                refs::unescape(&value)
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            };
            let address = SourceAddress {
                kind,
                name: name.to_string(),
            };
            let query = SourceQuery {
                kind,
                id: id.map(subst),
                tags: tags.iter().map(|(k, v)| (k.clone(), subst(v))).collect(),
                cluster: cluster.map(subst),
            };
            out.insert(
                address.clone(),
                SourceSpec {
                    address,
                    query,
                    location: self.location(&path),
                },
            );
            Ok(())
        };
        let none = BTreeMap::new();
        for (name, s) in &raw.sources.ec2_instance {
            if s.id.is_some() != s.tags.is_empty() {
                return Err(self.error(
                    self.span(&["sources", "ec2_instance", name]),
                    format!("source.ec2_instance.{name} needs exactly one of `id` or `tags`"),
                    Some(
                        "find the server by id = \"i-...\" or by tags = { Name = \"...\" }".into(),
                    ),
                ));
            }
            add(
                SourceKind::Ec2Instance,
                name,
                s.id.as_deref(),
                &s.tags,
                None,
            )?;
        }
        for (name, s) in &raw.sources.rds_instance {
            add(
                SourceKind::RdsInstance,
                name,
                Some(&s.identifier),
                &none,
                None,
            )?;
        }
        for (name, s) in &raw.sources.ecs_cluster {
            add(SourceKind::EcsCluster, name, Some(&s.name), &none, None)?;
        }
        for (name, s) in &raw.sources.ecs_service {
            add(
                SourceKind::EcsService,
                name,
                Some(&s.name),
                &none,
                Some(&s.cluster),
            )?;
        }
        for (name, s) in &raw.sources.ecs_task_definition {
            add(
                SourceKind::EcsTaskDefinition,
                name,
                Some(&s.family),
                &none,
                None,
            )?;
        }
        Ok(out)
    }

    fn resources(
        &self,
        raw: &RawSpec,
        vars: &BTreeMap<String, String>,
        env: &EnvId,
        sources: &BTreeMap<SourceAddress, SourceSpec>,
    ) -> Result<BTreeMap<Address, ResourceSpec>, SpecError> {
        // Every declared address first, so references can point forwards. A table with
        // `count = N` declares N resources, `name[0]` to `name[N-1]`.
        let r = &raw.resources;
        let mut entries: Vec<Entry> = vec![];
        fn collect<'r, T: ResourceTable>(
            kind: ResourceKind,
            tables: &'r BTreeMap<String, T>,
            entries: &mut Vec<Entry<'r>>,
        ) {
            for (name, table) in tables {
                let value = serde_json::to_value(table).expect("spec types serialize");
                let copies: Vec<(Address, Option<u32>)> = match table.count() {
                    None => vec![(Address::new(kind, name.clone()), None)],
                    Some(n) => (0..n.min(MAX_COUNT + 1))
                        .map(|i| (Address::indexed(kind, name, i), Some(i)))
                        .collect(),
                };
                for (address, index) in copies {
                    entries.push(Entry {
                        address,
                        index,
                        count: table.count(),
                        value: value.clone(),
                        depends_on: table.depends_on(),
                        timeout: table.timeout(),
                    });
                }
            }
        }
        for &kind in ResourceKind::ALL {
            match kind {
                ResourceKind::RdsSnapshot => collect(kind, &r.rds_snapshot, &mut entries),
                ResourceKind::RdsInstance => collect(kind, &r.rds_instance, &mut entries),
                ResourceKind::Ec2Instance => collect(kind, &r.ec2_instance, &mut entries),
                // Made by instances, never declared: `RawResources` has no table for it.
                ResourceKind::EbsVolume => {}
                ResourceKind::EcsCluster => collect(kind, &r.ecs_cluster, &mut entries),
                ResourceKind::EcsTaskDefinition => {
                    collect(kind, &r.ecs_task_definition, &mut entries)
                }
                ResourceKind::EcsService => collect(kind, &r.ecs_service, &mut entries),
                ResourceKind::SecurityGroup => collect(kind, &r.security_group, &mut entries),
                ResourceKind::DnsRecord => collect(kind, &r.dns_record, &mut entries),
            }
        }
        let declared: BTreeSet<Address> = entries.iter().map(|e| e.address.clone()).collect();

        let mut out = BTreeMap::new();
        for Entry {
            address,
            index,
            count,
            value,
            depends_on,
            timeout,
        } in entries
        {
            let kind = address.kind.as_str();
            let path = ["resources", kind, address.base_name()];
            if let Some(n) = count.filter(|n| *n > MAX_COUNT) {
                return Err(self.error(
                    self.span(&[&path[..], &["count"]].concat()),
                    format!("count = {n} is more than {MAX_COUNT} copies"),
                    Some(format!(
                        "declare at most {MAX_COUNT}: each copy is a resource on AWS"
                    )),
                ));
            }
            if !valid_name(&address.base_name().replace('_', "-")) {
                return Err(self.error(
                    self.span(&path),
                    format!("`{}` is not a valid resource name", address.name),
                    Some(
                        "use lowercase letters, digits and underscores, starting with a letter"
                            .into(),
                    ),
                ));
            }
            self.check_tags(&path)?;
            let referenced = self.check_references(&path, &declared, sources, vars, false)?;
            if index.is_none() && referenced.contains(&Reference::CountIndex) {
                return Err(self.error(
                    self.span(&path),
                    format!("{address} uses ${{count.index}} but has no `count`"),
                    Some("add count = N to make N copies, each with its own count.index".into()),
                ));
            }
            let mut deps = BTreeSet::new();
            let mut used_sources = BTreeSet::new();
            for reference in referenced {
                match reference {
                    Reference::Resource { address, .. } => {
                        deps.insert(address);
                    }
                    Reference::Source { source, .. } => {
                        used_sources.insert(source);
                    }
                    _ => {}
                }
            }
            for (i, dep) in depends_on.iter().enumerate() {
                let span = match self
                    .node(&[&path[..], &["depends_on"]].concat())
                    .map(|v| v.get_ref())
                {
                    Some(DeValue::Array(items)) => items.get(i).map(|v| v.span()).unwrap_or(0..0),
                    _ => 0..0,
                };
                let parsed: Address = dep.parse().map_err(|e: String| {
                    self.error(
                        span.clone(),
                        e,
                        Some("write depends_on = [\"rds_instance.db\"]".into()),
                    )
                })?;
                if !declared.contains(&parsed) {
                    return Err(self.unknown_resource(span, &parsed, &declared));
                }
                deps.insert(parsed);
            }
            let timeout = match timeout {
                Some(t) => {
                    let at = [&path[..], &["timeout"]].concat();
                    Some(duration::parse_timeout(t).map_err(|message| {
                        self.error(
                            self.span(&at),
                            message,
                            Some("write a timeout like \"30m\" or \"2h\"".into()),
                        )
                    })?)
                }
                None => None,
            };
            let value = match index {
                Some(i) => with_count_index(&value, i),
                None => value,
            };
            let mut attributes = match refs::interpolate(&value, &|r| plain_value(r, vars, env)) {
                Value::Object(map) => map,
                _ => unreachable!("resource specs serialize to objects"),
            };
            self.kind_rules(&address, &mut attributes, env)?;
            self.check_names(&address, &attributes, vars, env)?;
            out.insert(
                address.clone(),
                ResourceSpec {
                    address: address.clone(),
                    attributes,
                    depends_on: deps,
                    sources: used_sources,
                    timeout,
                    location: self.location(&path),
                },
            );
        }
        Ok(out)
    }

    /// A resource's `tags` cannot use the namespaces AWS and rehearsal reserve: `aws:` is
    /// AWS's, and `rehearsal:` tags are how rehearsal proves what an environment owns.
    fn check_tags(&self, resource: &[&str]) -> Result<(), SpecError> {
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

    /// Defaults and rules of the kind's spec table that its types cannot say.
    fn kind_rules(
        &self,
        address: &Address,
        attrs: &mut Attributes,
        env: &EnvId,
    ) -> Result<(), SpecError> {
        let aws_name = address.name_for_aws();
        let cx = kinds::SpecContext {
            env,
            name: &address.name,
            aws_name: &aws_name,
        };
        (kinds::describe(address.kind).complete)(attrs, &cx).map_err(|rule| {
            self.error(
                self.span(&["resources", address.kind.as_str(), address.base_name()]),
                rule.message,
                Some(rule.hint),
            )
        })
    }

    /// The names AWS knows the resource by, where they are known now, against AWS's rules:
    /// the error points at the value, or at the table for a default derived from its name.
    fn check_names(
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

    /// Check every `${...}` under `path`; return the references found.
    fn check_references(
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

    fn check_reference(
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

    fn unknown_resource(
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

    fn check_cycles(&self, resources: &BTreeMap<Address, ResourceSpec>) -> Result<(), SpecError> {
        let mut graph = DiGraph::<&Address, ()>::new();
        let index: BTreeMap<&Address, _> =
            resources.keys().map(|a| (a, graph.add_node(a))).collect();
        for r in resources.values() {
            for dep in &r.depends_on {
                graph.add_edge(index[dep], index[&r.address], ());
            }
        }
        for scc in petgraph::algo::tarjan_scc(&graph) {
            let cyclic = scc.len() > 1 || graph.contains_edge(scc[0], scc[0]);
            if !cyclic {
                continue;
            }
            let mut members: Vec<&Address> = scc.iter().map(|i| graph[*i]).collect();
            members.sort();
            let first = members[0];
            // Name them in the order they need each other, from the first: `a → b` means a
            // needs b. Only when that walk misses members (tangled cycles) fall back to sorted.
            let mut walk = vec![first];
            while let Some(next) = resources[*walk.last().expect("starts non-empty")]
                .depends_on
                .iter()
                .find(|d| members.contains(d) && !walk.contains(d))
            {
                walk.push(next);
            }
            if walk.len() == members.len() {
                members = walk;
            }
            let names: Vec<String> = members.iter().map(|a| a.to_string()).collect();
            // A cycle of one kind may have a reason and a way out of its own.
            let one_kind = members.iter().all(|a| a.kind == first.kind);
            let hint = kinds::describe(first.kind)
                .cycle_hint
                .filter(|_| one_kind)
                .unwrap_or(
                    "each of these needs another to exist first; remove one reference or \
                     depends_on",
                );
            return Err(self.error(
                self.span(&["resources", first.kind.as_str(), &first.name]),
                format!("dependency cycle between {}", names.join(" → ")),
                Some(hint.into()),
            ));
        }
        Ok(())
    }
}

fn collect_strings(
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

/// When a name AWS refuses was made from variables (`production-before-${var.release}` with
/// release = 3.2.0) and their slugs make one it accepts: "; `${var.release | slug}` makes it
/// `production-before-3-2-0`".
fn slug_suggestion(
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

/// A `${` that is not written `$${`: a reference, or the start of one.
fn holds_reference(value: &str) -> bool {
    refs::pieces(value).map_or(true, |pieces| {
        pieces.iter().any(|p| matches!(p, Piece::Reference { .. }))
    })
}

/// A variable's value as text: `$${` written in it is a literal `${`. (It holds no reference:
/// [`holds_reference`] saw to that.)
fn plain_text(value: &str) -> String {
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
fn plain_value(r: &Reference, vars: &BTreeMap<String, String>, env: &EnvId) -> Option<Value> {
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

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.len() <= 40
}

fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}
