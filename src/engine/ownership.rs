//! How a resource proves that rehearsal created it, for this project and this environment.
//!
//! The rule: a resource is an environment's own when its tags name the project
//! (`rehearsal:project`), the environment (`rehearsal:env`) and an address of the resource's
//! kind (`rehearsal:address`), and its `rehearsal:identity` tag is the digest of those three and
//! of the resource's own *anchor*: something of the resource itself, fixed when rehearsal
//! creates it, that a copy does not share. The anchor of each kind is in its description
//! (`kinds::Kind::anchor`): the RDS identifier, the ECS name or family, or the ClientToken EC2
//! recorded when rehearsal launched the instance.
//!
//! What AWS makes on a resource's behalf records nothing of the call that made it: the EBS
//! volumes of an instance carry the instance's launch token in a tag of their own
//! (`rehearsal:launch`), written in the same RunInstances call. Their proof is their tags alone,
//! so a volume someone tagged with every tag of one of ours would pass it; nothing AWS does
//! copies volume tags that way, and a volume is only ever deleted once it is detached.
//!
//! Tags alone are not enough, because AWS and people copy them: a database restored by hand from
//! a rehearsal snapshot inherits the snapshot's tags, "launch more like this" copies an
//! instance's, and two projects may both have an environment called `prerelease`. Each of those
//! fails the rule (another identifier, another token, another project), so rehearsal never
//! plans, changes or deletes it. Every destructive call checks the rule on the resource as AWS
//! describes it right before the call, and every create checks it on what AWS handed back: a
//! create that returns an existing object (ECS `CreateCluster` of a name in use) is refused,
//! never adopted.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::kinds::{self, Anchor};
use crate::model::{Address, Attributes, EnvId, LiveResource, tags};
use crate::provider::ProviderError;

/// The attribute in which providers report an EC2 instance's launch ClientToken.
pub const CLIENT_TOKEN: &str = "client_token";

/// The ownership tags of a resource about to be created: set in the create call itself, never
/// changed after.
pub fn creation_tags(
    env: &EnvId,
    address: &Address,
    anchor: &str,
    protected: bool,
    expires_at: Option<&str>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert(tags::PROJECT.to_string(), env.project.clone());
    out.insert(tags::ENV.to_string(), env.name.clone());
    out.insert(tags::ADDRESS.to_string(), address.tag_value());
    out.insert(
        tags::IDENTITY.to_string(),
        identity(&env.project, &env.name, address, anchor),
    );
    let lifecycle = if protected { "protected" } else { "ephemeral" };
    out.insert(tags::LIFECYCLE.to_string(), lifecycle.to_string());
    if let Some(at) = expires_at {
        out.insert(tags::EXPIRES_AT.to_string(), at.to_string());
    }
    out
}

/// The anchor of a resource about to be created, from what the create request says.
pub fn anchor_of_request(address: &Address, attributes: &Attributes, token: &str) -> String {
    match kinds::describe(address.kind).anchor {
        Anchor::Attribute(name) => text(attributes.get(name)),
        Anchor::ClientToken | Anchor::LaunchTag => token.to_string(),
    }
}

/// The tags of what AWS makes along with a resource (the volumes of an instance, tagged in
/// the RunInstances call): the maker's tags, with the by-product's own address and identity,
/// anchored on the maker's create token written as `rehearsal:launch`.
pub fn by_product_tags(
    env: &EnvId,
    maker_tags: &BTreeMap<String, String>,
    by_product: &Address,
    token: &str,
) -> BTreeMap<String, String> {
    let mut out = maker_tags.clone();
    out.insert(tags::ADDRESS.to_string(), by_product.tag_value());
    out.insert(
        tags::IDENTITY.to_string(),
        identity(&env.project, &env.name, by_product, token),
    );
    out.insert(tags::LAUNCH.to_string(), token.to_string());
    out
}

/// The anchor of a resource as AWS describes it.
fn anchor_of(live: &LiveResource) -> Option<String> {
    let anchor = match kinds::describe(live.address.kind).anchor {
        Anchor::Attribute(name) => text(live.attributes.get(name)),
        Anchor::ClientToken => text(live.attributes.get(CLIENT_TOKEN)),
        Anchor::LaunchTag => live.tags.get(tags::LAUNCH).cloned().unwrap_or_default(),
    };
    Some(anchor).filter(|a| !a.is_empty())
}

