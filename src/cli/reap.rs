//! `rehearsal reap --region R`: destroy expired ephemeral environments.

use clap::Args;

use super::output::{self, confirm};
use super::{Error, Settings, exit};
use crate::destroy::{DestroyOptions, destroy};
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
    let mut expired = vec![];
    for env in provider.list_environments(&region).await? {
        let expiry = env.expires_at.as_deref().and_then(|at| {
            time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()
        });
        match expiry {
            Some(at) if at <= now => {
                println!(
                    "{} expired at {} ({} resources)",
                    env.name,
                    env.expires_at.as_deref().unwrap_or("?"),
                    env.resources
                );
                expired.push(env.name);
            }
            Some(_) => println!(
                "{} is not expired yet (until {})",
                env.name,
                env.expires_at.as_deref().unwrap_or("?")
            ),
            None => println!("{} has no expiry: left alone", env.name),
        }
    }
    if expired.is_empty() || !args.execute {
        if !expired.is_empty() {
            println!("Dry run: pass --execute to destroy the expired environments.");
        }
        return Ok(exit::SUCCESS);
    }
    if !args.auto_approve {
        confirm(&format!("\nDestroy {}?", expired.join(", ")), "reap")?;
    }
    let mut failed = vec![];
    for name in expired {
        let env = EnvId {
            name: name.clone(),
            region: region.clone(),
        };
        match destroy(
            provider.clone(),
            &env,
            output::reporter(),
            &DestroyOptions::default(),
        )
        .await
        {
            Ok(report) if report.leftovers.is_empty() => {
                println!("{} destroyed.", style.bold(&name))
            }
            Ok(report) => {
                println!(
                    "{name}: {} {} resources are left:",
                    style.paint("NOT DESTROYED:", "31"),
                    report.leftovers.len()
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
                println!("{}", super::render(&e.into(), at, style));
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
