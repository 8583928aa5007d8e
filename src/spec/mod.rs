//! `environments/NAME.toml` → a validated [`Spec`]: typed parse, variables, references checked
//! against what exists, dependency cycles found. Every error points at `file:line:column`.

mod validate;
use validate::Validator;
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

/// The origin of a variable's value that the spec itself gives (`Spec::variable_origins`).
pub const DEFAULT_ORIGIN: &str = "default";

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
    /// Where each variable's value came from (`--var server_version`, `REHEARSAL_VAR_...`, a
    /// file, `default`): a plan says so, and the saved plan keeps it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variable_origins: BTreeMap<String, String>,
    pub sources: BTreeMap<SourceAddress, SourceSpec>,
    pub resources: BTreeMap<Address, ResourceSpec>,
    /// `[checks.NAME]`, by name: what must be true once the environment exists.
    pub checks: Vec<crate::checks::Check>,
    /// What the user should know that is not an error (a `REHEARSAL_VAR_` for a variable the
    /// spec does not declare, ignored); the CLI prints each as a `note:`.
    #[serde(skip)]
    pub warnings: Vec<String>,
    /// `[snapshots]`: the safety snapshots of its databases (see `crate::engine::snapshot`).
    #[serde(default, skip_serializing_if = "Snapshots::is_default")]
    pub snapshots: Snapshots,
    /// `[window]`: when the environment may change (see `crate::rules::window`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<crate::rules::Window>,
    /// `[environment] team_table`: the DynamoDB table this environment's locks, journal and
    /// pause switch are kept in; `.rehearsal/` when none is named (see `crate::team`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_table: Option<String>,
    /// `[environment] approvals`: how many people other than the one applying must approve a
    /// plan before it changes this (protected) environment; 0 when none (see
    /// `crate::team::approval`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub approvals: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// `[snapshots]` of a spec, validated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshots {
    /// A protected environment's plan that changes anything snapshots each database first.
    #[serde(default)]
    pub before_apply: bool,
    /// Of the safety snapshots rehearsal took of a database, keep the newest this many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<u32>,
}

impl Snapshots {
    pub fn is_default(&self) -> bool {
        *self == Snapshots::default()
    }
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
        let mut digest = Sha256::new();
        digest.update(canonical);
        // Only when set: the digest of a spec without `[snapshots]` is what it always was, so
        // plans saved before it existed still load.
        if !self.snapshots.is_default() {
            digest.update(serde_json::to_vec(&self.snapshots).expect("serializes"));
        }
        if let Some(window) = &self.window {
            digest.update(serde_json::to_vec(window).expect("serializes"));
        }
        hex::encode(digest.finalize())
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
    /// The directory a variable's `from_file` is relative to: the project root, where
    /// rehearsal runs. `None` reads no file (the fuzzer): such a variable has no value.
    pub project_root: Option<PathBuf>,
    /// The command acts on what the environment owns (`destroy`, `status`), not on a release:
    /// a `from_file` that cannot be read leaves its variable [`UNREAD`] rather than refusing
    /// the spec, whose lifecycle (protected or not) still counts.
    pub release_not_needed: bool,
}

/// The value of a variable whose file was not read, where no release needs it.
pub const UNREAD: &str = "unread";

impl VariableInputs {
    /// As [`VariableInputs::from_process`], for a command that acts on what an environment owns
    /// rather than on a release (see `release_not_needed`).
    pub fn for_what_it_owns(cli: Vec<(String, String)>) -> Result<Self, SpecError> {
        Ok(VariableInputs {
            release_not_needed: true,
            ..VariableInputs::from_process(cli)?
        })
    }

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
        Ok(VariableInputs {
            cli,
            env,
            project_root: Some(PathBuf::new()),
            release_not_needed: false,
        })
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
