//! Engine benchmarks on the fake provider. Each prints counts and ratios measured in this one
//! run, so the numbers compare like with like on whatever machine runs them:
//!
//! 1. scale: validate, plan and build the apply graph for specs of 1,000 and 10,000 resources,
//!    a 10,000-long `depends_on` chain, and 1,600 deletes, with the time per resource at each
//!    size (a ratio near 1 means linear);
//! 2. the speed of AWS: apply and destroy of the demo environment and of one with 100 servers
//!    on the fake provider's paused clock, with AWS's durations from the lifecycle table
//!    (`src/provider/lifecycles.toml`), divided by the longest dependency chain of those
//!    durations (1.00 would notice every "ready" the moment AWS reaches it), with the polls
//!    spent per resource;
//! 3. the executor's parallelism: 40 independent creates of one minute each with
//!    --parallelism 1 and 10, in virtual time.
//!
//! `make bench` runs it (`cargo test --bench engine -- --bench`, the dev profile the tests
//! already built). Without `--bench` (as `cargo test --all-targets` runs it) it measures the
//! small sizes only, as a smoke test.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rehearsal::apply::events::Silent;
use rehearsal::apply::teardown::TeardownOptions;
use rehearsal::apply::{ApplyOptions, execute};
use rehearsal::engine::destroy::{self, DestroyOptions};
use rehearsal::engine::graph::ExecutionGraph;
use rehearsal::engine::workflow;
use rehearsal::kinds;
use rehearsal::model::ResourceKind;
use rehearsal::plan::{ActionKind, Plan};
use rehearsal::provider::Provider;
use rehearsal::provider::fake::{FakeOp, FakeProvider, Latency};
use rehearsal::spec::{self, Spec, VariableInputs};

const REGION: &str = "eu-west-1";

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    println!(
        "rehearsal engine benchmark ({})\n",
        if full {
            "full"
        } else {
            "smoke run: pass --bench for all sizes"
        }
    );
    scale(full);
    speed_of_aws(full);
    parallelism();
}

// --- 1. scale ------------------------------------------------------------------------------

/// `n` independent clusters, or a chain where each depends on the one before.
fn spec_text(n: usize, chained: bool) -> String {
    let mut text = String::from(
        "[environment]\nproject = \"bench\"\nname = \"bench\"\nregion = \"eu-west-1\"\nlifecycle = \"ephemeral\"\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "[resources.ecs_cluster.c{i}]\nname = \"bench-{i}\"\n"
        ));
        if chained && i > 0 {
            text.push_str(&format!("depends_on = [\"ecs_cluster.c{}\"]\n", i - 1));
        }
    }
    text
}

fn parse(text: &str) -> Spec {
    spec::parse(Path::new("bench.toml"), text, &VariableInputs::default())
        .expect("the bench spec is valid")
}

struct ScaleRow {
    what: String,
    n: usize,
    validate: Duration,
    plan: Duration,
    graph: Duration,
}

fn measure_scale(
    what: &str,
    n: usize,
    chained: bool,
    runtime: &tokio::runtime::Runtime,
) -> ScaleRow {
    let text = spec_text(n, chained);
    let started = Instant::now();
    let spec = parse(&text);
    let validate = started.elapsed();
    let provider = FakeProvider::new();
    let started = Instant::now();
    let plan = runtime
        .block_on(workflow::make_plan(&provider, &spec))
        .expect("plans");
    let plan_time = started.elapsed();
    assert_eq!(plan.actions.len(), n);
    let started = Instant::now();
    let graph = ExecutionGraph::build(&plan).expect("acyclic");
    let graph_time = started.elapsed();
    assert_eq!(graph.graph.node_count(), n);
    ScaleRow {
        what: what.into(),
        n,
        validate,
        plan: plan_time,
        graph: graph_time,
    }
}

