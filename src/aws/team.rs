//! A team's shared store: one DynamoDB table (string hash key `pk`, string range key `sk`), and
//! who is acting, from STS.
//!
//! Every rule is a conditional write, so that two machines racing for one item cannot both
//! win (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html):
//!
//! | item (`pk` / `sk`) | written with |
//! |---|---|
//! | `lock#ENV` / `lock` | PutItem if `attribute_not_exists(pk) OR lease_expires < :now`; renewed by UpdateItem and released by DeleteItem, each only if `lock_id = :id` |
//! | `journal#ENV` / `AT#ID` | PutItem (each record its own item), read newest first by Query |
//! | `applied#DIGEST` / `applied` | PutItem if `attribute_not_exists(pk)`: one apply of a plan wins |
//! | `pause#ENV` / `pause` | PutItem; DeleteItem to resume |
//!
//! Each item's `record` holds the JSON the local store writes to its files.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::team::{
    Claim, History, Identity, JournalRecord, LockRecord, Pause, TeamError, TeamStore,
};

/// How long a lock lasts unless its holder renews it (every third of it): a command that
/// dies leaves its lock to the next one this long after.
pub const LEASE: Duration = Duration::from_secs(60);

type Item = HashMap<String, AttributeValue>;

/// The call that says who is acting.
const WHO_AM_I: &str = "sts:GetCallerIdentity";

pub struct DynamoStore {
    client: Client,
    table: String,
}

/// The SDK's configuration for `region`: the default credential chain and `AWS_ENDPOINT_URL`,
/// as for the provider.
async fn config(region: &str) -> Result<aws_config::SdkConfig, String> {
    let retry = super::retry_config().map_err(|e| e.to_string())?;
    Ok(aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .retry_config(retry)
        .load()
        .await)
}

/// The caller's identity: its ARN and account (GetCallerIdentity needs no permission:
/// https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
pub async fn identity(region: &str) -> Result<Identity, TeamError> {
    let config = config(region).await.map_err(TeamError::Identity)?;
    let found = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| {
            TeamError::Identity(format!("{WHO_AM_I} failed: {}", DisplayErrorContext(&e)))
        })?;
    Ok(Identity {
        who: found.arn().unwrap_or("an unnamed caller").to_string(),
        account: found.account().map(str::to_string),
    })
}

impl DynamoStore {
    pub async fn connect(region: &str, table: &str) -> Result<DynamoStore, TeamError> {
        let config = config(region).await.map_err(|message| TeamError::Table {
            table: table.into(),
            what: "a connection",
            message,
        })?;
        Ok(DynamoStore {
            client: Client::new(&config),
            table: table.into(),
        })
    }

    fn refused<E>(&self, what: &'static str) -> impl FnOnce(SdkError<E>) -> TeamError
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        let table = self.table.clone();
        move |e| TeamError::Table {
            table,
            what,
            message: DisplayErrorContext(&e).to_string(),
        }
    }

    fn item(pk: String, sk: &str, record: &impl Serialize) -> Item {
        let json = serde_json::to_string(record).expect("records serialize");
        HashMap::from([
            ("pk".into(), AttributeValue::S(pk)),
            ("sk".into(), AttributeValue::S(sk.into())),
            ("record".into(), AttributeValue::S(json)),
        ])
    }

    fn record<T: DeserializeOwned>(item: Option<&Item>) -> Option<T> {
        match item?.get("record")? {
            AttributeValue::S(json) => serde_json::from_str(json).ok(),
            _ => None,
        }
    }

    async fn get<T: DeserializeOwned>(&self, pk: String, sk: &str) -> Result<Option<T>, TeamError> {
        let found = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk))
            .key("sk", AttributeValue::S(sk.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(self.refused("dynamodb:GetItem"))?;
        Ok(Self::record(found.item()))
    }

    async fn delete<T: DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
        lock_id: Option<&str>,
    ) -> Result<Result<Option<T>, ()>, TeamError> {
        let mut call = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk))
            .key("sk", AttributeValue::S(sk.into()))
            .return_values(ReturnValue::AllOld);
        if let Some(id) = lock_id {
            call = call
                .condition_expression("lock_id = :id")
                .expression_attribute_values(":id", AttributeValue::S(id.into()));
        }
        match call.send().await {
            Ok(out) => Ok(Ok(Self::record(out.attributes.as_ref()))),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(Err(()))
            }
            Err(e) => Err(self.refused("dynamodb:DeleteItem")(e)),
        }
    }

    fn lock_key(env: &str) -> String {
        format!("lock#{env}")
    }
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[async_trait]
impl TeamStore for DynamoStore {
    fn name(&self) -> String {
        format!("DynamoDB table {}", self.table)
    }

    fn lease(&self) -> Option<Duration> {
        Some(LEASE)
    }

