//! Revisions and rollback. `rehearsal revisions ENV` lists the task-definition revisions an
//! environment keeps (see `plan::revisions`), newest first, and which one runs now;
//! `rehearsal rollback ENV [SERVICE]` is a plan that takes a service back to the revision that
//! ran before the last deploy: an update of its task definition, carried out by the same
//! executor with the same verdict as any deploy (running, rollout `COMPLETED`, on the revision
//! asked), with what differs between the two revisions and the snapshot taken before the
//! release it undoes.
//!
//! A rollback of code does not roll back data: a release that migrated the schema left it
//! migrated. The plan says so, and names the newest snapshot of the environment's databases
//! taken before the revision it undoes was registered, if there is one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::engine::ownership;
use crate::kinds::ecs_task_definition::{DEFAULT_KEEP_REVISIONS, KEEP_REVISIONS};
use crate::model::{Address, Attributes, LiveResource, ResourceKind};
use crate::plan::diff::field_changes;
use crate::plan::revisions::{newest_first, number};
use crate::plan::{ActionKind, AttributeChange, Observed, Plan, PlannedAction, Reason};
use crate::spec::{DEFAULT_TIMEOUT, Spec};

/// One revision of a task definition the environment owns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    pub revision: u64,
    pub arn: String,
    /// `image:tag` of each container, in the definition's order.
    pub images: Vec<String>,
    /// When ECS registered it (`registeredAt`), RFC 3339, when AWS says.
    pub registered_at: Option<String>,
    /// The services whose primary deployment runs it now.
    pub runs_in: Vec<Address>,
}

/// The revisions of one task definition of the spec (or found by its tags), newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Family {
    pub address: Address,
    pub family: String,
    /// `keep_revisions`, as the spec says (its default when it does not, or without a spec).
    pub keep_revisions: u32,
    pub revisions: Vec<Revision>,
}

/// What an environment owns, as families of revisions: each task definition's revisions,
/// newest first, with the services that run each.
pub fn families(
    env: &crate::model::EnvId,
    live: &[LiveResource],
    spec: Option<&Spec>,
) -> Vec<Family> {
    let owned: Vec<&LiveResource> = live
        .iter()
        .filter(|r| ownership::belongs_to(r, env) && !r.is_going_away())
        .collect();
    let services: Vec<&LiveResource> = owned
        .iter()
        .copied()
        .filter(|r| r.address.kind == ResourceKind::EcsService)
        .collect();
    let mut by_address: BTreeMap<&Address, Vec<&LiveResource>> = BTreeMap::new();
    for r in owned
        .iter()
        .copied()
        .filter(|r| r.address.kind == ResourceKind::EcsTaskDefinition)
    {
        by_address.entry(&r.address).or_default().push(r);
    }
    by_address
        .into_iter()
        .map(|(address, objects)| {
            let revisions: Vec<Revision> = newest_first(objects)
                .into_iter()
                .map(|r| revision_of(r, &services))
                .collect();
            let family = objects_family(address, live);
            Family {
                address: address.clone(),
                family,
                keep_revisions: keep_revisions(spec, address),
                revisions,
            }
        })
        .collect()
}

fn objects_family(address: &Address, live: &[LiveResource]) -> String {
    live.iter()
        .filter(|r| &r.address == address)
        .find_map(|r| r.attributes.get("family")?.as_str())
        .unwrap_or_default()
        .to_string()
}

fn keep_revisions(spec: Option<&Spec>, address: &Address) -> u32 {
    spec.and_then(|s| s.resources.get(address))
        .and_then(|r| r.attributes.get(KEEP_REVISIONS)?.as_u64())
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(DEFAULT_KEEP_REVISIONS)
}

fn arn_of(r: &LiveResource) -> String {
    r.attributes
        .get("arn")
        .and_then(Value::as_str)
        .unwrap_or(&r.id)
        .to_string()
}

fn images_of(r: &LiveResource) -> Vec<String> {
    r.attributes
        .get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("image")?.as_str().map(str::to_owned))
        .collect()
}

fn revision_of(r: &LiveResource, services: &[&LiveResource]) -> Revision {
    let arn = arn_of(r);
    Revision {
        revision: number(r),
        images: images_of(r),
        registered_at: r
            .attributes
            .get("registered_at")
            .and_then(Value::as_str)
            .map(str::to_owned),
        runs_in: services
            .iter()
            .filter(|s| {
                let runs = s.attributes.get("task_definition").and_then(Value::as_str);
                runs == Some(arn.as_str()) || runs == Some(r.id.as_str())
            })
            .map(|s| s.address.clone())
            .collect(),
        arn,
    }
}

