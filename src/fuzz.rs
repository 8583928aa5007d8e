//! The fuzz target: what rehearsal does with input from outside, run on arbitrary bytes. No
//! input may make it panic, and every error it ends with must read as the user would want it.
//!
//! [`inputs`] is called by both fuzzers: the coverage-guided one (`fuzz/`, `make fuzz`, on
//! nightly Rust) and the seeded mutational run in `fuzz/seeded.rs` that `make test` includes.
//! A failed check here is a panic like any other, and both report the input that caused it.
//!
//! The bytes are read three ways:
//! - as a spec: `spec::parse_bytes`, as `rehearsal validate` does;
//! - when that is a valid spec, planned against the fake production (`FakeProvider`), once
//!   fresh and once with the shipped pre-release environment already applied, so that updates,
//!   replacements and deletes are diffed too; the plan is rendered, ordered, saved and loaded
//!   back unchanged;
//! - as a plan file: `Plan::load` from a file, as `rehearsal apply PLAN` does; and, when the
//!   bytes are a plan whatever its seal, sealed again and loaded (someone can edit a plan and
//!   recompute its digests), then rendered and ordered as `show` and `apply` would.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::Error;
use crate::apply::{self, ApplyOptions};
use crate::cli::{Placement, render};
use crate::engine::graph::ExecutionGraph;
use crate::engine::workflow;
use crate::plan::render::Style;
use crate::plan::{Plan, integrity};
use crate::provider::fake::{FakeCloud, FakeProvider};
use crate::spec::{self, SpecError, VariableInputs};

/// The longest line an error may show: long values are cut, never printed whole. (The
/// renderer cuts each line at [`crate::cli::MAX_LINE`]; `error: ` or `hint: ` comes before.)
pub const MAX_ERROR_LINE: usize = crate::cli::MAX_LINE + 16;

/// Run everything rehearsal does with `data`.
pub fn inputs(data: &[u8]) {
    if let Some(spec) = spec_from(data) {
        plan_against_the_fake_cloud(&spec);
    }
    plan_file_from(data);
}

/// `rehearsal validate` on `data`. Specs are read from a path without `.toml`, so that the
/// environment's name need not match it and mutations of every shipped spec get further.
pub fn spec_from(data: &[u8]) -> Option<spec::Spec> {
    let path = Path::new("environments/fuzzed");
    match spec::parse_bytes(path, data, &VariableInputs::default()) {
        Ok(spec) => Some(spec),
        Err(error) => {
            if let SpecError::Invalid(d) = &error {
                assert!(d.hint.is_some(), "a located error without a hint: {d}");
            }
            check_error(Error::Spec(error));
            None
        }
    }
}

fn plan_against_the_fake_cloud(spec: &spec::Spec) {
    let region = spec.env.region.clone();
    let clouds = [
        FakeCloud::production(&region),
        with_prerelease_applied().clone(),
    ];
    block_on(async {
        for cloud in clouds {
            let provider = FakeProvider::with_cloud(cloud);
            match workflow::make_plan(&provider, spec).await {
                Ok(plan) => {
                    // A plan rehearsal made itself always orders: apply must not refuse it.
                    if let Err(e) = ExecutionGraph::build(&plan) {
                        panic!("a plan made from a valid spec does not order: {e}");
                    }
                    check_plan(&plan);
                }
                Err(error) => check_error(error.into()),
            }
        }
    });
}

/// What `plan`, `show`, `graph` and `apply` do with a plan before they touch the cloud.
fn check_plan(plan: &Plan) {
    let _ = crate::plan::render::human(plan, Style { color: false });
    let _ = crate::plan::render::json(plan);
    match ExecutionGraph::build(plan) {
        Ok(graph) => {
            let _ = graph.to_dot();
            let _ = graph.to_text();
            let _ = graph.waves();
        }
        Err(error) => check_error(error.into()),
    }
    // What `plan` and `apply` ask of it: consent for what it deletes, its spec's window.
    if let Err(error) = crate::rules::consent::check(plan, &[]) {
        check_error(error.into());
    }
    let window = plan.spec.as_ref().and_then(|s| s.window.as_ref());
    if let Err(error) =
        crate::rules::gate(&plan.env.name, window, jiff::Timestamp::UNIX_EPOCH, None)
    {
        check_error(error.into());
    }
    let path = scratch_file("planned.plan.json");
    plan.save(&path).expect("a plan saves");
    let loaded = Plan::load(&path).unwrap_or_else(|e| panic!("a saved plan loads back: {e}"));
    assert_eq!(&loaded, plan, "a saved plan loads back unchanged");
}

