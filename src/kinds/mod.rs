//! Resource kinds, each one place: what a spec may say about it, what changes in place, what it
//! outputs, how it is replaced, what must be gone before it can be deleted, and the TOML schema
//! and rules of its spec table. One module per kind; [`describe`] is the registry everything in
//! the engine reads. The fake provider (`provider::fake::kinds`) and the AWS provider
//! (`aws::registry`) have a registry of their own, keyed by the same enum, so a new kind does
//! not compile until all three know it (CONTRIBUTING.md lists the steps).

pub mod dns_record;
pub mod ebs_volume;
pub mod ec2_instance;
pub mod ecs_cluster;
pub mod ecs_service;
pub mod ecs_task_definition;
pub mod final_snapshot;
pub mod isolation;
mod lifecycle;
pub mod rds_instance;
pub mod rds_snapshot;
pub mod security_group;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

pub use lifecycle::{
    CircuitBreaker, Consistency, Lifecycle, Lingering, Phase, circuit_breaker, consistency,
    lifecycle, lingering,
};

use crate::model::{Attributes, Declared, EnvId, ReplaceOrder, ResourceKind};

/// What of a resource, fixed when rehearsal creates it, proves its tags were written for it
/// and not copied from another (see `ownership`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// An attribute rehearsal chooses before the create call: an identifier, a name, a family.
    Attribute(&'static str),
    /// The idempotency token of the create call, which AWS records on the resource (EC2's
    /// ClientToken): the only thing rehearsal fixes about an instance before it exists.
    ClientToken,
    /// The maker's create token, written in the `rehearsal:launch` tag: for what AWS makes on a
    /// resource's behalf (an instance's volumes), which records nothing of the call that made
    /// it. Weaker: a copy of every tag passes (see `ownership`).
    LaunchTag,
}

/// A kind AWS makes as a side effect of another (the EBS volumes an instance launches with):
/// never declared in a spec, part of its maker while attached to it, and the environment's to
/// delete once its maker left it behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByProduct {
    /// The kind whose create makes it; its address shares the maker's name.
    pub of: ResourceKind,
    /// The state in which it no longer belongs to a maker (`available`: detached).
    pub left_behind_when: &'static str,
}

/// Everything the engine needs to know about a kind, as data.
#[derive(Debug)]
pub struct Kind {
    pub kind: ResourceKind,
    /// Attributes a spec may set. Those not in `in_place` force a replacement when they change.
    pub inputs: &'static [&'static str],
    /// Attributes AWS can change on a live resource without replacing it.
    pub in_place: &'static [&'static str],
    /// Attributes a provider reports after creation, which other resources may reference.
    pub outputs: &'static [&'static str],
    /// Lists whose order means nothing to AWS, compared as sets.
    pub sets: &'static [&'static str],
    /// Maps compared whole, where a key removed from the spec is a change (elsewhere AWS fills in
    /// defaults the spec never mentioned, and only the keys the spec gives are compared).
    pub exact_maps: &'static [&'static str],
    /// In-place attributes the create call cannot set (or that AWS may ignore there): once the
    /// resource is ready, an update sets those that differ.
    pub set_after_create: &'static [&'static str],
    /// Inputs the provider reports as the digest it recorded at creation (see
    /// `model::input_digest`) rather than as the value: compared by digest.
    pub digested: &'static [&'static str],
    pub replace_order: ReplaceOrder,
    /// What of the resource itself binds its ownership tags to it (see `ownership`).
    pub anchor: Anchor,
    /// Kinds whose resources must all be gone before one of this kind can be deleted (services
    /// before their cluster, databases before the snapshot they were restored from).
    pub deleted_after: &'static [ResourceKind],
    /// `Some` for a kind AWS makes on another's behalf, which specs cannot declare.
    pub by_product: Option<ByProduct>,
    /// Defaults and rules of the spec table its TOML types cannot say.
    pub complete: fn(&mut Attributes, &SpecContext) -> Result<(), Rule>,
    /// Attributes that are whole documents (ECS container definitions), if the kind has any.
    pub documents: Option<&'static Documents>,
    /// The attributes AWS names the resource by, each with AWS's rule for its value. A value
    /// known when the spec is read is checked by `validate`; one that waits for a reference,
    /// once the plan has resolved it.
    pub names: &'static [Name],
    /// Whether a resource AWS reports ready runs what was asked of it, for a kind where ready
    /// is not enough (an ECS service ECS rolled back is ready, on the old task definition).
    /// `None`: ready is done.
    pub verdict: Option<&'static Judgement>,
    /// What a plan says under each create of this kind, when creating one has a cost outside
    /// the environment (a snapshot suspends a Single-AZ database's I/O).
    pub create_note: Option<&'static str>,
    /// How one item of a set-valued attribute reads in a plan, given the attribute's name (a
    /// security group's rule: `tcp 5432 from sg-0abc`); a plan then lists the items added and
    /// removed. `None`: its sets (subnets, the groups of an instance) read well whole.
    pub set_item: Option<fn(&Value, &str) -> Option<String>>,
    /// Why resources of this kind alone can form a dependency cycle, and the way out, for
    /// `validate`'s error; `None`: the general hint.
    pub cycle_hint: Option<&'static str>,
    /// `Some` for a kind that can leave a copy of itself when it is deleted (a database's final
    /// snapshot), when the spec asks for one (see [`final_snapshot`]).
    pub final_snapshot: Option<&'static final_snapshot::FinalSnapshots>,
    /// The attribute a provider may look a declared resource of this kind up by, or list only
    /// by (see [`crate::model::Declared`]), or `None`.
    pub found_by: Option<&'static str>,
    /// `Some(noun)` for a kind that holds data (a database, a snapshot, a volume): deleting or
    /// replacing one loses that data unless a final snapshot keeps it, and a plan says so.
    pub holds_data: Option<&'static str>,
}

