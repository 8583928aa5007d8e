//! `rehearsal promote --from staging --to production`: a plan that gives the `to` environment's
//! services the images the `from` environment ran before its latest bump (or `--pick`), shown,
//! then carried out like any plan (or saved with `--out`).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::{Error, Settings, VarArgs, exit};
use crate::engine::promote::{self, Pick};
use crate::plan::Observed;
use crate::plan::render::{self, Style};

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The environment the images come from (environments/NAME.toml or a path to a spec).
    #[arg(long)]
    pub from: String,
    /// The protected environment whose services get them.
    #[arg(long)]
    pub to: String,
    /// Which revision of the `from` environment: `previous` (the one before its latest bump),
    /// `current`, or a revision number of its family.
    #[arg(long, default_value = "previous")]
    pub pick: Pick,
    /// Variables of the `to` environment's spec.
    #[command(flatten)]
    pub vars: VarArgs,
    /// Save the promote plan here for review instead of carrying it out; `rehearsal apply
    /// PLAN` carries it out.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// How long each wait for AWS may take, e.g. 45m (overrides the spec's `timeout`).
    #[arg(long, value_parser = crate::spec::duration::parse_timeout)]
    pub timeout: Option<std::time::Duration>,
    /// Do not run the `to` spec's [checks] afterwards.
    #[arg(long)]
    pub skip_checks: bool,
    #[command(flatten)]
    pub window: super::rules::WindowArgs,
    #[command(flatten)]
    pub consent: super::rules::ConsentArgs,
}

pub async fn run(settings: &Settings, args: PromoteArgs, style: Style) -> Result<u8, Error> {
    // Staging is read for the revisions it keeps, not for a release: no version is needed.
    let from = settings.load_spec_for_what_it_owns(&args.from, &VarArgs::default())?;
    let to = settings.load_spec(&args.to, &args.vars)?;
    // Saved with --out, it changes nothing yet: `apply` asks the window then.
    let passage = match args.out {
        None => Some(super::rules::pass_window(
            settings,
            &to.env.name,
            to.window.as_ref(),
            &args.window,
        )?),
        Some(_) => None,
    };
    let from_provider = settings.connect(&from.env.region).await?;
    let from_live = from_provider.observe(&from.env, &from.declared()).await?;
    let provider = settings.connect(&to.env.region).await?;
    let observed = Observed::read(provider.as_ref(), &to).await?;
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("formats");
    let plan = promote::plan(&from, &from_live, &to, &observed, args.pick, now)?;
    // A promote updates; should the `to` environment have drifted so that its plan deletes or
    // replaces something, that needs consent as in any plan of a protected environment.
    let consent = crate::rules::consent::check(&plan, &args.consent.allow_destroy)?;
    let plan = plan.with_consent(consent);
    crate::plan::egress::check(provider.as_ref(), plan.spec.as_ref().unwrap_or(&to), &plan).await?;
    out!("{}", render::human(&plan, style));
    if let Some(out) = &args.out {
        plan.save(out)?;
        outln!(
            "\nSaved the promote plan to {}. Carry out exactly this plan with:\n  rehearsal apply {}",
            out.display(),
            out.display()
        );
        return Ok(exit::SUCCESS);
    }
    let _ = std::io::stdout().flush();
    let question = (plan.has_changes() && !args.auto_approve).then(|| {
        (
            format!("\nPromote {}'s images to {}?", from.env.name, plan.env.name),
            "promote",
        )
    });
    let apply =
        super::apply::ApplyArgs::confirmed(10, args.timeout, args.skip_checks, args.window.clone());
    let command = format!("promote --from {} --to {}", from.env.name, plan.env.name);
    // The promoted spec travels in the plan: what runs afterwards is judged against it.
    let spec = plan.spec.clone();
    super::apply::carry_out_locked(
        settings,
        plan,
        spec,
        provider,
        &apply,
        style,
        &command,
        &passage.unwrap_or(crate::rules::Passage::NoWindow),
        question,
    )
    .await
}
