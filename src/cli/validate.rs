//! `rehearsal validate ENV`

use super::{Error, Settings, VarArgs, exit};

pub fn run(settings: &Settings, env: &str, vars: VarArgs) -> Result<u8, Error> {
    let spec = settings.load_spec(env, &vars)?;
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
