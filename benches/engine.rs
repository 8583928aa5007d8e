//! Engine benchmarks. Each prints ratios measured in this one run, so the numbers compare
//! like with like on whatever machine runs them:
//!
//! 1. the executor's parallelism: the same 40 independent creates (20 ms of provider latency
//!    each) with --parallelism 1 and 10;
//! 2. planning cost as a spec grows: diff time per resource at 50 and at 500 resources (a ratio
//!    near 1 means planning scales linearly).
//!
//! Run with `make bench` (or `cargo bench --no-default-features --bench engine`).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rehearsal::apply::events::Silent;
use rehearsal::apply::{ApplyOptions, execute};
use rehearsal::graph::ExecutionGraph;
use rehearsal::model::ResourceKind;
use rehearsal::plan::{Observed, Plan};
use rehearsal::provider::fake::{FakeProvider, Latency};
use rehearsal::spec::{self, Spec, VariableInputs};
use rehearsal::workflow;

fn clusters_spec(n: usize) -> Spec {
    let mut text = String::from(
        "[environment]\nname = \"bench\"\nproject = \"bench\"\nregion = \"eu-west-1\"\nlifecycle = \"ephemeral\"\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "[resources.ecs_cluster.c{i}]\nname = \"bench-{i}\"\n"
        ));
    }
    spec::parse(Path::new("bench.toml"), &text, &VariableInputs::default())
        .expect("the bench spec is valid")
}

async fn apply_with(parallelism: usize, spec: &Spec) -> Duration {
    let mut latency = Latency::default();
    latency
        .create
        .insert(ResourceKind::EcsCluster, Duration::from_millis(20));
    let provider = Arc::new(FakeProvider::new().with_latency(latency));
    let plan = workflow::make_plan(provider.as_ref(), spec)
        .await
        .expect("plans");
    let graph = ExecutionGraph::build(&plan).expect("acyclic");
    let options = ApplyOptions {
        parallelism,
        ..Default::default()
    };
    let started = Instant::now();
    let summary = execute(plan, &graph, vec![], provider, Arc::new(Silent), options).await;
    assert_eq!(summary.done.len(), spec.resources.len(), "every create ran");
    started.elapsed()
}

fn diff_time_per_resource(n: usize, rounds: u32) -> Duration {
    let spec = clusters_spec(n);
    let observed = Observed::default();
    let started = Instant::now();
    for _ in 0..rounds {
        let plan = Plan::new(&spec, &observed, String::new()).expect("plans");
        assert_eq!(plan.actions.len(), n);
    }
    started.elapsed() / (rounds * n as u32)
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let spec = clusters_spec(40);
    let serial = runtime.block_on(apply_with(1, &spec));
    let parallel = runtime.block_on(apply_with(10, &spec));
    println!("executor: 40 independent creates of 20 ms");
    println!("  --parallelism 1:  {serial:?}");
    println!("  --parallelism 10: {parallel:?}");
    println!(
        "  speed-up: {:.1}x (ideal 10x)",
        serial.as_secs_f64() / parallel.as_secs_f64()
    );

    let small = diff_time_per_resource(50, 200);
    let large = diff_time_per_resource(500, 20);
    println!("planning: diff time per resource");
    println!("  50 resources:  {small:?} per resource");
    println!("  500 resources: {large:?} per resource");
    println!(
        "  ratio 500/50: {:.2} (1.0 = linear)",
        large.as_secs_f64() / small.as_secs_f64()
    );
}
