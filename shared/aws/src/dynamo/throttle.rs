//! [`DynamoThrottle`]: the throttle port on a DynamoDB table, so the login
//! limits hold across every API process (each API Lambda). The one-process
//! server keeps its counters in memory on both backends, where one process
//! sees every attempt; this adapter is for the deployments with many. One item
//! per key holds the admission times of its window and a version; an
//! admission reads the keys, decides, and writes every key in one
//! transaction conditioned on the versions it read, retrying a lost race,
//! so a concurrent burst never passes more than the limit. Items expire by
//! DynamoDB's TTL once their window has passed.

use super::attrs::{get_n, get_s, n, s, Item};
use super::tables::{self, TableSpec};
use crate::context::AwsContext;
use crate::error;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tgdesk_core::ports::{Admission, PortError, PortErrorKind, Throttle, ThrottleLimit, MAX_THROTTLE_KEY};
use tokio::sync::OnceCell;

/// Attempt counters: `pk` = the key, `sk` = `t`.
pub const THROTTLE: TableSpec = TableSpec {
    suffix: "throttle",
    numeric_sort_key: false,
    indexes: &[],
    ttl_attribute: Some("expires"),
    stream: false,
};

/// Tries of a decision that keeps losing races before the port answers `Throttled`.
const TRIES: u32 = 30;
/// The sort key of every item.
const SK: &str = "t";

/// One key as stored: admission times (unix ms, oldest first) and version.
#[derive(Default)]
struct Counter {
    attempts: Vec<i64>,
    ver: Option<u64>,
}

/// The throttle port on DynamoDB.
pub struct DynamoThrottle {
    client: aws_sdk_dynamodb::Client,
    ctx: AwsContext,
    table: OnceCell<String>,
}

impl DynamoThrottle {
    /// Returns the adapter on table `<prefix>-throttle`.
    pub fn new(ctx: &AwsContext) -> Self {
        Self { client: ctx.dynamodb(), ctx: ctx.clone(), table: OnceCell::new() }
    }

    /// Makes sure the table is there (created where allowed).
    pub async fn check(&self) -> Result<(), PortError> {
        self.table().await.map(|_| ())
    }

    async fn table(&self) -> Result<&str, PortError> {
        self.table.get_or_try_init(|| tables::ensure(&self.ctx, &self.client, THROTTLE)).await.map(String::as_str)
    }

    fn key(key: &str) -> Item {
        [("pk".to_owned(), s(key)), ("sk".to_owned(), s(SK))].into()
    }

    /// Reads the counters of `keys` (strongly consistent).
    async fn read(&self, keys: &[&str]) -> Result<HashMap<String, Counter>, PortError> {
        let table = self.table().await?.to_owned();
        let items = super::store::batch_get(&self.client, &table, keys.iter().map(|k| Self::key(k)).collect()).await?;
        let mut out = HashMap::new();
        for item in &items {
            let attempts = serde_json::from_str(get_s(item, "attempts")?)
                .map_err(|_| PortError::new(PortErrorKind::Internal, "stored throttle counter is invalid"))?;
            out.insert(get_s(item, "pk")?.to_owned(), Counter { attempts, ver: Some(get_n(item, "ver")?) });
        }
        Ok(out)
    }

    /// Returns the put of `counter` under `key` in place of version `counter.ver`.
    fn put(table: &str, key: &str, attempts: &[i64], ver: Option<u64>, expires_s: i64) -> Result<Put, PortError> {
        let mut item = Self::key(key);
        item.insert("attempts".into(), s(serde_json::to_string(attempts).unwrap_or_else(|_| "[]".into())));
        item.insert("ver".into(), n(ver.map_or(1, |v| v + 1)));
        item.insert("expires".into(), n(expires_s));
        let put = Put::builder().table_name(table).set_item(Some(item));
        let put = match ver {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(v) => put.condition_expression("ver = :ver").expression_attribute_values(":ver", n(v)),
        };
        put.build().map_err(|e| error::build("throttle put", e))
    }

