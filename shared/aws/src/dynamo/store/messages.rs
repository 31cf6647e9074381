//! Messages after ingest: edits, deletes, tags, history pages, and the
//! cascades that reach messages (an account deleted, a tag deleted).
//! Tagged messages are also listed under their tag (`t#MTAG#tag` items), so
//! deleting a tag finds its messages without scanning the table.

use super::codec::{self, message_key, ns, tags_json};
use super::io;
use super::DynamoStore;
use crate::dynamo::attrs::{get_s, n, s, Item};
use crate::dynamo::keys::{self, part_of, peer_key};
use crate::error;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;
use tgdesk_core::domain::{text_preview, AccountId, Message, PeerKind, TagId, TenantId};
use tgdesk_core::ports::{PortError, PortErrorKind};

/// Returns the item listing message (`account`, `peer`, `id`) under `tag`.
fn tag_entry_key(tenant: &TenantId, tag: &TagId, account: &AccountId, peer: i64, id: i64) -> Item {
    [
        ("pk".to_owned(), s(part_of(tenant, "MTAG", tag.as_str()))),
        ("sk".to_owned(), s(format!("{}#{}#{id:020}", account.as_str(), peer_key(peer)))),
    ]
    .into()
}

fn tag_entry(tenant: &TenantId, tag: &TagId, account: &AccountId, peer: i64, id: i64) -> Item {
    let mut item = tag_entry_key(tenant, tag, account, peer, id);
    item.insert("account".into(), s(account.as_str()));
    item.insert("peer".into(), n(peer));
    item.insert("id".into(), n(id));
    item
}

