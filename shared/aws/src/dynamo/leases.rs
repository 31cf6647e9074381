//! [`DynamoLeases`]: the leases port on one DynamoDB table, one item per
//! account (`pk` = tenant, `sk` = account). Every change is one conditional
//! `UpdateItem`, so of racing nodes DynamoDB lets exactly one through, and
//! the fencing number grows by an atomic `ADD` that no node computes itself.
//! Times are the calling node's clock (DynamoDB has none in conditions):
//! nodes must keep their clocks within the fleet's lease margin.

use super::attrs::{get_bool, get_n, get_s, n, s, Item};
use super::tables::{self, LEASES};
use crate::context::AwsContext;
use crate::error;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, TimeZone, Utc};
use std::time::Duration;
use tgdesk_core::domain::{AccountId, TenantId};
use tgdesk_core::ports::{Lease, Leases, PortError, PortErrorKind};
use tokio::sync::OnceCell;

/// Renewals in flight at once in `renew_many`.
const RENEW_CONCURRENCY: usize = 32;

/// The leases port on DynamoDB.
pub struct DynamoLeases {
    client: aws_sdk_dynamodb::Client,
    ctx: AwsContext,
    /// The table's full name, once it is known to exist.
    table: OnceCell<String>,
}

impl DynamoLeases {
    /// Returns the adapter on table `<prefix>-leases`.
    pub fn new(ctx: &AwsContext) -> Self {
        Self { client: ctx.dynamodb(), ctx: ctx.clone(), table: OnceCell::new() }
    }

    /// Makes sure the table is there (created where allowed).
    pub async fn check(&self) -> Result<(), PortError> {
        self.table().await.map(|_| ())
    }

    async fn table(&self) -> Result<&str, PortError> {
        self.table.get_or_try_init(|| tables::ensure(&self.ctx, &self.client, LEASES)).await.map(String::as_str)
    }