/// What a rollback plan decided besides its one update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollback {
    pub service: Address,
    pub task_definition: Address,
    /// The revision the service runs now, which the rollback undoes.
    pub from: Revision,
    /// The revision that ran before it.
    pub to: Revision,
    /// What differs between the two revisions' definitions (images, environment, roles...),
    /// `from` → `to`, field by field.
    pub differences: Vec<AttributeChange>,
    /// The newest snapshot of the environment's databases taken before `from` was registered.
    pub snapshot: Option<String>,
    /// What the spec asks for, which the next plan goes back to.
    pub spec_images: Vec<String>,
    /// The variable to set to stay on `to` (`server_version=3.1.0`), when one decides it.
    pub stay_with: Option<(String, String)>,
}

#[derive(Debug, Error)]
pub enum RollbackError {
    #[error("{env} declares no ECS service: there is nothing to roll back")]
    NoService { env: String },
    #[error("{env} declares {}: say which to roll back", services.join(", "))]
    WhichService { env: String, services: Vec<String> },
    #[error("{env} declares no service `{name}`")]
    UnknownService {
        env: String,
        name: String,
        services: Vec<String>,
    },
    #[error("{service} does not exist in {env}: there is nothing to roll back")]
    NotDeployed { env: String, service: Address },
    #[error("{service} runs {running}, which {env} does not own")]
    NotOwned {
        env: String,
        service: Address,
        running: String,
    },
    #[error(
        "nothing to roll back to: {service} runs {}, and no earlier revision of {family} is kept",
        crate::plan::render::short_revision(running)
    )]
    NothingEarlier {
        env: String,
        service: Address,
        family: String,
        running: String,
        keep: u32,
    },
}

impl RollbackError {
    pub fn hint(&self) -> Option<String> {
        match self {
            RollbackError::NoService { .. } => None,
            RollbackError::WhichService { env, services }
            | RollbackError::UnknownService { env, services, .. } => Some(format!(
                "name one of them: `rehearsal rollback {env} {}`",
                services.first().map(String::as_str).unwrap_or("SERVICE")
            )),
            RollbackError::NotDeployed { env, .. } => {
                Some(format!("`rehearsal status {env}` shows what it owns"))
            }
            RollbackError::NotOwned { .. } => Some(
                "rehearsal rolls back only to revisions the environment registered and keeps"
                    .into(),
            ),
            RollbackError::NothingEarlier { env, keep, .. } => Some(format!(
                "a rollback goes back to a revision a version bump kept (keep_revisions = {keep}); \
                 `rehearsal revisions {env}` lists them. To deploy another version, plan it: \
                 `rehearsal plan {env} --var ...`"
            )),
        }
    }
}

/// The service a rollback is for: the one named (`server` or `ecs_service.server`), or the
/// spec's only one.
fn service_of(spec: &Spec, name: Option<&str>) -> Result<Address, RollbackError> {
    let services: Vec<&Address> = spec
        .resources
        .keys()
        .filter(|a| a.kind == ResourceKind::EcsService)
        .collect();
    let names = || services.iter().map(|a| a.name.clone()).collect::<Vec<_>>();
    let env = spec.env.name.clone();
    match name {
        Some(name) => {
            let wanted = name.strip_prefix("ecs_service.").unwrap_or(name);
            services
                .iter()
                .find(|a| a.name == wanted)
                .map(|a| (*a).clone())
                .ok_or_else(|| RollbackError::UnknownService {
                    env,
                    name: name.to_string(),
                    services: names(),
                })
        }
        None => match services.as_slice() {
            [] => Err(RollbackError::NoService { env }),
            [one] => Ok((*one).clone()),
            _ => Err(RollbackError::WhichService {
                env,
                services: names(),
            }),
        },
    }
}

