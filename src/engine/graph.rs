//! The plan as an ordered DAG of steps (petgraph). A replacement is two steps, a delete and a
//! create, ordered as its kind requires. Edges mean "before".

use std::collections::BTreeMap;
use std::fmt::Write;

use petgraph::algo::has_path_connecting;
use petgraph::graph::{DiGraph, NodeIndex};
use thiserror::Error;

use crate::model::{Address, ReplaceOrder, ResourceKind};
use crate::plan::{ActionKind, Plan};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StepOp {
    Create,
    Update,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Index into `plan.actions`.
    pub action: usize,
    pub op: StepOp,
    pub address: Address,
}

impl Step {
    pub fn label(&self) -> String {
        let symbol = match self.op {
            StepOp::Create => "+",
            StepOp::Update => "~",
            StepOp::Delete => "-",
        };
        format!("{symbol} {}", self.address)
    }
}

#[derive(Debug, Error)]
pub enum GraphError {
    #[error("the plan's steps form a cycle: {0}")]
    Cycle(String),
    #[error("the plan does not say in which order to replace {0}")]
    NoReplaceOrder(String),
}

impl GraphError {
    pub fn hint(&self) -> Option<String> {
        match self {
            GraphError::Cycle(_) => {
                Some("this is a bug in rehearsal: please report it with the spec".into())
            }
            GraphError::NoReplaceOrder(_) => {
                Some("make a new plan with `rehearsal plan ENV` and apply that".into())
            }
        }
    }
}

pub struct ExecutionGraph {
    pub graph: DiGraph<Step, ()>,
}

impl ExecutionGraph {
    pub fn build(plan: &Plan) -> Result<ExecutionGraph, GraphError> {
        let mut graph = DiGraph::new();
        // The create or update step of each address, and its delete steps.
        let mut build_step: BTreeMap<Address, NodeIndex> = BTreeMap::new();
        let mut delete_steps: Vec<NodeIndex> = vec![];
        for (i, action) in plan.actions.iter().enumerate() {
            let step = |op| Step {
                action: i,
                op,
                address: action.address.clone(),
            };
            match action.action {
                ActionKind::Create => {
                    build_step.insert(action.address.clone(), graph.add_node(step(StepOp::Create)));
                }
                ActionKind::Update => {
                    build_step.insert(action.address.clone(), graph.add_node(step(StepOp::Update)));
                }
                ActionKind::Delete => delete_steps.push(graph.add_node(step(StepOp::Delete))),
                ActionKind::Replace => {
                    let create = graph.add_node(step(StepOp::Create));
                    let delete = graph.add_node(step(StepOp::Delete));
                    build_step.insert(action.address.clone(), create);
                    delete_steps.push(delete);
                    // As the plan decided it, whatever this binary's kinds say now.
                    match action.replace_order {
                        Some(ReplaceOrder::DeleteThenCreate) => graph.add_edge(delete, create, ()),
                        Some(ReplaceOrder::CreateThenDelete) => graph.add_edge(create, delete, ()),
                        None => return Err(GraphError::NoReplaceOrder(action.address.to_string())),
                    };
                }
            }
        }

        // Creates and updates: dependencies first.
        for (address, &node) in &build_step {
            let action = &plan.actions[graph[node].action];
            for dep in &action.depends_on {
                if let Some(&dep_node) = build_step.get(dep) {
                    graph.add_edge(dep_node, node, ());
                }
            }
            // The old object of a create-then-delete replacement goes only after everything
            // that used it has moved to the new one.
            for &delete in &delete_steps {
                let old = &graph[delete];
                let replaced_after =
                    plan.actions[old.action].replace_order == Some(ReplaceOrder::CreateThenDelete);
                if action.depends_on.contains(&old.address)
                    && *address != old.address
                    && replaced_after
                {
                    graph.add_edge(node, delete, ());
                }
            }
        }

        // Deletes: dependents before what they depend on, by the spec where it says, then by the
        // plan's teardown order between kinds (services before clusters, databases before
        // snapshots). An edge that would close a cycle is skipped: the spec's order wins.
        let mut deletes_of: BTreeMap<Address, Vec<NodeIndex>> = BTreeMap::new();
        let mut deletes_by_kind: BTreeMap<ResourceKind, Vec<NodeIndex>> = BTreeMap::new();
        for &d in &delete_steps {
            deletes_of
                .entry(graph[d].address.clone())
                .or_default()
                .push(d);
            deletes_by_kind
                .entry(graph[d].address.kind)
                .or_default()
                .push(d);
        }
        let mut spec_edges = vec![];
        for &a in &delete_steps {
            for dep in &plan.actions[graph[a].action].depends_on {
                for &b in deletes_of.get(dep).into_iter().flatten() {
                    if graph[a].address != graph[b].address {
                        spec_edges.push((a, b));
                    }
                }
            }
        }
        spec_edges.sort();
        for &(a, b) in &spec_edges {
            if !has_path_connecting(&graph, b, a, None) {
                graph.add_edge(a, b, ());
            }
        }
        // The teardown order between kinds is itself acyclic, so a cycle needs a spec edge:
        // without any, no path search is needed (it made 1,600 deletes take minutes).
        let may_cycle = !spec_edges.is_empty();
        for (kind, after) in &deletes_by_kind {
            for before_kind in plan.teardown.get(kind).into_iter().flatten() {
                for &a in deletes_by_kind.get(before_kind).into_iter().flatten() {
                    // Of two kinds, so never one address: no self-edge to rule out.
                    for &b in after {
                        if !(may_cycle && has_path_connecting(&graph, b, a, None)) {
                            graph.add_edge(a, b, ());
                        }
                    }
                }
            }
        }

        if let Err(cycle) = petgraph::algo::toposort(&graph, None) {
            return Err(GraphError::Cycle(graph[cycle.node_id()].label()));
        }
        Ok(ExecutionGraph { graph })
    }

    /// Steps in waves: every step of a wave can run once the earlier waves are done.
    pub fn waves(&self) -> Vec<Vec<NodeIndex>> {
        let order = petgraph::algo::toposort(&self.graph, None).expect("checked acyclic in build");
        let mut depth: BTreeMap<NodeIndex, usize> = BTreeMap::new();
        for &n in &order {
            let d = self
                .graph
                .neighbors_directed(n, petgraph::Direction::Incoming)
                .map(|p| depth[&p] + 1)
                .max()
                .unwrap_or(0);
            depth.insert(n, d);
        }
        let mut waves: Vec<Vec<NodeIndex>> = vec![];
        for &n in &order {
            let d = depth[&n];
            if waves.len() <= d {
                waves.resize(d + 1, vec![]);
            }
            waves[d].push(n);
        }
        for wave in &mut waves {
            wave.sort_by_key(|n| self.graph[*n].label());
        }
        waves
    }

    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph plan {\n  rankdir=LR;\n  node [shape=box];\n");
        for n in self.graph.node_indices() {
            let _ = writeln!(
                out,
                "  n{} [label=\"{}\"];",
                n.index(),
                self.graph[n].label()
            );
        }
        for e in self.graph.edge_indices() {
            let (a, b) = self.graph.edge_endpoints(e).expect("edge exists");
            let _ = writeln!(out, "  n{} -> n{};", a.index(), b.index());
        }
        out.push_str("}\n");
        out
    }

    /// The ordered steps as plain text, one wave a line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (i, wave) in self.waves().iter().enumerate() {
            let labels: Vec<String> = wave.iter().map(|n| self.graph[*n].label()).collect();
            let _ = writeln!(out, "{}. {}", i + 1, labels.join(", "));
        }
        out
    }
}
