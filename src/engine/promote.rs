//! `rehearsal promote --from staging --to production`: production's services get the image(s)
//! staging ran before its latest bump (the release checklist's "update production task
//! definition to previous staging release version"), or staging's current revision
//! (`--pick current`), or a revision of its family (`--pick N`).
//!
//! A promote is an ordinary plan of the `to` environment, made from its spec with each shared
//! task definition's container images replaced by the picked staging revision's: the same diff
//! (a new revision, or a kept one that already holds the images), the same executor and the
//! same verdict as any deploy. The spec it was made from travels in the plan, so applying it
//! and re-checking it judge against the promoted images, not the file.
//!
//! The spec file is not edited. The plan says so plainly: when the spec asks for other images,
//! the next `rehearsal plan` of the `to` environment goes back to them, and the plan names the
//! variable to set to stay (as a rollback does).
//!
//! Families are matched by the address the two specs share (`ecs_task_definition.server`),
//! containers by name.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::engine::ownership;
use crate::engine::rollback::{Revision, families, spec_images, stay_with};
use crate::model::{Address, LiveResource, ResourceKind, SourceAddress, SourceKind};
use crate::plan::render::short_revision;
use crate::plan::{Observed, Plan, PlanError};
use crate::spec::Spec;

/// Which revision of the `from` environment's family is promoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pick {
    /// The revision before the one the `from` environment runs now (the checklist's rule).
    #[default]
    Previous,
    /// The revision the `from` environment runs now.
    Current,
    /// This revision number of the family.
    Revision(u64),
}

impl std::str::FromStr for Pick {
    type Err = String;

    fn from_str(s: &str) -> Result<Pick, String> {
        match s {
            "previous" => Ok(Pick::Previous),
            "current" => Ok(Pick::Current),
            n => n
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .map(Pick::Revision)
                .ok_or_else(|| format!("`{s}` is not `previous`, `current` or a revision number")),
        }
    }
}

impl std::fmt::Display for Pick {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pick::Previous => write!(f, "the revision it ran before its latest bump"),
            Pick::Current => write!(f, "the revision it runs now"),
            Pick::Revision(n) => write!(f, "revision {n}, as asked"),
        }
    }
}

/// One container of a promoted task definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromotedContainer {
    pub name: String,
    /// What the `to` environment's service runs now, when it runs this family.
    pub now: Option<String>,
    pub promoted: String,
}

/// One task definition the two environments share, and what it gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromotedFamily {
    pub task_definition: Address,
    /// The `from` environment's revision the images come from.
    pub source: Revision,
    pub containers: Vec<PromotedContainer>,
    /// What the `to` spec file asks for, which its next plan goes back to.
    pub spec_images: Vec<String>,
    /// The variable to set to stay on the promoted images (`server_version=3.1.0`).
    pub stay_with: Option<(String, String)>,
    /// The spec copies the newest revision of this very family (`clone_of` its own family, as
    /// `rehearsal init --from-live` writes it) and overrides no image: once the promoted
    /// revision is registered it is that newest one, and the next plan keeps it.
    #[serde(default)]
    pub follows_family: bool,
}

/// What a promote plan decided besides its actions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Promote {
    pub from: String,
    pub pick: Pick,
    pub families: Vec<PromotedFamily>,
}

#[derive(Debug, Error)]
pub enum PromoteError {
    #[error("{to} is not protected: promote changes only a long-lived environment")]
    NotProtected { to: String },
    #[error("{from} and {to} declare no task definition at the same address")]
    NothingShared {
        from: String,
        to: String,
        /// The `to` spec's task definitions, resource or source.
        to_declares: Vec<String>,
    },
    #[error("{to} does not manage {address}: it is only looked up (a source)")]
    NotManaged { to: String, address: Address },
    #[error("{to} does not own {address} yet: promoting would create it, not update it")]
    NotImported { to: String, address: Address },
    #[error("{from} runs no revision of {address}")]
    NotRunning { from: String, address: Address },
    #[error(
        "{from} keeps no revision of {family} before {}: there is no previous release to promote",
        short_revision(running)
    )]
    NoPrevious {
        from: String,
        family: String,
        running: String,
    },
    #[error("{from} keeps no revision {revision} of {family}")]
    NoSuchRevision {
        from: String,
        family: String,
        revision: u64,
        kept: Vec<u64>,
    },
    #[error(
        "the containers of {address} do not match by name: {from}'s {} has {}, {to} declares {}",
        short_revision(revision),
        names(from_names),
        names(to_names)
    )]
    ContainersDiffer {
        from: String,
        to: String,
        address: Address,
        revision: String,
        from_names: Vec<String>,
        to_names: Vec<String>,
    },
    #[error(transparent)]
    Plan(Box<PlanError>),
}