    /// Writes `puts` at once; false when a version moved meanwhile.
    async fn write(&self, puts: Vec<Put>) -> Result<bool, PortError> {
        let items = puts.into_iter().map(|p| TransactWriteItem::builder().put(p).build()).collect();
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(true),
            Err(e) => {
                let e = error::transact("dynamodb throttle", e);
                if e.kind == PortErrorKind::Conflict {
                    Ok(false)
                } else {
                    Err(e)
                }
            }
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

/// A short pause between tries of a lost race, different per try.
async fn back_off(try_no: u32) {
    let jitter = u64::from(rand_u8()) % 20;
    tokio::time::sleep(Duration::from_millis(5 * u64::from(try_no.min(10)) + jitter)).await;
}

fn rand_u8() -> u8 {
    // The low bits of the clock are random enough to spread retries.
    (chrono::Utc::now().timestamp_subsec_nanos() % 251) as u8
}

#[async_trait]
impl Throttle for DynamoThrottle {
    async fn admit(&self, limits: &[ThrottleLimit]) -> Result<Admission, PortError> {
        if let Some(long) = limits.iter().find(|l| l.key.len() > MAX_THROTTLE_KEY) {
            return Err(PortError::new(PortErrorKind::Invalid, format!("throttle key of {} bytes", long.key.len())));
        }
        // One limit per key: the tightest, with its window.
        let mut by_key: BTreeMap<&str, &ThrottleLimit> = BTreeMap::new();
        for l in limits {
            by_key.entry(l.key.as_str()).and_modify(|e| *e = if l.max < e.max { l } else { e }).or_insert(l);
        }
        if by_key.is_empty() {
            return Ok(Admission::Admitted);
        }
        let table = self.table().await?.to_owned();
        for try_no in 0..TRIES {
            let keys: Vec<&str> = by_key.keys().copied().collect();
            let mut counters = self.read(&keys).await?;
            let now = now_ms();
            let mut wait = 0_i64;
            let mut puts = Vec::with_capacity(keys.len());
            for (key, limit) in &by_key {
                let counter = counters.remove(*key).unwrap_or_default();
                let window = ms(limit.window);
                let mut live: Vec<i64> = counter.attempts.into_iter().filter(|at| at + window > now).collect();
                if live.len() >= limit.max as usize {
                    wait = wait.max(live[live.len() - limit.max as usize] + window - now);
                    continue;
                }
                live.push(now);
                let expires_s = (now + window) / 1000 + 1;
                puts.push(Self::put(&table, key, &live, counter.ver, expires_s)?);
            }
            if wait > 0 || puts.len() < by_key.len() {
                let retry_after = Duration::from_millis(u64::try_from(wait.max(1)).unwrap_or(1));
                return Ok(Admission::Refused { retry_after });
            }
            if self.write(puts).await? {
                return Ok(Admission::Admitted);
            }
            back_off(try_no).await;
        }
        Err(PortError::new(PortErrorKind::Throttled, "throttle counters kept changing; retry"))
    }

    async fn release(&self, key: &str) -> Result<(), PortError> {
        let table = self.table().await?.to_owned();
        for try_no in 0..TRIES {
            let Some(mut counter) = self.read(&[key]).await?.remove(key) else { return Ok(()) };
            let Some(newest) = counter.attempts.iter().copied().max() else { return Ok(()) };
            if let Some(at) = counter.attempts.iter().rposition(|a| *a == newest) {
                counter.attempts.remove(at);
            }
            let expires_s = now_ms() / 1000 + 3600;
            if self.write(vec![Self::put(&table, key, &counter.attempts, counter.ver, expires_s)?]).await? {
                return Ok(());
            }
            back_off(try_no).await;
        }
        Err(PortError::new(PortErrorKind::Throttled, "throttle counter kept changing; retry"))
    }

    async fn forget(&self, key: &str) -> Result<(), PortError> {
        let table = self.table().await?;
        self.client
            .delete_item()
            .table_name(table)
            .set_key(Some(Self::key(key)))
            .send()
            .await
            .map_err(|e| error::sdk("dynamodb forget throttle", e))?;
        Ok(())
    }
}
