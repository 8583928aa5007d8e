//! `rehearsal import ENV ADDRESS ID`: bring an object rehearsal did not create (production's ECS
//! service, its task-definition family, its database) under a protected environment's
//! management, explicitly and once, as Terraform's `import` does.
//!
//! rehearsal never adopts on its own (see `apply::create`'s refusal and `ownership`). Import is
//! the one way in: the spec must already declare ADDRESS, the environment must be protected (so
//! neither `destroy` nor `reap` can ever delete what was imported), and the object found must
//! not prove it belongs to another environment. It is then tagged exactly as a create for
//! ADDRESS would have tagged it: the ownership tags with the identity digest anchored on its
//! name, identifier or family, so `ownership::belongs_to` holds and the next plan sees it as the
//! resource at ADDRESS, and compares it with the spec honestly.
//!
//! A task-definition family is many revisions, each a taggable resource of its own. Import tags
//! the newest ACTIVE revision only: the one a create would have registered, and the one a plan
//! compares with the spec. Older revisions stay untagged, so nothing rehearsal does (a plan, a
//! replacement's clean-up) ever deregisters them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use crate::engine::ownership;
use crate::kinds::{self, Anchor};
use crate::model::{Address, LiveResource, tags};
use crate::plan::{ActionKind, PlanError};
use crate::provider::{CreateRequest, NoProgress, Operation, Provider, ProviderError};
use crate::spec::Spec;

#[derive(Debug, Error)]
pub enum ImportError {
    #[error("{env} is not protected: importing into it would let `destroy` and `reap` delete {id}")]
    NotProtected { env: String, id: String },
    #[error("{address} is not a resource of {path}")]
    NotDeclared {
        address: Address,
        path: String,
        /// The resources of that kind the spec does declare.
        declared: Vec<Address>,
    },
    #[error(
        "{address} cannot be imported: a {} proves it is rehearsal's by {why}",
        address.kind
    )]
    Unsupported { address: Address, why: &'static str },
    #[error("no {} answers to {id} in {region}", address.kind)]
    NotFound {
        address: Address,
        id: String,
        region: String,
    },
    #[error("{id} is not what {address} declares: the spec's {address} is {found}")]
    Mismatch {
        address: Address,
        id: String,
        found: String,
    },
    #[error("{address} ({id}) already belongs to {owner}")]
    OwnedElsewhere {
        address: Address,
        id: String,
        owner: String,
    },
    #[error("{address} ({id}) is already {env}'s")]
    AlreadyOwned {
        address: Address,
        id: String,
        env: String,
    },
    #[error("{id} was tagged, but does not prove it is {env}'s {address} as AWS describes it now")]
    NotProven {
        address: Address,
        id: String,
        env: String,
    },
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("failed to import {address}: {error}")]
    Provider {
        address: Address,
        error: ProviderError,
    },
}

impl ImportError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ImportError::NotProtected { .. } => Some(
                "import only into a protected environment (lifecycle = \"protected\" in its \
                 [environment]): a protected environment's resources are never destroyed or reaped"
                    .into(),
            ),
            ImportError::NotDeclared {
                address,
                path,
                declared,
            } if declared.is_empty() => Some(format!(
                "declare it first: add [resources.{}.{}] to {path}, written as the live object \
                 is, so that the plan after the import shows no change",
                address.kind, address.name
            )),
            ImportError::NotDeclared { declared, .. } => Some(format!(
                "it declares: {}",
                declared
                    .iter()
                    .map(Address::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            ImportError::Unsupported { .. } => Some(
                "import the ECS services, task-definition families, clusters, RDS instances and \
                 snapshots and security groups a spec declares; leave the rest as sources"
                    .into(),
            ),
            ImportError::NotFound { .. } => Some(
                "check the id and the region: an ECS service is CLUSTER/NAME or its ARN, a \
                 task definition its family or ARN, an RDS instance its identifier"
                    .into(),
            ),
            ImportError::Mismatch { .. } => Some(
                "import into the address that declares this object, or correct its name, \
                 family or identifier in the spec"
                    .into(),
            ),
            ImportError::OwnedElsewhere { .. } => Some(
                "rehearsal never moves a resource between environments: it stays with the \
                 environment that owns it"
                    .into(),
            ),
            ImportError::AlreadyOwned { .. } => {
                Some("nothing to do: `rehearsal plan ENV` compares it with the spec".into())
            }
            ImportError::NotProven { .. } => Some(
                "run the import again; if it persists, see what tags the object has with the AWS \
                 console"
                    .into(),
            ),
            ImportError::Plan(e) => e.hint(),
            ImportError::Provider { error, .. } => match error {
                ProviderError::AccessDenied { .. } => Some(
                    "importing tags a resource rehearsal did not create, which the shipped IAM \
                     policy forbids on purpose: run the import once with an administrator's \
                     credentials that have docs/iam-import-policy.json (see \"Importing what \
                     rehearsal did not create\" in README.md)"
                        .into(),
                ),
                other => other.hint(),
            },
        }
    }
}

/// An import ready to be carried out: what was found and the tags it will get.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub address: Address,
    /// The object as AWS describes it now.
    pub live: LiveResource,
    /// rehearsal's tags, as a create for the address would have set them.
    pub tags: BTreeMap<String, String>,
    request: CreateRequest,
    op: Operation,
}