fn names(list: &[String]) -> String {
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}

impl From<PlanError> for PromoteError {
    fn from(e: PlanError) -> PromoteError {
        PromoteError::Plan(Box::new(e))
    }
}

impl PromoteError {
    pub fn hint(&self) -> Option<String> {
        match self {
            PromoteError::NotProtected { to } => Some(format!(
                "set `lifecycle = \"protected\"` in {to}'s spec, or deploy to it with \
                 `rehearsal plan {to} --var ...`"
            )),
            PromoteError::NothingShared { to_declares, .. } => Some(format!(
                "promote matches task definitions by address (`ecs_task_definition.server` in \
                 both specs); the target declares {}",
                names(to_declares)
            )),
            PromoteError::NotManaged { to, address }
            | PromoteError::NotImported { to, address } => Some(format!(
                "an administrator brings it under management once: declare it as a resource \
                 and `rehearsal import {to} {address} ID` (or `rehearsal init --from-live`)"
            )),
            PromoteError::NotRunning { from, .. } => {
                Some(format!("`rehearsal status {from}` shows what it runs"))
            }
            PromoteError::NoPrevious { from, .. } => Some(format!(
                "`rehearsal revisions {from}` lists what it keeps; `--pick current` promotes \
                 what it runs now"
            )),
            PromoteError::NoSuchRevision { from, kept, .. } => Some(format!(
                "{from} keeps revisions {}; `rehearsal revisions {from}` lists them",
                kept.iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            PromoteError::ContainersDiffer { .. } => Some(
                "promote moves images container by container: both task definitions must name \
                 the same containers"
                    .into(),
            ),
            PromoteError::Plan(e) => e.hint(),
        }
    }
}

/// The promote plan of the `to` environment: `from` and `from_live` are the environment the
/// images come from and what it owns; `to_observed` is what the `to` environment owns and its
/// sources, as a plan reads them.
#[allow(clippy::result_large_err)]
pub fn plan(
    from: &Spec,
    from_live: &[LiveResource],
    to: &Spec,
    to_observed: &Observed,
    pick: Pick,
    created_at: String,
) -> Result<Plan, PromoteError> {
    let to_name = to.env.name.clone();
    if !to.is_protected() {
        return Err(PromoteError::NotProtected { to: to_name });
    }
    let shared: Vec<&Address> = from
        .resources
        .keys()
        .filter(|a| a.kind == ResourceKind::EcsTaskDefinition)
        .filter(|a| {
            to.resources.contains_key(a)
                || to
                    .sources
                    .keys()
                    .any(|s| format!("{}.{}", s.kind, s.name) == a.to_string())
        })
        .collect();
    if shared.is_empty() {
        let to_declares = to
            .resources
            .keys()
            .map(Address::to_string)
            .chain(to.sources.keys().map(|s| s.to_string()))
            .filter(|a| a.contains("ecs_task_definition."))
            .collect();
        return Err(PromoteError::NothingShared {
            from: from.env.name.clone(),
            to: to_name,
            to_declares,
        });
    }
    let to_owned: Vec<&LiveResource> = to_observed
        .resources
        .iter()
        .filter(|r| ownership::belongs_to(r, &to.env) && !r.is_going_away())
        .collect();
    let from_families = families(&from.env, from_live, Some(from));
    let mut promoted_spec = to.clone();
    let mut promoted = vec![];
    for address in shared {
        if !to.resources.contains_key(address) {
            return Err(PromoteError::NotManaged {
                to: to_name,
                address: address.clone(),
            });
        }
        // The services that run it must be the environment's already: a promote updates them.
        for service in services_of(to, address) {
            if !to_owned.iter().any(|r| r.address == service) {
                return Err(PromoteError::NotImported {
                    to: to_name,
                    address: service,
                });
            }
        }
        let family = from_families.iter().find(|f| &f.address == address);
        let source = pick_revision(from, address, family, pick)?;
        let spec = &to.resources[address];
        let cloned = cloned_source(to, &spec.attributes);
        let mut to_names = container_names(&spec.attributes);
        if let Some(source) = &cloned {
            to_names.extend(source_container_names(to_observed, source));
        }
        let from_names = source_names(from_live, &source);
        if to_names.is_empty() || to_names != from_names {
            return Err(PromoteError::ContainersDiffer {
                from: from.env.name.clone(),
                to: to_name,
                address: address.clone(),
                revision: source.arn.clone(),
                from_names: from_names.into_iter().collect(),
                to_names: to_names.into_iter().collect(),
            });
        }
        let images = source_images(from_live, &source);
        let now = running_images(&to_owned, to, address);
        let containers = images
            .iter()
            .map(|(name, image)| PromotedContainer {
                name: name.clone(),
                now: now.get(name).cloned(),
                promoted: image.clone(),
            })
            .collect();
        let target = promoted_spec
            .resources
            .get_mut(address)
            .expect("declared, checked above");
        set_images(&mut target.attributes, &images, cloned.is_some());
        let asked = spec_images(to, address);
        let promoted_images: Vec<String> = images.values().cloned().collect();
        let follows_family = asked.is_empty()
            && cloned.as_ref().is_some_and(|source| {
                let family = spec.attributes.get("family").and_then(Value::as_str);
                to.sources.get(source).and_then(|s| s.query.id.as_deref()) == family
            });
        promoted.push(PromotedFamily {
            task_definition: address.clone(),
            follows_family,
            stay_with: stay_with(to, &asked, &promoted_images),
            spec_images: asked,
            containers,
            source,
        });
    }
    let promote = Promote {
        from: from.env.name.clone(),
        pick,
        families: promoted,
    };
    Ok(Plan::promote(
        &promoted_spec,
        to_observed,
        promote,
        created_at,
    )?)
}

/// The services of `spec` whose task definition is `task_definition`'s.
fn services_of(spec: &Spec, task_definition: &Address) -> Vec<Address> {
    spec.resources
        .values()
        .filter(|r| r.address.kind == ResourceKind::EcsService)
        .filter(|r| r.depends_on.contains(task_definition) || refers_to(r, task_definition))
        .map(|r| r.address.clone())
        .collect()
}

fn refers_to(service: &crate::spec::ResourceSpec, task_definition: &Address) -> bool {
    service
        .attributes
        .get("task_definition")
        .and_then(Value::as_str)
        .is_some_and(|v| v.contains(&format!("${{{task_definition}.")))
}

/// The revision of `from`'s family that `pick` names.
#[allow(clippy::result_large_err)]
fn pick_revision(
    from: &Spec,
    address: &Address,
    family: Option<&crate::engine::rollback::Family>,
    pick: Pick,
) -> Result<Revision, PromoteError> {
    let env = from.env.name.clone();
    let Some(family) = family else {
        return Err(PromoteError::NotRunning {
            from: env,
            address: address.clone(),
        });
    };
    let running = family.revisions.iter().find(|r| !r.runs_in.is_empty());
    match pick {
        Pick::Revision(n) => family
            .revisions
            .iter()
            .find(|r| r.revision == n)
            .cloned()
            .ok_or_else(|| PromoteError::NoSuchRevision {
                from: env,
                family: family.family.clone(),
                revision: n,
                kept: family.revisions.iter().map(|r| r.revision).collect(),
            }),
        Pick::Current => running.cloned().ok_or(PromoteError::NotRunning {
            from: env,
            address: address.clone(),
        }),
        Pick::Previous => {
            let running = running.ok_or_else(|| PromoteError::NotRunning {
                from: env.clone(),
                address: address.clone(),
            })?;
            // Newest first: the first one older than what runs.
            family
                .revisions
                .iter()
                .find(|r| r.revision < running.revision)
                .cloned()
                .ok_or_else(|| PromoteError::NoPrevious {
                    from: env,
                    family: family.family.clone(),
                    running: running.arn.clone(),
                })
        }
    }
}

/// The source a cloned task definition copies (`clone_of = "${source.ecs_task_definition.NAME.arn}"`).
fn cloned_source(spec: &Spec, attributes: &crate::model::Attributes) -> Option<SourceAddress> {
    let clone_of = attributes.get("clone_of")?.as_str()?;
    let name = clone_of
        .strip_prefix("${source.ecs_task_definition.")?
        .strip_suffix(".arn}")?;
    spec.sources
        .keys()
        .find(|s| s.kind == SourceKind::EcsTaskDefinition && s.name == name)
        .cloned()
}

/// The container names of a source task definition, as the plan read it.
fn source_container_names(observed: &Observed, source: &SourceAddress) -> BTreeSet<String> {
    let Some(object) = observed.sources.get(source) else {
        return BTreeSet::new();
    };
    let definition = object
        .attributes
        .get("definition")
        .and_then(|d| d.get("containers"))
        .or_else(|| object.attributes.get("containers"));
    definition
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name")?.as_str().map(str::to_owned))
        .collect()
}

/// The container names a task definition's spec declares (written out, or a clone's
/// overrides).
fn container_names(attributes: &crate::model::Attributes) -> BTreeSet<String> {
    let written = attributes
        .get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name")?.as_str().map(str::to_owned));
    let overridden = attributes
        .get("containers_override")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|o| o.keys().cloned());
    written.chain(overridden).collect()
}

fn live_of<'a>(live: &'a [LiveResource], revision: &Revision) -> Option<&'a LiveResource> {
    live.iter().find(|r| {
        r.address.kind == ResourceKind::EcsTaskDefinition
            && (r.id == revision.arn
                || r.attributes.get("arn").and_then(Value::as_str) == Some(revision.arn.as_str()))
    })
}

