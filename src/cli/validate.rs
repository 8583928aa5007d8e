//! `rehearsal validate ENV`

use super::{Error, Settings, VarArgs, exit};
use crate::english::count;

pub fn run(settings: &Settings, env: &str, vars: VarArgs) -> Result<u8, Error> {
    let spec = settings.load_spec(env, &vars)?;
    outln!(
        "{} is valid: environment {} in {}, {}, {}.",
        spec.path.display(),
        spec.env.name,
        spec.env.region,
        count(spec.sources.len(), "source"),
        count(spec.resources.len(), "resource")
    );
    Ok(exit::SUCCESS)
}
