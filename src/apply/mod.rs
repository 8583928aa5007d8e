//! The executor: runs a plan's steps in dependency order on tokio, at most `parallelism` at a
//! time. Independent branches run side by side; a failure skips only what depends on it.

mod create;
mod delete;
mod error;
pub mod events;
mod step;
pub mod teardown;
mod update;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use petgraph::Direction;
use petgraph::graph::NodeIndex;
use tokio::task::JoinSet;

use crate::engine::graph::ExecutionGraph;
use crate::model::LiveResource;
use crate::plan::Plan;
use crate::provider::Provider;
pub use create::{create_ready, idempotency_token};
pub use delete::delete_policy;
pub use error::StepError;
pub use events::{Event, Reporter};
use step::{Run, run_step};

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub parallelism: usize,
    /// Overrides every step's timeout from the spec.
    pub timeout: Option<Duration>,
    /// "Now", for expiry tags and final-snapshot names.
    pub now: time::OffsetDateTime,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: 10,
            timeout: None,
            now: time::OffsetDateTime::now_utc(),
        }
    }
}

/// What happened to each step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub done: Vec<String>,
    /// Step and why it failed.
    pub failed: Vec<(String, StepError)>,
    /// Step and the failed step it depended on.
    pub skipped: Vec<(String, String)>,
    /// Step and what the user should know that is not a failure (a change that waits for a
    /// reboot, a final snapshot AWS could not take).
    pub notes: Vec<(String, String)>,
}

impl Summary {
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty()
    }
}

/// Carry out `plan`. `live` is a fresh observation of the environment (apply re-observes
/// before it starts, to refuse a stale plan).
pub async fn execute(
    plan: Plan,
    graph: &ExecutionGraph,
    live: Vec<LiveResource>,
    provider: Arc<dyn Provider>,
    reporter: Arc<dyn Reporter>,
    options: ApplyOptions,
) -> Summary {
    let run = Arc::new(Run::new(plan, live, provider, reporter, options));
    let g = &graph.graph;
    let parallelism = run.options.parallelism.max(1);
    let mut waiting_on: BTreeMap<NodeIndex, usize> = g
        .node_indices()
        .map(|n| (n, g.neighbors_directed(n, Direction::Incoming).count()))
        .collect();
    let mut ready: Vec<NodeIndex> = waiting_on
        .iter()
        .filter(|(_, c)| **c == 0)
        .map(|(n, _)| *n)
        .collect();
    ready.sort_by_key(|n| std::cmp::Reverse(g[*n].label()));
    let mut skipped: BTreeSet<NodeIndex> = BTreeSet::new();
    let mut summary = Summary::default();
    let mut running = JoinSet::new();

    loop {
        while running.len() < parallelism {
            let Some(node) = ready.pop() else { break };
            let step = g[node].clone();
            let run = run.clone();
            running.spawn(async move {
                let label = step.label();
                run.reporter.event(Event::Started {
                    step: label.clone(),
                });
                let started = tokio::time::Instant::now();
                tracing::debug!(step = %label, "step started");
                let result = run_step(&run, step.action, step.op).await;
                tracing::debug!(step = %label, ok = result.is_ok(), "step ended");
                (node, label, started.elapsed(), result)
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (node, label, elapsed, result) = match joined {
            Ok(outcome) => outcome,
            Err(panic) => std::panic::resume_unwind(panic.into_panic()),
        };
        match result {
            Ok(()) => {
                run.reporter.event(Event::Finished {
                    step: label.clone(),
                    elapsed,
                });
                summary.done.push(label);
                for next in g.neighbors_directed(node, Direction::Outgoing) {
                    let count = waiting_on.get_mut(&next).expect("every node is counted");
                    *count -= 1;
                    if *count == 0 && !skipped.contains(&next) {
                        ready.push(next);
                    }
                }
            }
            Err(error) => {
                run.reporter.event(Event::Failed {
                    step: label.clone(),
                    error: error.clone(),
                });
                summary.failed.push((label.clone(), error));
                // Skip everything downstream, and only that.
                let mut dfs = petgraph::visit::Dfs::new(g, node);
                while let Some(n) = dfs.next(g) {
                    if n != node && skipped.insert(n) {
                        let step = g[n].label();
                        run.reporter.event(Event::Skipped {
                            step: step.clone(),
                            because: label.clone(),
                        });
                        summary.skipped.push((step, label.clone()));
                    }
                }
            }
        }
    }
    summary.notes = std::mem::take(&mut *run.notes.lock().unwrap());
    summary
}