/// The rollback plan of `service` (or the spec's only service): an update of its task
/// definition back to the revision before the one it runs. `live` is what the environment
/// owns now; `created_at` is when the plan is made.
pub fn plan(
    spec: &Spec,
    live: Vec<LiveResource>,
    service: Option<&str>,
    created_at: String,
) -> Result<Plan, RollbackError> {
    let env = &spec.env;
    let address = service_of(spec, service)?;
    let owned: Vec<LiveResource> = live
        .iter()
        .filter(|r| ownership::belongs_to(r, env) && !r.is_going_away())
        .cloned()
        .collect();
    let current =
        owned
            .iter()
            .find(|r| r.address == address)
            .ok_or_else(|| RollbackError::NotDeployed {
                env: env.name.clone(),
                service: address.clone(),
            })?;
    let running = current
        .attributes
        .get("task_definition")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let from = owned
        .iter()
        .find(|r| {
            r.address.kind == ResourceKind::EcsTaskDefinition
                && (r.id == running || arn_of(r) == running)
        })
        .ok_or_else(|| RollbackError::NotOwned {
            env: env.name.clone(),
            service: address.clone(),
            running: running.clone(),
        })?;
    let to = newest_first(owned.iter().filter(|r| r.address == from.address))
        .into_iter()
        .find(|r| number(r) < number(from))
        .ok_or_else(|| RollbackError::NothingEarlier {
            env: env.name.clone(),
            service: address.clone(),
            family: objects_family(&from.address, &owned),
            running: running.clone(),
            keep: keep_revisions(Some(spec), &from.address),
        })?;
    let services: Vec<&LiveResource> = owned
        .iter()
        .filter(|r| r.address.kind == ResourceKind::EcsService)
        .collect();
    let (from_revision, to_revision) = (revision_of(from, &services), revision_of(to, &services));

    // The update: the service as it is, on the earlier revision.
    let kind = crate::kinds::describe(ResourceKind::EcsService);
    let mut desired: Attributes = current
        .attributes
        .iter()
        .filter(|(k, _)| kind.is_input(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    desired.insert(
        "task_definition".into(),
        Value::String(to_revision.arn.clone()),
    );
    let action = PlannedAction {
        address: address.clone(),
        action: ActionKind::Update,
        reason: Reason::RolledBack {
            from: from_revision.arn.clone(),
            to: to_revision.arn.clone(),
        },
        replace_order: None,
        changes: vec![AttributeChange {
            name: "task_definition".into(),
            before: Some(Value::String(from_revision.arn.clone())),
            after: Some(Value::String(to_revision.arn.clone())),
            forces_replacement: false,
            fields: vec![],
        }],
        desired: Some(desired),
        live: Some(current.clone()),
        safety_snapshot: None,
        depends_on: vec![],
        timeout_secs: spec
            .resources
            .get(&address)
            .and_then(|r| r.timeout)
            .unwrap_or(DEFAULT_TIMEOUT)
            .as_secs(),
        inherited: vec![],
        final_snapshot: None,
    };
    let spec_images = spec_images(spec, &from.address);
    let rollback = Rollback {
        service: address.clone(),
        task_definition: from.address.clone(),
        differences: differences(from, to),
        snapshot: snapshot_before(&owned, from_revision.registered_at.as_deref()),
        stay_with: stay_with(spec, &spec_images, &to_revision.images),
        spec_images,
        from: from_revision,
        to: to_revision,
    };
    let fingerprints = Observed {
        sources: BTreeMap::new(),
        resources: live,
    }
    .fingerprints();
    Ok(Plan::rollback(
        spec,
        action,
        rollback,
        fingerprints,
        created_at,
    ))
}

/// What differs between two revisions' definitions, `from` → `to`: each document in its
/// normal form, field by field; the other inputs (roles, cpu, memory) as values.
fn differences(from: &LiveResource, to: &LiveResource) -> Vec<AttributeChange> {
    let kind = crate::kinds::describe(ResourceKind::EcsTaskDefinition);
    let mut out = vec![];
    for name in kind
        .inputs
        .iter()
        .filter(|n| !["family", "tags"].contains(n))
    {
        let normal = |r: &LiveResource| {
            let value = r.attributes.get(*name)?;
            Some(match kind.documents {
                Some(d) if d.attributes.contains(name) => (d.normalize)(name, value, &r.attributes),
                _ => value.clone(),
            })
        };
        let (before, after) = (normal(from), normal(to));
        let mut fields = vec![];
        field_changes(&mut vec![], before.as_ref(), after.as_ref(), &mut fields);
        if !fields.is_empty() {
            out.push(AttributeChange {
                name: (*name).to_string(),
                before,
                after,
                forces_replacement: false,
                fields,
            });
        }
    }
    out
}

/// The newest database snapshot the environment owns that was taken before `registered_at`
/// (any, newest first, when times are not known).
fn snapshot_before(owned: &[LiveResource], registered_at: Option<&str>) -> Option<String> {
    let mut snapshots: Vec<(&str, &LiveResource)> = owned
        .iter()
        .filter(|r| r.address.kind == ResourceKind::RdsSnapshot)
        .map(|r| {
            let at = r
                .attributes
                .get("created_at")
                .and_then(Value::as_str)
                .unwrap_or("");
            (at, r)
        })
        .filter(|(at, _)| registered_at.is_none_or(|before| at.is_empty() || *at <= before))
        .collect();
    snapshots.sort_by(|a, b| b.0.cmp(a.0).then(b.1.id.cmp(&a.1.id)));
    snapshots.first().map(|(_, r)| r.id.clone())
}

/// The images the spec asks for the task definition's containers (written out, or a clone's
/// overrides).
pub(crate) fn spec_images(spec: &Spec, task_definition: &Address) -> Vec<String> {
    let Some(resource) = spec.resources.get(task_definition) else {
        return vec![];
    };
    let a = &resource.attributes;
    let written = a
        .get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("image")?.as_str().map(str::to_owned));
    let overridden = a
        .get("containers_override")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(_, c)| c.get("image")?.as_str().map(str::to_owned));
    written.chain(overridden).collect()
}

