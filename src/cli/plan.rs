//! `rehearsal plan ENV` and `rehearsal show PLAN`

use std::path::{Path, PathBuf};

use clap::Args;

use super::{CliError, GlobalArgs, VarArgs, exit, load_spec, provider};
use crate::plan::render::Style;
use crate::plan::{Plan, render};
use crate::workflow;

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Environment name (environments/NAME.toml) or path to a spec.
    pub env: String,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Where to save the plan [default: plans/ENV.plan.json].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the plan as JSON on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// Exit 0 when there are no changes, 1 on error, 2 when there are changes.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

pub async fn run(g: &GlobalArgs, args: PlanArgs, style: Style) -> Result<u8, CliError> {
    let spec = match load_spec(g, &args.env, &args.vars) {
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
    let planned = match provider::connect(&spec.env.region).await {
        Ok(provider) => workflow::make_plan(provider.as_ref(), &spec)
            .await
            .map_err(CliError::from),
        Err(e) => Err(e),
    };
    let plan = planned.map_err(|e| discard_previous_plan(&out, e))?;
    plan.save(&out)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&render::json(&plan)).expect("serializes")
        );
    } else {
        print!("{}", render::human(&plan, style));
        if plan.has_changes() {
            println!(
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

pub fn show(path: &Path, json: bool, style: Style) -> Result<u8, CliError> {
    let plan = load_saved(path)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&render::json(&plan)).expect("serializes")
        );
    } else {
        println!(
            "Plan {} for {}, made {} by rehearsal {}.\n",
            plan.id(),
            plan.env.name,
            plan.created_at,
            plan.tool_version
        );
        print!("{}", render::human(&plan, style));
    }
    Ok(exit::SUCCESS)
}

/// A saved plan. A file that cannot be read is an error like any other; a file that holds no
/// plan this rehearsal can apply (damaged, or of another plan format) means "plan again".
pub fn load_saved(path: &Path) -> Result<Plan, CliError> {
    Plan::load(path).map_err(|e| {
        let unreadable = std::fs::File::open(path).is_err();
        let error = CliError::from(e);
        if unreadable {
            error
        } else {
            error.with_code(exit::REPLAN)
        }
    })
}

/// A plan that failed must not leave the previous plan in its place: `make
/// create-prerelease-from-prod` would apply that older plan, made with other variables.
fn discard_previous_plan(out: &Path, mut error: CliError) -> CliError {
    if out.exists() && std::fs::remove_file(out).is_ok() {
        let note = format!(
            "the previous plan at {} was removed, so it cannot be applied by mistake",
            out.display()
        );
        error.hint = Some(match error.hint.take() {
            Some(h) => format!("{h}\nhint: {note}"),
            None => note,
        });
    }
    error
}
