//! What runs where: every environment of a project in one table (`rehearsal status` without an
//! environment). Pure: the CLI passes the environments the specs declare, what one scan of each
//! region found (`Provider::observe_region`) and the time; this groups the resources by
//! environment, joins each ECS service to the task definition it runs (by ARN, among what the
//! scan found: no call per service), and renders the table or JSON.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::kinds::ecs_task_definition::family_revision;
use crate::model::{EnvId, LiveResource, ResourceKind, tags, times};

/// An environment a spec declares (`[environment]` of `environments/NAME.toml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecEnvironment {
    pub env: EnvId,
    /// `protected` or `ephemeral`, when the spec says.
    pub lifecycle: Option<String>,
}

/// Every environment, as `status --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    /// The time ages are counted from (RFC 3339).
    pub observed_at: String,
    pub environments: Vec<EnvironmentStatus>,
}

/// One environment: one row of the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnvironmentStatus {
    pub project: String,
    pub name: String,
    pub region: String,
    /// `protected` or `ephemeral`: the spec's, else the `rehearsal:lifecycle` tag's.
    pub lifecycle: Option<String>,
    /// Whether a spec in the environments directory declares it (false: found by its tags
    /// alone, its spec gone).
    pub has_spec: bool,
    /// How many resources it owns (0: not created).
    pub resources: usize,
    pub services: Vec<ServiceStatus>,
    pub servers: Vec<ServerStatus>,
    pub databases: Vec<DatabaseStatus>,
    pub snapshots: Vec<SnapshotStatus>,
    /// The earliest creation time among what it owns, where AWS reports one.
    pub created_at: Option<String>,
    /// The earliest `rehearsal:expires-at` among what it owns.
    pub expires_at: Option<String>,
    /// The newest of its creation times and its services' deployment times.
    pub last_change_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceStatus {
    pub address: String,
    pub name: String,
    pub status: String,
    /// `family:revision` of the task definition its primary deployment runs.
    pub task_definition: Option<String>,
    pub task_definition_arn: Option<String>,
    /// Image per container, when the task definition is one an environment owns.
    pub containers: Vec<Container>,
    pub deployed_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Container {
    pub name: String,
    pub image: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerStatus {
    pub address: String,
    pub id: String,
    pub status: String,
    /// The AMI it was launched from.
    pub image: Option<String>,
    /// When it last launched.
    pub launched_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatabaseStatus {
    pub address: String,
    pub identifier: String,
    pub status: String,
    pub engine: Option<String>,
    pub engine_version: Option<String>,
    pub created_at: Option<String>,
    pub restored_from: Option<SnapshotOrigin>,
}

/// The snapshot a database was restored from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotOrigin {
    pub identifier: String,
    pub created_at: Option<String>,
    pub age_seconds: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotStatus {
    pub address: String,
    pub identifier: String,
    pub status: String,
    pub kept_after_destroy: bool,
    pub created_at: Option<String>,
    pub age_seconds: Option<i64>,
}

/// The environments to show: those the specs declare, and every other environment of the
/// projects in `projects` (of every project when `None`) found in `found` (what each region's
/// scan returned), at `now`.
pub fn overview(
    specs: &[SpecEnvironment],
    projects: Option<&BTreeSet<String>>,
    found: &BTreeMap<String, Vec<LiveResource>>,
    now: OffsetDateTime,
) -> Overview {
    let mut envs: BTreeMap<(String, String, String), Builder> = BTreeMap::new();
    for spec in specs {
        let key = (
            spec.env.name.clone(),
            spec.env.project.clone(),
            spec.env.region.clone(),
        );
        let b = envs.entry(key).or_default();
        b.declared = true;
        b.lifecycle = spec.lifecycle.clone();
    }
    for (region, resources) in found {
        for resource in resources {
            let Some((project, name)) = crate::engine::ownership::owner(resource) else {
                continue;
            };
            if projects.is_some_and(|p| !p.contains(project)) {
                continue;
            }
            let key = (name.to_owned(), project.to_owned(), region.clone());
            envs.entry(key).or_default().owned.push(resource);
        }
    }
    let environments = envs
        .into_iter()
        .map(|((name, project, region), b)| {
            let all = found.get(&region).map(Vec::as_slice).unwrap_or_default();
            b.build(project, name, region, all, now)
        })
        .collect();
    Overview {
        observed_at: format_time(now),
        environments,
    }
}

#[derive(Default)]
struct Builder<'a> {
    /// Whether a spec declares it, and the lifecycle it says.
    declared: bool,
    lifecycle: Option<String>,
    owned: Vec<&'a LiveResource>,
}

impl Builder<'_> {
    fn build(
        self,
        project: String,
        name: String,
        region: String,
        region_resources: &[LiveResource],
        now: OffsetDateTime,
    ) -> EnvironmentStatus {
        let mut owned = self.owned;
        owned.sort_by(|a, b| a.address.cmp(&b.address).then_with(|| a.id.cmp(&b.id)));
        let lifecycle = self.lifecycle.clone().or_else(|| {
            owned
                .iter()
                .find_map(|r| r.tags.get(tags::LIFECYCLE).cloned())
        });
        // Task definitions by ARN, whoever owns them: what a service runs.
        let definitions: BTreeMap<&str, &LiveResource> = region_resources
            .iter()
            .filter(|r| r.address.kind == ResourceKind::EcsTaskDefinition)
            .map(|r| (r.id.as_str(), r))
            .collect();
        // Snapshots by identifier, whoever owns them: what a database came from.
        let snapshots_by_id: BTreeMap<&str, &LiveResource> = region_resources
            .iter()
            .filter(|r| r.address.kind == ResourceKind::RdsSnapshot)
            .map(|r| (r.id.as_str(), r))
            .collect();
        let of = |kind| {
            owned
                .iter()
                .copied()
                .filter(move |r| r.address.kind == kind)
        };
        let services = of(ResourceKind::EcsService)
            .map(|r| service(r, &definitions))
            .collect();
        let servers = of(ResourceKind::Ec2Instance)
            .map(|r| ServerStatus {
                address: r.address.to_string(),
                id: r.id.clone(),
                status: r.status.clone(),
                image: text(r, "image"),
                launched_at: text(r, times::CREATED_AT),
            })
            .collect();
        let databases = of(ResourceKind::RdsInstance)
            .map(|r| database(r, &snapshots_by_id, now))
            .collect();
        let snapshots = of(ResourceKind::RdsSnapshot)
            .map(|r| {
                let created_at = text(r, times::CREATED_AT);
                SnapshotStatus {
                    address: r.address.to_string(),
                    identifier: r.id.clone(),
                    status: r.status.clone(),
                    kept_after_destroy: r.keep_after_destroy(),
                    age_seconds: age(created_at.as_deref(), now),
                    created_at,
                }
            })
            .collect();
        let created: Vec<OffsetDateTime> = owned
            .iter()
            .filter_map(|r| parse(r.attributes.get(times::CREATED_AT)?.as_str()?))
            .collect();
        let changed = owned
            .iter()
            .filter_map(|r| parse(r.attributes.get(times::DEPLOYED_AT)?.as_str()?))
            .chain(created.iter().copied())
            .max();
        let expires_at = owned
            .iter()
            .filter_map(|r| r.tags.get(tags::EXPIRES_AT))
            .min_by_key(|at| (parse(at), at.to_string()))
            .cloned();
        EnvironmentStatus {
            project,
            name,
            region,
            lifecycle,
            has_spec: self.declared,
            resources: owned.len(),
            services,
            servers,
            databases,
            snapshots,
            created_at: created.iter().min().copied().map(format_time),
            expires_at,
            last_change_at: changed.map(format_time),
        }
    }
}

fn service(r: &LiveResource, definitions: &BTreeMap<&str, &LiveResource>) -> ServiceStatus {
    let arn = text(r, "task_definition");
    let definition = arn.as_deref().and_then(|arn| definitions.get(arn));
    let task_definition = match definition {
        Some(td) => match (text(td, "family"), td.attributes.get("revision")) {
            (Some(family), Some(revision)) => Some(format!("{family}:{revision}")),
            _ => arn.as_deref().map(|a| family_revision(a).to_owned()),
        },
        None => arn.as_deref().map(|a| family_revision(a).to_owned()),
    };
    let containers = definition
        .and_then(|td| td.attributes.get("containers")?.as_array())
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some(Container {
                name: c.get("name")?.as_str()?.to_owned(),
                image: c.get("image")?.as_str()?.to_owned(),
            })
        })
        .collect();
    ServiceStatus {
        address: r.address.to_string(),
        name: text(r, "name").unwrap_or_else(|| r.address.name.clone()),
        status: r.status.clone(),
        task_definition,
        task_definition_arn: arn,
        containers,
        deployed_at: text(r, times::DEPLOYED_AT),
    }
}

