//! `rehearsal init ENV --from-live ...`: write a protected environment's spec from objects
//! rehearsal did not create, read from AWS as they are, and import each (see `crate::engine::import`).
//! An administrator's one-time step: from then on the environment's plan compares the spec with
//! what is live, and shows no change until one of them moves.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use serde_json::Value;
use toml::{Table, Value as Toml};

use super::{Error, Settings, VarArgs, exit, team};
use crate::kinds::isolation;
use crate::model::{Address, Attributes, EnvId, LiveResource, ResourceKind};
use crate::plan::render::Style;
use crate::provider::{CreateRequest, NoProgress, Operation, Provider, ProviderError};
use crate::spec::{self, VariableInputs};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The new environment's name: environments/NAME.toml must not exist yet.
    pub env: String,
    /// Read what the spec declares from AWS as it is now (the only way `init` writes a spec).
    #[arg(long, required = true)]
    pub from_live: bool,
    /// An ECS cluster by name: ecs_cluster.NAME.
    #[arg(long = "cluster", value_name = "NAME")]
    pub clusters: Vec<String>,
    /// An ECS service as CLUSTER/NAME: ecs_service.NAME.
    #[arg(long = "service", value_name = "CLUSTER/NAME")]
    pub services: Vec<String>,
    /// A task-definition family, written as its newest ACTIVE revision: ecs_task_definition.FAMILY.
    #[arg(long = "task-definition", value_name = "FAMILY")]
    pub families: Vec<String>,
    /// An RDS DB instance by identifier: rds_instance.IDENTIFIER.
    #[arg(long = "db", value_name = "IDENTIFIER")]
    pub databases: Vec<String>,
    /// Do not ask for confirmation before tagging (needed without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
}

/// One object to read and declare.
struct Wanted {
    address: Address,
    id: String,
    /// What its create request would name it by.
    named: Attributes,
}

fn resource_name(text: &str) -> String {
    let mut name: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name.insert_str(0, "r_");
    }
    name
}

fn named(pairs: &[(&str, &str)]) -> Attributes {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect()
}

fn wanted(args: &InitArgs) -> Result<Vec<Wanted>, Error> {
    let mut out = vec![];
    for name in &args.clusters {
        out.push(Wanted {
            address: Address::new(ResourceKind::EcsCluster, resource_name(name)),
            id: name.clone(),
            named: self::named(&[("name", name)]),
        });
    }
    for family in &args.families {
        out.push(Wanted {
            address: Address::new(ResourceKind::EcsTaskDefinition, resource_name(family)),
            id: family.clone(),
            named: self::named(&[("family", family)]),
        });
    }
    for service in &args.services {
        let Some((cluster, name)) = service.split_once('/') else {
            return Err(Error::InitArgument {
                message: format!("--service {service} is not CLUSTER/NAME"),
                hint: "name the cluster too: --service production/server".into(),
            });
        };
        out.push(Wanted {
            address: Address::new(ResourceKind::EcsService, resource_name(name)),
            id: service.clone(),
            named: self::named(&[("cluster", cluster), ("name", name)]),
        });
    }
    for db in &args.databases {
        out.push(Wanted {
            address: Address::new(ResourceKind::RdsInstance, resource_name(db)),
            id: db.clone(),
            named: self::named(&[("identifier", db)]),
        });
    }
    if out.is_empty() {
        return Err(Error::InitArgument {
            message: "nothing to read: name at least one object".into(),
            hint:
                "--service CLUSTER/NAME, --task-definition FAMILY, --db IDENTIFIER, --cluster NAME"
                    .into(),
        });
    }
    Ok(out)
}

pub async fn run(settings: &Settings, args: InitArgs, style: Style) -> Result<u8, Error> {
    let path = settings.spec_path(&args.env);
    if path.exists() {
        return Err(Error::SpecExists { path });
    }
    let region = settings.region_without_spec()?.name.clone();
    let Some(project) = settings.project.clone() else {
        return Err(Error::InitArgument {
            message: "init needs the project the environment belongs to".into(),
            hint: "pass --project, e.g. --project openchs: its tags name it".into(),
        });
    };
    let env = EnvId {
        project,
        name: env_name(&path, &args.env),
        region,
    };
    let wanted = wanted(&args)?;
    // No spec names a team table yet: REHEARSAL_TEAM_TABLE, or .rehearsal/.
    let command = format!("init {} --from-live", env.name);
    let guard = team::guard(settings, &env.name, &env.region, None, &command).await?;
    let outcome = write_and_import(settings, &args, &path, env, &wanted, style).await;
    team::finish(settings, guard, outcome).await
}

