//! `dns_record`: a record set in a Route 53 hosted zone, proven the environment's by an owner
//! TXT record beside it.
//!
//! Record sets carry no tags, so ownership is the "TXT registry" external-dns uses: a TXT
//! record at `_rehearsal.<name>` whose strings are the tags rehearsal would have written
//! (`"rehearsal:project=openchs" "rehearsal:env=prerelease" ...`, the identity digest anchored
//! on the record's name among them), created and deleted in the same ChangeResourceRecordSets
//! batch as the record, which Route 53 applies all or nothing
//! (https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html).
//!
//! - Create uses CREATE, never UPSERT: Route 53 refuses a CREATE of a name and type that exist,
//!   so a record someone else made is refused by name, never taken over.
//! - A change of values or TTL is one UPSERT of the record, once its owner record proved it ours.
//! - Delete uses DELETE with the values last described, which Route 53 checks against the
//!   record's current values: a record changed by hand since is refused, not clobbered.
//! - A change is PENDING until every Route 53 name server has it, then INSYNC (GetChange):
//!   that is the record's readiness.
//! - Scans list the record sets of the zones the spec names (of every zone without a spec;
//!   records are listed 300 at a time) and keep the owner records of the scan's environment.

use async_trait::async_trait;
use aws_sdk_route53::Client;
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, HostedZone, ResourceRecord, ResourceRecordSet, RrType,
};
use serde_json::Value;

use crate::aws::attrs::{Builder, Reader};
use crate::aws::kind::{Actions, AwsKind, Tagging, not_in_place};
use crate::aws::tags::{self as tagging, TagMap};
use crate::aws::{Clients, Scan, errors};
use crate::engine::ownership;
use crate::engine::wait::{self, Check, what};
use crate::kinds::dns_record::{OWNER_PREFIX, normal_name};
use crate::model::{Address, LiveResource, ResourceKind, tags};
use crate::provider::{CreateRequest, DeletePolicy, Operation, ProviderError};

const KIND: ResourceKind = ResourceKind::DnsRecord;

/// The input that the owner record keeps for the record it stands for.
const TYPE_INPUT: &str = "type";

/// The TTL of the owner record: it is never looked up by resolvers that matter.
const OWNER_TTL: i64 = 300;

/// What the provider keeps of a change still PENDING, to ask GetChange about it.
const CHANGE_ID: &str = "change_id";

pub(crate) struct Route53Record;