fn plan_file_from(data: &[u8]) {
    // Plans are JSON objects: anything else is refused at its first byte. Spare the file.
    if data.trim_ascii_start().first() != Some(&b'{') {
        return;
    }
    let path = scratch_file("input.plan.json");
    std::fs::write(&path, data).expect("the scratch directory is writable");
    match Plan::load(&path) {
        Ok(plan) => check_plan(&plan),
        Err(error) => check_error(error.into()),
    }
    // The same plan sealed again: past the seal, what the rest of rehearsal does with it.
    if let Ok(mut plan) = serde_json::from_slice::<Plan>(data) {
        plan.integrity = integrity::record(&plan);
        let resealed = scratch_file("resealed.plan.json");
        let text = serde_json::to_vec(&plan).expect("a plan serializes");
        std::fs::write(&resealed, text).expect("the scratch directory is writable");
        match Plan::load(&resealed) {
            Ok(plan) => check_plan(&plan),
            Err(error) => check_error(error.into()),
        }
    }
}

/// An error renders, and no line of it is longer than [`MAX_ERROR_LINE`] characters.
fn check_error(error: Error) {
    let shown = render(&error, Placement::Command, Style { color: false });
    for line in shown.lines() {
        assert!(
            line.chars().count() <= MAX_ERROR_LINE,
            "an error line of {} characters: {}…",
            line.chars().count(),
            line.chars().take(200).collect::<String>()
        );
    }
}

/// Plan files to start from, as `rehearsal plan` saves them: each shipped spec planned against
/// the fake production, and pre-release planned again with a new server version once applied
/// (updates and replacements).
pub fn seed_plans() -> Vec<Vec<u8>> {
    let shipped = [
        (
            "prerelease",
            include_str!("../environments/prerelease.toml"),
        ),
        (
            "production",
            include_str!("../environments/production.toml"),
        ),
        ("staging", include_str!("../environments/staging.toml")),
    ];
    let mut plans = vec![];
    for (name, text) in shipped {
        let path = PathBuf::from(format!("environments/{name}.toml"));
        let spec = spec::parse(&path, text, &release("3.1.0")).expect("shipped specs");
        let provider = FakeProvider::with_production(&spec.env.region);
        plans.push(block_on(workflow::make_plan(&provider, &spec)).expect("shipped specs plan"));
    }
    let newer = include_str!("../environments/prerelease.toml").replace("t3.medium", "t3.large");
    let spec = spec::parse(
        Path::new("environments/prerelease.toml"),
        &newer,
        &release("3.2.0"),
    )
    .expect("an edited pre-release spec");
    let provider = FakeProvider::with_cloud(with_prerelease_applied().clone());
    plans.push(block_on(workflow::make_plan(&provider, &spec)).expect("it plans"));
    plans
        .iter()
        .map(|plan| serde_json::to_vec_pretty(plan).expect("plans serialize"))
        .collect()
}

/// The shipped specs' release version, given as CI gives it to every spec it runs (the fuzzer
/// reads no file: the version file is the project's, not the fuzzer's).
fn release(version: &str) -> VariableInputs {
    VariableInputs {
        env: [("server_version".to_string(), version.to_string())].into(),
        ..VariableInputs::default()
    }
}

/// The fake production with the shipped pre-release spec applied: made once.
fn with_prerelease_applied() -> &'static FakeCloud {
    static CLOUD: OnceLock<FakeCloud> = OnceLock::new();
    CLOUD.get_or_init(|| {
        let text = include_str!("../environments/prerelease.toml");
        let spec = spec::parse(
            Path::new("environments/prerelease.toml"),
            text,
            &release("3.1.0"),
        )
        .expect("the shipped pre-release spec is valid");
        block_on(async {
            let provider = Arc::new(FakeProvider::with_production(&spec.env.region));
            let plan = workflow::make_plan(provider.as_ref(), &spec)
                .await
                .expect("pre-release plans");
            let live = workflow::recheck(provider.as_ref(), &plan, Some(&spec))
                .await
                .expect("a fresh plan is not stale");
            let graph = ExecutionGraph::build(&plan).expect("the plan orders");
            let summary = apply::execute(
                plan,
                &graph,
                live,
                provider.clone(),
                Arc::new(apply::events::Silent),
                ApplyOptions::default(),
            )
            .await;
            assert!(summary.succeeded(), "pre-release applies: {summary:#?}");
            provider.snapshot()
        })
    })
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a tokio runtime");
    static SCRATCH: RefCell<Option<tempfile::TempDir>> = const { RefCell::new(None) };
}

/// Run `future` on this thread's runtime: current-thread, its clock paused, so waits take no
/// time.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    RUNTIME.with(|rt| rt.block_on(future))
}

/// A file in this thread's scratch directory, made on first use and kept for the process.
fn scratch_file(name: &str) -> PathBuf {
    SCRATCH.with(|dir| {
        let mut dir = dir.borrow_mut();
        let dir = dir.get_or_insert_with(|| {
            // In memory where there is a tmpfs: saving a plan syncs it to disk.
            let shm = Path::new("/dev/shm");
            let base = if shm.is_dir() {
                shm.to_path_buf()
            } else {
                std::env::temp_dir()
            };
            tempfile::Builder::new()
                .prefix("rehearsal-fuzz")
                .tempdir_in(base)
                .expect("a scratch directory")
        });
        dir.path().join(name)
    })
}
