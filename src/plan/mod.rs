//! Plans are data: what to do, why, and a fingerprint of every live object the plan was made
//! from, so `apply` can refuse a plan the world has moved away from.

pub mod diff;
pub mod egress;
pub mod observe;
pub mod render;
pub mod revisions;

pub mod integrity;
pub mod targeting;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::checks::Check;
use crate::kinds;
pub use crate::kinds::final_snapshot::FinalSnapshot;
use crate::model::{
    Address, Attributes, EnvId, LiveResource, ReplaceOrder, ResourceKind, SourceQuery,
};
use crate::provider::ProviderError;
use crate::spec::{Spec, diagnostic};
pub use observe::Observed;

/// Bumped when the file format changes incompatibly. A plan of another format is refused: a
/// plan is applied exactly as it was decided, never re-interpreted.
pub const FORMAT_VERSION: u32 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Create,
    Update,
    Replace,
    Delete,
}

impl ActionKind {
    pub fn symbol(self) -> &'static str {
        match self {
            ActionKind::Create => "+",
            ActionKind::Update => "~",
            ActionKind::Replace => "-/+",
            ActionKind::Delete => "-",
        }
    }
}

/// One attribute that will change. `after: None` means "known after apply".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeChange {
    pub name: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub forces_replacement: bool,
    /// For a document (a task definition's containers): each field that differs, in the
    /// normal form both sides were compared in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

/// One field of a document that differs: `containers["server"].image`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Below the attribute, outermost first.
    pub path: Vec<PathStep>,
    /// `None`: not set on that side.
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// The new value waits for a resource the apply creates.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub known_after_apply: bool,
}

/// A step into a document: a field, or an element (of a list of named items, or a table of
/// names such as `environment`) by its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathStep {
    Field(String),
    Named(String),
}

