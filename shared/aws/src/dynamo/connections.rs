//! [`DynamoConnections`]: the connections port on a DynamoDB table. The
//! push function lists a user's connections on every event it posts, so
//! items sit under the user (`pk` = `{tenant}/{user}`, `sk` = connection id)
//! and that list is one strongly consistent query; `$disconnect` names only
//! the connection, which index `g1` (`g1pk` = connection id) finds. Frame
//! numbers are an atomic `ADD` on the item. Items expire with their token
//! by DynamoDB's TTL; until the TTL runs, lists leave them out.

use super::attrs::{get_n, get_s, get_time, n, parsed, s, time, Item};
use super::tables::{self, index_name, TableSpec};
use crate::context::AwsContext;
use crate::error;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};
use tgdesk_core::domain::{TenantId, UserId};
use tgdesk_core::ports::{validate_connection_id, Advance, Connection, Connections, PortError, PortErrorKind};
use tokio::sync::OnceCell;

/// Open WebSocket connections: see the module's text for the keys.
pub const CONNECTIONS: TableSpec = TableSpec {
    suffix: "connections",
    numeric_sort_key: false,
    indexes: &["g1"],
    ttl_attribute: Some("expires"),
    stream: false,
};

/// The connections port on DynamoDB.
pub struct DynamoConnections {
    client: aws_sdk_dynamodb::Client,
    ctx: AwsContext,
    table: OnceCell<String>,
}

impl DynamoConnections {
    /// Returns the adapter on table `<prefix>-connections`.
    pub fn new(ctx: &AwsContext) -> Self {
        Self { client: ctx.dynamodb(), ctx: ctx.clone(), table: OnceCell::new() }
    }

    /// Makes sure the table is there (created where allowed).
    pub async fn check(&self) -> Result<(), PortError> {
        self.table().await.map(|_| ())
    }

    async fn table(&self) -> Result<&str, PortError> {
        self.table.get_or_try_init(|| tables::ensure(&self.ctx, &self.client, CONNECTIONS)).await.map(String::as_str)
    }

    fn key(tenant: &TenantId, user: &UserId, id: &str) -> Item {
        [("pk".to_owned(), s(format!("{tenant}/{user}"))), ("sk".to_owned(), s(id))].into()
    }

    fn read(item: &Item) -> Result<Connection, PortError> {
        Ok(Connection {
            id: get_s(item, "sk")?.to_owned(),
            tenant: parsed(item, "tenant", TenantId::parse)?,
            user: parsed(item, "user", UserId::parse)?,
            token_version: get_n(item, "tv")?,
            expires_at: get_time(item, "expires_at")?,
            resumed_after: item.get("resumed_after").map(|_| get_n(item, "resumed_after")).transpose()?,
        })
    }
}

#[async_trait]
impl Connections for DynamoConnections {
    async fn register(&self, c: &Connection) -> Result<(), PortError> {
        validate_connection_id(&c.id)?;
        // An id registered before (under any user) is replaced, numbering and all.
        self.unregister(&c.id).await?;
        let table = self.table().await?;
        let mut item = Self::key(&c.tenant, &c.user, &c.id);
        item.insert("g1pk".into(), s(&c.id));
        item.insert("g1sk".into(), s("c"));
        item.insert("tenant".into(), s(c.tenant.as_str()));
        item.insert("user".into(), s(c.user.as_str()));
        item.insert("tv".into(), n(c.token_version));
        item.insert("expires_at".into(), time(c.expires_at));
        item.insert("expires".into(), n(c.expires_at.timestamp()));
        if let Some(since) = c.resumed_after {
            item.insert("resumed_after".into(), n(since));
            item.insert("seq".into(), n(since));
            item.insert("resync".into(), aws_sdk_dynamodb::types::AttributeValue::Bool(true));
        }
        self.client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| error::sdk("dynamodb put_item", e))?;
        Ok(())
    }

    async fn unregister(&self, id: &str) -> Result<(), PortError> {
        if validate_connection_id(id).is_err() {
            return Ok(());
        }
        let table = self.table().await?;
        let found = self
            .client
            .query()
            .table_name(table)
            .index_name(index_name("g1"))
            .key_condition_expression("g1pk = :id")
            .expression_attribute_values(":id", s(id))
            .send()
            .await
            .map_err(|e| error::sdk("dynamodb query", e))?;
        for item in found.items() {
            let key: Item = [("pk".to_owned(), s(get_s(item, "pk")?)), ("sk".to_owned(), s(id))].into();
            self.client
                .delete_item()
                .table_name(table)
                .set_key(Some(key))
                .send()
                .await
                .map_err(|e| error::sdk("dynamodb delete_item", e))?;
        }
        Ok(())
    }

    async fn of_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Connection>, PortError> {
        let table = self.table().await?;
        // At most MAX_CONNECTIONS_PER_USER items of ~200 bytes: one page.
        let found = self
            .client
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(format!("{tenant}/{user}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| error::sdk("dynamodb query", e))?;
        let mut open = Vec::with_capacity(found.items().len());
        for item in found.items() {
            let connection = Self::read(item)?;
            if connection.expires_at > now {
                open.push(connection);
            }
        }
        Ok(open)
    }

    async fn advance(&self, c: &Connection, count: u64) -> Result<Option<Advance>, PortError> {
        let table = self.table().await?;
        let updated = self
            .client
            .update_item()
            .table_name(table)
            .set_key(Some(Self::key(&c.tenant, &c.user, &c.id)))
            // The old image says both where numbering stood and whether a
            // resync was owed, which this same write settles.
            .update_expression("ADD seq :n REMOVE resync")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":n", n(count))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match updated {
            Ok(out) => {
                let old = out.attributes().cloned().unwrap_or_default();
                let before: u64 = if old.contains_key("seq") { get_n(&old, "seq")? } else { 0 };
                let resync_first = old.get("resync").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false);
                Ok(Some(Advance { last: before + count, resync_first }))
            }
            Err(e) => {
                let e = error::sdk("dynamodb update_item", e);
                if e.kind == PortErrorKind::Conflict {
                    return Ok(None);
                }
                Err(e)
            }
        }
    }
}