fn database(
    r: &LiveResource,
    snapshots: &BTreeMap<&str, &LiveResource>,
    now: OffsetDateTime,
) -> DatabaseStatus {
    // The snapshot a restore from the newest one chose, else the one the spec named.
    let origin = r
        .tags
        .get(tags::RESTORED_FROM)
        .cloned()
        .or_else(|| text(r, "snapshot"));
    let restored_from = origin.map(|identifier| {
        let created_at = snapshots
            .get(identifier.as_str())
            .and_then(|s| text(s, times::CREATED_AT))
            .or_else(|| {
                (r.tags.get(tags::RESTORED_FROM) == Some(&identifier))
                    .then(|| r.tags.get(tags::RESTORED_FROM_CREATED_AT).cloned())
                    .flatten()
            });
        SnapshotOrigin {
            identifier,
            age_seconds: age(created_at.as_deref(), now),
            created_at,
        }
    });
    DatabaseStatus {
        address: r.address.to_string(),
        identifier: r.id.clone(),
        status: r.status.clone(),
        engine: text(r, "engine"),
        engine_version: text(r, "engine_version"),
        created_at: text(r, times::CREATED_AT),
        restored_from,
    }
}

fn text(r: &LiveResource, key: &str) -> Option<String> {
    match r.attributes.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse(at: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(at, &Rfc3339).ok()
}

fn format_time(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn age(at: Option<&str>, now: OffsetDateTime) -> Option<i64> {
    Some((now - parse(at?)?).whole_seconds())
}

/// A span of time in the largest whole unit: `3 days`, `1 hour`, `less than a minute`.
fn span(seconds: i64) -> String {
    let seconds = seconds.abs();
    let (n, unit) = match seconds {
        s if s < 60 => return "under a minute".to_owned(),
        s if s < 3600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3600, "hour"),
        s => (s / 86_400, "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// `2 days ago` (or `in 3 hours`, for a time still to come).
fn relative(at: Option<&str>, now: OffsetDateTime) -> String {
    let Some(seconds) = age(at, now) else {
        return "-".to_owned();
    };
    if (0..60).contains(&seconds) {
        "just now".to_owned()
    } else if seconds >= 0 {
        format!("{} ago", span(seconds))
    } else {
        format!("in {}", span(seconds))
    }
}

fn expiry(at: Option<&str>, now: OffsetDateTime) -> String {
    match (at, age(at, now)) {
        (None, _) => "-".to_owned(),
        (Some(at), None) => at.to_owned(),
        (Some(_), Some(seconds)) if seconds >= 0 => format!("expired {} ago", span(seconds)),
        (Some(_), Some(seconds)) => format!("in {}", span(seconds)),
    }
}

fn old(seconds: Option<i64>) -> String {
    match seconds {
        Some(s) if s >= 0 => format!(", {} old", span(s)),
        _ => String::new(),
    }
}

/// ` [deploying]` when a resource is not in its kind's ready state.
fn unless_ready(kind: ResourceKind, status: &str) -> String {
    if crate::kinds::lifecycle(kind).is_ready(status) {
        String::new()
    } else {
        format!(" [{status}]")
    }
}

impl EnvironmentStatus {
    /// What runs, one line each: services, servers, databases, then snapshots no database of
    /// the environment came from.
    pub fn what_runs(&self) -> Vec<String> {
        let mut lines = vec![];
        for s in &self.services {
            let images: Vec<String> = match s.containers.as_slice() {
                [one] => vec![one.image.clone()],
                many => many
                    .iter()
                    .map(|c| format!("{}={}", c.name, c.image))
                    .collect(),
            };
            let definition = s.task_definition.as_deref().unwrap_or("?");
            let runs = if images.is_empty() {
                definition.to_owned()
            } else {
                format!("{} ({definition})", images.join(", "))
            };
            lines.push(format!(
                "service {}: {runs}{}",
                s.name,
                unless_ready(ResourceKind::EcsService, &s.status)
            ));
        }
        for s in &self.servers {
            lines.push(format!(
                "server {}: {}{}",
                s.id,
                s.image.as_deref().unwrap_or("?"),
                unless_ready(ResourceKind::Ec2Instance, &s.status)
            ));
        }
        for d in &self.databases {
            let engine = [d.engine.as_deref(), d.engine_version.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let engine = if engine.is_empty() { "?" } else { &engine };
            let from = d
                .restored_from
                .as_ref()
                .map(|o| format!(", from {}{}", o.identifier, old(o.age_seconds)))
                .unwrap_or_default();
            lines.push(format!(
                "db {}: {engine}{from}{}",
                d.identifier,
                unless_ready(ResourceKind::RdsInstance, &d.status)
            ));
        }
        let origins: BTreeSet<&str> = self
            .databases
            .iter()
            .filter_map(|d| Some(d.restored_from.as_ref()?.identifier.as_str()))
            .collect();
        for s in self
            .snapshots
            .iter()
            .filter(|s| !origins.contains(s.identifier.as_str()))
        {
            lines.push(format!(
                "snapshot {}{}{}{}",
                s.identifier,
                old(s.age_seconds),
                if s.kept_after_destroy { " (kept)" } else { "" },
                unless_ready(ResourceKind::RdsSnapshot, &s.status)
            ));
        }
        if lines.is_empty() {
            lines.push(match self.resources {
                0 => "not created".to_owned(),
                1 => "nothing running (owns 1 resource)".to_owned(),
                n => format!("nothing running (owns {n} resources)"),
            });
        }
        lines
    }
}

impl Overview {
    /// The table: one row per environment, what runs on as many lines as it takes.
    pub fn table(&self) -> String {
        let now = parse(&self.observed_at).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let header = [
            "ENVIRONMENT",
            "REGION",
            "LIFECYCLE",
            "CREATED",
            "EXPIRES",
            "LAST CHANGE",
            "WHAT RUNS",
        ];
        let rows: Vec<([String; 6], Vec<String>)> = self
            .environments
            .iter()
            .map(|e| {
                let name = if e.has_spec {
                    e.name.clone()
                } else {
                    format!("{} (no spec)", e.name)
                };
                (
                    [
                        name,
                        e.region.clone(),
                        e.lifecycle.clone().unwrap_or_else(|| "-".to_owned()),
                        relative(e.created_at.as_deref(), now),
                        expiry(e.expires_at.as_deref(), now),
                        relative(e.last_change_at.as_deref(), now),
                    ],
                    e.what_runs(),
                )
            })
            .collect();
        let mut widths: Vec<usize> = header[..6].iter().map(|h| h.len()).collect();
        for (cells, _) in &rows {
            for (w, cell) in widths.iter_mut().zip(cells) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[&str], last: &str| {
            let mut out = String::new();
            for (cell, w) in cells.iter().zip(&widths) {
                out.push_str(&format!("{cell:<w$}  "));
            }
            out.push_str(last);
            out.trim_end().to_owned() + "\n"
        };
        let mut out = line(&header[..6], header[6]);
        let blank = ["", "", "", "", "", ""];
        for (cells, runs) in &rows {
            let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
            for (i, what) in runs.iter().enumerate() {
                out.push_str(&line(if i == 0 { &cells } else { &blank }, what));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::model::Address;

    const NOW: OffsetDateTime = datetime!(2026-03-10 12:00:00 UTC);

    /// A resource `project/env` provably owns, anchored on `anchor` (its identifier or name).
    fn owned(
        project: &str,
        env: &str,
        address: &str,
        anchor_key: &str,
        attributes: Value,
    ) -> LiveResource {
        let env = EnvId {
            project: project.into(),
            name: env.into(),
            region: "eu-west-1".into(),
        };
        let address: Address = address.parse().unwrap();
        let mut attributes = attributes.as_object().unwrap().clone();
        let anchor = attributes[anchor_key].as_str().unwrap().to_owned();
        attributes.entry("id").or_insert(json!(anchor));
        let id = attributes["id"].as_str().unwrap().to_owned();
        let status = crate::kinds::lifecycle(address.kind).ready.clone();
        LiveResource {
            tags: crate::engine::ownership::creation_tags(&env, &address, &anchor, false, None),
            address,
            id,
            status,
            attributes,
        }
    }

    fn one(found: Vec<LiveResource>, projects: Option<&BTreeSet<String>>) -> Overview {
        let found = BTreeMap::from([("eu-west-1".to_owned(), found)]);
        overview(&[], projects, &found, NOW)
    }

    #[test]
    fn an_environment_whose_spec_is_gone_is_found_by_its_tags_with_its_lifecycle() {
        let db = owned(
            "openchs",
            "old",
            "rds_instance.db",
            "identifier",
            json!({"identifier": "old-db", "engine": "postgres", "engine_version": "15.4",
                   "created_at": "2026-03-01T12:00:00Z"}),
        );
        let other_project = owned(
            "billing",
            "old",
            "ecs_cluster.main",
            "name",
            json!({"name": "billing-old"}),
        );
        let projects = BTreeSet::from(["openchs".to_owned()]);
        let shown = one(vec![db, other_project], Some(&projects));
        assert_eq!(
            shown.environments.len(),
            1,
            "another project's is not shown"
        );
        let old = &shown.environments[0];
        assert!(!old.has_spec);
        assert_eq!(old.lifecycle.as_deref(), Some("ephemeral"), "from its tag");
        assert_eq!(old.created_at.as_deref(), Some("2026-03-01T12:00:00Z"));
        assert!(
            shown
                .table()
                .contains("old (no spec)  eu-west-1  ephemeral  9 days ago"),
            "{}",
            shown.table()
        );
    }

    #[test]
    fn a_database_restored_from_the_newest_snapshot_shows_the_one_chosen_and_its_age() {
        let mut db = owned(
            "openchs",
            "qa",
            "rds_instance.db",
            "identifier",
            json!({"identifier": "qa-db", "engine": "postgres", "engine_version": "16.2",
                   "latest_snapshot_of": "production-db"}),
        );
        db.tags.insert(
            tags::RESTORED_FROM.into(),
            "rds:production-db-2026-03-08-03-00".into(),
        );
        db.tags.insert(
            tags::RESTORED_FROM_CREATED_AT.into(),
            "2026-03-08T03:00:00Z".into(),
        );
        let shown = one(vec![db], None);
        assert_eq!(
            shown.environments[0].what_runs(),
            ["db qa-db: postgres 16.2, from rds:production-db-2026-03-08-03-00, 2 days old"]
        );
    }

    #[test]
    fn a_service_shows_the_revision_it_runs_and_its_rollout_when_not_steady() {
        // Running a revision the environment does not own (production's): named from the ARN,
        // its images unknown.
        let mut service = owned(
            "openchs",
            "qa",
            "ecs_service.server",
            "name",
            json!({"name": "server",
                   "task_definition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/server:41",
                   "deployed_at": "2026-03-10T11:30:00Z", "created_at": "2026-03-09T12:00:00Z"}),
        );
        service.status = "deploying".into();
        let sidecars = owned(
            "openchs",
            "qa",
            "ecs_service.worker",
            "name",
            json!({"name": "worker",
                   "task_definition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/qa-worker:3"}),
        );
        let definition = owned(
            "openchs",
            "qa",
            "ecs_task_definition.worker",
            "family",
            json!({"family": "qa-worker", "revision": 3,
                   "id": "arn:aws:ecs:eu-west-1:123456789012:task-definition/qa-worker:3",
                   "containers": [{"name": "worker", "image": "example/worker:2.0"},
                                  {"name": "proxy", "image": "envoy:1.30"}]}),
        );
        let shown = one(vec![service, sidecars, definition], None);
        let qa = &shown.environments[0];
        assert_eq!(
            qa.what_runs(),
            [
                "service server: server:41 [deploying]",
                "service worker: worker=example/worker:2.0, proxy=envoy:1.30 (qa-worker:3)",
            ]
        );
        assert_eq!(qa.last_change_at.as_deref(), Some("2026-03-10T11:30:00Z"));
        assert_eq!(qa.created_at.as_deref(), Some("2026-03-09T12:00:00Z"));
    }

    #[test]
    fn an_expired_environment_says_so_and_one_that_runs_nothing_counts_what_it_owns() {
        let mut cluster = owned(
            "openchs",
            "qa",
            "ecs_cluster.main",
            "name",
            json!({"name": "qa"}),
        );
        cluster
            .tags
            .insert(tags::EXPIRES_AT.into(), "2026-03-10T09:00:00Z".into());
        let shown = one(vec![cluster], None);
        let table = shown.table();
        assert!(table.contains("expired 3 hours ago"), "{table}");
        assert!(
            table.contains("nothing running (owns 1 resource)"),
            "{table}"
        );
    }

    #[test]
    fn spans_read_in_the_largest_whole_unit() {
        assert_eq!(span(59), "under a minute");
        assert_eq!(span(60), "1 minute");
        assert_eq!(span(2 * 3600 + 59 * 60), "2 hours");
        assert_eq!(span(86_400), "1 day");
        assert_eq!(span(-3 * 86_400), "3 days");
    }

    #[test]
    fn the_family_and_revision_come_from_a_task_definition_arn() {
        assert_eq!(
            family_revision("arn:aws:ecs:eu-west-1:123456789012:task-definition/server:7"),
            "server:7"
        );
    }
}
