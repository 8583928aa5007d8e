//! Reading the live state a plan is made from: the spec's sources and the environment's own
//! resources (found by their tags).

use std::collections::BTreeMap;

use futures_util::future::try_join_all;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::PlanError;
use crate::model::{
    Address, Declared, EnvId, LiveResource, SourceAddress, SourceObject, SourceQuery,
};
use crate::provider::Provider;
use crate::spec::Spec;

#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub sources: BTreeMap<SourceAddress, SourceObject>,
    pub resources: Vec<LiveResource>,
}

impl Observed {
    /// Look up every source (concurrently) and list the environment's resources.
    pub async fn read(provider: &dyn Provider, spec: &Spec) -> Result<Observed, PlanError> {
        let lookups = spec.sources.values().map(|s| async move {
            let address = s.address.to_string();
            let region = &spec.env.region;
            let found = lookup_source(provider, region, &address, &s.query, s.location.clone());
            found.await.map(|found| (s.address.clone(), found))
        });
        let sources = try_join_all(lookups).await?.into_iter().collect();
        let resources = observe_environment(provider, &spec.env, &spec.declared()).await?;
        Ok(Observed { sources, resources })
    }

    /// Live resources by address, ignoring those AWS is already removing.
    pub fn by_address(&self) -> BTreeMap<Address, Vec<&LiveResource>> {
        let mut map: BTreeMap<Address, Vec<&LiveResource>> = BTreeMap::new();
        for r in self.resources.iter().filter(|r| !r.is_going_away()) {
            map.entry(r.address.clone()).or_default().push(r);
        }
        map
    }

    /// A digest per observed object. Lifecycle words (`status`, `state`) are left out: a
    /// database finishing its nightly backup does not make a plan stale.
    pub fn fingerprints(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (address, source) in &self.sources {
            out.insert(format!("source {address}"), source_fingerprint(source));
        }
        for r in self.resources.iter().filter(|r| !r.is_going_away()) {
            let key = format!("resource {} {}", r.address, r.id);
            out.insert(key, digest(&strip_lifecycle(&r.attributes), Some(&r.tags)));
        }
        out
    }
}

/// Look up one source; a failure names the look-up and where the spec declares it.
pub async fn lookup_source(
    provider: &dyn Provider,
    region: &str,
    address: &str,
    query: &SourceQuery,
    location: String,
) -> Result<SourceObject, PlanError> {
    provider
        .lookup(region, query)
        .await
        .map_err(|error| PlanError::Source {
            source_address: address.to_string(),
            query: query.describe(),
            location,
            error,
        })
}

/// Everything tagged for the environment.
pub async fn observe_environment(
    provider: &dyn Provider,
    env: &EnvId,
    declared: &Declared,
) -> Result<Vec<LiveResource>, PlanError> {
    provider
        .observe(env, declared)
        .await
        .map_err(|error| PlanError::Observe {
            env: env.name.clone(),
            error,
        })
}

/// A source's fingerprint. Lifecycle words are left out (see [`Observed::fingerprints`]).
pub fn source_fingerprint(source: &SourceObject) -> String {
    digest(&strip_lifecycle(&source.attributes), None)
}

fn strip_lifecycle(attrs: &serde_json::Map<String, Value>) -> serde_json::Map<String, Value> {
    attrs
        .iter()
        // Events: what ECS says as it works, not what the resource is; times: when AWS did
        // something (see `model::times`).
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "status" | "state" | "events" | crate::kinds::ecs_service::ROLLED_BACK_AT
            ) && !crate::model::times::ALL.contains(&k.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn digest(
    attrs: &serde_json::Map<String, Value>,
    tags: Option<&BTreeMap<String, String>>,
) -> String {
    // serde_json's Map is ordered (BTreeMap), so this serialization is canonical.
    let bytes = serde_json::to_vec(&(attrs, tags)).expect("attributes serialize");
    hex::encode(&Sha256::digest(bytes)[..16])
}