/// Half clusters and half services, one service in each cluster, sharing a task definition:
/// deleting them orders every service before every cluster (the teardown order of kinds).
fn services_text(n: usize) -> String {
    let mut text = spec_text(0, false);
    if n > 0 {
        text.push_str(
            "[resources.ecs_task_definition.td]\nfamily = \"bench\"\n\
             [[resources.ecs_task_definition.td.containers]]\nname = \"app\"\nimage = \"app:1\"\nmemory = 256\n",
        );
    }
    for i in 0..n / 2 {
        text.push_str(&format!(
            "[resources.ecs_cluster.c{i}]\nname = \"bench-{i}\"\n\
             [resources.ecs_service.s{i}]\nname = \"s{i}\"\ncluster = \"${{ecs_cluster.c{i}.name}}\"\n\
             task_definition = \"${{ecs_task_definition.td.arn}}\"\n"
        ));
    }
    text
}

/// A plan that deletes `n` services and clusters: they exist, and the spec no longer declares
/// them.
fn measure_deletes(n: usize, runtime: &tokio::runtime::Runtime) -> ScaleRow {
    let provider = Arc::new(FakeProvider::new());
    let spec = parse(&services_text(n));
    let plan = runtime
        .block_on(workflow::make_plan(provider.as_ref(), &spec))
        .expect("plans");
    let graph = ExecutionGraph::build(&plan).expect("acyclic");
    let options = ApplyOptions::default();
    let summary = runtime.block_on(execute(
        plan,
        &graph,
        vec![],
        provider.clone(),
        Arc::new(Silent),
        options,
    ));
    assert!(summary.succeeded());
    let empty = parse(&spec_text(0, false));
    let started = Instant::now();
    let plan = runtime
        .block_on(workflow::make_plan(provider.as_ref(), &empty))
        .expect("plans");
    let plan_time = started.elapsed();
    let deletes = plan.count(ActionKind::Delete);
    assert_eq!(deletes, n + 1);
    let started = Instant::now();
    let graph = ExecutionGraph::build(&plan).expect("acyclic");
    let graph_time = started.elapsed();
    assert_eq!(graph.graph.node_count(), deletes);
    ScaleRow {
        what: "deletes".into(),
        n: deletes,
        validate: Duration::ZERO,
        plan: plan_time,
        graph: graph_time,
    }
}

/// Peak resident memory of this process so far, from /proc (Linux).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn scale(full: bool) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (small, large) = if full { (1_000, 10_000) } else { (100, 1_000) };
    let first = measure_scale("independent", small, false, &runtime);
    let peak_after_small = peak_rss_mb();
    let rows = [
        first,
        measure_scale("independent", large, false, &runtime),
        measure_scale("depends_on chain", small, true, &runtime),
        measure_scale("depends_on chain", large, true, &runtime),
        measure_deletes(if full { 160 } else { 16 }, &runtime),
        measure_deletes(if full { 1_600 } else { 160 }, &runtime),
    ];
    println!(
        "1. Scale (fake provider; time per resource in µs; ratio = per-resource time at the larger size / smaller)"
    );
    println!(
        "   {:<18} {:>7} {:>12} {:>12} {:>12} {:>10}",
        "spec", "N", "validate", "plan", "graph", "total"
    );
    for row in &rows {
        let per = |d: Duration| d.as_secs_f64() * 1e6 / row.n as f64;
        println!(
            "   {:<18} {:>7} {:>9.1} µs {:>9.1} µs {:>9.1} µs {:>8.2} s",
            row.what,
            row.n,
            per(row.validate),
            per(row.plan),
            per(row.graph),
            (row.validate + row.plan + row.graph).as_secs_f64()
        );
    }
    for pair in rows.chunks(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let per = |r: &ScaleRow| (r.validate + r.plan + r.graph).as_secs_f64() / r.n as f64;
        println!(
            "   {:<18} ratio {}/{}: {:.2} (1.0 = linear)",
            a.what,
            b.n,
            a.n,
            per(b) / per(a)
        );
    }
    if let Some(mb) = peak_after_small {
        println!("   peak memory after the {small}-resource spec: {mb:.0} MB");
    }
    println!();
}

