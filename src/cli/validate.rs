//! `rehearsal validate ENV`

use super::{Error, GlobalArgs, VarArgs, exit, load_spec};

pub fn run(g: &GlobalArgs, env: &str, vars: VarArgs) -> Result<u8, Error> {
    let spec = load_spec(g, env, &vars)?;
    println!(
        "{} is valid: environment {} in {}, {} sources, {} resources.",
        spec.path.display(),
        spec.env.name,
        spec.env.region,
        spec.sources.len(),
        spec.resources.len()
    );
    Ok(exit::SUCCESS)
}
