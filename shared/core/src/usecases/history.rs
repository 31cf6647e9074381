//! A dialog's messages across the hot store and the cold archive. Telegram
//! numbers a dialog's messages in date order, so everything archived lies
//! below the store's oldest message: a history page reads the store and,
//! when the store runs out, continues in the archive below the last id it
//! returned, with the same cursor. A message in both (written to the
//! archive, not yet removed from the store) is read from the store only.
//! Changes to a message no longer in the store go to the archive's overlay,
//! and from there to the search index.

use super::Desk;
use crate::domain::{AccountId, Message, PeerKind, TagId, TenantId};
use crate::ports::{ArchiveChange, DialogCursor, DialogFilter, DialogScope, MessageChange, PortError, PortErrorKind};
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

/// Most dialogs one delete that names no dialog looks in for archived
/// messages (an account's recent private chats, newest first).
pub const MAX_UNPLACED_DIALOGS: usize = 500;

/// Dialogs read per page of that walk.
const DIALOGS_PER_PAGE: usize = 100;

impl Desk {
    /// Returns up to `limit` messages of a dialog with ids below `before`,
    /// newest first: the store's, then the archive's below them.
    pub(crate) async fn history(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Message>, PortError> {
        let mut items = self.ports.reader.list_messages(tenant, account, peer, before, limit).await?;
        if let (Some(archive), true) = (&self.ports.archive, items.len() < limit) {
            let below = items.last().map(|m| m.id).or(before);
            items.extend(archive.list(tenant, account, peer, below, limit - items.len()).await?);
        }
        Ok(items)
    }

    /// Returns a message from the store, else from the archive, or `None`.
    pub(crate) async fn find_message(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        id: i64,
    ) -> Result<Option<Message>, PortError> {
        if let Some(found) = self.ports.reader.get_message(tenant, account, peer, id).await? {
            return Ok(Some(found));
        }
        match &self.ports.archive {
            Some(archive) => archive.get(tenant, account, peer, id).await,
            None => Ok(None),
        }
    }

    /// Applies an edit where the message is; `NotFound` when it is in
    /// neither the store nor the archive.
    pub(crate) async fn apply_edit(
        &self,
        tenant: &TenantId,
        (account, peer, id): (&AccountId, i64, i64),
        text: &str,
        edited_at: DateTime<Utc>,
    ) -> Result<(), PortError> {
        match self.ports.writer.edit_message(tenant, account, peer, id, text, edited_at).await {
            Err(e) if e.kind == PortErrorKind::NotFound => {
                let change = ArchiveChange::Edit { id, text: text.to_owned(), edited_at };
                self.apply_archived(tenant, account, peer, &change, e).await
            }
            done => done,
        }
    }

    /// Marks messages deleted in the store and in the archive (a delete
    /// names no dates, and the archive ignores ids it does not hold).
    pub(crate) async fn apply_delete(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        ids: &[i64],
    ) -> Result<(), PortError> {
        self.ports.writer.delete_messages(tenant, account, peer, ids).await?;
        match &self.ports.archive {
            Some(archive) => {
                let changed =
                    archive.apply(tenant, account, peer, &ArchiveChange::Delete { ids: ids.to_vec() }).await?;
                let cold = self.only_archived(tenant, changed).await?;
                self.index_archived(tenant, cold).await
            }
            None => Ok(()),
        }
    }

    /// Replaces a message's tags where it is; `NotFound` when it is in
    /// neither the store nor the archive.
    pub(crate) async fn apply_tags(
        &self,
        tenant: &TenantId,
        (account, peer, id): (&AccountId, i64, i64),
        tags: &BTreeSet<TagId>,
    ) -> Result<(), PortError> {
        match self.ports.writer.set_message_tags(tenant, account, peer, id, tags).await {
            Err(e) if e.kind == PortErrorKind::NotFound => {
                let change = ArchiveChange::Tags { id, tags: tags.clone() };
                self.apply_archived(tenant, account, peer, &change, e).await
            }
            done => done,
        }
    }

    async fn apply_archived(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        change: &ArchiveChange,
        not_in_store: PortError,
    ) -> Result<(), PortError> {
        let Some(archive) = &self.ports.archive else {
            return Err(not_in_store);
        };
        // The store just said it does not hold the message.
        let changed = archive.apply(tenant, account, peer, change).await?;
        self.index_archived(tenant, changed).await
    }

    /// Marks deleted the archived messages among `ids` of an account's
    /// private chats and basic groups, which Telegram names without their
    /// dialog; returns their (peer, id). The ids count up across those
    /// dialogs of an account, so only dialogs whose newest message is at
    /// least the smallest id can hold one: the account's dialogs are walked
    /// newest first until one is older, channels (their own ids) passed
    /// over, at most [`MAX_UNPLACED_DIALOGS`] of them.
    pub(crate) async fn delete_unplaced_archived(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        ids: &[i64],
    ) -> Result<Vec<(i64, i64)>, PortError> {
        let (Some(archive), Some(lowest)) = (&self.ports.archive, ids.iter().min()) else {
            return Ok(Vec::new());
        };
        let scope = DialogScope::Account(account.clone());
        let (mut left, mut deleted, mut after, mut seen) = (ids.to_vec(), Vec::new(), None, 0);
        'pages: loop {
            let page = self
                .ports
                .reader
                .list_dialogs(tenant, &scope, &DialogFilter::default(), after.as_ref(), DIALOGS_PER_PAGE)
                .await?;
            for dialog in &page {
                let Some(newest) = dialog.last_message_id.filter(|_| dialog.kind != PeerKind::Channel) else {
                    continue;
                };
                if newest < *lowest || seen == MAX_UNPLACED_DIALOGS {
                    break 'pages;
                }
                seen += 1;
                let changed =
                    archive.apply(tenant, account, dialog.peer, &ArchiveChange::Delete { ids: left.clone() }).await?;
                left.retain(|id| !changed.iter().any(|m| m.id == *id));
                deleted.extend(changed.iter().map(|m| (dialog.peer, m.id)));
                let cold = self.only_archived(tenant, changed).await?;
                self.index_archived(tenant, cold).await?;
                if left.is_empty() {
                    break 'pages;
                }
            }
            match page.last() {
                Some(last) if page.len() == DIALOGS_PER_PAGE => after = Some(DialogCursor::after(last)),
                _ => break,
            }
        }
        Ok(deleted)
    }

