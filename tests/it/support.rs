//! What the engine and teardown stories share: the shipped specs, edited copies of them, and
//! the plan → re-check → graph → execute sequence that `rehearsal apply` runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rehearsal::apply::{self, ApplyOptions, Reporter, Summary};
use rehearsal::engine::graph::ExecutionGraph;
use rehearsal::engine::workflow;
use rehearsal::model::{Address, EnvId};
use rehearsal::plan::Plan;
use rehearsal::provider::Provider;
use rehearsal::spec::{self, Spec, VariableInputs};
use tempfile::TempDir;

pub const REGION: &str = "eu-west-1";

/// The project of the shipped specs.
pub const PROJECT: &str = "openchs";

/// An environment of the shipped specs' project.
pub fn env_id(name: &str) -> EnvId {
    EnvId {
        project: PROJECT.into(),
        name: name.into(),
        region: REGION.into(),
    }
}

/// The tags rehearsal writes on a resource it creates at `address` for `env`, whose anchor (its
/// identifier, name, family or launch token; see `rehearsal::engine::ownership`) is `anchor`.
pub fn owned_tags(env: &EnvId, address: &str, anchor: &str) -> BTreeMap<String, String> {
    let address: Address = address.parse().expect("an address");
    rehearsal::engine::ownership::creation_tags(env, &address, anchor, false, None)
}

pub fn environments_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("environments")
}

/// The text of a shipped spec, `environments/NAME.toml`.
pub fn shipped_text(name: &str) -> String {
    std::fs::read_to_string(environments_dir().join(format!("{name}.toml"))).expect("shipped spec")
}

/// A shipped spec, with its defaults.
pub fn shipped(name: &str) -> Spec {
    load(&environments_dir().join(format!("{name}.toml")))
}

pub fn load(path: &Path) -> Spec {
    spec::load(path, &release_inputs(vec![])).unwrap_or_else(|e| panic!("{}", report(e)))
}

/// Variables as a project gives them: `--var`s, and the release version in the project's
/// `server/version/minor_version` (3.1.0, in `tests/it/release/`), which the shipped specs
/// read; no default stands in for it.
pub fn release_inputs(cli: Vec<(String, String)>) -> VariableInputs {
    VariableInputs {
        cli,
        project_root: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/release")),
        ..VariableInputs::default()
    }
}

/// An error as the CLI shows it on stderr (without colour): `error: ...`, a spec diagnostic's
/// snippet, and `hint:` lines.
pub fn report(error: impl Into<rehearsal::Error>) -> String {
    rehearsal::cli::render(
        &error.into(),
        rehearsal::cli::Placement::Command,
        rehearsal::plan::render::Style { color: false },
    )
}

/// A spec file the test writes: `<tmp>/NAME.toml`, as a person editing their copy would.
pub struct SpecFile {
    /// Keeps the directory alive as long as the spec is used.
    _dir: TempDir,
    pub path: PathBuf,
}

impl SpecFile {
    pub fn write(name: &str, text: &str) -> SpecFile {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, text).expect("write spec");
        SpecFile { _dir: dir, path }
    }

    /// A spec file as raw bytes: what an editor saved in another encoding.
    pub fn write_bytes(name: &str, bytes: &[u8]) -> SpecFile {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, bytes).expect("write spec");
        SpecFile { _dir: dir, path }
    }

    pub fn load(&self) -> Spec {
        load(&self.path)
    }

    pub fn load_with(&self, vars: &[(&str, &str)]) -> Spec {
        let inputs = release_inputs(
            vars.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        spec::load(&self.path, &inputs).unwrap_or_else(|e| panic!("{}", report(e)))
    }
}

/// `text` with `from` replaced by `to`; `from` must be there (an edit that silently does
/// nothing would make a test pass for the wrong reason).
#[track_caller]
pub fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the spec has no `{from}` to edit");
    text.replacen(from, to, 1)
}

/// The pre-release spec after an edit, saved as `<tmp>/prerelease.toml`.
#[track_caller]
pub fn prerelease_edited(from: &str, to: &str) -> SpecFile {
    SpecFile::write("prerelease", &edit(&shipped_text("prerelease"), from, to))
}

pub fn addr(s: &str) -> Address {
    s.parse().expect("an address")
}

pub async fn plan_for(provider: &dyn Provider, spec: &Spec) -> Plan {
    workflow::make_plan(provider, spec)
        .await
        .unwrap_or_else(|e| panic!("plan failed: {e}"))
}

/// `rehearsal apply PLAN`: re-check the plan against live state, order it, run it.
pub async fn apply_plan(
    provider: Arc<dyn Provider>,
    plan: Plan,
    spec: &Spec,
    reporter: Arc<dyn Reporter>,
    options: ApplyOptions,
) -> Summary {
    let live = workflow::recheck(provider.as_ref(), &plan, Some(spec))
        .await
        .unwrap_or_else(|e| panic!("recheck refused the plan: {e}"));
    let graph = ExecutionGraph::build(&plan).expect("the plan orders");
    apply::execute(plan, &graph, live, provider, reporter, options).await
}

/// Plan and apply a spec; every step must succeed.
pub async fn converge(provider: Arc<dyn Provider>, spec: &Spec) -> Summary {
    let plan = plan_for(provider.as_ref(), spec).await;
    let summary = apply_plan(
        provider,
        plan,
        spec,
        Arc::new(apply::events::Silent),
        ApplyOptions::default(),
    )
    .await;
    assert!(summary.succeeded(), "apply failed: {summary:#?}");
    summary
}

/// Labels of the graph's waves, for asserting order.
pub fn wave_labels(graph: &ExecutionGraph) -> Vec<Vec<String>> {
    graph
        .waves()
        .iter()
        .map(|w| w.iter().map(|n| graph.graph[*n].label()).collect())
        .collect()
}
