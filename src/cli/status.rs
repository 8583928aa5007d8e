//! `rehearsal status ENV`: what the environment owns right now, from its tags.
//! `rehearsal status`: what runs where, every environment of the project in one table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use clap::Args;

use super::{Error, Settings, exit};
use crate::engine::status::{self, Overview, SpecEnvironment};
use crate::model::{EnvId, LiveResource, ResourceKind, tags};
use crate::spec::Spec;
use crate::spec::schema::{Lifecycle, RawEnvironment};

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Environment name; without it, every environment of the project (those the specs declare,
    /// and any other found by its tags), one row each.
    pub env: Option<String>,
    /// Print what runs where as JSON (the table's data; field names in README.md).
    #[arg(long)]
    pub json: bool,
}

pub async fn run(settings: &Settings, args: StatusArgs) -> Result<u8, Error> {
    let Some(name) = args.env else {
        return everywhere(settings, args.json).await;
    };
    let (env, spec) = settings.environment(&name)?;
    let provider = settings.connect(&env.region).await?;
    let declared = spec.as_ref().map(Spec::declared).unwrap_or_default();
    let mut live = provider.observe(&env, &declared).await?;
    live.sort_by(|a, b| a.address.cmp(&b.address));
    if args.json {
        // The one environment's row, from what it owns.
        let specs: Vec<SpecEnvironment> = spec.iter().map(spec_environment).collect();
        let projects = BTreeSet::from([env.project.clone()]);
        let found = BTreeMap::from([(env.region.clone(), live)]);
        let mut overview = status::overview(
            &specs,
            Some(&projects),
            &found,
            time::OffsetDateTime::now_utc(),
        );
        overview.environments.retain(|e| e.name == env.name);
        print_json(&overview);
    } else {
        print_owned(&env, &live);
    }
    Ok(exit::SUCCESS)
}

/// Every environment of the project: those its specs declare and those found by their tags in
/// the specs' regions, with one scan per region (`Provider::observe_region`) whatever the
/// number of environments.
async fn everywhere(settings: &Settings, json: bool) -> Result<u8, Error> {
    let mut specs = declared_environments(settings);
    if let Some(region) = &settings.region {
        if specs.iter().any(|s| s.env.region != region.name) {
            settings.note(&format!(
                "using region {} from {}, not the specs' own",
                region.name, region.from
            ));
        }
        for spec in &mut specs {
            spec.env.region = region.name.clone();
        }
    }
    // The project: --project, else the specs'; with neither, every project found.
    let projects: Option<BTreeSet<String>> = match &settings.project {
        Some(project) => Some(BTreeSet::from([project.clone()])),
        None if specs.is_empty() => None,
        None => Some(specs.iter().map(|s| s.env.project.clone()).collect()),
    };
    specs.retain(|s| projects.as_ref().is_none_or(|p| p.contains(&s.env.project)));
    let mut regions: BTreeSet<String> = specs.iter().map(|s| s.env.region.clone()).collect();
    if let Some(region) = &settings.region {
        regions.insert(region.name.clone());
    }
    if regions.is_empty() {
        return Err(Error::NoRegion);
    }
    let mut found = BTreeMap::new();
    for region in regions {
        let provider = settings.connect(&region).await?;
        let live = provider.observe_region(&region).await?;
        found.insert(region, live);
    }
    let overview = status::overview(
        &specs,
        projects.as_ref(),
        &found,
        time::OffsetDateTime::now_utc(),
    );
    if json {
        print_json(&overview);
    } else {
        out!("{}", overview.table());
    }
    Ok(exit::SUCCESS)
}

fn print_json(overview: &Overview) {
    outln!(
        "{}",
        serde_json::to_string_pretty(overview).expect("the overview serializes")
    );
}

fn spec_environment(spec: &Spec) -> SpecEnvironment {
    SpecEnvironment {
        env: spec.env.clone(),
        lifecycle: Some(lifecycle_word(spec.lifecycle)),
    }
}