    /// The messages among `changed` the store no longer holds: one in both
    /// places (archived, not yet removed) is the store's, and the change
    /// feed indexes it.
    async fn only_archived(&self, tenant: &TenantId, changed: Vec<Message>) -> Result<Vec<Message>, PortError> {
        let mut cold = Vec::with_capacity(changed.len());
        for m in changed {
            if self.ports.reader.get_message(tenant, &m.account_id, m.peer, m.id).await?.is_none() {
                cold.push(m);
            }
        }
        Ok(cold)
    }

    /// Tells search what a change in the archive made of these messages (as
    /// the archive now reads them): the change feed that feeds the index
    /// reports the store's changes only (on AWS, the messages table's
    /// stream). A failure is returned, so the caller's retry (a redelivered
    /// batch, a repeated request) indexes them again.
    async fn index_archived(&self, tenant: &TenantId, changed: Vec<Message>) -> Result<(), PortError> {
        let Some(search) = &self.ports.search else {
            return Ok(());
        };
        if changed.is_empty() {
            return Ok(());
        }
        let changes: Vec<MessageChange> =
            changed.into_iter().map(|message| MessageChange::Upsert { tenant: tenant.clone(), message }).collect();
        search.apply(&changes).await?;
        // No feed position: the indexer's stays as it recorded it.
        search.commit(None).await
    }
}
