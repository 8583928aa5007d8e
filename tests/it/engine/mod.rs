//! The engine against a fake production: plan the pre-release environment, apply it, change the
//! spec and plan again, refuse plans the world moved away from, and run steps in the right
//! order, side by side where they can.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rehearsal::apply::events::{Event, Recorder, Silent};
use rehearsal::apply::{ApplyOptions, StepError};
use rehearsal::engine::graph::ExecutionGraph;
use rehearsal::engine::workflow::{self, RecheckError};
use rehearsal::model::{ResourceKind, tags};
use rehearsal::plan::render::{Style, human};
use rehearsal::plan::{ActionKind, Plan, PlanError};
use rehearsal::provider::fake::{FakeOp, FakeProvider, FakeResource, Latency};
use rehearsal::provider::{Provider, ProviderError};
use serde_json::{Value, json};

use crate::support::{
    REGION, SpecFile, addr, apply_plan, converge, edit, plan_for, prerelease_edited, shipped,
    shipped_text, wave_labels,
};

const PLAIN: Style = Style { color: false };
const MINUTE: Duration = Duration::from_secs(60);

fn production() -> Arc<FakeProvider> {
    Arc::new(FakeProvider::with_production(REGION))
}

/// The live object behind an address in the fake cloud.
fn live_one(provider: &FakeProvider, address: &str) -> FakeResource {
    let found: Vec<FakeResource> = provider
        .snapshot()
        .resources
        .into_values()
        .filter(|r| r.tags.get(tags::ADDRESS).map(String::as_str) == Some(address))
        .collect();
    assert_eq!(found.len(), 1, "expected one {address}, found {found:#?}");
    found.into_iter().next().unwrap()
}

fn labels(plan: &Plan) -> Vec<String> {
    plan.actions
        .iter()
        .map(|a| format!("{} {}", a.action.symbol(), a.address))
        .collect()
}

fn recorded(recorder: &Recorder) -> Vec<Event> {
    recorder.0.lock().unwrap().clone()
}

/// Index of the first event matching.
#[track_caller]
fn index_of(events: &[Event], what: &str, wanted: impl Fn(&Event) -> bool) -> usize {
    events
        .iter()
        .position(wanted)
        .unwrap_or_else(|| panic!("no event for {what} in {events:#?}"))
}

fn started(events: &[Event], step: &str) -> usize {
    index_of(
        events,
        step,
        |e| matches!(e, Event::Started { step: s } if s == step),
    )
}

fn finished(events: &[Event], step: &str) -> usize {
    index_of(
        events,
        step,
        |e| matches!(e, Event::Finished { step: s, .. } if s == step),
    )
}

/// A second server with the same address tag, as an apply killed between "create" and "record"
/// would leave. Its id sorts after the real one's.
fn duplicate_of(original: &FakeResource) -> FakeResource {
    FakeResource {
        id: "i-0ffffffffffffffff".into(),
        ..original.clone()
    }
}

mod aws_lifecycles;
mod changes;
mod consent;
mod failure;
mod first_plan;
mod import;
mod network;
mod order;
mod ownership;
mod plan_files;
mod promote;
pub mod refresh;
mod revisions;
mod safety_snapshots;
mod stale;
mod status;
mod targeting;
