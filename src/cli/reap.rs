//! `rehearsal reap --region R`: destroy expired ephemeral environments.

use clap::Args;

use super::output::{self, confirm};
use super::{Error, Settings, exit, team};
use crate::engine::destroy::{DestroyOptions, destroy};
use crate::model::EnvId;
use crate::plan::render::Style;

#[derive(Debug, Args)]
pub struct ReapArgs {
    /// Actually destroy; without it, only list what is expired.
    #[arg(long)]
    pub execute: bool,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
}

pub async fn run(settings: &Settings, args: ReapArgs, style: Style) -> Result<u8, Error> {
    let region = settings.region_without_spec()?.name.clone();
    let provider = settings.connect(&region).await?;
    let now = time::OffsetDateTime::now_utc();
    let mut expired: Vec<EnvId> = vec![];
    let found = provider.list_environments(&region).await?;
    // Only the given project's environments with --project; every project's otherwise (an
    // expiry is its creator's consent to be reaped).
    let wanted = found
        .into_iter()
        .filter(|env| settings.project.as_ref().is_none_or(|p| p == &env.project));
    for env in wanted {
        let name = format!("{}/{}", env.project, env.name);
        let expiry = env.expires_at.as_deref().and_then(|at| {
            time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()
        });
        match expiry {
            Some(at) if at <= now => {
                outln!(
                    "{name} expired at {} ({})",
                    env.expires_at.as_deref().unwrap_or("?"),
                    crate::english::count(env.resources, "resource")
                );
                expired.push(EnvId {
                    project: env.project,
                    name: env.name,
                    region: region.clone(),
                });
            }
            Some(_) => outln!(
                "{name} is not expired yet (until {})",
                env.expires_at.as_deref().unwrap_or("?")
            ),
            None => outln!("{name} has no expiry: left alone"),
        }
    }
    if expired.is_empty() || !args.execute {
        if !expired.is_empty() {
            outln!("Dry run: pass --execute to destroy the expired environments.");
        }
        return Ok(exit::SUCCESS);
    }
    let names: Vec<String> = expired
        .iter()
        .map(|e| format!("{}/{}", e.project, e.name))
        .collect();
    if !args.auto_approve {
        confirm(&format!("\nDestroy {}?", names.join(", ")), "reap")?;
    }
    let mut failed = vec![];
    for (env, name) in expired.into_iter().zip(names) {
        // Each environment under its own lock (no spec here: REHEARSAL_TEAM_TABLE, or
        // .rehearsal/): one whose lock is held is listed as not reaped, the others go on.
        let reaped = async {
            let command = format!("reap {}", env.name);
            let guard = team::guard(settings, &env.name, &env.region, None, &command).await?;
            let outcome = destroy(
                provider.clone(),
                &env,
                output::reporter(),
                &DestroyOptions::default(),
            )
            .await;
            match outcome {
                Ok(report) => {
                    let result = if report.leftovers.is_empty() {
                        Ok(exit::SUCCESS)
                    } else {
                        Err(Error::NotDestroyed {
                            env: env.name.clone(),
                        })
                    };
                    // Its leftovers are listed below, whatever the journal says.
                    match team::finish(settings, guard, result).await {
                        Ok(_) | Err(Error::NotDestroyed { .. }) => Ok(report),
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(team::finish_failed(settings, guard, e.into()).await),
            }
        }
        .await;
        match reaped {
            Ok(report) if report.leftovers.is_empty() => {
                outln!("{} destroyed.", style.bold(&name))
            }
            Ok(report) => {
                outln!(
                    "{name}: {} {}:",
                    style.paint("NOT DESTROYED:", "31"),
                    crate::english::left(report.leftovers.len(), "resource")
                );
                super::destroy::list_leftovers(&report.leftovers, style);
                failed.push(name);
            }
            Err(e) => {
                let lead = format!("{name}: ");
                let at = super::Placement::Item {
                    lead: &lead,
                    indent: 2,
                };
                outln!("{}", super::render(&e, at, style));
                failed.push(name);
            }
        }
    }
    if failed.is_empty() {
        Ok(exit::SUCCESS)
    } else {
        Err(Error::NotReaped { envs: failed })
    }
}
