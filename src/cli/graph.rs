//! `rehearsal graph ENV`

use clap::Args;

use super::{Error, Settings, VarArgs, exit};
use crate::engine::graph::ExecutionGraph;
use crate::engine::workflow;

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Environment name (environments/NAME.toml) or path to a spec.
    pub env: String,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Print only the ordered steps, one wave a line, instead of DOT.
    #[arg(long)]
    pub steps: bool,
}

pub async fn run(settings: &Settings, args: GraphArgs) -> Result<u8, Error> {
    let spec = settings.load_spec(&args.env, &args.vars)?;
    let provider = settings.connect(&spec.env.region).await?;
    let plan = workflow::make_plan(provider.as_ref(), &spec).await?;
    let graph = ExecutionGraph::build(&plan)?;
    if args.steps {
        out!("{}", graph.to_text());
    } else {
        outln!("// Steps in order (each line can run once the lines above are done):");
        for line in graph.to_text().lines() {
            outln!("//   {line}");
        }
        out!("{}", graph.to_dot());
    }
    Ok(exit::SUCCESS)
}