    /// Runs a conditional update of one lease; `Conflict` when the condition fails.
    async fn update(
        &self,
        lease_key: (&TenantId, &AccountId),
        expression: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<Item, PortError> {
        let table = self.table().await?;
        let mut request = self
            .client
            .update_item()
            .table_name(table)
            .key("pk", s(lease_key.0.as_str()))
            .key("sk", s(lease_key.1.as_str()))
            .update_expression(expression)
            .condition_expression(condition)
            .expression_attribute_names("#node", "node")
            .return_values(ReturnValue::AllNew);
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        let out = request.send().await.map_err(|e| error::sdk("dynamodb update lease", e))?;
        out.attributes()
            .cloned()
            .ok_or_else(|| PortError::new(PortErrorKind::Internal, "lease update returned nothing"))
    }
}

/// Returns the instant `ttl` from now, on whole milliseconds.
fn expiry(ttl: Duration) -> DateTime<Utc> {
    let ms = Utc::now().timestamp_millis() + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
    Utc.timestamp_millis_opt(ms).single().unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Reads a stored lease item.
fn lease(item: &Item) -> Result<Lease, PortError> {
    let tenant = TenantId::parse(get_s(item, "pk")?)
        .map_err(|_| PortError::new(PortErrorKind::Internal, "stored lease has an invalid tenant"))?;
    let account_id = AccountId::parse(get_s(item, "sk")?)
        .map_err(|_| PortError::new(PortErrorKind::Internal, "stored lease has an invalid account"))?;
    let expires_ms: i64 = get_n(item, "expires_ms")?;
    Ok(Lease {
        tenant,
        account_id,
        node: get_s(item, "node")?.to_owned(),
        fencing: get_n(item, "fencing")?,
        expires_at: Utc.timestamp_millis_opt(expires_ms).single().unwrap_or(DateTime::<Utc>::MAX_UTC),
    })
}

/// Turns a failed condition into the conflict the port names.
fn held(e: PortError, what: &str) -> PortError {
    if e.kind == PortErrorKind::Conflict {
        PortError::conflict(what)
    } else {
        e
    }
}

#[async_trait]
impl Leases for DynamoLeases {
    async fn acquire(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        node: &str,
        ttl: Duration,
    ) -> Result<Lease, PortError> {
        if node.is_empty() {
            return Err(PortError::new(PortErrorKind::Invalid, "empty node name"));
        }
        let expires = expiry(ttl);
        let item = self
            .update(
                (tenant, account),
                "SET #node = :node, expires_ms = :exp, released = :no ADD fencing :one",
                "attribute_not_exists(pk) OR expires_ms <= :now OR released = :yes OR #node = :node",
                vec![
                    (":node", s(node)),
                    (":exp", n(expires.timestamp_millis())),
                    (":now", n(Utc::now().timestamp_millis())),
                    (":no", AttributeValue::Bool(false)),
                    (":yes", AttributeValue::Bool(true)),
                    (":one", n(1)),
                ],
            )
            .await
            .map_err(|e| held(e, "the lease is held by another node"))?;
        lease(&item)
    }

    async fn renew(&self, current: &Lease, ttl: Duration) -> Result<Lease, PortError> {
        let expires = expiry(ttl);
        let item = self
            .update(
                (&current.tenant, &current.account_id),
                "SET expires_ms = :exp",
                "fencing = :f AND #node = :node AND released = :no",
                vec![
                    (":exp", n(expires.timestamp_millis())),
                    (":f", n(current.fencing)),
                    (":node", s(&current.node)),
                    (":no", AttributeValue::Bool(false)),
                ],
            )
            .await
            .map_err(|e| held(e, "the lease was taken over or released"))?;
        lease(&item)
    }

    async fn renew_many(&self, leases: &[Lease], ttl: Duration) -> Result<Vec<Option<Lease>>, PortError> {
        // No batch call takes conditions: one conditional update each, many in flight.
        let mut renewed = Vec::with_capacity(leases.len());
        for chunk in leases.chunks(RENEW_CONCURRENCY) {
            for result in futures::future::join_all(chunk.iter().map(|l| self.renew(l, ttl))).await {
                renewed.push(match result {
                    Ok(lease) => Some(lease),
                    Err(e) if e.kind == PortErrorKind::Conflict => None,
                    Err(e) => return Err(e),
                });
            }
        }
        Ok(renewed)
    }

    async fn release(&self, current: &Lease) -> Result<(), PortError> {
        let released = self
            .update(
                (&current.tenant, &current.account_id),
                "SET released = :yes",
                "fencing = :f AND #node = :node",
                vec![(":yes", AttributeValue::Bool(true)), (":f", n(current.fencing)), (":node", s(&current.node))],
            )
            .await;
        match released {
            Err(e) if e.kind != PortErrorKind::Conflict => Err(e),
            _ => Ok(()),
        }
    }

    async fn holder(&self, tenant: &TenantId, account: &AccountId) -> Result<Option<Lease>, PortError> {
        let table = self.table().await?;
        let out = self
            .client
            .get_item()
            .table_name(table)
            .key("pk", s(tenant.as_str()))
            .key("sk", s(account.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| error::sdk("dynamodb get lease", e))?;
        let Some(item) = out.item() else { return Ok(None) };
        if get_bool(item, "released") {
            return Ok(None);
        }
        let held = lease(item)?;
        Ok((held.expires_at > Utc::now()).then_some(held))
    }

    async fn list(&self, tenant: &TenantId) -> Result<Vec<Lease>, PortError> {
        let table = self.table().await?;
        let mut pages = self
            .client
            .query()
            .table_name(table)
            .key_condition_expression("pk = :t")
            .expression_attribute_values(":t", s(tenant.as_str()))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        let mut out = Vec::new();
        while let Some(item) = pages.next().await {
            let item = item.map_err(|e| error::sdk("dynamodb query leases", e))?;
            if !get_bool(&item, "released") {
                out.push(lease(&item)?);
            }
        }
        Ok(out)
    }
}
