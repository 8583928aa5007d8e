//! `security_group`: VPC security groups and their rules.
//!
//! A group is created bare with its tags (CreateSecurityGroup with TagSpecifications); its
//! rules are then authorized by the engine's update (`set_after_create`), which authorizes the
//! rules that are new and revokes those that are gone: AWS's default allow-all egress among
//! them when the spec declares `egress`. Groups are described with a `group-id` filter, which,
//! unlike GroupIds, never fails a whole batch for one group that is gone.

use async_trait::async_trait;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType, SecurityGroup, TagSpecification,
    UserIdGroupPair,
};
use serde_json::Value;

use super::{ec2_tags, filter, tag_map};
use crate::aws::attrs::{Builder, Reader};
use crate::aws::kind::{self, Actions, AwsKind, Tagging, not_in_place};
use crate::aws::tags as tagging;
use crate::aws::{Clients, Scan, errors};
use crate::engine::ownership;
use crate::engine::wait::{self, what};
use crate::kinds::security_group::{Peer, parse_rule, rule};
use crate::model::{Address, LiveResource, ResourceKind};
use crate::provider::{CreateRequest, DeletePolicy, Operation, ProviderError};

const KIND: ResourceKind = ResourceKind::SecurityGroup;

pub(crate) struct Ec2SecurityGroup;

/// A security group has no lifecycle states: described means usable.
const READY: &str = "available";

/// AWS's permissions, one canonical rule per peer.
fn rules(permissions: &[IpPermission]) -> Vec<Value> {
    let mut out = vec![];
    for p in permissions {
        let protocol = p.ip_protocol().unwrap_or("-1");
        let (from, to) = (p.from_port().map(i64::from), p.to_port().map(i64::from));
        let mut add = |peer: Peer| out.push(rule(protocol, from, to, &peer));
        p.ip_ranges()
            .iter()
            .filter_map(|r| r.cidr_ip())
            .for_each(|c| add(Peer::Cidr(c.to_owned())));
        p.ipv6_ranges()
            .iter()
            .filter_map(|r| r.cidr_ipv6())
            .for_each(|c| add(Peer::Cidr(c.to_owned())));
        p.user_id_group_pairs()
            .iter()
            .filter_map(|g| g.group_id())
            .for_each(|g| add(Peer::Group(g.to_owned())));
        p.prefix_list_ids()
            .iter()
            .filter_map(|l| l.prefix_list_id())
            .for_each(|l| add(Peer::PrefixList(l.to_owned())));
    }
    out
}

/// A canonical rule as the permission AWS's Authorize and Revoke calls take.
fn permission(value: &Value) -> Result<IpPermission, ProviderError> {
    let (protocol, from, to, peer) = parse_rule(value).ok_or_else(|| {
        errors::attribute(KIND, format!("`{value}` is not a security group rule"))
    })?;
    let port = |p: Option<i64>| p.and_then(|p| i32::try_from(p).ok());
    let mut b = IpPermission::builder().ip_protocol(&protocol);
    if protocol != "-1" {
        b = b.set_from_port(port(from)).set_to_port(port(to));
    }
    b = match peer {
        Peer::Cidr(c) if c.contains(':') => {
            b.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).build())
        }
        Peer::Cidr(c) => b.ip_ranges(IpRange::builder().cidr_ip(c).build()),
        Peer::Group(g) => b.user_id_group_pairs(UserIdGroupPair::builder().group_id(g).build()),
        Peer::PrefixList(l) => b.prefix_list_ids(PrefixListId::builder().prefix_list_id(l).build()),
    };
    Ok(b.build())
}

fn live(group: &SecurityGroup, address: Address) -> LiveResource {
    let all = tag_map(group.tags());
    let id = group.group_id().unwrap_or_default().to_owned();
    let mut b = Builder::new();
    b.nonempty("name", group.group_name())
        .nonempty("description", group.description())
        .nonempty("vpc_id", group.vpc_id())
        .set("ingress", Value::Array(rules(group.ip_permissions())))
        .set("egress", Value::Array(rules(group.ip_permissions_egress())))
        .set("tags", tagging::user_tags_json(&all))
        .set("id", id.as_str())
        .nonempty("arn", group.security_group_arn());
    LiveResource {
        address,
        id,
        status: READY.to_owned(),
        attributes: b.into_inner(),
        tags: all,
    }
}

async fn describe_groups(
    client: &Client,
    filters: Vec<aws_sdk_ec2::types::Filter>,
    what: &str,
) -> Result<Vec<SecurityGroup>, ProviderError> {
    client
        .describe_security_groups()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| errors::sdk("ec2:DescribeSecurityGroups", what, e))
}