// --- 2. the speed of AWS -------------------------------------------------------------------

/// The shipped pre-release spec, with `servers` copies of its server.
fn prerelease(servers: u32) -> Spec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("environments/prerelease.toml");
    let text = std::fs::read_to_string(&path).expect("environments/prerelease.toml");
    let text = if servers == 1 {
        text
    } else {
        text.replacen(
            "[resources.ec2_instance.server]\n",
            &format!("[resources.ec2_instance.server]\ncount = {servers}\n"),
            1,
        )
        // The DNS name points at the first of them.
        .replace(
            "${ec2_instance.server.private_ip}",
            "${ec2_instance.server[0].private_ip}",
        )
    };
    // The release version as CI gives it: the bench reads no project's version file.
    let release = VariableInputs {
        env: [("server_version".to_string(), "3.1.0".to_string())].into(),
        ..VariableInputs::default()
    };
    spec::parse(&path, &text, &release).expect("the shipped spec is valid")
}

/// The longest chain of AWS's durations through the apply graph: each step takes its kind's
/// create duration from the lifecycle table, and starts when what it needs is done.
fn apply_critical_path(plan: &Plan, graph: &ExecutionGraph) -> Duration {
    let g = &graph.graph;
    let mut finish: BTreeMap<petgraph::graph::NodeIndex, Duration> = BTreeMap::new();
    for node in petgraph::algo::toposort(g, None).expect("acyclic") {
        let start = g
            .neighbors_directed(node, petgraph::Direction::Incoming)
            .map(|n| finish[&n])
            .max()
            .unwrap_or_default();
        let kind = g[node].address.kind;
        finish.insert(node, start + kinds::lifecycle(kind).create_duration());
    }
    let _ = plan;
    finish.values().copied().max().unwrap_or_default()
}

/// The longest chain of deletions in teardown order among the kinds present.
fn destroy_critical_path(present: &[ResourceKind]) -> Duration {
    let prerequisites = kinds::teardown_prerequisites();
    fn chain(
        kind: ResourceKind,
        present: &[ResourceKind],
        prerequisites: &BTreeMap<ResourceKind, std::collections::BTreeSet<ResourceKind>>,
    ) -> Duration {
        let before = prerequisites
            .get(&kind)
            .into_iter()
            .flatten()
            .filter(|k| present.contains(k))
            .map(|k| chain(*k, present, prerequisites))
            .max()
            .unwrap_or_default();
        before + kinds::lifecycle(kind).delete_duration()
    }
    present
        .iter()
        .map(|k| chain(*k, present, &prerequisites))
        .max()
        .unwrap_or_default()
}

struct Timing {
    apply: Duration,
    apply_path: Duration,
    apply_polls: u64,
    destroy: Duration,
    destroy_path: Duration,
    destroy_polls: u64,
    resources: usize,
}