/// Read what is live, write the spec, import it all.
async fn write_and_import(
    settings: &Settings,
    args: &InitArgs,
    path: &Path,
    env: EnvId,
    wanted: &[Wanted],
    style: Style,
) -> Result<u8, Error> {
    let path = path.to_path_buf();
    let provider = settings.connect(&env.region).await?;
    let mut found = vec![];
    for w in wanted {
        found.push(read(provider.as_ref(), &env, w).await?);
    }
    let text = write_spec(&env, &found);
    // The text is checked as `validate` would, before it is written.
    let inputs = VariableInputs::from_process(VarArgs::default().vars)?;
    let spec = spec::parse(&path, &text, &inputs)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|error| Error::WriteSpec {
            path: path.clone(),
            error,
        })?;
    }
    std::fs::write(&path, &text).map_err(|error| Error::WriteSpec {
        path: path.clone(),
        error,
    })?;
    outln!(
        "Wrote {} from what is live in {}.",
        path.display(),
        env.region
    );
    let imports: Vec<(Address, String)> = found
        .iter()
        .map(|(w, _)| (w.address.clone(), w.id.clone()))
        .collect();
    super::import::import_all(provider.as_ref(), &spec, &imports, args.auto_approve).await?;
    super::import::show_plan_after(provider.as_ref(), &spec, style).await?;
    Ok(exit::SUCCESS)
}

fn env_name(path: &Path, given: &str) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(given)
        .to_string()
}

/// The object as a create for its address would find it.
async fn read<'a>(
    provider: &dyn Provider,
    env: &EnvId,
    w: &'a Wanted,
) -> Result<(&'a Wanted, LiveResource), Error> {
    let op = Operation {
        env: env.clone(),
        address: w.address.clone(),
        idempotency_token: "rh-init".into(),
        timeout: Duration::from_secs(60),
        progress: Arc::new(NoProgress),
    };
    let request = CreateRequest {
        kind: w.address.kind,
        attributes: w.named.clone(),
        tags: Default::default(),
    };
    match provider.existing(&op, &request).await? {
        Some(live) => Ok((w, live)),
        None => Err(ProviderError::NotFound {
            what: format!("{} {} in {}", w.address.kind, w.id, env.region),
        }
        .into()),
    }
}

/// A JSON value as TOML; `null`s are left out.
fn to_toml(value: &Value) -> Option<Toml> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => Toml::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Toml::Integer(i),
            None => Toml::Float(n.as_f64()?),
        },
        Value::String(s) => Toml::String(spec_text(s)),
        Value::Array(items) => Toml::Array(items.iter().filter_map(to_toml).collect()),
        Value::Object(map) => Toml::Table(
            map.iter()
                .filter_map(|(k, v)| Some((k.clone(), to_toml(v)?)))
                .collect(),
        ),
    })
}

/// A live value as spec text: `${` would be read as a reference, `$${` is a literal one.
fn spec_text(s: &str) -> String {
    s.replace("${", "$${")
}

/// Copy these live attributes into the table, as they are.
fn copy(table: &mut Table, live: &LiveResource, attributes: &[&str]) {
    for name in attributes {
        let value = live.attributes.get(*name).and_then(to_toml);
        match value {
            Some(Toml::Table(t)) if t.is_empty() => {}
            Some(Toml::Array(a)) if a.is_empty() => {}
            Some(v) => {
                table.insert(name.to_string(), v);
            }
            None => {}
        }
    }
}