/// `name → image` of each container of a live task definition.
fn images_by_name(r: &LiveResource) -> BTreeMap<String, String> {
    r.attributes
        .get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some((
                c.get("name")?.as_str()?.to_string(),
                c.get("image")?.as_str()?.to_string(),
            ))
        })
        .collect()
}

fn source_images(live: &[LiveResource], revision: &Revision) -> BTreeMap<String, String> {
    live_of(live, revision)
        .map(images_by_name)
        .unwrap_or_default()
}

fn source_names(live: &[LiveResource], revision: &Revision) -> BTreeSet<String> {
    source_images(live, revision).into_keys().collect()
}

/// What the `to` environment's services running `task_definition` run now, by container.
fn running_images(
    owned: &[&LiveResource],
    spec: &Spec,
    task_definition: &Address,
) -> BTreeMap<String, String> {
    let services = services_of(spec, task_definition);
    let running: Vec<&str> = owned
        .iter()
        .filter(|r| services.contains(&r.address))
        .filter_map(|r| r.attributes.get("task_definition")?.as_str())
        .collect();
    owned
        .iter()
        .filter(|r| &r.address == task_definition)
        .find(|r| {
            let arn = r.attributes.get("arn").and_then(Value::as_str);
            running.iter().any(|run| *run == r.id || Some(*run) == arn)
        })
        .map(|r| images_by_name(r))
        .unwrap_or_default()
}

