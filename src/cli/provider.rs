//! Which cloud a command talks to: AWS (default) or the fake one kept in a file, selected with
//! `REHEARSAL_PROVIDER=fake:PATH` so the whole story can run without AWS.

use std::path::Path;
use std::sync::Arc;

use super::Error;
use crate::provider::Provider;
use crate::provider::fake::FakeProvider;

pub const ENV_VAR: &str = "REHEARSAL_PROVIDER";

pub async fn connect(region: &str) -> Result<Arc<dyn Provider>, Error> {
    let choice = std::env::var(ENV_VAR).unwrap_or_else(|_| "aws".into());
    if let Some(path) = choice.strip_prefix("fake:") {
        let fake = FakeProvider::open(Path::new(path), region).map_err(Error::FakeCloud)?;
        return Ok(Arc::new(fake));
    }
    if choice != "aws" {
        return Err(Error::UnknownProvider { value: choice });
    }
    aws(region).await
}

#[cfg(feature = "aws")]
async fn aws(region: &str) -> Result<Arc<dyn Provider>, Error> {
    Ok(Arc::new(crate::aws::AwsProvider::connect(region).await?))
}

#[cfg(not(feature = "aws"))]
async fn aws(_region: &str) -> Result<Arc<dyn Provider>, Error> {
    Err(Error::NoAwsProvider)
}
