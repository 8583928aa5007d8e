//! Which cloud a command talks to: AWS (default) or the fake one kept in a file, selected with
//! `REHEARSAL_PROVIDER=fake:PATH` so the whole story can run without AWS.

use std::path::Path;
use std::sync::Arc;

use super::CliError;
use crate::provider::Provider;
use crate::provider::fake::FakeProvider;

pub const ENV_VAR: &str = "REHEARSAL_PROVIDER";

pub async fn connect(region: &str) -> Result<Arc<dyn Provider>, CliError> {
    let choice = std::env::var(ENV_VAR).unwrap_or_else(|_| "aws".into());
    if let Some(path) = choice.strip_prefix("fake:") {
        let fake =
            FakeProvider::open(Path::new(path), region).map_err(|e| CliError::new(e, None))?;
        return Ok(Arc::new(fake));
    }
    if choice != "aws" {
        return Err(CliError::new(
            format!("{ENV_VAR}={choice} is not a provider"),
            Some(format!(
                "use {ENV_VAR}=aws (the default) or {ENV_VAR}=fake:STATE.json"
            )),
        )
        .with_code(crate::exit::USAGE));
    }
    aws(region).await
}

#[cfg(feature = "aws")]
async fn aws(region: &str) -> Result<Arc<dyn Provider>, CliError> {
    Ok(Arc::new(crate::aws::AwsProvider::connect(region).await?))
}

#[cfg(not(feature = "aws"))]
async fn aws(_region: &str) -> Result<Arc<dyn Provider>, CliError> {
    Err(CliError::new(
        "this rehearsal was built without the AWS provider",
        Some(format!(
            "build with the default `aws` feature, or set {ENV_VAR}=fake:STATE.json"
        )),
    ))
}