/// Rules in `from` that `other` lacks, compared in canonical form.
fn missing_from<'a>(from: &'a [Value], other: &[Value]) -> Vec<&'a Value> {
    let keys: std::collections::BTreeSet<String> = other.iter().map(Value::to_string).collect();
    from.iter()
        .filter(|r| !keys.contains(&r.to_string()))
        .collect()
}

/// Authorize or revoke `rules` on one side of a group.
async fn change_rules(
    client: &Client,
    group: &str,
    what: &str,
    list: &str,
    authorize: bool,
    rules: &[&Value],
) -> Result<(), ProviderError> {
    if rules.is_empty() {
        return Ok(());
    }
    let permissions = rules
        .iter()
        .map(|r| permission(r))
        .collect::<Result<Vec<_>, _>>()?;
    match (list, authorize) {
        ("ingress", true) => client
            .authorize_security_group_ingress()
            .group_id(group)
            .set_ip_permissions(Some(permissions))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| errors::sdk("ec2:AuthorizeSecurityGroupIngress", what, e)),
        ("ingress", false) => client
            .revoke_security_group_ingress()
            .group_id(group)
            .set_ip_permissions(Some(permissions))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| errors::sdk("ec2:RevokeSecurityGroupIngress", what, e)),
        ("egress", true) => client
            .authorize_security_group_egress()
            .group_id(group)
            .set_ip_permissions(Some(permissions))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| errors::sdk("ec2:AuthorizeSecurityGroupEgress", what, e)),
        ("egress", false) => client
            .revoke_security_group_egress()
            .group_id(group)
            .set_ip_permissions(Some(permissions))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| errors::sdk("ec2:RevokeSecurityGroupEgress", what, e)),
        (other, _) => Err(not_in_place(KIND, other)),
    }
}

/// `change_rules` for a group that may have just been created: EC2 is eventually consistent,
/// and a call naming a new group (or a new group its rules name) may answer
/// InvalidGroup.NotFound for a while (https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html).
/// Asked again, with the engine's growing pauses, for the not-found grace.
async fn change_rules_soon(
    client: &Client,
    group: &str,
    what: &str,
    list: &str,
    authorize: bool,
    rules: &[&Value],
) -> Result<(), ProviderError> {
    let started = tokio::time::Instant::now();
    loop {
        match change_rules(client, group, what, list, authorize, rules).await {
            Err(ProviderError::NotFound { .. }) if started.elapsed() < wait::not_found_grace() => {
                tokio::time::sleep(wait::pause_after(started.elapsed())).await;
            }
            done => return done,
        }
    }
}

#[async_trait]
impl AwsKind for Ec2SecurityGroup {
    fn kind(&self) -> ResourceKind {
        KIND
    }

    fn actions(&self) -> Actions {
        Actions {
            modify: "ec2:AuthorizeSecurityGroupIngress",
            delete: "ec2:DeleteSecurityGroup",
        }
    }

    async fn scan(&self, cx: &Scan<'_>) -> Result<Vec<LiveResource>, ProviderError> {
        let filters = super::owner_filters(cx.env);
        let groups = describe_groups(&cx.clients.ec2, filters, "security groups").await?;
        Ok(kind::owned(
            cx,
            KIND,
            &groups,
            |g| tag_map(g.tags()),
            |g, a, _| live(g, a),
        ))
    }

    async fn describe(
        &self,
        c: &Clients,
        targets: &[LiveResource],
    ) -> Result<Vec<Option<LiveResource>>, ProviderError> {
        let ids: Vec<&str> = targets.iter().map(|t| t.id.as_str()).collect();
        let found =
            describe_groups(&c.ec2, vec![filter("group-id", &ids)], "security groups").await?;
        Ok(kind::in_order_of(targets, &found, |g| g.group_id(), live))
    }

    async fn existing(
        &self,
        c: &Clients,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<Option<LiveResource>, ProviderError> {
        // A group's name is unique in its VPC.
        let r = Reader::new(KIND, &request.attributes);
        let (name, vpc) = (r.required_str("name")?, r.required_str("vpc_id")?);
        let filters = vec![filter("group-name", &[&name]), filter("vpc-id", &[&vpc])];
        Ok(describe_groups(&c.ec2, filters, "security groups")
            .await?
            .first()
            .map(|group| live(group, op.address.clone())))
    }

    async fn create(
        &self,
        c: &Clients,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<LiveResource, ProviderError> {
        let r = Reader::new(KIND, &request.attributes);
        let name = r.required_str("name")?;
        let all = tagging::creation_tags(request, &[]);
        let what = format!("{} (new security group {name})", op.address);
        op.report("creating");
        let out = c
            .ec2
            .create_security_group()
            .group_name(&name)
            .description(r.required_str("description")?)
            .vpc_id(r.required_str("vpc_id")?)
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::SecurityGroup)
                    .set_tags(Some(ec2_tags(&all)))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| errors::sdk_create("ec2:CreateSecurityGroup", &what, e))?;
        let id = out.group_id().unwrap_or_default().to_owned();
        // Described at once: the rules AWS gave it (the default egress) are what the engine's
        // update compares with the spec's.
        let found =
            describe_groups(&c.ec2, vec![filter("group-id", &[id.as_str()])], &what).await?;
        let mut created = match found.first() {
            Some(group) => live(group, op.address.clone()),
            // Not visible yet (EC2 is eventually consistent): what the call made.
            None => {
                let mut b = Builder::new();
                b.set("name", name.as_str())
                    .set("id", id.as_str())
                    .set("ingress", Value::Array(vec![]));
                LiveResource {
                    address: op.address.clone(),
                    id: id.clone(),
                    status: READY.to_owned(),
                    attributes: b.into_inner(),
                    tags: all.clone(),
                }
            }
        };
        created
            .attributes
            .insert("tags".into(), tagging::user_tags_json(&all));
        created.tags = all;
        Ok(created)
    }