/// The variable whose value makes the spec's image the rolled-back-to one: for
/// `example/openchs-server:${var.server_version}` at 3.2.0, going back to
/// `example/openchs-server:3.1.0`, `server_version=3.1.0`.
pub(crate) fn stay_with(spec: &Spec, asked: &[String], to: &[String]) -> Option<(String, String)> {
    for (name, value) in &spec.variables {
        if value.is_empty() {
            continue;
        }
        for image in asked {
            let Some((prefix, suffix)) = image.split_once(value.as_str()) else {
                continue;
            };
            let found = to.iter().find_map(|t| {
                let middle = t.strip_prefix(prefix)?.strip_suffix(suffix)?;
                (!middle.is_empty() && middle != value).then(|| middle.to_string())
            });
            if let Some(found) = found {
                return Some((name.clone(), found));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live(kind: ResourceKind, id: &str, attributes: Value) -> LiveResource {
        LiveResource {
            address: Address::new(kind, "x"),
            id: id.into(),
            status: "available".into(),
            attributes: attributes.as_object().cloned().unwrap(),
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn the_snapshot_named_is_the_newest_taken_before_the_release_it_undoes() {
        let snapshot =
            |id: &str, at: &str| live(ResourceKind::RdsSnapshot, id, json!({"created_at": at}));
        let owned = [
            snapshot("before-3-1", "2026-11-01T10:00:00Z"),
            snapshot("before-3-2", "2026-11-20T10:00:00Z"),
            snapshot("after-3-2", "2026-11-21T10:00:00Z"),
        ];
        assert_eq!(
            snapshot_before(&owned, Some("2026-11-20T12:00:00Z")).as_deref(),
            Some("before-3-2")
        );
        assert_eq!(snapshot_before(&owned, Some("2026-10-01T00:00:00Z")), None);
        assert_eq!(snapshot_before(&[], Some("2026-11-20T12:00:00Z")), None);
    }

    #[test]
    fn what_differs_between_two_revisions_is_listed_field_by_field() {
        let revision = |image: &str, level: &str, role: &str| {
            live(
                ResourceKind::EcsTaskDefinition,
                "arn",
                json!({"family": "f", "task_role_arn": role, "containers": [
                    {"name": "server", "image": image, "essential": true,
                     "environment": {"LOG": level, "PORT": "8080"}}]}),
            )
        };
        let from = revision("s:3.2.0", "debug", "arn:role/new");
        let to = revision("s:3.1.0", "info", "arn:role/old");
        let lines: Vec<String> = differences(&from, &to)
            .iter()
            .flat_map(|c| {
                c.fields
                    .iter()
                    .map(|f| crate::plan::render::field_line(&c.name, f))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(
            lines,
            [
                "task_role_arn: arn:role/new → arn:role/old",
                "containers[\"server\"].environment[\"LOG\"]: debug → info",
                "containers[\"server\"].image: s:3.2.0 → s:3.1.0",
            ]
        );
    }
}
