//! Which cloud a command talks to: AWS (default) or the fake one kept in a file, selected with
//! `REHEARSAL_PROVIDER=fake:PATH` so the whole story can run without AWS. The choice is made
//! once, in [`super::Settings`].

use std::sync::Arc;

use super::settings::ProviderChoice;
use crate::Error;
use crate::provider::Provider;
use crate::provider::fake::FakeProvider;

pub const ENV_VAR: &str = "REHEARSAL_PROVIDER";

pub async fn connect(choice: &ProviderChoice, region: &str) -> Result<Arc<dyn Provider>, Error> {
    match choice {
        ProviderChoice::Fake(path) => Ok(Arc::new(
            FakeProvider::open(path, region).map_err(Error::FakeCloud)?,
        )),
        ProviderChoice::Aws => aws(region).await,
    }
}

#[cfg(feature = "aws")]
async fn aws(region: &str) -> Result<Arc<dyn Provider>, Error> {
    Ok(Arc::new(crate::aws::AwsProvider::connect(region).await?))
}

#[cfg(not(feature = "aws"))]
async fn aws(_region: &str) -> Result<Arc<dyn Provider>, Error> {
    Err(Error::NoAwsProvider)
}