impl DynamoStore {
    /// Runs a conditional update of one existing message; `NotFound` when
    /// there is no such message.
    async fn update_message(
        &self,
        tenant: &TenantId,
        (account, peer, id): (&AccountId, i64, i64),
        expression: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<Option<Item>, PortError> {
        let table = &self.tables().await?.messages;
        // Every change counts in `ver` and takes off a mark of archiving
        // ahead (ahead.rs): the TTL's delete then archives the new version.
        let mut request = self
            .client
            .update_item()
            .table_name(table)
            .set_key(Some(message_key(tenant, account, peer, id)))
            .update_expression(format!("{expression} ADD ver :one REMOVE archived"))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", n(1))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld);
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        if expression.contains("#text") {
            // TEXT is a DynamoDB reserved word.
            request = request.expression_attribute_names("#text", "text");
        }
        match request.send().await {
            Ok(out) => Ok(out.attributes().cloned()),
            Err(e) => {
                let e = error::sdk("dynamodb update message", e);
                if e.kind == PortErrorKind::Conflict {
                    Err(PortError::not_found(format!("message {id} of {}/{peer} not found", account.as_str())))
                } else {
                    Err(e)
                }
            }
        }
    }

    /// The body of `MessageWriter::edit_message`.
    pub(crate) async fn edit(
        &self,
        tenant: &TenantId,
        key: (&AccountId, i64, i64),
        text: &str,
        edited_at: DateTime<Utc>,
    ) -> Result<(), PortError> {
        let values = vec![(":t", s(text)), (":e", n(ns(edited_at)))];
        self.update_message(tenant, key, "SET #text = :t, edited_ns = :e", values).await?;
        self.follow_edit_in_preview(tenant, key, text).await
    }

    /// Shows an edit in the dialog's preview when the edited message is its newest.
    async fn follow_edit_in_preview(
        &self,
        tenant: &TenantId,
        (account, peer, id): (&AccountId, i64, i64),
        text: &str,
    ) -> Result<(), PortError> {
        self.update_dialog(tenant, account, peer, |current| {
            let c = current.filter(|c| c.dialog.last_message_id == Some(id))?;
            let next = tgdesk_core::domain::Dialog { preview: text_preview(text), ..c.dialog.clone() };
            Some((next, c.owner.clone(), c.team.clone()))
        })
        .await?;
        Ok(())
    }

    /// Marks one message deleted; returns false when there is none.
    async fn mark_deleted(&self, tenant: &TenantId, key: (&AccountId, i64, i64)) -> Result<bool, PortError> {
        match self.update_message(tenant, key, "SET deleted = :yes", vec![(":yes", AttributeValue::Bool(true))]).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind == PortErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The body of `MessageWriter::delete_messages`.
    pub(crate) async fn delete_in_dialog(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        ids: &[i64],
    ) -> Result<(), PortError> {
        for chunk in ids.chunks(32) {
            for done in
                futures::future::join_all(chunk.iter().map(|id| self.mark_deleted(tenant, (account, peer, *id)))).await
            {
                done?;
            }
        }
        Ok(())
    }

    /// The body of `MessageWriter::delete_unplaced_messages`: an id is looked
    /// up in the account's private chats and basic groups whose newest
    /// message is at or above it (ids grow per account there).
    pub(crate) async fn delete_unplaced(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        ids: &[i64],
    ) -> Result<Vec<(i64, i64)>, PortError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let dialogs = self.account_dialogs(tenant, account).await?;
        let mut candidates = Vec::new();
        for d in dialogs.iter().filter(|d| PeerKind::of_peer(d.peer) != PeerKind::Channel) {
            for &id in ids {
                if d.last_message_id.is_some_and(|last| last >= id) {
                    candidates.push(message_key(tenant, account, d.peer, id));
                }
            }
        }
        let table = self.tables().await?.messages.clone();
        let found = io::batch_get(&self.client, &table, candidates).await?;
        let mut marked = Vec::new();
        for item in &found {
            let m = codec::message(item)?;
            if self.mark_deleted(tenant, (account, m.peer, m.id)).await? {
                marked.push((m.peer, m.id));
            }
        }
        marked.sort_unstable();
        Ok(marked)
    }

    /// The body of `MessageWriter::set_message_tags`: replaces the tags and
    /// keeps the tag listings in step.
    pub(crate) async fn set_tags(
        &self,
        tenant: &TenantId,
        (account, peer, id): (&AccountId, i64, i64),
        tags: &BTreeSet<TagId>,
    ) -> Result<(), PortError> {
        let old = self
            .update_message(tenant, (account, peer, id), "SET tags = :tags", vec![(":tags", s(tags_json(tags)))])
            .await?
            .map(|item| codec::message(&item))
            .transpose()?
            .map(|m| m.tags)
            .unwrap_or_default();
        let puts = tags.difference(&old).map(|tag| tag_entry(tenant, tag, account, peer, id)).collect();
        let deletes = old.difference(tags).map(|tag| tag_entry_key(tenant, tag, account, peer, id)).collect();
        let main = self.tables().await?.main.clone();
        io::batch_write(&self.client, &main, puts, deletes).await
    }

    /// Lists a freshly stored message under each of its tags.
    pub(crate) async fn list_under_tags(&self, tenant: &TenantId, m: &Message) -> Result<(), PortError> {
        if m.tags.is_empty() {
            return Ok(());
        }
        let puts = m.tags.iter().map(|tag| tag_entry(tenant, tag, &m.account_id, m.peer, m.id)).collect();
        let main = self.tables().await?.main.clone();
        io::batch_write(&self.client, &main, puts, Vec::new()).await
    }

    /// Takes tag `tag` off every message that has it (part of deleting the tag).
    pub(crate) async fn remove_tag_from_messages(&self, tenant: &TenantId, tag: &TagId) -> Result<(), PortError> {
        let main = self.tables().await?.main.clone();
        let entries = io::query_partition(&self.client, &main, &part_of(tenant, "MTAG", tag.as_str())).await?;
        for entry in &entries {
            let account = AccountId::parse(get_s(entry, "account")?)
                .map_err(|_| PortError::new(PortErrorKind::Internal, "tag entry has an invalid account"))?;
            let (peer, id) = (crate::dynamo::attrs::get_n(entry, "peer")?, crate::dynamo::attrs::get_n(entry, "id")?);
            match self.get_one(tenant, &account, peer, id).await? {
                Some(m) => {
                    let mut tags = m.tags;
                    tags.remove(tag);
                    self.set_tags(tenant, (&account, peer, id), &tags).await?;
                }
                None => io::batch_write(&self.client, &main, Vec::new(), vec![io::key_of(entry)]).await?,
            }
        }
        Ok(())
    }

    /// The body of `MessageReader::get_message`.
    pub(crate) async fn get_one(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        id: i64,
    ) -> Result<Option<Message>, PortError> {
        let table = &self.tables().await?.messages;
        let out = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(message_key(tenant, account, peer, id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| error::sdk("dynamodb get message", e))?;
        out.item().map(codec::message).transpose()
    }

    /// The body of `MessageReader::list_messages`: newest first, below `before`.
    pub(crate) async fn history(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Message>, PortError> {
        let table = &self.tables().await?.messages;
        let mut request = self
            .client
            .query()
            .table_name(table)
            .expression_attribute_values(":pk", s(keys::messages_part(tenant, account, peer)))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX));
        request = match before {
            Some(before) => request
                .key_condition_expression("pk = :pk AND sk < :before")
                .expression_attribute_values(":before", n(before)),
            None => request.key_condition_expression("pk = :pk"),
        };
        let out = request.send().await.map_err(|e| error::sdk("dynamodb query messages", e))?;
        out.items().iter().map(codec::message).collect()
    }

    /// Counts the incoming messages of a dialog after `up_to` (for `mark_read`).
    pub(crate) async fn count_incoming_after(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        up_to: i64,
    ) -> Result<u32, PortError> {
        let table = &self.tables().await?.messages;
        let mut pages = self
            .client
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk AND sk > :up")
            .filter_expression("outgoing = :no")
            .expression_attribute_values(":pk", s(keys::messages_part(tenant, account, peer)))
            .expression_attribute_values(":up", n(up_to))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .select(aws_sdk_dynamodb::types::Select::Count)
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut count = 0u32;
        while let Some(page) = pages.next().await {
            count += u32::try_from(page.map_err(|e| error::sdk("dynamodb count messages", e))?.count()).unwrap_or(0);
        }
        Ok(count)
    }

    /// Deletes every message of one dialog (part of deleting its account).
    pub(crate) async fn delete_dialog_messages(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
    ) -> Result<(), PortError> {
        let table = self.tables().await?.messages.clone();
        let items = io::query_partition(&self.client, &table, &keys::messages_part(tenant, account, peer)).await?;
        io::batch_write(&self.client, &table, Vec::new(), items.iter().map(io::key_of).collect()).await
    }
}
