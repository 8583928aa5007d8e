//! `--target ADDRESS` / `--exclude ADDRESS`: a partial plan, as Terraform's `-target`.
//!
//! A plan considers a target and what it needs (its references and `depends_on`, transitively):
//! a resource cannot be made before what it refers to. An exclude leaves out the excluded
//! address and what needs it. A destroy goes the other way: a target brings what depends on it
//! (which must go first), and an exclude keeps what the excluded address needs. What was pulled
//! in or left out, and why, is recorded in the plan ([`Targeting`]) and said in every rendering.
//!
//! Targeting only ever narrows a plan made the usual way: it picks among the actions the whole
//! plan would take, so it can never reach anything outside the environment.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::kinds;
use crate::model::Address;
use crate::spec::Spec;

/// What the command line asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub targets: Vec<Address>,
    pub excludes: Vec<Address>,
}

impl Request {
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty() && self.excludes.is_empty()
    }
}

/// Which way dependencies pull: a plan needs what a target refers to; a destroy must first
/// remove what refers to a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Plan,
    Destroy,
}

/// A targeted plan's record of what it considered, carried in the plan file and sealed with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targeting {
    pub targets: Vec<Address>,
    pub excludes: Vec<Address>,
    /// Each target with what came in with it (plan: what it needs; destroy: what depends on it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pulled_in: Vec<Related>,
    /// Each exclude with what was left out with it (plan: what depends on it; destroy: what it
    /// needs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<Related>,
    /// Every address the plan considered; nothing else is acted on.
    pub considered: BTreeSet<Address>,
    /// How many addresses the environment has (declared or owned).
    pub total: usize,
}

/// An address and the others it brought in or took out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Related {
    pub address: Address,
    pub with: Vec<Address>,
}

impl Targeting {
    /// The request this plan was made for, to plan it again the same way.
    pub fn request(&self) -> Request {
        Request {
            targets: self.targets.clone(),
            excludes: self.excludes.clone(),
        }
    }

    pub fn considers(&self, address: &Address) -> bool {
        self.considered.contains(address)
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("{flag} {address}: {env} has no such resource")]
    Unknown {
        flag: &'static str,
        address: Address,
        env: String,
        /// The known addresses closest to it, closest first.
        closest: Vec<Address>,
    },
    #[error("--target and --exclude cannot change a saved plan")]
    SavedPlan,
    #[error("cannot target a destroy of {env} without its spec")]
    NoSpec { env: String },
}

impl TargetError {
    pub fn hint(&self) -> Option<String> {
        match self {
            TargetError::Unknown { closest, .. } if closest.is_empty() => Some(
                "`rehearsal plan ENV` lists the environment's resources; an address is \
                 `kind.name`, as in the spec"
                    .into(),
            ),
            TargetError::Unknown { closest, .. } => Some(format!(
                "did you mean {}?",
                closest
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )),
            TargetError::SavedPlan => Some(
                "a saved plan is applied as it was made: pass --target / --exclude to \
                 `rehearsal plan`"
                    .into(),
            ),
            TargetError::NoSpec { .. } => Some(
                "what depends on what is read from the spec: restore \
                 environments/ENV.toml, or destroy the whole environment"
                    .into(),
            ),
        }
    }
}

/// What each address needs, from the spec (references and `depends_on`) and from what AWS
/// makes on a resource's behalf (a volume needs its instance), over `universe`.
pub fn needs(
    spec: Option<&Spec>,
    universe: &BTreeSet<Address>,
) -> BTreeMap<Address, BTreeSet<Address>> {
    let mut needs: BTreeMap<Address, BTreeSet<Address>> = BTreeMap::new();
    for address in universe {
        let entry = needs.entry(address.clone()).or_default();
        if let Some(resource) = spec.and_then(|s| s.resources.get(address)) {
            entry.extend(resource.depends_on.iter().cloned());
        }
        if let Some(by_product) = kinds::describe(address.kind).by_product {
            entry.insert(Address::new(by_product.of, address.name.clone()));
        }
    }
    // What AWS made along with a resource (an instance's volume) and its maker go together,
    // either way: one is never targeted, kept or destroyed without the other.
    let pairs: Vec<(Address, Address)> = needs
        .iter()
        .flat_map(|(a, needed)| {
            needed
                .iter()
                .filter(|n| {
                    kinds::describe(a.kind)
                        .by_product
                        .is_some_and(|b| b.of == n.kind)
                })
                .map(move |n| (n.clone(), a.clone()))
        })
        .collect();
    for (maker, by_product) in pairs {
        needs.entry(maker).or_default().insert(by_product);
    }
    for (address, needed) in &mut needs {
        needed.retain(|a| universe.contains(a) && a != address);
    }
    needs
}

