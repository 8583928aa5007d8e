//! Whether each deployed resource runs what the spec asks, by its kind's verdict (the same
//! judgement `apply` waits on): `rehearsal check` reports an ECS service that its circuit
//! breaker rolled back, or that still deploys, as a failed check before any probe is believed.

use std::collections::BTreeMap;

use crate::kinds::{self, Verdict};
use crate::model::{Address, Attributes, LiveResource};
use crate::spec::refs::{self, Reference};

/// How one deployed resource stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub address: Address,
    pub passed: bool,
    /// `runs server:7` or why not.
    pub summary: String,
    /// What AWS said last about it, newest first, when it failed.
    pub events: Vec<String>,
}

/// Judge every resource of `desired` whose kind has a verdict against what runs. `desired`
/// holds the spec's attributes; references to other resources are resolved from `live`, from
/// the object `chosen` names where the plan chose one (the kept revision the spec asks for). A
/// resource whose asked value refers to a source (known only to a plan) is left out.
pub fn judge(
    desired: &[(Address, Attributes)],
    live: &[LiveResource],
    chosen: &BTreeMap<Address, String>,
) -> Vec<Deployment> {
    let outputs: BTreeMap<Address, Attributes> = crate::plan::revisions::as_chosen(live, chosen)
        .into_iter()
        .map(|(address, r)| (address, r.attributes.clone()))
        .collect();
    let lookup = refs::from_resources(&outputs);
    desired
        .iter()
        .filter_map(|(address, attributes)| {
            let judgement = kinds::describe(address.kind).verdict?;
            let Some(running) = live.iter().find(|r| &r.address == address) else {
                return Some(Deployment {
                    address: address.clone(),
                    passed: false,
                    summary: "it does not exist; apply first".into(),
                    events: vec![],
                });
            };
            let mut asked = Attributes::new();
            for name in judgement.reads {
                let Some(value) = attributes.get(*name) else {
                    continue;
                };
                let value = match refs::resolve(value, &lookup) {
                    Ok(value) => value,
                    // What it refers to in the environment is gone (deleted by hand, say).
                    Err(Reference::Resource {
                        address: missing, ..
                    }) => {
                        return Some(Deployment {
                            address: address.clone(),
                            passed: false,
                            summary: format!(
                                "its `{name}` is {missing}'s, which does not exist; apply first"
                            ),
                            events: vec![],
                        });
                    }
                    Err(_) => {
                        return Some(Deployment {
                            address: address.clone(),
                            passed: true,
                            summary: format!(
                                "not judged: its `{name}` refers to a source, which only a plan \
                             reads (`rehearsal plan` compares it)"
                            ),
                            events: vec![],
                        });
                    }
                };
                asked.insert((*name).to_string(), value);
            }
            Some(one(address, &asked, running, judgement))
        })
        .collect()
}

fn one(
    address: &Address,
    asked: &Attributes,
    running: &LiveResource,
    judgement: &kinds::Judgement,
) -> Deployment {
    let lifecycle = kinds::lifecycle(address.kind);
    // A check asks what runs now, not how one change went: no rollback is "since" it, and
    // the events say why it runs what it runs.
    let (passed, summary) = match (judgement.judge)(asked, running, kinds::Since::MAX) {
        Verdict::Done if lifecycle.is_ready(&running.status) => {
            (true, "runs what the spec asks".into())
        }
        Verdict::Done => (
            false,
            format!("it is {}, not {}", running.status, lifecycle.ready),
        ),
        Verdict::Pending(now) => (
            false,
            format!("it {}", now.replacen(", waiting for", ", not", 1)),
        ),
        Verdict::Failed(why) => (false, why),
    };
    Deployment {
        address: address.clone(),
        passed,
        summary,
        events: if passed { vec![] } else { running.events() },
    }
}