/// Whether `id` (what the user typed) names `live`: its id or ARN, its name, identifier or
/// family, or the tail of its ARN (`CLUSTER/NAME` of a service, `FAMILY:REVISION`).
fn names(live: &LiveResource, anchor: &str, id: &str) -> bool {
    !id.is_empty()
        && (live.id == id
            || anchor == id.to_lowercase()
            || live.attributes.get("arn").and_then(|a| a.as_str()) == Some(id)
            || live.id.ends_with(&format!("/{id}")))
}

/// Check that `address` may be imported into `spec`'s environment from the object `id` names,
/// and find it. Changes nothing.
pub async fn prepare(
    provider: &dyn Provider,
    spec: &Spec,
    address: &Address,
    id: &str,
) -> Result<Prepared, ImportError> {
    let env = &spec.env;
    if !spec.is_protected() {
        return Err(ImportError::NotProtected {
            env: env.name.clone(),
            id: id.to_string(),
        });
    }
    if !spec.resources.contains_key(address) {
        return Err(ImportError::NotDeclared {
            address: address.clone(),
            path: spec.path.display().to_string(),
            declared: spec
                .resources
                .keys()
                .filter(|a| a.kind == address.kind)
                .cloned()
                .collect(),
        });
    }
    let anchor_attribute = match kinds::describe(address.kind).anchor {
        Anchor::Attribute(name) => name,
        Anchor::ClientToken => {
            return Err(ImportError::Unsupported {
                address: address.clone(),
                why: "the token of the call that launched it, which only a launch by rehearsal has",
            });
        }
        Anchor::LaunchTag => {
            return Err(ImportError::Unsupported {
                address: address.clone(),
                why: "the launch token of what made it",
            });
        }
    };
    // The spec's own words for the address, resolved as a plan resolves them: what a create
    // would ask for, and so what an import must find.
    let plan = crate::engine::workflow::make_plan(provider, spec).await?;
    let Some(action) = plan.actions.iter().find(|a| &a.address == address) else {
        // No change planned: it already exists and is this environment's.
        let live = crate::plan::observe::observe_environment(provider, env, &spec.declared())
            .await?
            .into_iter()
            .find(|r| &r.address == address);
        return Err(ImportError::AlreadyOwned {
            address: address.clone(),
            id: live.map(|l| l.id).unwrap_or_else(|| id.to_string()),
            env: env.name.clone(),
        });
    };
    if action.action != ActionKind::Create {
        let live = action.live.as_ref().map(|l| l.id.clone());
        return Err(ImportError::AlreadyOwned {
            address: address.clone(),
            id: live.unwrap_or_else(|| id.to_string()),
            env: env.name.clone(),
        });
    }
    let attributes = action.desired.clone().unwrap_or_default();
    let anchor = ownership::anchor_of_request(address, &attributes, "");
    let request = CreateRequest {
        kind: address.kind,
        tags: ownership::creation_tags(env, address, &anchor, true, None),
        attributes,
    };
    let op = Operation {
        env: env.clone(),
        address: address.clone(),
        idempotency_token: "rh-import".into(),
        timeout: Duration::from_secs(300),
        progress: Arc::new(NoProgress),
    };
    let provider_error = |error| ImportError::Provider {
        address: address.clone(),
        error,
    };
    let Some(live) = provider
        .existing(&op, &request)
        .await
        .map_err(provider_error)?
    else {
        return Err(ImportError::NotFound {
            address: address.clone(),
            id: id.to_string(),
            region: env.region.clone(),
        });
    };
    if !names(&live, &anchor.to_lowercase(), id) {
        return Err(ImportError::Mismatch {
            address: address.clone(),
            id: id.to_string(),
            found: format!("{anchor_attribute} = {anchor} ({})", live.id),
        });
    }
    if ownership::belongs_to(&live, env) {
        return Err(ImportError::AlreadyOwned {
            address: address.clone(),
            id: live.id,
            env: env.name.clone(),
        });
    }
    if let Some((project, other)) = ownership::owner(&live) {
        return Err(ImportError::OwnedElsewhere {
            address: address.clone(),
            id: live.id.clone(),
            owner: format!("{project}/{other}"),
        });
    }
    Ok(Prepared {
        address: address.clone(),
        tags: request.tags.clone(),
        live,
        request,
        op,
    })
}

/// Tag what [`prepare`] found, and prove that it is now the environment's, as AWS describes it.
pub async fn carry_out(
    provider: &dyn Provider,
    prepared: &Prepared,
) -> Result<LiveResource, ImportError> {
    let provider_error = |error| ImportError::Provider {
        address: prepared.address.clone(),
        error,
    };
    provider
        .import(&prepared.op, &prepared.request, &prepared.live)
        .await
        .map_err(provider_error)?;
    let now = provider
        .describe(&prepared.op.env, std::slice::from_ref(&prepared.live))
        .await
        .map_err(provider_error)?
        .into_iter()
        .next()
        .flatten();
    match now {
        Some(now) if ownership::belongs_to(&now, &prepared.op.env) => Ok(now),
        _ => Err(ImportError::NotProven {
            address: prepared.address.clone(),
            id: prepared.live.id.clone(),
            env: prepared.op.env.name.clone(),
        }),
    }
}

/// The tags an import sets, in the order a person reads them.
pub fn shown_tags(tags_set: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let order = [
        tags::PROJECT,
        tags::ENV,
        tags::ADDRESS,
        tags::LIFECYCLE,
        tags::IDENTITY,
    ];
    let mut out: Vec<(String, String)> = order
        .iter()
        .filter_map(|k| tags_set.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect();
    out.extend(
        tags_set
            .iter()
            .filter(|(k, _)| !order.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    out
}
