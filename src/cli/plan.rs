//! `rehearsal plan ENV` and `rehearsal show PLAN`

use std::path::{Path, PathBuf};

use clap::Args;

use super::{Error, Settings, VarArgs, exit};
use crate::engine::workflow;
use crate::plan::render::Style;
use crate::plan::{Plan, render};

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Environment name (environments/NAME.toml) or path to a spec.
    pub env: String,
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub targeting: super::targeting::TargetArgs,
    /// Where to save the plan [default: plans/ENV.plan.json].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the plan as JSON on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// Exit 0 when there are no changes and 2 when there are (1 on an error, 64 on a usage error).
    #[arg(long)]
    pub detailed_exitcode: bool,
    #[command(flatten)]
    pub consent: super::rules::ConsentArgs,
}

pub async fn run(settings: &Settings, args: PlanArgs, style: Style) -> Result<u8, Error> {
    let spec = match settings.load_spec(&args.env, &args.vars) {
        Ok(spec) => spec,
        Err(e) => {
            let name = Path::new(&args.env)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or(&args.env);
            let out = args.out.clone().unwrap_or_else(|| Plan::default_path(name));
            return Err(discard_previous_plan(&out, e));
        }
    };
    let out = args
        .out
        .unwrap_or_else(|| Plan::default_path(&spec.env.name));
    let planned = match settings.connect(&spec.env.region).await {
        Ok(provider) => {
            workflow::make_targeted_plan(provider.as_ref(), &spec, &args.targeting.request())
                .await
                .map_err(Error::from)
        }
        Err(e) => Err(e),
    };
    let plan = planned.map_err(|e| discard_previous_plan(&out, e))?;
    // A protected environment's plan that deletes or replaces what no one consented to is
    // refused here, before it is saved; the consent given travels in the plan.
    let consent = crate::rules::consent::check(&plan, &args.consent.allow_destroy)
        .map_err(|e| discard_previous_plan(&out, e.into()))?;
    let plan = plan.with_consent(consent);
    // `plan` changes nothing: a closed window is said, and the plan made all the same.
    if let Some(closed) =
        crate::rules::closed_note(&spec.env.name, spec.window.as_ref(), settings.now)
    {
        settings.note(&format!(
            "{closed}; `apply` will refuse this plan until then"
        ));
    }
    // A plan that cannot be written (a full disk, a directory not writable) fails like any
    // other: the previous plan must not stay to be applied in its place.
    plan.save(&out)
        .map_err(|e| discard_previous_plan(&out, e.into()))?;
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&render::json(&plan)).expect("serializes")
        );
    } else {
        out!("{}", render::human(&plan, style));
        if plan.has_changes() {
            outln!(
                "\nSaved the plan to {}. Apply exactly this plan with:\n  rehearsal apply {}",
                out.display(),
                out.display()
            );
        }
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        exit::CHANGES
    } else {
        exit::SUCCESS
    })
}

pub fn show(path: &Path, json: bool, style: Style) -> Result<u8, Error> {
    let plan = load_saved(path)?;
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&render::json(&plan)).expect("serializes")
        );
    } else {
        outln!(
            "Plan {} for {}, made {} by rehearsal {}.\n",
            plan.id(),
            plan.env.name,
            plan.created_at,
            plan.tool_version
        );
        out!("{}", render::human(&plan, style));
    }
    Ok(exit::SUCCESS)
}

/// A saved plan. A file that cannot be read is an error like any other; a file that holds no
/// plan this rehearsal can apply (damaged, or of another plan format) means "plan again".
pub fn load_saved(path: &Path) -> Result<Plan, Error> {
    Plan::load(path).map_err(|e| {
        // Telling the two apart by the file, not by the message: PlanError has one variant
        // for both, and the plan format is not this module's to change.
        if std::fs::File::open(path).is_err() {
            Error::Plan(Box::new(e))
        } else {
            Error::UnusablePlan(Box::new(e))
        }
    })
}

/// A plan that failed must not leave the previous plan in its place: `make
/// create-prerelease-from-prod` would apply that older plan, made with other variables. It is
/// removed; where its directory forbids that, emptied (an empty file is no plan); where even
/// that fails, the error says the previous plan is still there.
fn discard_previous_plan(out: &Path, error: Error) -> Error {
    use crate::error::Discarded;
    if !out.is_file() {
        return error;
    }
    let discarded = match std::fs::remove_file(out) {
        Ok(()) => Discarded::Removed,
        Err(removing) => match std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(out)
        {
            Ok(_) => Discarded::Emptied,
            Err(_) => Discarded::Left(removing.to_string()),
        },
    };
    Error::PlanFailed {
        error: Box::new(error),
        previous: out.to_path_buf(),
        discarded,
    }
}