/// Decide what a request considers among `universe`, given what each address needs.
pub fn select(
    request: &Request,
    env: &str,
    universe: &BTreeSet<Address>,
    needs: &BTreeMap<Address, BTreeSet<Address>>,
    direction: Direction,
) -> Result<Targeting, TargetError> {
    for (flag, addresses) in [
        ("--target", &request.targets),
        ("--exclude", &request.excludes),
    ] {
        if let Some(address) = addresses.iter().find(|a| !universe.contains(*a)) {
            return Err(TargetError::Unknown {
                flag,
                address: address.clone(),
                env: env.to_string(),
                closest: closest(address, universe),
            });
        }
    }
    let mut needed_by: BTreeMap<Address, BTreeSet<Address>> = BTreeMap::new();
    for (address, needed) in needs {
        for n in needed {
            needed_by
                .entry(n.clone())
                .or_default()
                .insert(address.clone());
        }
    }
    // A plan pulls in what a target needs and drops what needs an exclude; a destroy the
    // reverse.
    let (pull, drop) = match direction {
        Direction::Plan => (needs, &needed_by),
        Direction::Destroy => (&needed_by, needs),
    };
    let mut considered = if request.targets.is_empty() {
        universe.clone()
    } else {
        BTreeSet::new()
    };
    let mut pulled_in = vec![];
    for target in &request.targets {
        let reached = reach(target, pull);
        let with: Vec<Address> = reached
            .iter()
            .filter(|a| !request.targets.contains(a))
            .cloned()
            .collect();
        considered.insert(target.clone());
        considered.extend(reached);
        if !with.is_empty() {
            pulled_in.push(Related {
                address: target.clone(),
                with,
            });
        }
    }
    let mut left_out = vec![];
    for exclude in &request.excludes {
        let reached = reach(exclude, drop);
        let with: Vec<Address> = reached
            .iter()
            .filter(|a| considered.contains(*a) && !request.excludes.contains(a))
            .cloned()
            .collect();
        considered.remove(exclude);
        for a in &reached {
            considered.remove(a);
        }
        if !with.is_empty() {
            left_out.push(Related {
                address: exclude.clone(),
                with,
            });
        }
    }
    Ok(Targeting {
        targets: request.targets.clone(),
        excludes: request.excludes.clone(),
        pulled_in,
        left_out,
        considered,
        total: universe.len(),
    })
}

/// Everything reachable from `from` along `edges`, `from` itself left out.
fn reach(from: &Address, edges: &BTreeMap<Address, BTreeSet<Address>>) -> BTreeSet<Address> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.clone()];
    while let Some(a) = todo.pop() {
        for next in edges.get(&a).into_iter().flatten() {
            if next != from && seen.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    seen
}

/// The known addresses closest to one that is not known: a typo of one (by the spec's own "did
/// you mean"), then those of the same kind, at most three.
fn closest(address: &Address, universe: &BTreeSet<Address>) -> Vec<Address> {
    let written = address.to_string();
    let names: Vec<String> = universe.iter().map(Address::to_string).collect();
    let known: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut out: Vec<Address> = crate::spec::diagnostic::closest(&written, &known)
        .and_then(|k| k.parse().ok())
        .into_iter()
        .collect();
    for a in universe.iter().filter(|a| a.kind == address.kind) {
        if !out.contains(a) {
            out.push(a.clone());
        }
    }
    out.truncate(3);
    out
}
