//! The requests the directory is made of, written once: paged queries that
//! fill a page through filters, batched reads and deletes that resend what
//! DynamoDB left unprocessed, and single conditional writes.

use crate::dynamo::attrs::{s, Item};
use crate::dynamo::store::DynamoStore;
use crate::error;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, KeysAndAttributes, PutRequest, WriteRequest};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tgdesk_core::ports::{PortError, PortErrorKind};

/// Keys per `BatchGetItem`.
const GET_KEYS: usize = 100;
/// Requests per `BatchWriteItem`.
const WRITE_ITEMS: usize = 25;
/// The key of one item of `main`.
pub(super) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

/// Names and values of an expression, with placeholders made on the way.
#[derive(Clone, Debug, Default)]
pub(super) struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    /// Returns the placeholder of attribute `attr` (every name goes through
    /// one: `status`, `name` and `owner` are reserved words).
    pub fn name(&mut self, attr: &str) -> String {
        let placeholder = format!("#{attr}");
        self.names.insert(placeholder.clone(), attr.to_owned());
        placeholder
    }

    /// Returns the placeholder of a fresh value.
    pub fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    /// The placeholders of attribute names, if any.
    pub(super) fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    /// The placeholders of values, if any.
    pub(super) fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// A filter: clauses joined with `AND`, over one [`Expr`].
#[derive(Clone, Debug, Default)]
pub(super) struct Filter {
    pub expr: Expr,
    clauses: Vec<String>,
}

impl Filter {
    /// Keeps items whose `attr` equals `value`.
    pub fn eq(&mut self, attr: &str, value: AttributeValue) {
        let (n, v) = (self.expr.name(attr), self.expr.value(value));
        self.clauses.push(format!("{n} = {v}"));
    }

    /// Keeps items without `attr`.
    pub fn absent(&mut self, attr: &str) {
        let n = self.expr.name(attr);
        self.clauses.push(format!("attribute_not_exists({n})"));
    }

    /// Keeps items whose `attr` (a string or a set) contains `value`.
    pub fn contains(&mut self, attr: &str, value: &str) {
        let (n, v) = (self.expr.name(attr), self.expr.value(s(value)));
        self.clauses.push(format!("contains({n}, {v})"));
    }

    /// Adds a clause built on [`Self::expr`].
    pub fn clause(&mut self, clause: String) {
        self.clauses.push(clause);
    }

    /// Returns whether it keeps every item.
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    fn expression(&self) -> Option<String> {
        (!self.clauses.is_empty()).then(|| self.clauses.join(" AND "))
    }
}

/// One partition of `main` or of one of its indexes, read in sort key order.
#[derive(Clone, Debug)]
pub(super) struct Query {
    /// `None`: the table (read strongly consistent); else `g1`, `g2` or `g3`.
    pub index: Option<&'static str>,
    /// The partition key value.
    pub pk: String,
    /// Only sort keys after this one (before it when backwards).
    pub from: Option<String>,
    /// Only this sort key.
    pub exact: Option<String>,
    /// Ascending sort key order.
    pub forward: bool,
    /// What items to keep.
    pub filter: Filter,
    /// Items DynamoDB evaluates per request.
    pub page: i32,
}

impl Query {
    /// Returns a forward query of partition `pk` of the table.
    pub fn table(pk: String) -> Self {
        Self { index: None, pk, from: None, exact: None, forward: true, filter: Filter::default(), page: 500 }
    }

    /// Returns a forward query of partition `pk` of index `index`.
    pub fn index(index: &'static str, pk: String) -> Self {
        Self { index: Some(index), ..Self::table(pk) }
    }
}

/// How often, and how patiently, the directory sends a request again that
/// DynamoDB could not complete (on top of the SDK's own retries of errors).
#[derive(Clone, Copy, Debug)]
pub(super) struct Resend {
    /// Sends after the first.
    pub limit: u32,
    /// The first wait; each next one doubles.
    pub first_wait: Duration,
}

impl Resend {
    /// Work a batch call left unprocessed (throttled items).
    pub const UNPROCESSED: Resend = Resend { limit: 8, first_wait: Duration::from_millis(20) };
    /// A transaction cancelled by a concurrent one, or lost to a server failure.
    pub const TRANSACTION: Resend = Resend { limit: 6, first_wait: Duration::from_millis(25) };

    /// Waits before resend number `attempt` (from 0); `false` when the limit is reached.
    pub async fn wait(self, attempt: u32) -> bool {
        if attempt >= self.limit {
            return false;
        }
        tokio::time::sleep(self.first_wait * (1 << attempt.min(6))).await;
        true
    }
}

/// Waits before resending unprocessed work; `Throttled` once the limit is reached.
async fn backoff(attempt: u32) -> Result<(), PortError> {
    if Resend::UNPROCESSED.wait(attempt).await {
        Ok(())
    } else {
        Err(PortError::new(PortErrorKind::Throttled, "dynamodb left items unprocessed after resends"))
    }
}