async fn apply_and_destroy(servers: u32) -> Timing {
    let provider = Arc::new(FakeProvider::with_production(REGION).with_latency(Latency::aws()));
    let spec = prerelease(servers);
    let plan = workflow::make_plan(provider.as_ref(), &spec)
        .await
        .expect("plans");
    let graph = ExecutionGraph::build(&plan).expect("acyclic");
    let apply_path = apply_critical_path(&plan, &graph);
    let resources = plan.actions.len();
    let options = ApplyOptions {
        parallelism: 200,
        timeout: Some(Duration::from_secs(3 * 3600)),
        ..Default::default()
    };
    let polls_before = provider.calls(FakeOp::Describe);
    let started = tokio::time::Instant::now();
    let summary = execute(
        plan,
        &graph,
        vec![],
        provider.clone(),
        Arc::new(Silent),
        options,
    )
    .await;
    let apply = started.elapsed();
    assert!(summary.succeeded(), "{:?}", summary.failed);
    let apply_polls = provider.calls(FakeOp::Describe) - polls_before;

    let live = provider
        .observe(&spec.env, &spec.declared())
        .await
        .expect("observes");
    let present: Vec<ResourceKind> = live.iter().map(|r| r.address.kind).collect();
    let destroy_path = destroy_critical_path(&present);
    let polls_before = provider.calls(FakeOp::Describe);
    let started = tokio::time::Instant::now();
    let options = DestroyOptions {
        run: TeardownOptions {
            parallelism: 200,
            timeout: Duration::from_secs(3 * 3600),
            ..Default::default()
        },
        declared: spec.declared(),
        ..Default::default()
    };
    let report = destroy::destroy(provider.clone(), &spec.env, Arc::new(Silent), &options)
        .await
        .expect("destroys");
    let destroy = started.elapsed();
    assert!(
        report.leftovers.is_empty(),
        "destroy left {:?}",
        report.leftovers.len()
    );
    let destroy_polls = provider.calls(FakeOp::Describe) - polls_before;
    Timing {
        apply,
        apply_path,
        apply_polls,
        destroy,
        destroy_path,
        destroy_polls,
        resources,
    }
}

fn speed_of_aws(full: bool) {
    println!(
        "2. The speed of AWS (virtual time on the fake's paused clock, AWS's durations from lifecycles.toml)"
    );
    println!(
        "   {:<22} {:>9} {:>10} {:>10} {:>7} {:>9} {:>14}",
        "environment", "resources", "took", "chain", "ratio", "late by", "polls/resource"
    );
    let sizes: &[u32] = if full { &[1, 100] } else { &[1] };
    for &servers in sizes {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("runtime");
        let t = runtime.block_on(apply_and_destroy(servers));
        let name = if servers == 1 {
            "demo".to_string()
        } else {
            format!("{servers} servers")
        };
        for (what, took, chain, polls) in [
            ("apply", t.apply, t.apply_path, t.apply_polls),
            ("destroy", t.destroy, t.destroy_path, t.destroy_polls),
        ] {
            println!(
                "   {:<22} {:>9} {:>8}s {:>8}s {:>7.3} {:>7}s {:>14.1}",
                format!("{name}: {what}"),
                t.resources,
                took.as_secs(),
                chain.as_secs(),
                took.as_secs_f64() / chain.as_secs_f64(),
                took.saturating_sub(chain).as_secs(),
                polls as f64 / t.resources as f64
            );
        }
    }
    println!();
}

// --- 3. parallelism ------------------------------------------------------------------------

fn parallelism() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    let spec = parse(&spec_text(40, false));
    let run = |parallelism: usize| {
        runtime.block_on(async {
            let mut latency = Latency::default();
            latency
                .create
                .insert(ResourceKind::EcsCluster, Duration::from_secs(60));
            let provider = Arc::new(FakeProvider::new().with_latency(latency));
            let plan = workflow::make_plan(provider.as_ref(), &spec)
                .await
                .expect("plans");
            let graph = ExecutionGraph::build(&plan).expect("acyclic");
            let options = ApplyOptions {
                parallelism,
                ..Default::default()
            };
            let started = tokio::time::Instant::now();
            let summary = execute(plan, &graph, vec![], provider, Arc::new(Silent), options).await;
            assert_eq!(summary.done.len(), 40, "every create ran");
            started.elapsed()
        })
    };
    let serial = run(1);
    let parallel = run(10);
    println!("3. Executor: 40 independent creates of one minute each (virtual time)");
    println!("   --parallelism 1:  {}s", serial.as_secs());
    println!("   --parallelism 10: {}s", parallel.as_secs());
    println!(
        "   speed-up: {:.1}x (ideal 10x)",
        serial.as_secs_f64() / parallel.as_secs_f64()
    );
}