/// How a kind judges whether a ready resource runs what was asked.
#[derive(Debug)]
pub struct Judgement {
    /// The attributes asked of it that the judgement reads.
    pub reads: &'static [&'static str],
    pub judge: fn(&Attributes, &crate::model::LiveResource, Since) -> Verdict,
}

/// When the change being judged was asked for, in seconds since the Unix epoch: what AWS
/// reported before it (a rollback of an earlier apply) is not about this change.
pub type Since = u64;

/// Now, as a [`Since`].
pub fn now() -> Since {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A kind's judgement of a ready resource (see [`Kind::verdict`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It runs what was asked.
    Done,
    /// Not yet: what it runs now, for the progress line.
    Pending(String),
    /// It never will without another change: why, in a sentence.
    Failed(String),
}

/// Attributes that are documents AWS fills in and reorders (an ECS task definition's
/// container definitions): compared in a normal form, exactly, so AWS's defaults and orderings
/// are not changes and a field removed is; their changes are listed field by field.
#[derive(Debug)]
pub struct Documents {
    pub attributes: &'static [&'static str],
    /// The normal form of a document attribute's value, given all the attributes of the
    /// object it belongs to (a default can depend on another attribute: a host port under
    /// `awsvpc`).
    pub normalize: fn(attribute: &str, value: &Value, all: &Attributes) -> Value,
    /// What the plan will create, once references to sources are resolved (a clone: the
    /// source's definition with the spec's overrides). An error names the spec's mistake.
    pub resolve: fn(&mut Attributes) -> Result<(), Rule>,
}

/// An attribute that names a resource on AWS, and AWS's rule for it.
#[derive(Debug)]
pub struct Name {
    pub attribute: &'static str,
    /// Whether a value is one AWS accepts (and keeps as written: see the RDS rule).
    pub check: fn(&str) -> Result<(), Rule>,
}

impl Name {
    /// The value of this attribute among `attributes`, when it is known: a string holding no
    /// reference. `$${` escapes are undone: the text AWS would get.
    pub fn known_value(&self, attributes: &Attributes) -> Option<String> {
        let value = attributes.get(self.attribute)?;
        if crate::spec::refs::has_references(value) {
            return None;
        }
        crate::spec::refs::unescape(value)
            .as_str()
            .map(str::to_string)
    }
}

/// AWS's rule for most ECS names (clusters, services, task-definition families): 1 to 255
/// letters, digits, hyphens and underscores.
pub fn ecs_name(what: &str, value: &str) -> Result<(), Rule> {
    let broken = |reason: String| Rule {
        message: format!("`{value}` is not a valid {what}: {reason}"),
        hint: format!("an {what} is 1 to 255 letters, digits, hyphens and underscores"),
    };
    let length = value.chars().count();
    if length == 0 {
        return Err(broken("it is empty".into()));
    }
    if length > 255 {
        return Err(broken(format!(
            "it is {length} characters long, and the most is 255"
        )));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(broken(format!("{} is not allowed", shown_char(c))));
    }
    Ok(())
}

/// A character as an error message shows it: `.`, or a space or control character by name.
pub fn shown_char(c: char) -> String {
    match c {
        ' ' => "a space".into(),
        c if c.is_control() || c.is_whitespace() => format!("the character {:?}", c),
        c => format!("`{c}`"),
    }
}

/// What a kind's spec rules may look at.
pub struct SpecContext<'a> {
    pub env: &'a EnvId,
    /// The resource's name in the spec: `db` in `[resources.rds_instance.db]`.
    pub name: &'a str,
    /// That name as AWS accepts it in an identifier: `db`, `db-2` for the copy `db[2]`.
    pub aws_name: &'a str,
}

/// A broken rule of a kind's spec table; the spec validator adds the position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub message: String,
    pub hint: String,
}