    /// Authorize the rules that are new, then revoke those that are gone: the group never
    /// lets through less than both old and new rules allow while it changes.
    async fn modify(
        &self,
        c: &Clients,
        op: &Operation,
        current: &LiveResource,
        desired: &Reader<'_>,
        changed: &[&str],
    ) -> Result<(), ProviderError> {
        let what = what(current);
        for list in changed {
            if !matches!(*list, "ingress" | "egress") {
                return Err(not_in_place(KIND, list));
            }
            let want = desired.array(list)?;
            let have: &[Value] = current
                .attributes
                .get(*list)
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let new = missing_from(want, have);
            let gone = missing_from(have, want);
            op.report(&format!(
                "{list}: {} to authorize, {} to revoke",
                new.len(),
                gone.len()
            ));
            change_rules_soon(&c.ec2, &current.id, &what, list, true, &new).await?;
            change_rules_soon(&c.ec2, &current.id, &what, list, false, &gone).await?;
        }
        Ok(())
    }

    /// Revoke the rules that name this group in the environment's other groups, and this
    /// group's rules that name other groups (AWS refuses to delete a group another group's rule
    /// names: two groups of the environment that name each other, deleted one at a time, would
    /// wait for each other forever), then delete it. A rule of a group that is not the
    /// environment's is never touched: while it names the group, DependencyViolation, as while
    /// a network interface uses it, means "not deletable yet", and the engine asks again.
    async fn delete(
        &self,
        c: &Clients,
        op: &Operation,
        live: &LiveResource,
        _: &DeletePolicy,
    ) -> Result<(), ProviderError> {
        let what = what(live);
        for (list, key) in [
            ("ingress", "ip-permission.group-id"),
            ("egress", "egress.ip-permission.group-id"),
        ] {
            let naming =
                describe_groups(&c.ec2, vec![filter(key, &[live.id.as_str()])], &what).await?;
            for group in naming
                .iter()
                .filter(|g| g.group_id() != Some(live.id.as_str()))
            {
                let Some(address) = ownership::claimed_address(&tag_map(group.tags()), KIND) else {
                    continue;
                };
                let other = self::live(group, address);
                if !ownership::belongs_to(&other, &op.env) {
                    continue;
                }
                let rules: Vec<&Value> = other
                    .attributes
                    .get(list)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|r| {
                        r.get("security_group").and_then(Value::as_str) == Some(live.id.as_str())
                    })
                    .collect();
                op.report(&format!(
                    "revoking {} rule(s) of {} that name it",
                    rules.len(),
                    other.id
                ));
                match change_rules(&c.ec2, &other.id, &what, list, false, &rules).await {
                    Ok(()) | Err(ProviderError::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        for list in ["ingress", "egress"] {
            let referring: Vec<&Value> = live
                .attributes
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|r| {
                    r.get("security_group")
                        .and_then(Value::as_str)
                        .is_some_and(|g| g != live.id)
                })
                .collect();
            match change_rules(&c.ec2, &live.id, &what, list, false, &referring).await {
                Ok(()) | Err(ProviderError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        op.report("deleting");
        match c
            .ec2
            .delete_security_group()
            .group_id(&live.id)
            .send()
            .await
            .map_err(|e| errors::sdk("ec2:DeleteSecurityGroup", &what, e))
        {
            Ok(_) => Ok(()),
            Err(ProviderError::DependencyViolation { what, message }) => {
                Err(ProviderError::InvalidState {
                    what,
                    state: "in use".to_owned(),
                    message: format!(
                        "{message} (a network interface or another group's rule still uses it)"
                    ),
                })
            }
            Err(e) => Err(e),
        }
    }

    fn tagging(&self) -> Tagging {
        Tagging::Ec2
    }
}
