//! `rehearsal promote --from staging --to production`: a plan that gives the `to` environment's
//! services the images the `from` environment ran before its latest bump (or `--pick`), shown,
//! then carried out like any plan (or saved with `--out`).

use clap::Args;

use super::release_op::Operation;
use super::{Error, Settings, VarArgs};
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
    #[command(flatten)]
    pub op: super::release_op::ReleaseOpArgs,
    #[command(flatten)]
    pub consent: super::rules::ConsentArgs,
}

pub async fn run(settings: &Settings, args: PromoteArgs, style: Style) -> Result<u8, Error> {
    // Staging is read for the revisions it keeps, not for a release: no version is needed.
    let from = settings.load_spec_for_what_it_owns(&args.from, &VarArgs::default())?;
    let to = settings.load_spec(&args.to, &args.vars)?;
    let passage = args.op.pass_window(settings, &to)?;
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
    let command = format!("promote --from {} --to {}", from.env.name, plan.env.name);
    let question = format!("Promote {}'s images to {}?", from.env.name, plan.env.name);
    // The promoted spec travels in the plan: what runs afterwards is judged against it.
    let spec = plan.spec.clone();
    args.op
        .save_or_carry_out(
            settings,
            plan,
            spec,
            provider,
            style,
            &passage,
            Operation {
                verb: "promote",
                command: &command,
                question,
                parallelism: 10,
            },
        )
        .await
}