/// A spec table with nothing to complete.
pub fn no_rules(_: &mut Attributes, _: &SpecContext) -> Result<(), Rule> {
    Ok(())
}

/// The registry: the description of every kind. Exhaustive, so a new kind must be described.
pub fn describe(kind: ResourceKind) -> &'static Kind {
    match kind {
        ResourceKind::RdsSnapshot => &rds_snapshot::KIND,
        ResourceKind::RdsInstance => &rds_instance::KIND,
        ResourceKind::Ec2Instance => &ec2_instance::KIND,
        ResourceKind::EbsVolume => &ebs_volume::KIND,
        ResourceKind::EcsCluster => &ecs_cluster::KIND,
        ResourceKind::EcsTaskDefinition => &ecs_task_definition::KIND,
        ResourceKind::EcsService => &ecs_service::KIND,
        ResourceKind::SecurityGroup => &security_group::KIND,
        ResourceKind::DnsRecord => &dns_record::KIND,
    }
}

/// What resources declare by name: for each kind with a `found_by` attribute, its values that
/// are known (a string holding no reference). The one computation of [`Declared`], for a spec's
/// resources and for a plan's actions alike.
pub fn declared<'a>(
    resources: impl IntoIterator<Item = (ResourceKind, &'a Attributes)>,
) -> Declared {
    let mut declared = Declared::default();
    for (kind, attributes) in resources {
        let Some(attribute) = describe(kind).found_by else {
            continue;
        };
        let Some(value) = attributes.get(attribute).and_then(Value::as_str) else {
            continue;
        };
        if !value.contains("${") {
            declared
                .names
                .entry(kind)
                .or_default()
                .insert(value.to_string());
        }
    }
    declared
}

impl Kind {
    pub fn has_attribute(&self, attribute: &str) -> bool {
        self.inputs.contains(&attribute) || self.outputs.contains(&attribute)
    }

    pub fn is_input(&self, attribute: &str) -> bool {
        self.inputs.contains(&attribute)
    }

    pub fn changes_in_place(&self, attribute: &str) -> bool {
        self.in_place.contains(&attribute)
    }

    /// Whether a spec may declare resources of this kind.
    pub fn is_declarable(&self) -> bool {
        self.by_product.is_none()
    }
}

/// Teardown order between kinds: `kind → kinds that must be gone first`, closed transitively
/// (a kind waits for what its prerequisites wait for). Derived from each kind's
/// `deleted_after`, the only place the order is written.
pub fn teardown_prerequisites() -> BTreeMap<ResourceKind, BTreeSet<ResourceKind>> {
    let mut order: BTreeMap<ResourceKind, BTreeSet<ResourceKind>> = ResourceKind::ALL
        .iter()
        .map(|k| (*k, describe(*k).deleted_after.iter().copied().collect()))
        .collect();
    // Close transitively: at most as many rounds as there are kinds.
    for _ in ResourceKind::ALL {
        let snapshot = order.clone();
        for before in order.values_mut() {
            let more: Vec<ResourceKind> = before
                .iter()
                .flat_map(|k| snapshot[k].iter().copied())
                .collect();
            before.extend(more);
        }
    }
    order
}

/// Kinds in waves of teardown: every kind of a wave can go once the earlier waves are gone.
pub fn teardown_waves() -> Vec<Vec<ResourceKind>> {
    let order = teardown_prerequisites();
    let rank = |kind: ResourceKind| order[&kind].len();
    let mut waves: BTreeMap<usize, Vec<ResourceKind>> = BTreeMap::new();
    for kind in ResourceKind::ALL {
        waves.entry(rank(*kind)).or_default().push(*kind);
    }
    waves.into_values().collect()
}

/// The position of a kind in teardown: lower goes first.
pub fn teardown_rank(kind: ResourceKind) -> usize {
    teardown_waves()
        .iter()
        .position(|wave| wave.contains(&kind))
        .expect("every kind is in a wave")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_described_under_its_own_name() {
        for kind in ResourceKind::ALL {
            let k = describe(*kind);
            assert_eq!(k.kind, *kind);
            assert_eq!(kind.as_str().parse::<ResourceKind>(), Ok(*kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
            for attribute in k.in_place.iter().chain(k.set_after_create) {
                assert!(k.is_input(attribute), "{kind}: {attribute} is not an input");
            }
        }
    }

    #[test]
    fn teardown_never_waits_on_itself() {
        for (kind, before) in teardown_prerequisites() {
            assert!(!before.contains(&kind), "{kind} waits for itself");
        }
        let waves = teardown_waves();
        let first = &waves[0];
        assert!(first.contains(&ResourceKind::EcsService));
        assert!(teardown_rank(ResourceKind::EcsService) < teardown_rank(ResourceKind::EcsCluster));
        assert!(
            teardown_rank(ResourceKind::RdsInstance) < teardown_rank(ResourceKind::RdsSnapshot)
        );
    }
}