/// Each container's image, by name, in a task definition's spec attributes.
/// A clone gets an override per container, over what it copies.
fn set_images(
    attributes: &mut crate::model::Attributes,
    images: &BTreeMap<String, String>,
    cloned: bool,
) {
    if let Some(Value::Array(containers)) = attributes.get_mut("containers") {
        for container in containers.iter_mut().filter_map(Value::as_object_mut) {
            let name = container.get("name").and_then(Value::as_str);
            if let Some(image) = name.and_then(|n| images.get(n)) {
                container.insert("image".into(), Value::String(image.clone()));
            }
        }
    }
    if !cloned {
        return;
    }
    let overrides = attributes
        .entry("containers_override")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Value::Object(overrides) = overrides {
        for (name, image) in images {
            let container = overrides
                .entry(name.clone())
                .or_insert_with(|| Value::Object(Default::default()));
            if let Value::Object(c) = container {
                c.insert("image".into(), Value::String(image.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pick_is_previous_current_or_a_revision_number() {
        assert_eq!("previous".parse::<Pick>(), Ok(Pick::Previous));
        assert_eq!("current".parse::<Pick>(), Ok(Pick::Current));
        assert_eq!("7".parse::<Pick>(), Ok(Pick::Revision(7)));
        assert!("0".parse::<Pick>().is_err());
        assert!("latest".parse::<Pick>().is_err());
    }
}