/// `/hostedzone/Z123` → `Z123`.
fn bare_zone_id(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

/// The owner record's value: one quoted string per tag.
fn owner_value(all: &TagMap) -> String {
    all.iter()
        .map(|(k, v)| {
            let text = format!("{k}={v}")
                .replace('\\', "\\\\")
                .replace('"', "\\\"");
            format!("\"{text}\"")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The tags an owner record's value holds; `None` when it is not one of rehearsal's.
fn parse_owner(value: &str) -> Option<TagMap> {
    let mut out = TagMap::new();
    let mut chars = value.chars();
    loop {
        match chars.next() {
            None => break,
            Some(' ') => continue,
            Some('"') => {
                let mut text = String::new();
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => text.push(chars.next()?),
                        c => text.push(c),
                    }
                }
                let (k, v) = text.split_once('=')?;
                out.insert(k.to_owned(), v.to_owned());
            }
            Some(_) => return None,
        }
    }
    out.contains_key(tags::ADDRESS).then_some(out)
}

fn values_of(set: &ResourceRecordSet) -> Vec<String> {
    set.resource_records()
        .iter()
        .map(|r| r.value().to_owned())
        .collect()
}

/// A record and its owner record, as attributes.
fn live(
    zone: &HostedZone,
    owner: &ResourceRecordSet,
    record: Option<&ResourceRecordSet>,
    all: TagMap,
    address: Address,
) -> LiveResource {
    let name = normal_name(owner.name())
        .strip_prefix(OWNER_PREFIX)
        .unwrap_or_default()
        .to_owned();
    let record_type = all
        .get(&tagging::input_key(TYPE_INPUT))
        .cloned()
        .unwrap_or_default();
    let zone_id = bare_zone_id(zone.id()).to_owned();
    let id = format!("{zone_id}/{name}/{record_type}");
    let mut b = Builder::new();
    b.set("zone", normal_name(zone.name()))
        .set("name", name.as_str())
        .set("type", record_type.as_str())
        .opt("ttl", record.and_then(|r| r.ttl()))
        .set(
            "values",
            Value::Array(
                record
                    .map(values_of)
                    .unwrap_or_default()
                    .into_iter()
                    .map(Value::String)
                    .collect(),
            ),
        )
        .set("zone_id", zone_id.as_str())
        .set("id", id.as_str())
        .set("status", "INSYNC")
        // What a DELETE of the owner record must name exactly.
        .set(
            "owner_value",
            owner
                .resource_records()
                .first()
                .map(|r| r.value())
                .unwrap_or_default(),
        )
        .opt("owner_ttl", owner.ttl());
    LiveResource {
        address,
        id,
        status: "INSYNC".to_owned(),
        attributes: b.into_inner(),
        tags: all,
    }
}

async fn hosted_zones(client: &Client) -> Result<Vec<HostedZone>, ProviderError> {
    client
        .list_hosted_zones()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| errors::sdk("route53:ListHostedZones", "hosted zones", e))
}

/// Every hosted zone of these names (a public and a private zone may share one); a name no
/// zone has is no error here: a create in it says so.
async fn zones_named(client: &Client, names: &[&str]) -> Result<Vec<HostedZone>, ProviderError> {
    let mut zones: Vec<HostedZone> = vec![];
    for name in names {
        let wanted = normal_name(name);
        // Zones are listed in order of their names from this one on: those of this name first.
        let out = client
            .list_hosted_zones_by_name()
            .dns_name(&wanted)
            .send()
            .await
            .map_err(|e| errors::sdk("route53:ListHostedZonesByName", name, e))?;
        for zone in out.hosted_zones() {
            if normal_name(zone.name()) == wanted && !zones.iter().any(|z| z.id() == zone.id()) {
                zones.push(zone.clone());
            }
        }
    }
    Ok(zones)
}

/// The hosted zone of that name: exactly one (a public and a private zone of one name are
/// told apart by naming one of them by id, which rehearsal does not offer yet).
async fn zone_named(client: &Client, name: &str) -> Result<HostedZone, ProviderError> {
    let wanted = normal_name(name);
    let out = client
        .list_hosted_zones_by_name()
        .dns_name(&wanted)
        .send()
        .await
        .map_err(|e| errors::sdk("route53:ListHostedZonesByName", name, e))?;
    let found: Vec<&HostedZone> = out
        .hosted_zones()
        .iter()
        .filter(|z| normal_name(z.name()) == wanted)
        .collect();
    match found.as_slice() {
        [] => Err(ProviderError::NotFound {
            what: format!("hosted zone {wanted}"),
        }),
        [one] => Ok((*one).clone()),
        many => Err(ProviderError::Api {
            action: "route53:ListHostedZonesByName".to_owned(),
            code: "AmbiguousZone".to_owned(),
            message: format!(
                "{} hosted zones are named {wanted} ({}); rehearsal cannot tell which to use",
                many.len(),
                many.iter()
                    .map(|z| bare_zone_id(z.id()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

async fn record_sets(
    client: &Client,
    zone: &HostedZone,
) -> Result<Vec<ResourceRecordSet>, ProviderError> {
    let mut out = vec![];
    let (mut name, mut kind): (Option<String>, Option<RrType>) = (None, None);
    // Weighted, latency and other routing policies share a name and type: a page may end
    // inside them, and the next starts at this set identifier (API_ListResourceRecordSets).
    let mut identifier: Option<String> = None;
    loop {
        let page = client
            .list_resource_record_sets()
            .hosted_zone_id(zone.id())
            .set_start_record_name(name.take())
            .set_start_record_type(kind.take())
            .set_start_record_identifier(identifier.take())
            .send()
            .await
            .map_err(|e| errors::sdk("route53:ListResourceRecordSets", zone.name(), e))?;
        out.extend(page.resource_record_sets().iter().cloned());
        if !page.is_truncated() {
            return Ok(out);
        }
        name = page.next_record_name().map(str::to_owned);
        kind = page.next_record_type().cloned();
        identifier = page.next_record_identifier().map(str::to_owned);
        if name.is_none() {
            return Ok(out);
        }
    }
}

/// The one record set of this name and type in `sets`.
fn find<'a>(
    sets: &'a [ResourceRecordSet],
    name: &str,
    record_type: &str,
) -> Option<&'a ResourceRecordSet> {
    sets.iter()
        .find(|s| normal_name(s.name()) == name && s.r#type().as_str() == record_type)
}

/// The environment's records in one zone: its owner records, each with its record.
fn owned_in(cx: &Scan<'_>, zone: &HostedZone, sets: &[ResourceRecordSet]) -> Vec<LiveResource> {
    sets.iter()
        .filter(|s| s.r#type() == &RrType::Txt && normal_name(s.name()).starts_with(OWNER_PREFIX))
        .filter_map(|owner| {
            let all = parse_owner(owner.resource_records().first()?.value())?;
            let address = ownership::claimed_address(&all, KIND)?;
            let name = normal_name(owner.name())[OWNER_PREFIX.len()..].to_owned();
            let record_type = all.get(&tagging::input_key(TYPE_INPUT))?.clone();
            let record = find(sets, &name, &record_type);
            Some(live(zone, owner, record, all, address))
        })
        .filter(|l| cx.wants(l))
        .collect()
}

fn record_set(
    name: &str,
    record_type: &str,
    ttl: i64,
    values: &[String],
) -> Result<ResourceRecordSet, ProviderError> {
    let records = values
        .iter()
        .map(|v| {
            ResourceRecord::builder()
                .value(v)
                .build()
                .map_err(|e| errors::build("route53:ChangeResourceRecordSets", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::from(record_type))
        .ttl(ttl)
        .set_resource_records(Some(records))
        .build()
        .map_err(|e| errors::build("route53:ChangeResourceRecordSets", e))
}

fn change(action: ChangeAction, set: ResourceRecordSet) -> Result<Change, ProviderError> {
    Change::builder()
        .action(action)
        .resource_record_set(set)
        .build()
        .map_err(|e| errors::build("route53:ChangeResourceRecordSets", e))
}

/// Send one batch; the change's id, to wait for INSYNC.
async fn send_batch(
    client: &Client,
    zone_id: &str,
    changes: Vec<Change>,
    what: &str,
) -> Result<(String, String), ProviderError> {
    let batch = ChangeBatch::builder()
        .set_changes(Some(changes))
        .comment("rehearsal")
        .build()
        .map_err(|e| errors::build("route53:ChangeResourceRecordSets", e))?;
    let out = client
        .change_resource_record_sets()
        .hosted_zone_id(zone_id)
        .change_batch(batch)
        .send()
        .await
        .map_err(|e| errors::sdk("route53:ChangeResourceRecordSets", what, e))?;
    let info = out.change_info().ok_or_else(|| ProviderError::Api {
        action: "route53:ChangeResourceRecordSets".to_owned(),
        code: "EmptyResponse".to_owned(),
        message: "ChangeResourceRecordSets returned no ChangeInfo".to_owned(),
    })?;
    Ok((info.id().to_owned(), info.status().as_str().to_owned()))
}

async fn change_status(
    client: &Client,
    change_id: &str,
    what: &str,
) -> Result<String, ProviderError> {
    let out = client
        .get_change()
        .id(change_id)
        .send()
        .await
        .map_err(|e| errors::sdk("route53:GetChange", what, e))?;
    Ok(out
        .change_info()
        .map(|i| i.status().as_str().to_owned())
        .unwrap_or_else(|| "INSYNC".to_owned()))
}

/// Route 53 refuses a batch whose CREATE names a record that exists, or whose DELETE names
/// values that are no longer the record's (InvalidChangeBatch): say which, and what to do.
fn explain_batch(e: ProviderError, creating: bool, name: &str, zone: &str) -> ProviderError {
    match e {
        ProviderError::Api {
            action,
            code,
            message,
        } if code == "InvalidChangeBatch" => {
            let message = if creating {
                format!(
                    "{message}: the zone {zone} already has a record {name} that this \
                     environment did not create (it has no owner record {OWNER_PREFIX}{name}); \
                     rehearsal never takes one over: choose another name, or remove that \
                     record yourself if it is a leftover"
                )
            } else {
                format!(
                    "{message}: the record {name} was changed by hand since rehearsal last read \
                     it, and Route 53 deletes only the exact values named; run `rehearsal plan` \
                     to see it as it is now"
                )
            };
            ProviderError::Api {
                action,
                code,
                message,
            }
        }
        other => other,
    }
}

#[async_trait]
impl AwsKind for Route53Record {
    fn kind(&self) -> ResourceKind {
        KIND
    }

    fn actions(&self) -> Actions {
        Actions {
            modify: "route53:ChangeResourceRecordSets",
            delete: "route53:ChangeResourceRecordSets",
        }
    }

    async fn scan(&self, cx: &Scan<'_>) -> Result<Vec<LiveResource>, ProviderError> {
        let client = &cx.clients.route53;
        let declared: Vec<&str> = cx.declared.only(KIND).collect();
        // Route 53 allows five requests a second per account, shared with production's own
        // automation, and listing a zone takes a request per 300 records
        // (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DNSLimitations.html#limits-api-requests):
        // with a spec, only the zones it names are listed. Without one (`destroy` without a
        // spec file, `status`, `reap`), nothing says where the environment's records are, and
        // every zone is; a teardown lists every zone too (`Declared::list_everywhere`), since a
        // record the spec moved to another zone is still the environment's to delete.
        let zones = if declared.is_empty() {
            hosted_zones(client).await?
        } else {
            zones_named(client, &declared).await?
        };
        let mut found = vec![];
        for zone in zones {
            let sets = record_sets(client, &zone).await?;
            found.extend(owned_in(cx, &zone, &sets));
        }
        Ok(found)
    }

    async fn describe(
        &self,
        c: &Clients,
        targets: &[LiveResource],
    ) -> Result<Vec<Option<LiveResource>>, ProviderError> {
        let client = &c.route53;
        let mut out = vec![];
        for target in targets {
            let r = Reader::new(KIND, &target.attributes);
            let zone_id = r.required_str("zone_id")?;
            let name = normal_name(&r.required_str("name")?);
            let record_type = r.required_str("type")?;
            let zone = HostedZone::builder()
                .id(&zone_id)
                .name(r.required_str("zone")?)
                .caller_reference("")
                .build()
                .map_err(|e| errors::build("route53:ListResourceRecordSets", e))?;
            // The owner record and the record sort together: `_` sorts before letters, so
            // both are listed from the owner's name on.
            let owner_name = format!("{OWNER_PREFIX}{name}");
            let mut sets = vec![];
            for (start, kind) in [
                (owner_name.as_str(), RrType::Txt),
                (name.as_str(), RrType::from(record_type.as_str())),
            ] {
                let page = client
                    .list_resource_record_sets()
                    .hosted_zone_id(&zone_id)
                    .start_record_name(start)
                    .start_record_type(kind)
                    .max_items(1)
                    .send()
                    .await;
                match page {
                    Ok(page) => sets.extend(page.resource_record_sets().iter().cloned()),
                    Err(e) if errors::is_not_found(&e) => {}
                    Err(e) => {
                        return Err(errors::sdk(
                            "route53:ListResourceRecordSets",
                            &what(target),
                            e,
                        ));
                    }
                }
            }
            let owner = find(&sets, &owner_name, "TXT");
            let Some((owner, all)) = owner.and_then(|o| {
                let all = parse_owner(o.resource_records().first()?.value())?;
                Some((o, all))
            }) else {
                out.push(None);
                continue;
            };
            let record = find(&sets, &name, &record_type);
            let mut described = live(&zone, owner, record, all, target.address.clone());
            if let Some(change_id) = target.attributes.get(CHANGE_ID).and_then(Value::as_str) {
                let status = change_status(client, change_id, &what(target)).await?;
                if status != "INSYNC" {
                    described
                        .attributes
                        .insert(CHANGE_ID.into(), Value::String(change_id.to_owned()));
                }
                described
                    .attributes
                    .insert("status".into(), Value::String(status.clone()));
                described.status = status;
            }
            out.push(Some(described));
        }
        Ok(out)
    }

    async fn create(
        &self,
        c: &Clients,
        op: &Operation,
        request: &CreateRequest,
    ) -> Result<LiveResource, ProviderError> {
        let client = &c.route53;
        let r = Reader::new(KIND, &request.attributes);
        let zone_name = r.required_str("zone")?;
        let name = normal_name(&r.required_str("name")?);
        let record_type = r.required_str("type")?.to_ascii_uppercase();
        let ttl = r.i32("ttl")?.map(i64::from).unwrap_or(300);
        let values = r.str_list("values")?.unwrap_or_default();
        let zone = zone_named(client, &zone_name).await?;
        let zone_id = bare_zone_id(zone.id()).to_owned();
        let all = tagging::creation_tags(request, &[TYPE_INPUT]);
        let owner_name = format!("{OWNER_PREFIX}{name}");
        let owner = record_set(&owner_name, "TXT", OWNER_TTL, &[owner_value(&all)])?;
        let record = record_set(&name, &record_type, ttl, &values)?;
        let what = format!("{} ({name} {record_type} in {zone_name})", op.address);
        op.report("creating");
        let changes = vec![
            change(ChangeAction::Create, record.clone())?,
            change(ChangeAction::Create, owner.clone())?,
        ];
        let (change_id, status) = send_batch(client, &zone_id, changes, &what)
            .await
            .map_err(|e| explain_batch(e, true, &name, &zone_name))?;
        let mut created = live(&zone, &owner, Some(&record), all, op.address.clone());
        created
            .attributes
            .insert(CHANGE_ID.into(), Value::String(change_id));
        created
            .attributes
            .insert("status".into(), Value::String(status.clone()));
        created.status = status;
        Ok(created)
    }

    /// The record's new values, in one UPSERT: atomic, as a DELETE and a CREATE in one batch
    /// would be, but accepted by every implementation (moto refuses a CREATE of a record that
    /// exists even when the same batch deletes it first). The record was proven the
    /// environment's by its owner record right before, and the owner record does not change.
    /// https://docs.aws.amazon.com/Route53/latest/APIReference/API_Change.html (UPSERT)
    async fn modify(
        &self,
        c: &Clients,
        op: &Operation,
        current: &LiveResource,
        desired: &Reader<'_>,
        changed: &[&str],
    ) -> Result<(), ProviderError> {
        if let Some(other) = changed.iter().find(|c| !matches!(**c, "ttl" | "values")) {
            return Err(not_in_place(KIND, other));
        }
        let client = &c.route53;
        let now = Reader::new(KIND, &current.attributes);
        let zone_id = now.required_str("zone_id")?;
        let name = now.required_str("name")?;
        let record_type = now.required_str("type")?;
        let old_values = now.str_list("values")?.unwrap_or_default();
        let old_ttl = now.i32("ttl")?.map(i64::from).unwrap_or(300);
        let ttl = desired.i32("ttl")?.map(i64::from).unwrap_or(300);
        let values = desired.str_list("values")?.unwrap_or_default();
        if values == old_values && ttl == old_ttl {
            // What the plan expected to change already holds: nothing to send.
            return Ok(());
        }
        let changes = vec![change(
            ChangeAction::Upsert,
            record_set(&name, &record_type, ttl, &values)?,
        )?];
        let what = what(current);
        op.report("changing the record");
        let (change_id, _) = send_batch(client, &zone_id, changes, &what)
            .await
            .map_err(|e| explain_batch(e, false, &name, ""))?;
        wait::poll(op, &what, "INSYNC", |_| {
            let (what, change_id) = (what.clone(), change_id.clone());
            async move {
                match change_status(client, &change_id, &what).await?.as_str() {
                    "INSYNC" => Ok(Check::Done(())),
                    other => Ok(Check::Pending(other.to_owned())),
                }
            }
        })
        .await
    }

    /// The record and its owner record in one batch, both DELETEs naming the exact values.
    async fn delete(
        &self,
        c: &Clients,
        op: &Operation,
        live: &LiveResource,
        _: &DeletePolicy,
    ) -> Result<(), ProviderError> {
        let r = Reader::new(KIND, &live.attributes);
        let zone_id = r.required_str("zone_id")?;
        let name = r.required_str("name")?;
        let record_type = r.required_str("type")?;
        let values = r.str_list("values")?.unwrap_or_default();
        let mut changes = vec![];
        if !values.is_empty() {
            let ttl = r.i32("ttl")?.map(i64::from).unwrap_or(300);
            changes.push(change(
                ChangeAction::Delete,
                record_set(&name, &record_type, ttl, &values)?,
            )?);
        }
        let owner_ttl = r.i32("owner_ttl")?.map(i64::from).unwrap_or(OWNER_TTL);
        let owner_value = r.required_str("owner_value")?;
        changes.push(change(
            ChangeAction::Delete,
            record_set(
                &format!("{OWNER_PREFIX}{name}"),
                "TXT",
                owner_ttl,
                &[owner_value],
            )?,
        )?);
        op.report("deleting");
        send_batch(&c.route53, &zone_id, changes, &what(live))
            .await
            .map_err(|e| explain_batch(e, false, &name, ""))?;
        Ok(())
    }

    /// Record sets have no tags; the owner record is written once, with the record.
    fn tagging(&self) -> Tagging {
        Tagging::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_records_hold_the_tags_and_nothing_else_passes() {
        let mut all = TagMap::new();
        all.insert(tags::PROJECT.into(), "openchs".into());
        all.insert(tags::ADDRESS.into(), "dns_record.server".into());
        all.insert("odd".into(), "a \"quoted\" \\ value".into());
        assert_eq!(parse_owner(&owner_value(&all)), Some(all));
        assert_eq!(parse_owner("\"v=spf1 -all\""), None);
        assert_eq!(parse_owner("not quoted"), None);
        assert_eq!(parse_owner("\"unterminated"), None);
    }
}
