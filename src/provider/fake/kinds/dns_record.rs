//! `dns_record` in the fake cloud.

use super::*;

/// A Route 53 record: refused when the zone already has one of that name and type (CREATE,
/// never UPSERT), PENDING until INSYNC.
pub(super) struct DnsRecord;

impl FakeKind for DnsRecord {
    fn create(
        &self,
        cloud: &mut FakeCloud,
        _: &str,
        attributes: &mut Attributes,
    ) -> Result<String, ProviderError> {
        let zone = str_attr(attributes, "zone");
        let id = format!(
            "{zone}/{}/{}",
            str_attr(attributes, "name"),
            str_attr(attributes, "type")
        );
        if cloud.resources.contains_key(&id) {
            return Err(ProviderError::Api {
                action: "route53:ChangeResourceRecordSets".into(),
                code: "InvalidChangeBatch".into(),
                message: format!("Tried to create resource record set {id} but it already exists"),
            });
        }
        attributes.insert("zone_id".into(), json!(format!("Z{}", zone.len())));
        Ok(id)
    }
}