fn lifecycle_word(lifecycle: Lifecycle) -> String {
    match lifecycle {
        Lifecycle::Protected => "protected",
        Lifecycle::Ephemeral => "ephemeral",
    }
    .to_owned()
}

/// Only the `[environment]` table of a spec: what `status` needs, readable even when the rest
/// of the spec is not (a variable without a default, a resource being edited).
#[derive(serde::Deserialize)]
struct Header {
    environment: RawEnvironment,
}

/// The environments the specs in the environments directory declare, by their
/// `[environment]` tables; a spec whose table cannot be read is skipped with a note.
fn declared_environments(settings: &Settings) -> Vec<SpecEnvironment> {
    let dir = &settings.environments;
    let Ok(entries) = std::fs::read_dir(dir) else {
        settings.note(&format!(
            "no specs in {}: showing what is found by tags alone",
            dir.display()
        ));
        return vec![];
    };
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|path| match header(path) {
            Ok(env) => Some(SpecEnvironment {
                env: EnvId {
                    project: env.project,
                    name: env.name,
                    region: env.region,
                },
                lifecycle: Some(lifecycle_word(env.lifecycle)),
            }),
            Err(why) => {
                settings.note(&format!("skipping {why}"));
                None
            }
        })
        .collect()
}

/// A spec's `[environment]`, or why not: `path:line:column: message` for what does not parse.
fn header(path: &Path) -> Result<RawEnvironment, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    toml::from_str::<Header>(&text)
        .map(|h| h.environment)
        .map_err(|e| {
            let at = e.span().map(|span| {
                let (line, column) = crate::spec::diagnostic::line_column(&text, span.start);
                format!(":{line}:{column}")
            });
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("ENV");
            format!(
                "{}{}: {} (`rehearsal validate {stem}` says more)",
                path.display(),
                at.unwrap_or_default(),
                e.message().trim_end()
            )
        })
}

/// What a task definition or a service runs, beside its ARN: `runs example/openchs-server:3.2.0`,
/// and for a service the revision too (`runs staging-server:2: ...`).
fn what_runs(r: &LiveResource, live: &[LiveResource]) -> Option<String> {
    use crate::kinds::ecs_task_definition::{family_revision, images, runs};
    match r.address.kind {
        ResourceKind::EcsTaskDefinition => Some(format!(
            "runs {}",
            runs(&images(r.attributes.get("containers")))
        )),
        ResourceKind::EcsService => {
            let arn = r.attributes.get("task_definition")?.as_str()?;
            let definition = live.iter().find(|d| {
                d.address.kind == ResourceKind::EcsTaskDefinition
                    && (d.id == arn
                        || d.attributes.get("arn").and_then(|a| a.as_str()) == Some(arn))
            });
            Some(match definition {
                Some(d) => format!(
                    "runs {}: {}",
                    family_revision(arn),
                    runs(&images(d.attributes.get("containers")))
                ),
                None => format!("runs {}", family_revision(arn)),
            })
        }
        _ => None,
    }
}

pub fn print_owned(env: &EnvId, live: &[LiveResource]) {
    if live.is_empty() {
        outln!("{} ({}) owns nothing.", env.name, env.region);
        return;
    }
    outln!(
        "{} ({}) owns {}:",
        env.name,
        env.region,
        crate::english::count(live.len(), "resource")
    );
    for r in live {
        let mut notes = vec![];
        if let Some(at) = r.tags.get(tags::EXPIRES_AT) {
            notes.push(format!("expires {at}"));
        }
        if r.keep_after_destroy() {
            notes.push("kept after destroy".into());
        }
        notes.extend(what_runs(r, live));
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!("  ({})", notes.join(", "))
        };
        outln!(
            "  {:<34} {:<12} {}{notes}",
            r.address.to_string(),
            r.status,
            r.id
        );
    }
}
