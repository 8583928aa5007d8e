//! `rds_snapshot` in the fake cloud.

use super::*;

pub(super) struct RdsSnapshot;

impl FakeKind for RdsSnapshot {
    fn named_by(&self) -> &'static [&'static str] {
        &["identifier"]
    }

    fn create(
        &self,
        cloud: &mut FakeCloud,
        region: &str,
        attributes: &mut Attributes,
    ) -> Result<String, ProviderError> {
        let source_db = str_attr(attributes, "source_db");
        match cloud.rds_status(region, source_db) {
            None => {
                return Err(ProviderError::NotFound {
                    what: format!("rds_instance {source_db}"),
                });
            }
            // CreateDBSnapshot needs the instance available: InvalidDBInstanceState otherwise
            // (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBSnapshot.html).
            Some(status) if status != "available" => {
                return Err(ProviderError::InvalidState {
                    what: format!("rds_instance {source_db}"),
                    state: status.clone(),
                    message: format!("DB instance {source_db} is {status}, not available"),
                });
            }
            Some(_) => {}
        }
        let id = str_attr(attributes, "identifier").to_string();
        attributes.insert(
            "arn".into(),
            json!(format!("arn:aws:rds:{region}:{ACCOUNT}:snapshot:{id}")),
        );
        attributes.insert("created_at".into(), json!(registered_at()));
        Ok(id)
    }

    fn refuses_delete(&self, _: &FakeCloud, resource: &FakeResource) -> Option<String> {
        rds_refuses_delete(resource)
    }
}
