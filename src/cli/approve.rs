//! `rehearsal approve PLAN`: sign a saved plan off, for an environment whose spec says
//! `approvals = N` (see `crate::team::approval`).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::output::confirm;
use super::{Error, ProviderChoice, Settings, exit, team};
use crate::plan::render::{self, Style};
use crate::team::{approval, digest};

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// A saved plan (plans/ENV.plan.json), as it will be applied.
    pub plan: PathBuf,
    /// What you checked, or why: journaled with the approval.
    #[arg(long)]
    pub comment: Option<String>,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
}

pub async fn run(settings: &Settings, args: ApproveArgs, style: Style) -> Result<u8, Error> {
    // A plan whose seal is broken is refused here, as apply refuses it.
    let plan = super::plan::load_saved(&args.plan)?;
    settings.check_plan_region(&plan)?;
    let (env, region) = (plan.env.name.clone(), plan.env.region.clone());
    let table = plan.spec.as_ref().and_then(|s| s.team_table.clone());
    let team = team::team(settings, Some(&region), table.as_deref()).await?;
    // Against AWS an approval is only as good as the identity STS vouches for (it has an
    // account); the local user stands in for it on the fake cloud alone.
    if matches!(settings.provider, ProviderChoice::Aws) && team.identity.account.is_none() {
        return Err(approval::Error::Unverified(format!(
            "{} is not an identity from STS",
            team.identity
        ))
        .into());
    }
    let digest = digest(&plan);
    let required = plan.spec.as_ref().map_or(0, |s| s.approvals);
    let history = team.store.history(Some(&env)).await?;
    if let Some(done) = approval::carried_out(&history, &digest) {
        return Err(approval::Error::AlreadyCarriedOut {
            digest,
            done: Box::new(done),
        }
        .into());
    }
    let approvals = approval::approvals_of(&history, &digest);
    if let Some(mine) = approvals.iter().find(|a| a.who.who == team.identity.who) {
        outln!(
            "You ({}) already approved this plan ({digest}) at {}: nothing recorded.",
            team.identity,
            mine.at
        );
        return Ok(exit::SUCCESS);
    }
    out!("{}", render::human(&plan, style));
    outln!("\nPlan digest: {digest}");
    let _ = std::io::stdout().flush();
    if !args.auto_approve {
        confirm(
            &format!("\nApprove this plan for {env} as {}?", team.identity),
            "approve",
        )?;
    }
    let command = format!("approve {}", args.plan.display());
    let record = approval::record(
        &env,
        &team.identity,
        &command,
        &digest,
        args.comment.as_deref(),
    );
    team.append(&record).await?;
    let mut names: Vec<String> = approvals.iter().map(|a| a.who.who.clone()).collect();
    names.push(team.identity.who.clone());
    outln!(
        "Approved plan {digest} for {env} as {}, in {}.",
        team.identity,
        team.store.name()
    );
    outln!(
        "Approved by {} ({} of {required} required; whoever applies it does not count).",
        names.join(", "),
        names.len()
    );
    if required == 0 {
        settings.note(&format!(
            "{env}'s spec requires no approvals (`approvals = N` in its [environment])"
        ));
    }
    Ok(exit::SUCCESS)
}
