//! The send log and the fleet's replies. A send is one item under the
//! tenant's `SEND` partition; a batch's sends are also listed on index `g2`
//! under the batch, so its page and its tallies are one query. A reply is an
//! item taken by a delete that returns it, so it is taken once.

use super::io;
use super::DynamoStore;
use crate::dynamo::attrs::{get_s, n, s, Item};
use crate::dynamo::keys::{part, part_of};
use crate::error;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use std::collections::BTreeMap;
use tgdesk_core::domain::{BatchId, BatchSend, RequestId, SendId, SendRecord, SendStatus, TenantId};
use tgdesk_core::ports::{PortError, PortErrorKind};

/// How long an untaken reply is kept (the port promises an hour).
const REPLY_TTL_S: i64 = 3600;

fn key(pk: String, sk: &str) -> Item {
    [("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))].into()
}

fn doc<T: serde::de::DeserializeOwned>(item: &Item) -> Result<T, PortError> {
    serde_json::from_str(get_s(item, "doc")?)
        .map_err(|_| PortError::new(PortErrorKind::Internal, "stored record is invalid"))
}

fn to_doc<T: serde::Serialize>(value: &T) -> Result<AttributeValue, PortError> {
    serde_json::to_string(value).map(s).map_err(|_| PortError::new(PortErrorKind::Internal, "record not encodable"))
}

fn send_item(tenant: &TenantId, send: &SendRecord) -> Result<Item, PortError> {
    let mut item = key(part(tenant, "SEND"), send.id.as_str());
    item.insert("doc".into(), to_doc(send)?);
    if let Some(batch) = &send.batch_id {
        item.insert("g2pk".into(), s(part_of(tenant, "BSENDS", batch.as_str())));
        item.insert("g2sk".into(), s(send.id.as_str()));
    }
    Ok(item)
}

impl DynamoStore {
    async fn get_doc<T: serde::de::DeserializeOwned>(&self, pk: String, sk: &str) -> Result<Option<T>, PortError> {
        let main = &self.tables().await?.main;
        let out = self
            .client
            .get_item()
            .table_name(main)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| error::sdk("dynamodb get record", e))?;
        out.item().map(doc).transpose()
    }

    /// The body of `SendLog::put_sends`. Puts are idempotent by id, so a
    /// failure part way is repaired by putting the same sends again.
    pub(crate) async fn put_send_records(&self, tenant: &TenantId, sends: &[SendRecord]) -> Result<(), PortError> {
        let main = self.tables().await?.main.clone();
        let items = sends.iter().map(|send| send_item(tenant, send)).collect::<Result<Vec<_>, _>>()?;
        io::batch_write(&self.client, &main, items, Vec::new()).await
    }

    /// The body of `SendLog::get_send`.
    pub(crate) async fn send_record(&self, tenant: &TenantId, id: &SendId) -> Result<Option<SendRecord>, PortError> {
        self.get_doc(part(tenant, "SEND"), id.as_str()).await
    }

    /// The body of `SendLog::put_batch`.
    pub(crate) async fn put_batch_record(&self, tenant: &TenantId, batch: &BatchSend) -> Result<(), PortError> {
        let main = self.tables().await?.main.clone();
        let mut item = key(part(tenant, "BATCH"), batch.id.as_str());
        item.insert("doc".into(), to_doc(batch)?);
        io::batch_write(&self.client, &main, vec![item], Vec::new()).await
    }

    /// The body of `SendLog::get_batch`.
    pub(crate) async fn batch_record(&self, tenant: &TenantId, id: &BatchId) -> Result<Option<BatchSend>, PortError> {
        self.get_doc(part(tenant, "BATCH"), id.as_str()).await
    }

    /// The body of `SendLog::list_batch_sends`.
    pub(crate) async fn batch_page(
        &self,
        tenant: &TenantId,
        batch: &BatchId,
        after: Option<&SendId>,
        limit: usize,
    ) -> Result<Vec<SendRecord>, PortError> {
        let main = &self.tables().await?.main;
        let mut request = self
            .client
            .query()
            .table_name(main)
            .index_name(crate::dynamo::tables::index_name("g2"))
            .expression_attribute_values(":pk", s(part_of(tenant, "BSENDS", batch.as_str())))
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX));
        request = match after {
            Some(after) => request
                .key_condition_expression("g2pk = :pk AND g2sk > :after")
                .expression_attribute_values(":after", s(after.as_str())),
            None => request.key_condition_expression("g2pk = :pk"),
        };
        let out = request.send().await.map_err(|e| error::sdk("dynamodb query batch sends", e))?;
        out.items().iter().map(doc).collect()
    }

    /// The body of `SendLog::count_batch_sends`.
    pub(crate) async fn batch_tally(
        &self,
        tenant: &TenantId,
        batch: &BatchId,
    ) -> Result<BTreeMap<SendStatus, u64>, PortError> {
        let main = &self.tables().await?.main;
        let mut pages = self
            .client
            .query()
            .table_name(main)
            .index_name(crate::dynamo::tables::index_name("g2"))
            .key_condition_expression("g2pk = :pk")
            .expression_attribute_values(":pk", s(part_of(tenant, "BSENDS", batch.as_str())))
            .into_paginator()
            .items()
            .send();
        let mut tally = BTreeMap::new();
        while let Some(item) = pages.next().await {
            let send: SendRecord = doc(&item.map_err(|e| error::sdk("dynamodb query batch sends", e))?)?;
            *tally.entry(send.status).or_insert(0) += 1;
        }
        Ok(tally)
    }

    /// The body of `Replies::put_reply`.
    pub(crate) async fn put_reply_item(&self, tenant: &TenantId, id: &RequestId, body: &[u8]) -> Result<(), PortError> {
        let main = self.tables().await?.main.clone();
        let mut item = key(part(tenant, "REPLY"), id.as_str());
        item.insert("body".into(), AttributeValue::B(body.to_vec().into()));
        item.insert("expires".into(), n(chrono::Utc::now().timestamp() + REPLY_TTL_S));
        io::batch_write(&self.client, &main, vec![item], Vec::new()).await
    }

    /// The body of `Replies::take_reply`: a delete that returns what it
    /// deleted, so of two takers one gets the reply.
    pub(crate) async fn take_reply_item(
        &self,
        tenant: &TenantId,
        id: &RequestId,
    ) -> Result<Option<Vec<u8>>, PortError> {
        let main = &self.tables().await?.main;
        let out = self
            .client
            .delete_item()
            .table_name(main)
            .set_key(Some(key(part(tenant, "REPLY"), id.as_str())))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| error::sdk("dynamodb take reply", e))?;
        let Some(item) = out.attributes() else { return Ok(None) };
        match item.get("body") {
            Some(AttributeValue::B(body)) => Ok(Some(body.clone().into_inner())),
            _ => Err(PortError::new(PortErrorKind::Internal, "stored reply has no body")),
        }
    }
}
