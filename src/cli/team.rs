//! A team's rules at the command line: the seam every command that changes AWS goes through
//! ([`guard`] before, [`finish`] after), and `force-unlock`, `history`, `pause`, `resume`.
//!
//! Where the team's state is kept: the spec's `[environment] team_table`, else
//! `REHEARSAL_TEAM_TABLE`, else `.rehearsal/` in the working directory. Who acts: the caller's
//! identity from STS against AWS, the local user against the fake cloud.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::output::confirm;
use super::{Error, ProviderChoice, Settings, exit};
use crate::plan::render::Style;
use crate::team::{self, Guard, Identity, JournalRecord, Pause, Team, TeamStore, local};

/// `--lock-timeout`: `0` (refuse at once), or a duration such as `5m`.
pub fn parse_lock_timeout(text: &str) -> Result<Duration, String> {
    if text.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    crate::spec::duration::parse_timeout(text)
}

/// Who acts on `region`, and where the team's state is kept (`table`: the spec's).
pub(super) async fn team(
    settings: &Settings,
    region: Option<&str>,
    table: Option<&str>,
) -> Result<Team, Error> {
    let table = table
        .map(str::to_string)
        .or_else(|| settings.team_table.clone());
    let local: Arc<dyn TeamStore> = Arc::new(local::LocalStore::open(local::DIR));
    match (&settings.provider, table) {
        (ProviderChoice::Fake(_), table) => {
            if let Some(table) = table {
                settings.note(&format!(
                    "the fake cloud keeps its locks and journal in {}/, not in {table}",
                    local::DIR
                ));
            }
            Ok(Team {
                identity: Identity::local_user(),
                store: local,
                local: None,
            })
        }
        (ProviderChoice::Aws, table) => {
            let region = match region {
                Some(region) => region.to_string(),
                None => settings.region_without_spec()?.name.clone(),
            };
            aws_team(settings, &region, table, local).await
        }
    }
}

#[cfg(feature = "aws")]
async fn aws_team(
    settings: &Settings,
    region: &str,
    table: Option<String>,
    local: Arc<dyn TeamStore>,
) -> Result<Team, Error> {
    use crate::aws::team::{DynamoStore, identity};
    match table {
        // A team's lock says who holds it: without an identity there is no lock to take.
        Some(table) => Ok(Team {
            identity: identity(region).await?,
            store: Arc::new(DynamoStore::connect(region, &table).await?),
            local: Some(local),
        }),
        None => {
            let identity = match identity(region).await {
                Ok(identity) => identity,
                Err(e) => {
                    settings.note(&format!("journaling as the local user: {e}"));
                    Identity::local_user()
                }
            };
            Ok(Team {
                identity,
                store: local,
                local: None,
            })
        }
    }
}

#[cfg(not(feature = "aws"))]
async fn aws_team(
    _settings: &Settings,
    _region: &str,
    _table: Option<String>,
    _local: Arc<dyn TeamStore>,
) -> Result<Team, Error> {
    Err(Error::NoAwsProvider)
}

/// Before a change: refuse a paused environment, take its lock (waiting `--lock-timeout`).
/// `command` says what for: `apply plans/production.plan.json`.
pub(super) async fn guard(
    settings: &Settings,
    env: &str,
    region: &str,
    table: Option<&str>,
    command: &str,
) -> Result<Guard, Error> {
    let team = team(settings, Some(region), table).await?;
    Ok(Guard::acquire(team, env, command, settings.lock_timeout).await?)
}

/// After a change: journal its outcome, let the lock go, and end with the outcome. A journal
/// that cannot be written after a change that succeeded is the command's error (the change
/// itself was made); after one that failed, it is noted.
pub(super) async fn finish(
    settings: &Settings,
    guard: Guard,
    outcome: Result<u8, Error>,
) -> Result<u8, Error> {
    match outcome {
        Ok(code) => {
            guard.finish("succeeded", code).await?;
            Ok(code)
        }
        Err(e) => Err(finish_failed(settings, guard, e).await),
    }
}

/// [`finish`] of a change that failed: the error it failed with.
pub(super) async fn finish_failed(settings: &Settings, guard: Guard, error: Error) -> Error {
    let result = error.to_string();
    let result = result.lines().next().unwrap_or_default();
    if let Err(journal) = guard.finish(result, error.exit_code()).await {
        settings.note(&format!("the journal could not record this: {journal}"));
    }
    error
}

/// The environment a team command names: its name, region and team table, from its spec when
/// there is one.
fn environment(settings: &Settings, name: &str) -> (String, Option<String>, Option<String>) {
    let inputs = crate::spec::VariableInputs::default();
    match crate::spec::load(&settings.spec_path(name), &inputs) {
        Ok(spec) => {
            let region = settings
                .region
                .as_ref()
                .map_or(spec.env.region.clone(), |r| r.name.clone());
            (spec.env.name, Some(region), spec.team_table)
        }
        Err(_) => (
            name.to_string(),
            settings.region.as_ref().map(|r| r.name.clone()),
            None,
        ),
    }
}

/// A record of a team command itself (force-unlock, pause, resume) in the journal.
fn journal_entry(team: &Team, env: &str, command: String, reasons: Vec<String>) -> JournalRecord {
    JournalRecord {
        id: team::record_id(),
        env: env.into(),
        who: team.identity.clone(),
        at: team::record_now(),
        command,
        plan_digest: None,
        actions: vec![],
        result: "succeeded".into(),
        exit_code: exit::SUCCESS,
        duration_secs: 0.0,
        reasons,
    }
}