fn text(live: &LiveResource, name: &str) -> Option<String> {
    live.attributes
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn write_spec(env: &EnvId, found: &[(&Wanted, LiveResource)]) -> String {
    let mut environment = Table::new();
    environment.insert("project".into(), Toml::String(env.project.clone()));
    environment.insert("name".into(), Toml::String(env.name.clone()));
    environment.insert("region".into(), Toml::String(env.region.clone()));
    environment.insert("lifecycle".into(), Toml::String("protected".into()));
    let mut sources: Table = Table::new();
    let mut resources: Table = Table::new();
    // A service runs the imported revision: the spec says so by reference.
    let revisions: Vec<(String, &Address)> = found
        .iter()
        .filter(|(w, _)| w.address.kind == ResourceKind::EcsTaskDefinition)
        .map(|(w, live)| (text(live, "arn").unwrap_or(live.id.clone()), &w.address))
        .collect();
    for (w, live) in found {
        let mut table = Table::new();
        match w.address.kind {
            ResourceKind::EcsCluster => copy(&mut table, live, &["name", "tags"]),
            ResourceKind::EcsService => {
                copy(
                    &mut table,
                    live,
                    &[
                        "name",
                        "cluster",
                        "task_definition",
                        "desired_count",
                        "launch_type",
                        "subnets",
                        "security_groups",
                        "assign_public_ip",
                        "tags",
                    ],
                );
                if let Some(running) = text(live, "task_definition")
                    && let Some((_, address)) = revisions.iter().find(|(arn, _)| *arn == running)
                {
                    table.insert(
                        "task_definition".into(),
                        Toml::String(format!("${{{address}.arn}}")),
                    );
                }
            }
            ResourceKind::EcsTaskDefinition => {
                // Its definition is its newest ACTIVE revision's, read whole at each plan: the
                // family as a source, the resource a copy of it that keeps everything of
                // production's (it is production).
                let source = w.address.name.clone();
                let mut lookup = Table::new();
                lookup.insert("family".into(), Toml::String(w.id.clone()));
                let mut of_kind = Table::new();
                of_kind.insert(source.clone(), Toml::Table(lookup));
                merge(&mut sources, "ecs_task_definition", of_kind);
                copy(&mut table, live, &["family", "tags"]);
                table.insert(
                    "clone_of".into(),
                    Toml::String(format!("${{source.ecs_task_definition.{source}.arn}}")),
                );
                let keep = isolation::inherited_items(&live.attributes);
                if !keep.is_empty() {
                    table.insert(
                        isolation::KEEP.into(),
                        Toml::Array(keep.into_iter().map(Toml::String).collect()),
                    );
                }
            }
            ResourceKind::RdsInstance => {
                copy(
                    &mut table,
                    live,
                    &[
                        "identifier",
                        "instance_class",
                        "subnet_group",
                        "security_groups",
                        "parameter_group",
                        "option_group",
                        "backup_retention_days",
                        "deletion_protection",
                        "publicly_accessible",
                        "tags",
                    ],
                );
                // It was not restored by rehearsal; a spec says where a replacement would come
                // from. Its own newest snapshot, with a final snapshot taken first.
                table.insert(
                    "latest_snapshot_of".into(),
                    Toml::String(w.id.to_lowercase()),
                );
                table.insert("final_snapshot".into(), Toml::Boolean(true));
            }
            other => unreachable!("init reads no {other}"),
        }
        let mut of_kind = Table::new();
        of_kind.insert(w.address.name.clone(), Toml::Table(table));
        merge(&mut resources, w.address.kind.as_str(), of_kind);
    }
    let mut root = Table::new();
    root.insert("environment".into(), Toml::Table(environment));
    if !sources.is_empty() {
        root.insert("sources".into(), Toml::Table(sources));
    }
    root.insert("resources".into(), Toml::Table(resources));
    format!(
        "# Written by `rehearsal init {} --from-live` from what was live in {}, and imported:\n\
         # rehearsal did not create these, and never destroys them (the environment is protected).\n\n{}",
        env.name,
        env.region,
        toml::to_string_pretty(&root).expect("a table serializes")
    )
}

fn merge(into: &mut Table, kind: &str, items: Table) {
    match into.get_mut(kind) {
        Some(Toml::Table(t)) => t.extend(items),
        _ => {
            into.insert(kind.to_string(), Toml::Table(items));
        }
    }
}