    async fn try_lock(&self, lock: &LockRecord) -> Result<Result<(), LockRecord>, TeamError> {
        let now = unix_now();
        let mut record = lock.clone();
        record.lease_expires = Some(now + LEASE.as_secs() as i64);
        let mut item = Self::item(Self::lock_key(&lock.env), "lock", &record);
        item.insert("lock_id".into(), AttributeValue::S(lock.id.clone()));
        item.insert(
            "lease_expires".into(),
            AttributeValue::N(record.lease_expires.unwrap_or(now).to_string()),
        );
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // Free, or its holder stopped renewing it: a lease that ran out is anyone's.
            .condition_expression("attribute_not_exists(pk) OR lease_expires < :now")
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Ok(())),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                let holder = self.get(Self::lock_key(&lock.env), "lock").await?;
                // Released between the two calls: say so as held a moment ago; the next try wins.
                Ok(Err(holder.unwrap_or(record)))
            }
            Err(e) => Err(self.refused("dynamodb:PutItem")(e)),
        }
    }

    async fn renew(&self, lock: &LockRecord) -> Result<(), TeamError> {
        let mut record = lock.clone();
        let expires = unix_now() + LEASE.as_secs() as i64;
        record.lease_expires = Some(expires);
        let json = serde_json::to_string(&record).expect("records serialize");
        let renewed = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(Self::lock_key(&lock.env)))
            .key("sk", AttributeValue::S("lock".into()))
            .update_expression("SET lease_expires = :exp, #r = :record")
            .condition_expression("lock_id = :id")
            .expression_attribute_names("#r", "record")
            .expression_attribute_values(":exp", AttributeValue::N(expires.to_string()))
            .expression_attribute_values(":record", AttributeValue::S(json))
            .expression_attribute_values(":id", AttributeValue::S(lock.id.clone()))
            .send()
            .await;
        match renewed {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Err(TeamError::LockLost {
                    env: lock.env.clone(),
                    purpose: lock.purpose.clone(),
                    why: "its lease ran out and another command took it".into(),
                })
            }
            Err(e) => Err(self.refused("dynamodb:UpdateItem")(e)),
        }
    }

    async fn release(&self, lock: &LockRecord) -> Result<(), TeamError> {
        // Not ours any more (taken over after our lease ran out): theirs to release.
        let _: Result<Option<LockRecord>, ()> = self
            .delete(Self::lock_key(&lock.env), "lock", Some(&lock.id))
            .await?;
        Ok(())
    }

    async fn force_unlock(&self, env: &str, id: &str) -> Result<LockRecord, TeamError> {
        match self.delete(Self::lock_key(env), "lock", Some(id)).await? {
            Ok(Some(holder)) => Ok(holder),
            Ok(None) => Err(TeamError::NotLocked { env: env.into() }),
            Err(()) => match self.get::<LockRecord>(Self::lock_key(env), "lock").await? {
                Some(holder) => Err(TeamError::OtherLock {
                    env: env.into(),
                    given: id.into(),
                    holder: Box::new(holder),
                }),
                None => Err(TeamError::NotLocked { env: env.into() }),
            },
        }
    }

    async fn append(&self, record: &JournalRecord) -> Result<(), TeamError> {
        let sk = format!("{}#{}", record.at, record.id);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(
                format!("journal#{}", record.env),
                &sk,
                record,
            )))
            .send()
            .await
            .map_err(self.refused("dynamodb:PutItem"))?;
        Ok(())
    }

    async fn history(&self, env: Option<&str>) -> Result<History, TeamError> {
        let mut items: Vec<Item> = vec![];
        let mut start: Option<Item> = None;
        loop {
            let (page, next) = match env {
                Some(env) => {
                    let out = self
                        .client
                        .query()
                        .table_name(&self.table)
                        .key_condition_expression("pk = :pk")
                        .expression_attribute_values(
                            ":pk",
                            AttributeValue::S(format!("journal#{env}")),
                        )
                        .scan_index_forward(false)
                        .set_exclusive_start_key(start.take())
                        .send()
                        .await
                        .map_err(self.refused("dynamodb:Query"))?;
                    (out.items.unwrap_or_default(), out.last_evaluated_key)
                }
                None => {
                    let out = self
                        .client
                        .scan()
                        .table_name(&self.table)
                        .filter_expression("begins_with(pk, :p)")
                        .expression_attribute_values(":p", AttributeValue::S("journal#".into()))
                        .set_exclusive_start_key(start.take())
                        .send()
                        .await
                        .map_err(self.refused("dynamodb:Scan"))?;
                    (out.items.unwrap_or_default(), out.last_evaluated_key)
                }
            };
            items.extend(page);
            match next {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        let mut history = History::default();
        for item in &items {
            match Self::record::<JournalRecord>(Some(item)) {
                Some(r) => history.records.push(r),
                None => history.unreadable += 1,
            }
        }
        // Newest first across environments too (one environment's query is already).
        history
            .records
            .sort_by(|a, b| (&b.at, &b.id).cmp(&(&a.at, &a.id)));
        Ok(history)
    }

    async fn claim(&self, claim: &Claim) -> Result<Option<Claim>, TeamError> {
        let pk = format!("applied#{}", claim.digest);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(pk.clone(), "applied", claim)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(None),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(Some(self.get(pk, "applied").await?.unwrap_or_else(|| {
                    Claim {
                        by: Identity {
                            who: "an unreadable claim".into(),
                            account: None,
                        },
                        at: "?".into(),
                        ..claim.clone()
                    }
                })))
            }
            Err(e) => Err(self.refused("dynamodb:PutItem")(e)),
        }
    }

    async fn pause(&self, pause: &Pause) -> Result<(), TeamError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(
                format!("pause#{}", pause.env),
                "pause",
                pause,
            )))
            .send()
            .await
            .map_err(self.refused("dynamodb:PutItem"))?;
        Ok(())
    }

    async fn resume(&self, env: &str) -> Result<Option<Pause>, TeamError> {
        Ok(self
            .delete(format!("pause#{env}"), "pause", None)
            .await?
            .unwrap_or(None))
    }

    async fn paused(&self, env: &str) -> Result<Option<Pause>, TeamError> {
        self.get(format!("pause#{env}"), "pause").await
    }
}