fn text(value: Option<&serde_json::Value>) -> String {
    match value {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// `rehearsal:identity`: a digest of project, environment, address and anchor. RDS stores
/// identifiers in lower case, so the anchor is compared that way.
pub fn identity(project: &str, env: &str, address: &Address, anchor: &str) -> String {
    let bound = format!("{project}\n{env}\n{address}\n{}", anchor.to_lowercase());
    hex::encode(&Sha256::digest(bound)[..12])
}

/// The project and environment a described resource proves it belongs to, if it does.
pub fn owner(live: &LiveResource) -> Option<(&str, &str)> {
    let project = live.tags.get(tags::PROJECT)?;
    let env = live.tags.get(tags::ENV)?;
    let address = live.tags.get(tags::ADDRESS)?;
    let claimed = live.tags.get(tags::IDENTITY)?;
    let anchor = anchor_of(live)?;
    let proven = address == &live.address.tag_value()
        && claimed == &identity(project, env, &live.address, &anchor);
    proven.then_some((project.as_str(), env.as_str()))
}

/// Whether a described resource is this environment's own.
pub fn belongs_to(live: &LiveResource, env: &EnvId) -> bool {
    owner(live) == Some((env.project.as_str(), env.name.as_str()))
}

/// The address a resource's tags claim, if it is one of `kind`: what a scan needs to describe
/// it as a resource of the environment before [`owner`] decides whether it is one.
pub fn claimed_address(
    all: &BTreeMap<String, String>,
    kind: crate::model::ResourceKind,
) -> Option<Address> {
    let address: Address = all.get(tags::ADDRESS)?.parse().ok()?;
    (address.kind == kind).then_some(address)
}

/// Refuse to act on a resource that is not this environment's own: checked right before every
/// destructive call, on the resource as AWS describes it then, and after every create.
pub fn ensure_owned(live: &LiveResource, env: &EnvId, action: &str) -> Result<(), ProviderError> {
    if belongs_to(live, env) {
        return Ok(());
    }
    let claims = match (live.tags.get(tags::PROJECT), live.tags.get(tags::ENV)) {
        (Some(project), Some(claimed_env)) if owner(live).is_some() => {
            format!("it belongs to {project}/{claimed_env}")
        }
        (_, Some(_)) => "its rehearsal tags do not prove it was made for this environment (copied \
                         from another resource, or written by hand)"
            .to_string(),
        _ => "it carries no rehearsal tags".to_string(),
    };
    Err(ProviderError::NotOurs {
        what: format!("{} ({})", live.address, live.id),
        action: action.to_string(),
        why: claims,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ResourceKind;

    fn env(project: &str, name: &str) -> EnvId {
        EnvId {
            project: project.into(),
            name: name.into(),
            region: "eu-west-1".into(),
        }
    }

    fn made(env: &EnvId, address: &str, identifier: &str) -> LiveResource {
        let address: Address = address.parse().unwrap();
        let mut attributes = Attributes::new();
        attributes.insert("identifier".into(), identifier.into());
        LiveResource {
            tags: creation_tags(env, &address, identifier, false, None),
            address,
            id: identifier.into(),
            status: "available".into(),
            attributes,
        }
    }

    #[test]
    fn a_resource_made_for_an_environment_belongs_to_it_alone() {
        let ours = env("openchs", "prerelease");
        let db = made(&ours, "rds_instance.db", "prerelease-db");
        assert!(belongs_to(&db, &ours));
        assert!(
            !belongs_to(&db, &env("moped", "prerelease")),
            "a namesake of another project"
        );
        assert!(!belongs_to(&db, &env("openchs", "staging")));
        assert!(ensure_owned(&db, &ours, "rds:DeleteDBInstance").is_ok());
    }

    #[test]
    fn a_volume_an_instance_launched_with_belongs_to_its_environment() {
        let ours = env("openchs", "prerelease");
        let server: Address = "ec2_instance.server".parse().unwrap();
        let maker_tags = creation_tags(&ours, &server, "rh-token", false, None);
        let address: Address = "ebs_volume.server".parse().unwrap();
        let volume = LiveResource {
            tags: by_product_tags(&ours, &maker_tags, &address, "rh-token"),
            address,
            id: "vol-1".into(),
            status: "available".into(),
            attributes: Attributes::new(),
        };
        assert!(belongs_to(&volume, &ours));
        assert!(!belongs_to(&volume, &env("moped", "prerelease")));
        // Another launch token than the one its identity was made with.
        let mut relabelled = volume.clone();
        relabelled
            .tags
            .insert(tags::LAUNCH.into(), "rh-another".into());
        assert!(!belongs_to(&relabelled, &ours));
    }

    #[test]
    fn copied_tags_prove_nothing() {
        let ours = env("openchs", "prerelease");
        let db = made(&ours, "rds_instance.db", "prerelease-db");
        // Restored by hand from it, tags and all, under another identifier.
        let copy = LiveResource {
            id: "hand-restored".into(),
            attributes: [("identifier".to_string(), "hand-restored".into())]
                .into_iter()
                .collect(),
            ..db.clone()
        };
        assert!(!belongs_to(&copy, &ours));
        let refused = ensure_owned(&copy, &ours, "rds:DeleteDBInstance").unwrap_err();
        assert!(refused.to_string().contains("do not prove"), "{refused}");
        // Its tags claim another kind's address.
        let mut mislabelled = db.clone();
        mislabelled.address = Address::new(ResourceKind::RdsSnapshot, "db");
        assert!(owner(&mislabelled).is_none());
    }

    #[test]
    fn rds_stores_identifiers_in_lower_case() {
        let ours = env("openchs", "prerelease");
        let mut db = made(&ours, "rds_instance.db", "Prerelease-DB");
        db.attributes
            .insert("identifier".into(), "prerelease-db".into());
        assert!(belongs_to(&db, &ours));
    }
}