/// Why an action is in the plan, decided when the plan is made; [`render`] turns it into the
/// one-line "because ..." sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum Reason {
    /// Create: nothing stands for the address.
    DoesNotExist,
    /// Create: what stood for it is being deleted by AWS.
    PreviousGoingAway { id: String, status: String },
    /// Create: the address has only snapshots kept from earlier releases, which stay.
    KeptBeside { kept: Vec<String> },
    /// Update or replace: this attribute decided it (it is in `changes`).
    Changed { attribute: String },
    /// Replace: the live object is in a state it never recovers from.
    CannotRecover { status: String },
    /// Create: a new revision of an immutable resource (a task definition), registered beside
    /// `previous`, which stays among the `kept` newest (`keep_revisions`).
    NewRevision {
        attribute: String,
        previous: String,
        kept: u32,
    },
    /// Delete: a revision beyond the `kept` newest, which no service runs.
    OlderThanKept { kept: u32 },
    /// Update: `rehearsal rollback` takes a service back from one revision to an earlier one.
    RolledBack { from: String, to: String },
    /// Delete: the spec no longer declares the address.
    NotInSpec,
    /// Delete: a second object carries the address (an interrupted apply's); `kept` stays.
    Duplicate { kept: String },
    /// Delete: what AWS made along with `maker` (a volume of an instance) outlived it.
    LeftBehind { maker: Address },
    /// Delete: `rehearsal destroy` removes everything the environment owns.
    Destroyed,
    /// Create: a safety snapshot of the database `of` (named in the spec as `named_as`), asked
    /// for `asked` (`rehearsal snapshot --reason`, `before apply`, or `manual`).
    SafetySnapshot {
        of: String,
        named_as: String,
        asked: String,
    },
    /// Replace: `rehearsal refresh` restores the database from the newest snapshot of `from`,
    /// `snapshot` when the refresh takes it first (none: `--latest`).
    Refreshed {
        from: String,
        snapshot: Option<String>,
    },
    /// Delete: `[snapshots] keep` keeps only the newest `keep` safety snapshots of `of`.
    Pruned { of: String, keep: u32 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedAction {
    pub address: Address,
    pub action: ActionKind,
    pub reason: Reason,
    /// Replace: whether the new object is made before the old one goes, or after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace_order: Option<ReplaceOrder>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<AttributeChange>,
    /// Create, update, replace: the attributes to reach. References to resources that do not
    /// exist yet stay as `${kind.name.attr}` and are resolved while applying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired: Option<Attributes>,
    /// Update, replace, delete: the live object acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveResource>,
    /// Resources this one needs first (from the spec).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<Address>,
    pub timeout_secs: u64,
    /// A clone: what it takes from production that reaches production, each with what the
    /// spec decided (see `kinds::isolation`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inherited: Vec<kinds::isolation::Inherited>,
    /// Delete, replace: the copy the delete takes first (a database's final snapshot), as
    /// decided when the plan was made (see `kinds::final_snapshot`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_snapshot: Option<FinalSnapshot>,
    /// Create: a safety snapshot of a database (see `crate::engine::snapshot`), with the marker tags
    /// its create writes. It runs before every other step of the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_snapshot: Option<crate::engine::snapshot::SafetySnapshot>,
}

impl PlannedAction {
    /// `rds_instance.db (prerelease-db)` when there is a live object, else the address.
    pub fn label(&self) -> String {
        match &self.live {
            Some(live) => format!("{} ({})", self.address, live.id),
            None => self.address.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub tool_version: String,
    pub created_at: String,
    pub env: EnvId,
    pub protected: bool,
    /// Ephemeral environments: how long created resources live (their expiry tag).
    pub ttl_secs: Option<u64>,
    pub spec_path: PathBuf,
    pub spec_digest: String,
    /// The variables the spec was planned with, so `apply` can re-plan the same spec.
    pub variables: BTreeMap<String, String>,
    /// The source look-ups, so `apply` can check that production did not move.
    pub sources: BTreeMap<String, SourceQuery>,
    pub actions: Vec<PlannedAction>,
    /// Teardown order between kinds, as decided when the plan was made: a delete of a kind waits
    /// for the deletes of the kinds listed for it.
    pub teardown: BTreeMap<ResourceKind, BTreeSet<ResourceKind>>,
    /// The spec's checks, run once the actions are done (format 3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// The validated spec the plan was made from (format 4), so that applying it never reads
    /// `environments/` again: what runs after the actions (checks, the "already applied" test
    /// of a plan whose world moved) is judged against the spec that was reviewed, even once
    /// the file was edited or removed.
    pub spec: Option<Spec>,
    /// `Some` for a destroy plan (`rehearsal destroy --out`): its actions delete everything the
    /// environment owns, carried out in passes and proven by a final listing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destroy: Option<Destroy>,
    /// `Some` for a rollback plan (`rehearsal rollback`): its one action takes a service back
    /// to an earlier revision; this is what it undoes and what it leaves as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<crate::engine::rollback::Rollback>,
    /// `Some` for a refresh plan (`rehearsal refresh`): a database replaced by a restore of
    /// production's newest snapshot; what the plan says in words about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<crate::engine::refresh::Refresh>,
    /// `Some` for a partial plan (`--target` / `--exclude`): what it considered and why; its
    /// actions touch nothing else (see [`targeting`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targeting: Option<targeting::Targeting>,
    /// The deletes and replaces of a protected environment someone consented to with
    /// `--allow-destroy` when the plan was made (see `crate::rules::consent`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consent: Vec<Address>,
    /// `Some` for a promote plan (`rehearsal promote`): its actions give the environment
    /// another's images; this is where they come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promote: Option<crate::engine::promote::Promote>,
    /// `resource <address> <id>` or `source <address>` → digest of what was observed.
    pub fingerprints: BTreeMap<String, String>,
    /// A digest of each part of the plan, so that an edited file is refused and the edit named
    /// (see [`integrity`]). Not part of any digest itself.
    #[serde(default)]
    pub integrity: BTreeMap<String, String>,
}

/// What a destroy plan decided besides its deletes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Destroy {
    /// What the environment owns and keeps (snapshots marked `rehearsal:keep`).
    pub kept: Vec<LiveResource>,
}

#[derive(Debug, Error)]
pub enum PlanError {
    #[error("cannot look up {source_address} ({query}, declared at {location}): {error}")]
    Source {
        source_address: String,
        query: String,
        location: String,
        error: ProviderError,
    },
    #[error("cannot observe environment {env}: {error}")]
    Observe { env: String, error: ProviderError },
    #[error("cannot read plan {}: {message}", path.display())]
    Read { path: PathBuf, message: String },
    #[error(
        "plan {} is in format {found}, and this rehearsal ({}) applies format {FORMAT_VERSION} only",
        path.display(),
        env!("CARGO_PKG_VERSION")
    )]
    Format { path: PathBuf, found: String },
    #[error("plan {} was changed after it was made: {}", path.display(), edits.join("; "))]
    Edited { path: PathBuf, edits: Vec<String> },
    /// A name the plan resolved (from a source, say) that AWS would refuse.
    #[error("{location}: {address}: {message}")]
    Name {
        address: String,
        location: String,
        message: String,
        hint: String,
    },
    /// A clone would take from production, unsaid, what reaches production.
    #[error("{location}: {address}: {message}")]
    Inherits {
        address: String,
        location: String,
        message: String,
        hint: String,
    },
    /// A Fargate service whose tasks could not reach their image's registry (see `egress`).
    #[error("{location}: {address}: {message}")]
    Egress {
        address: String,
        location: String,
        message: String,
        hint: String,
    },
    #[error(transparent)]
    Target(#[from] targeting::TargetError),
    #[error("cannot write plan {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl PlanError {
    pub fn hint(&self) -> Option<String> {
        match self {
            PlanError::Source {
                error: ProviderError::NotFound { .. },
                ..
            } => Some(
                "check the identifier, name or tags in the spec, and that AWS_REGION / the spec's \
                 region is where production lives"
                    .into(),
            ),
            PlanError::Source { error, .. } | PlanError::Observe { error, .. } => error.hint(),
            PlanError::Read { .. } => Some("make a new one with `rehearsal plan ENV`".into()),
            PlanError::Format { .. } => Some(
                "a plan is applied exactly as it was decided: make a new one with \
                 `rehearsal plan ENV`, review it, and apply that"
                    .into(),
            ),
            PlanError::Edited { .. } => Some(
                "plans are applied as they were made and reviewed: make a new one with \
                 `rehearsal plan ENV` rather than editing the file"
                    .into(),
            ),
            PlanError::Name { hint, .. }
            | PlanError::Inherits { hint, .. }
            | PlanError::Egress { hint, .. } => Some(hint.clone()),
            PlanError::Target(e) => e.hint(),
            PlanError::Write { .. } => Some(
                "check that the plan's directory is writable and its disk has space, or save \
                 the plan elsewhere with --out"
                    .into(),
            ),
        }
    }
}

impl Plan {
    /// Diff `spec` against what was observed; of that, only what `request` targets (all of it
    /// when it targets nothing).
    #[allow(clippy::result_large_err)]
    pub fn new(
        spec: &Spec,
        observed: &Observed,
        created_at: String,
        request: &targeting::Request,
    ) -> Result<Plan, PlanError> {
        let now = time::OffsetDateTime::parse(
            &created_at,
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
        let mut actions = diff::diff(spec, observed)?;
        let targeting = if request.is_empty() {
            None
        } else {
            // Every address the environment has: declared, owned, or acted on.
            let universe: BTreeSet<Address> = spec
                .resources
                .keys()
                .chain(observed.resources.iter().map(|r| &r.address))
                .chain(actions.iter().map(|a| &a.address))
                .cloned()
                .collect();
            let needs = targeting::needs(Some(spec), &universe);
            let chosen = targeting::select(
                request,
                &spec.env.name,
                &universe,
                &needs,
                targeting::Direction::Plan,
            )?;
            actions.retain(|a| chosen.considers(&a.address));
            Some(chosen)
        };
        // `[snapshots] before_apply`: a plan that changes anything snapshots each database
        // first (every other step waits for it); one that changes nothing takes none.
        if spec.snapshots.before_apply && !actions.is_empty() {
            let mut first = crate::engine::snapshot::actions(
                spec,
                observed,
                Some(crate::engine::snapshot::BEFORE_APPLY),
                now,
            )
            .map_err(|e| PlanError::Name {
                address: "[snapshots]".into(),
                location: spec.path.display().to_string(),
                hint: e.hint().unwrap_or_default(),
                message: e.to_string(),
            })?;
            first.append(&mut actions);
            actions = first;
        }
        let mut plan = Plan {
            actions,
            targeting,
            fingerprints: observed.fingerprints(),
            ..Plan::of(spec, created_at)
        };
        // What a delete leaves behind is decided now, by the choice recorded on the resource
        // when it was created, and applied as the plan says.
        for action in &mut plan.actions {
            if matches!(action.action, ActionKind::Delete | ActionKind::Replace)
                && let Some(live) = &action.live
            {
                action.final_snapshot = kinds::final_snapshot::decide(live, None, now);
            }
        }
        plan.integrity = integrity::record(&plan);
        Ok(plan)
    }

    /// A destroy plan: delete `doomed` (in teardown order), keep `kept`. `spec`, when the
    /// environment's spec was readable, travels with it.
    pub fn destroy(
        env: &EnvId,
        spec: Option<&Spec>,
        actions: Vec<PlannedAction>,
        kept: Vec<LiveResource>,
        targeting: Option<targeting::Targeting>,
        fingerprints: BTreeMap<String, String>,
        created_at: String,
    ) -> Plan {
        let base = match spec {
            Some(spec) => Plan::of(spec, created_at),
            None => Plan::of_nothing(env, created_at),
        };
        let mut plan = Plan {
            // Destroy is refused for a protected environment before a plan is made.
            protected: false,
            ttl_secs: None,
            // A teardown reads no source: production is not looked at, let alone touched.
            sources: BTreeMap::new(),
            actions,
            checks: vec![],
            destroy: Some(Destroy { kept }),
            targeting,
            fingerprints,
            ..base
        };
        plan.integrity = integrity::record(&plan);
        plan
    }

    /// A rollback plan: `action` (an update of a service back to an earlier revision), with
    /// what it decided. It reads no source: `fingerprints` are of the environment alone.
    pub fn rollback(
        spec: &Spec,
        action: PlannedAction,
        rollback: crate::engine::rollback::Rollback,
        fingerprints: BTreeMap<String, String>,
        created_at: String,
    ) -> Plan {
        let mut plan = Plan {
            sources: BTreeMap::new(),
            actions: vec![action],
            rollback: Some(rollback),
            fingerprints,
            ..Plan::of(spec, created_at)
        };
        plan.integrity = integrity::record(&plan);
        plan
    }

    /// A promote plan: `spec` is the environment's spec with the promoted images, diffed
    /// against what was observed like any plan, with where the images come from.
    #[allow(clippy::result_large_err)]
    pub fn promote(
        spec: &Spec,
        observed: &Observed,
        promote: crate::engine::promote::Promote,
        created_at: String,
    ) -> Result<Plan, PlanError> {
        let mut plan = Plan::new(spec, observed, created_at, &targeting::Request::default())?;
        plan.promote = Some(promote);
        plan.integrity = integrity::record(&plan);
        Ok(plan)
    }

    /// A snapshot plan (`rehearsal snapshot ENV`): the safety snapshots of `actions` (see
    /// `crate::engine::snapshot`), made from `spec` and what was observed.
    pub fn snapshot(
        spec: &Spec,
        observed: &Observed,
        actions: Vec<PlannedAction>,
        created_at: String,
    ) -> Plan {
        let mut plan = Plan {
            // A safety snapshot is kept, not reaped with its environment.
            ttl_secs: None,
            actions,
            checks: vec![],
            fingerprints: observed.fingerprints(),
            ..Plan::of(spec, created_at)
        };
        plan.integrity = integrity::record(&plan);
        plan
    }

    /// A refresh plan (`rehearsal refresh`, see `crate::engine::refresh`): a snapshot of
    /// production's database (unless `--latest`), then the replace of the environment's copy.
    pub fn refresh(
        spec: &Spec,
        observed: &Observed,
        actions: Vec<PlannedAction>,
        refresh: crate::engine::refresh::Refresh,
        created_at: String,
    ) -> Plan {
        let mut plan = Plan {
            actions,
            refresh: Some(refresh),
            fingerprints: observed.fingerprints(),
            ..Plan::of(spec, created_at)
        };
        plan.integrity = integrity::record(&plan);
        plan
    }

    /// What every plan of `spec` carries: where it comes from and what it was made of, with no
    /// action yet and no seal (each kind of plan adds its own, then seals it).
    fn of(spec: &Spec, created_at: String) -> Plan {
        Plan {
            protected: spec.is_protected(),
            ttl_secs: spec.ttl.map(|d| d.as_secs()),
            spec_path: spec.path.clone(),
            spec_digest: spec.digest(),
            variables: spec.variables.clone(),
            sources: spec
                .sources
                .iter()
                .map(|(a, s)| (a.to_string(), s.query.clone()))
                .collect(),
            checks: spec.checks.clone(),
            spec: Some(spec.clone()),
            ..Plan::of_nothing(&spec.env, created_at)
        }
    }

    /// A plan of `env` made without a spec (a teardown whose spec file is gone).
    fn of_nothing(env: &EnvId, created_at: String) -> Plan {
        Plan {
            format_version: FORMAT_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            created_at,
            env: env.clone(),
            protected: false,
            ttl_secs: None,
            spec_path: PathBuf::new(),
            spec_digest: String::new(),
            variables: BTreeMap::new(),
            sources: BTreeMap::new(),
            actions: vec![],
            teardown: kinds::teardown_prerequisites(),
            checks: vec![],
            spec: None,
            destroy: None,
            rollback: None,
            refresh: None,
            targeting: None,
            consent: vec![],
            promote: None,
            fingerprints: BTreeMap::new(),
            integrity: BTreeMap::new(),
        }
    }

    /// `Some((considered, total))` for a partial plan (`--target` / `--exclude`).
    pub fn partial(&self) -> Option<(usize, usize)> {
        self.targeting
            .as_ref()
            .map(|t| (t.considered.len(), t.total))
    }

    /// This plan with the consent given to its deletes and replaces, sealed again.
    pub fn with_consent(mut self, consent: Vec<Address>) -> Plan {
        self.consent = consent;
        self.integrity = integrity::record(&self);
        self
    }

    pub fn is_destroy(&self) -> bool {
        self.destroy.is_some()
    }

    /// A snapshot plan (`rehearsal snapshot`): safety snapshots, and the prunes `keep_snapshots`
    /// asks for, nothing else.
    pub fn is_snapshot(&self) -> bool {
        self.has_changes()
            && self
                .actions
                .iter()
                .all(|a| a.safety_snapshot.is_some() || matches!(a.reason, Reason::Pruned { .. }))
    }

    pub fn has_changes(&self) -> bool {
        !self.actions.is_empty()
    }

    /// Stable id of this plan's content; idempotency tokens derive from it.
    pub fn id(&self) -> String {
        let canonical = serde_json::to_vec(&(
            &self.env,
            &self.spec_digest,
            &self.actions,
            &self.fingerprints,
        ))
        .expect("plans serialize");
        hex::encode(&Sha256::digest(canonical)[..12])
    }

    /// The seed of this plan's idempotency tokens: the same for every apply of this plan file,
    /// so a retried apply cannot create anything twice, and different for every plan made, even
    /// of an unchanged spec after a destroy. EC2 remembers a RunInstances ClientToken for at least
    /// 24 hours after the instance terminated: the same token with the same parameters hands back
    /// the terminated instance, with other ones it is refused (IdempotentParameterMismatch)
    /// (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html).
    pub fn token_seed(&self) -> String {
        let seed = format!("{}/{}", self.id(), self.created_at);
        hex::encode(&Sha256::digest(seed)[..12])
    }

    /// What this plan declares by name (see [`crate::model::Declared`]): what it creates or
    /// acts on, as it will be and as it was.
    pub fn declared(&self) -> crate::model::Declared {
        kinds::declared(self.actions.iter().flat_map(|a| {
            let live = a.live.as_ref().map(|l| &l.attributes);
            a.desired
                .iter()
                .chain(live)
                .map(move |attributes| (a.address.kind, attributes))
        }))
    }

    pub fn count(&self, kind: ActionKind) -> usize {
        self.actions.iter().filter(|a| a.action == kind).count()
    }

    pub fn default_path(env: &str) -> PathBuf {
        PathBuf::from("plans").join(format!("{env}.plan.json"))
    }

    /// Write atomically: a temporary file in the same directory, then a rename. A crash never
    /// leaves half a plan. The temporary file is named after the plan and the process writing
    /// it (`.prerelease.plan.json.<pid>.tmp`); those a killed `plan` left are removed first.
    // PlanError carries the provider's error for the user; it is built once per command.
    #[allow(clippy::result_large_err)]
    pub fn save(&self, path: &Path) -> Result<(), PlanError> {
        let err = |source| PlanError::Write {
            path: path.to_path_buf(),
            source,
        };
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(err)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "plan".into());
        remove_stale_temporaries(dir, &name);
        let mut tmp = tempfile::Builder::new()
            .prefix(&temporary_prefix(&name, std::process::id()))
            .suffix(TEMPORARY_SUFFIX)
            .rand_bytes(0)
            .tempfile_in(dir)
            .map_err(err)?;
        // Written to the file itself: the temporary file's own errors name its path, which
        // is no business of the user's.
        use std::io::Write;
        let mut out = std::io::BufWriter::new(tmp.as_file_mut());
        serde_json::to_writer_pretty(&mut out, self).map_err(|e| err(e.into()))?;
        out.write_all(b"\n").map_err(err)?;
        out.flush().map_err(err)?;
        drop(out);
        tmp.as_file().sync_all().map_err(err)?;
        tmp.persist(path).map_err(|e| err(e.error))?;
        Ok(())
    }

    #[allow(clippy::result_large_err)]
    pub fn load(path: &Path) -> Result<Plan, PlanError> {
        // serde quotes what it could not read: a damaged plan can hold megabytes in one value.
        let read_err = |message: String| PlanError::Read {
            path: path.to_path_buf(),
            message: diagnostic::clip(&message, diagnostic::MESSAGE_WIDTH),
        };
        let text = std::fs::read_to_string(path).map_err(|e| read_err(e.to_string()))?;
        let probe: Value =
            serde_json::from_str(&text).map_err(|e| read_err(format!("not a plan file: {e}")))?;
        let version = probe.get("format_version").and_then(Value::as_u64);
        if version != Some(u64::from(FORMAT_VERSION)) {
            return Err(PlanError::Format {
                path: path.to_path_buf(),
                found: version
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "unknown".into()),
            });
        }
        let plan: Plan =
            serde_json::from_value(probe).map_err(|e| read_err(format!("not a plan file: {e}")))?;
        let edits = integrity::check(&plan);
        if !edits.is_empty() {
            return Err(PlanError::Edited {
                path: path.to_path_buf(),
                edits,
            });
        }
        plan.check_complete().map_err(read_err)?;
        Ok(plan)
    }

    /// Every action carries what the executor needs for it: attributes to reach for creates
    /// and updates, the live object for updates and deletes. A plan file edited by hand may not.
    fn check_complete(&self) -> Result<(), String> {
        match &self.spec {
            // A destroy plan is made from tags alone when the spec is gone.
            None if self.is_destroy() => {}
            None => return Err("it holds no spec".into()),
            Some(spec) if spec.digest() != self.spec_digest => {
                return Err("its spec is not the one its digest names".into());
            }
            Some(_) => {}
        }
        for a in &self.actions {
            let needs_desired = a.action != ActionKind::Delete;
            let needs_live = a.action != ActionKind::Create;
            if needs_desired && a.desired.is_none() {
                return Err(format!(
                    "{} {} has no `desired` attributes",
                    a.action.symbol(),
                    a.address
                ));
            }
            if needs_live && a.live.is_none() {
                return Err(format!(
                    "{} {} has no `live` object",
                    a.action.symbol(),
                    a.address
                ));
            }
            if self.is_destroy() && a.action != ActionKind::Delete {
                return Err(format!(
                    "{} {} is not a delete, in a destroy plan",
                    a.action.symbol(),
                    a.address
                ));
            }
            if a.action == ActionKind::Replace && a.replace_order.is_none() {
                return Err(format!("-/+ {} has no `replace_order`", a.address));
            }
        }
        // A partial plan acts on nothing it did not consider.
        if let Some(targeting) = &self.targeting
            && let Some(a) = self
                .actions
                .iter()
                .find(|a| a.safety_snapshot.is_none() && !targeting.considers(&a.address))
        {
            return Err(format!(
                "{} {} is outside what it was targeted to",
                a.action.symbol(),
                a.address
            ));
        }
        // One action per object: a duplicated one would run half the plan before failing.
        let mut seen = BTreeSet::new();
        for a in &self.actions {
            let target = (a.address.clone(), a.live.as_ref().map(|l| l.id.clone()));
            if !seen.insert(target) {
                return Err(format!("{} {} appears twice", a.action.symbol(), a.label()));
            }
        }
        Ok(())
    }
}