#[derive(Debug, Args)]
pub struct ForceUnlockArgs {
    /// The environment whose lock to remove.
    pub env: String,
    /// The lock's id, as the refusal showed it: only that lock is removed.
    pub id: String,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
}

pub async fn force_unlock(settings: &Settings, args: ForceUnlockArgs) -> Result<u8, Error> {
    let (env, region, table) = environment(settings, &args.env);
    let team = team(settings, region.as_deref(), table.as_deref()).await?;
    if !args.auto_approve {
        confirm(
            &format!(
                "\nRemove lock {} of {env}? Only do this when its holder is gone: a change it \
                 is making would run on unguarded.",
                args.id
            ),
            "force-unlock",
        )?;
    }
    let holder = team.store.force_unlock(&env, &args.id).await?;
    outln!(
        "Removed lock {} of {env}: held by {} since {} ({}).",
        holder.id,
        holder.holder,
        holder.since,
        holder.purpose
    );
    let reason = format!(
        "lock {} held by {} since {} ({})",
        holder.id, holder.holder, holder.since, holder.purpose
    );
    let command = format!("force-unlock {env} {}", args.id);
    team.append(&journal_entry(&team, &env, command, vec![reason]))
        .await?;
    Ok(exit::SUCCESS)
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// One environment's changes; every environment's without it.
    pub env: Option<String>,
    /// Print the records as JSON, newest first.
    #[arg(long)]
    pub json: bool,
}

pub async fn history(settings: &Settings, args: HistoryArgs, style: Style) -> Result<u8, Error> {
    let (env, region, table) = match &args.env {
        Some(name) => {
            let (env, region, table) = environment(settings, name);
            (Some(env), region, table)
        }
        None => (None, settings.region.as_ref().map(|r| r.name.clone()), None),
    };
    let team = team(settings, region.as_deref(), table.as_deref()).await?;
    let history = team.store.history(env.as_deref()).await?;
    if history.unreadable > 0 {
        settings.note(&format!(
            "{} of the journal in {} could not be read and {} left out",
            crate::english::count(history.unreadable, "entry"),
            team.store.name(),
            if history.unreadable == 1 { "is" } else { "are" }
        ));
    }
    if args.json {
        let json = serde_json::to_string_pretty(&history.records).expect("records serialize");
        outln!("{json}");
        return Ok(exit::SUCCESS);
    }
    if history.records.is_empty() {
        outln!(
            "No changes journaled{} in {}.",
            env.as_deref()
                .map(|e| format!(" for {e}"))
                .unwrap_or_default(),
            team.store.name()
        );
        return Ok(exit::SUCCESS);
    }
    for r in &history.records {
        outln!("{}  {}  {}  {}", r.at, style.bold(&r.env), r.who, r.command);
        outln!(
            "    result: {} (exit {}) in {:.1}s{}",
            r.result,
            r.exit_code,
            r.duration_secs,
            r.plan_digest
                .as_deref()
                .map(|d| format!(", plan {d}"))
                .unwrap_or_default()
        );
        for a in &r.actions {
            outln!(
                "    {} {}{}",
                a.action.symbol(),
                a.address,
                a.before
                    .as_deref()
                    .map(|b| format!(" ({b})"))
                    .unwrap_or_default()
            );
            for change in &a.changes {
                outln!("        {change}");
            }
        }
        for reason in &r.reasons {
            outln!("    reason: {reason}");
        }
    }
    Ok(exit::SUCCESS)
}

#[derive(Debug, Args)]
pub struct PauseArgs {
    /// The environment to stop every change of.
    pub env: String,
    /// Why: shown to whoever tries to change it, and journaled.
    #[arg(long, value_parser = nonempty)]
    pub reason: String,
}

fn nonempty(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("say why, for whoever tries to change it next".into());
    }
    Ok(text.to_string())
}

pub async fn pause(settings: &Settings, args: PauseArgs) -> Result<u8, Error> {
    let (env, region, table) = environment(settings, &args.env);
    let team = team(settings, region.as_deref(), table.as_deref()).await?;
    let pause = Pause {
        env: env.clone(),
        by: team.identity.clone(),
        since: team::record_now(),
        reason: args.reason.clone(),
    };
    team.store.pause(&pause).await?;
    outln!(
        "Paused {env} in {}: every change is refused until `rehearsal resume {env}`.",
        team.store.name()
    );
    team.append(&journal_entry(
        &team,
        &env,
        format!("pause {env}"),
        vec![args.reason],
    ))
    .await?;
    Ok(exit::SUCCESS)
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The paused environment to allow changes of again.
    pub env: String,
}

pub async fn resume(settings: &Settings, args: ResumeArgs) -> Result<u8, Error> {
    let (env, region, table) = environment(settings, &args.env);
    let team = team(settings, region.as_deref(), table.as_deref()).await?;
    match team.store.resume(&env).await? {
        Some(pause) => {
            outln!(
                "Resumed {env}: paused by {} since {} ({}).",
                pause.by,
                pause.since,
                pause.reason
            );
            let why = format!(
                "paused by {} since {}: {}",
                pause.by, pause.since, pause.reason
            );
            team.append(&journal_entry(
                &team,
                &env,
                format!("resume {env}"),
                vec![why],
            ))
            .await?;
        }
        None => outln!("{env} was not paused."),
    }
    Ok(exit::SUCCESS)
}