impl DynamoStore {
    /// Returns up to `want` items of `q` that pass its filter, requesting
    /// pages until that many matched or the partition ends.
    pub(super) async fn query(&self, q: &Query, want: usize) -> Result<Vec<Item>, PortError> {
        let table = &self.tables().await?.main;
        let (pk_attr, sk_attr) = match q.index {
            Some(i) => (format!("{i}pk"), format!("{i}sk")),
            None => ("pk".to_owned(), "sk".to_owned()),
        };
        let mut expr = q.filter.expr.clone();
        let mut key_condition = format!("{} = {}", expr.name(&pk_attr), expr.value(s(&q.pk)));
        if let Some(from) = &q.from {
            let op = if q.forward { ">" } else { "<" };
            key_condition = format!("{key_condition} AND {} {op} {}", expr.name(&sk_attr), expr.value(s(from)));
        } else if let Some(exact) = &q.exact {
            key_condition = format!("{key_condition} AND {} = {}", expr.name(&sk_attr), expr.value(s(exact)));
        }
        let mut out = Vec::new();
        let mut start = None;
        while out.len() < want {
            let response = self
                .client
                .query()
                .table_name(table)
                .set_index_name(q.index.map(crate::dynamo::tables::index_name))
                .set_consistent_read(q.index.is_none().then_some(true))
                .key_condition_expression(&key_condition)
                .set_filter_expression(q.filter.expression())
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .scan_index_forward(q.forward)
                .limit(q.page)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| error::sdk("dynamodb query", e))?;
            out.extend(response.items.unwrap_or_default());
            match response.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        out.truncate(want);
        Ok(out)
    }

    /// Reads the items at `keys` (strongly consistent; duplicates read once),
    /// in no particular order; missing items are left out. `projection` names
    /// the attributes to read (all when `None`).
    pub(super) async fn batch_get(
        &self,
        keys: Vec<(String, String)>,
        projection: Option<&[&str]>,
    ) -> Result<Vec<Item>, PortError> {
        let table = &self.tables().await?.main;
        let mut seen = HashSet::new();
        let keys: Vec<Item> = keys.into_iter().filter(|k| seen.insert(k.clone())).map(|(pk, sk)| key(pk, sk)).collect();
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(GET_KEYS) {
            let mut expr = Expr::default();
            let projected = projection.map(|attrs| {
                let all = ["pk", "sk"].iter().chain(attrs);
                all.map(|a| expr.name(a)).collect::<Vec<_>>().join(", ")
            });
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(true)
                    .set_projection_expression(projected)
                    .set_expression_attribute_names(expr.names())
                    .build()
                    .map_err(|e| error::build("dynamodb batch get", e))?,
            );
            let mut attempt = 0;
            while let Some(request) = pending.take() {
                let response = self
                    .client
                    .batch_get_item()
                    .request_items(table, request)
                    .send()
                    .await
                    .map_err(|e| error::sdk("dynamodb batch get", e))?;
                out.extend(response.responses.and_then(|mut r| r.remove(table)).unwrap_or_default());
                pending = response.unprocessed_keys.and_then(|mut u| u.remove(table)).filter(|k| !k.keys.is_empty());
                if pending.is_some() {
                    backoff(attempt).await?;
                    attempt += 1;
                }
            }
        }
        Ok(out)
    }

    /// Deletes the items at `keys` (missing ones are no error).
    pub(super) async fn batch_delete(&self, keys: Vec<(String, String)>) -> Result<(), PortError> {
        let mut seen = HashSet::new();
        let requests = keys
            .into_iter()
            .filter(|k| seen.insert(k.clone()))
            .map(|(pk, sk)| {
                let delete = DeleteRequest::builder()
                    .set_key(Some(key(pk, sk)))
                    .build()
                    .map_err(|e| error::build("dynamodb batch delete", e))?;
                Ok(WriteRequest::builder().delete_request(delete).build())
            })
            .collect::<Result<Vec<_>, PortError>>()?;
        self.batch_write(requests).await
    }

    /// Puts `items` (unconditionally: a batch takes no conditions).
    pub(super) async fn batch_put(&self, items: Vec<Item>) -> Result<(), PortError> {
        let requests = items
            .into_iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(|e| error::build("dynamodb batch put", e))?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, PortError>>()?;
        self.batch_write(requests).await
    }

    /// Sends `requests` in batches of 25, resending what comes back unprocessed.
    async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), PortError> {
        let table = &self.tables().await?.main;
        for chunk in requests.chunks(WRITE_ITEMS) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() {
                let response = self
                    .client
                    .batch_write_item()
                    .request_items(table, pending)
                    .send()
                    .await
                    .map_err(|e| error::sdk("dynamodb batch write", e))?;
                pending = response.unprocessed_items.and_then(|mut u| u.remove(table)).unwrap_or_default();
                if !pending.is_empty() {
                    backoff(attempt).await?;
                    attempt += 1;
                }
            }
        }
        Ok(())
    }

    /// Reads one item of `main` (strongly consistent).
    pub(super) async fn get(&self, pk: String, sk: String) -> Result<Option<Item>, PortError> {
        let table = &self.tables().await?.main;
        let response = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| error::sdk("dynamodb get", e))?;
        Ok(response.item)
    }

    /// Runs one `UpdateItem` on `main`; `Conflict` when `condition` fails.
    pub(super) async fn update(
        &self,
        key: Item,
        update: &str,
        condition: Option<&str>,
        expr: Expr,
    ) -> Result<(), PortError> {
        let table = &self.tables().await?.main;
        self.client
            .update_item()
            .table_name(table)
            .set_key(Some(key))
            .update_expression(update)
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await
            .map_err(|e| error::sdk("dynamodb update", e))?;
        Ok(())
    }

    /// Puts one item of `main` if `condition` holds; `Conflict` when not.
    pub(super) async fn put_if(&self, item: Item, condition: &str, expr: Expr) -> Result<(), PortError> {
        let table = &self.tables().await?.main;
        self.client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await
            .map_err(|e| error::sdk("dynamodb put", e))?;
        Ok(())
    }

    /// Deletes one item of `main` if `condition` holds; `Conflict` when not.
    pub(super) async fn delete_if(&self, key: Item, condition: &str, expr: Expr) -> Result<(), PortError> {
        let table = &self.tables().await?.main;
        self.client
            .delete_item()
            .table_name(table)
            .set_key(Some(key))
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await
            .map_err(|e| error::sdk("dynamodb delete", e))?;
        Ok(())
    }
}