const TEMPORARY_SUFFIX: &str = ".tmp";

/// How long a temporary plan file may stay when whether its process still runs cannot be told.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// `.prerelease.plan.json.4242`, before [`TEMPORARY_SUFFIX`].
fn temporary_prefix(plan_file: &str, pid: u32) -> String {
    format!(".{plan_file}.{pid}")
}

/// Remove the temporary files of this plan that no running process is writing: their process
/// is gone (Linux: no `/proc/<pid>`), or they are older than any write takes. One named after
/// this process was left by an earlier one with the same id: it goes too.
fn remove_stale_temporaries(dir: &Path, plan_file: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let own = std::process::id();
    let proc_fs = Path::new("/proc/self").exists();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(&format!(".{plan_file}.")))
            .and_then(|n| n.strip_suffix(TEMPORARY_SUFFIX))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let gone = proc_fs && !Path::new(&format!("/proc/{pid}")).exists();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_AFTER);
        if pid == own || gone || old {
            let removed = std::fs::remove_file(entry.path());
            tracing::debug!(file = %entry.path().display(), ?removed, "stale temporary plan");
        }
    }
}

/// What changed in the live state since a plan was made.
pub fn staleness(plan: &Plan, now: &BTreeMap<String, String>) -> Vec<String> {
    let mut changes = vec![];
    for (key, digest) in &plan.fingerprints {
        match now.get(key) {
            None => changes.push(format!("{key} is gone")),
            Some(d) if d != digest => changes.push(format!("{key} changed")),
            _ => {}
        }
    }
    for key in now.keys().filter(|k| !plan.fingerprints.contains_key(*k)) {
        changes.push(format!("{key} appeared"));
    }
    changes
}
