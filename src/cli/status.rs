//! `rehearsal status ENV`: what the environment owns right now, from its tags.

use clap::Args;

use super::{Error, Settings, exit};
use crate::model::{EnvId, tags};
use crate::spec::Spec;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Environment name.
    pub env: String,
}

pub async fn run(settings: &Settings, args: StatusArgs) -> Result<u8, Error> {
    let (env, spec) = settings.environment(&args.env)?;
    let provider = settings.connect(&env.region).await?;
    let declared = spec.as_ref().map(Spec::declared).unwrap_or_default();
    let mut live = provider.observe(&env, &declared).await?;
    live.sort_by(|a, b| a.address.cmp(&b.address));
    print_owned(&env, &live);
    Ok(exit::SUCCESS)
}

pub fn print_owned(env: &EnvId, live: &[crate::model::LiveResource]) {
    if live.is_empty() {
        println!("{} ({}) owns nothing.", env.name, env.region);
        return;
    }
    println!(
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
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!("  ({})", notes.join(", "))
        };
        println!(
            "  {:<34} {:<12} {}{notes}",
            r.address.to_string(),
            r.status,
            r.id
        );
    }
}
