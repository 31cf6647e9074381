//! Dialogs: the inbox reads, upserts, read marks, and following an account
//! to its new owner. The inbox of an owner and of a team is one index
//! partition each, read backwards from the cursor; the tenant-wide inbox is
//! the merge of [`INBOX_SHARDS`] shard partitions, so no partition takes
//! every dialog write of a tenant.

use super::codec::{self, dialog_key, StoredDialog, INBOX_SHARDS};
use super::io;
use super::DynamoStore;
use crate::dynamo::attrs::s;
use crate::dynamo::keys::{inbox_key, part_of};
use crate::error;
use tgdesk_core::domain::{AccountId, Dialog, TenantId, UserId};
use tgdesk_core::ports::{DialogCursor, DialogScope, PortError};

/// Returns the sort key of a dialog in the inbox order.
fn order(d: &Dialog) -> (i64, &str, i64) {
    (d.inbox_ms(), d.account_id.as_str(), d.peer)
}

impl DynamoStore {
    /// Returns every dialog of one account (an account has few), unordered.
    pub(crate) async fn account_dialogs(
        &self,
        tenant: &TenantId,
        account: &AccountId,
    ) -> Result<Vec<Dialog>, PortError> {
        Ok(self.account_dialog_items(tenant, account).await?.into_iter().map(|d| d.dialog).collect())
    }

    async fn account_dialog_items(
        &self,
        tenant: &TenantId,
        account: &AccountId,
    ) -> Result<Vec<StoredDialog>, PortError> {
        let main = self.tables().await?.main.clone();
        let items = io::query_partition(&self.client, &main, &part_of(tenant, "DLG", account.as_str())).await?;
        items.iter().map(codec::dialog).collect()
    }

    /// Reads up to `limit` dialogs of one inbox index partition, newest first, after `after`.
    async fn inbox_page(
        &self,
        index: &str,
        part: String,
        after: Option<&DialogCursor>,
        limit: usize,
    ) -> Result<Vec<Dialog>, PortError> {
        let main = &self.tables().await?.main;
        let mut request = self
            .client
            .query()
            .table_name(main)
            .index_name(crate::dynamo::tables::index_name(index))
            .scan_index_forward(false)
            .expression_attribute_names("#pk", format!("{index}pk"))
            .expression_attribute_values(":pk", s(part))
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX));
        request = match after {
            Some(c) => request
                .key_condition_expression("#pk = :pk AND #sk < :after")
                .expression_attribute_names("#sk", format!("{index}sk"))
                .expression_attribute_values(":after", s(inbox_key(c.at_ms, &c.account_id, c.peer))),
            None => request.key_condition_expression("#pk = :pk"),
        };
        let out = request.send().await.map_err(|e| error::sdk("dynamodb query inbox", e))?;
        out.items().iter().map(|item| codec::dialog(item).map(|d| d.dialog)).collect()
    }

    /// The body of `MessageReader::list_dialogs`.
    pub(crate) async fn inbox(
        &self,
        tenant: &TenantId,
        scope: &DialogScope,
        after: Option<&DialogCursor>,
        limit: usize,
    ) -> Result<Vec<Dialog>, PortError> {
        let mut dialogs = match scope {
            DialogScope::Owner(owner) => {
                return self.inbox_page("g1", part_of(tenant, "INBOX#O", owner.as_str()), after, limit).await
            }
            DialogScope::Team(team) => {
                return self.inbox_page("g2", part_of(tenant, "INBOX#T", team.as_str()), after, limit).await
            }
            DialogScope::Account(account) => self.account_dialogs(tenant, account).await?,
            DialogScope::Tenant => {
                let pages = (0..INBOX_SHARDS)
                    .map(|shard| self.inbox_page("g3", part_of(tenant, "INBOX#S", &shard.to_string()), after, limit));
                let mut all = Vec::new();
                for page in futures::future::join_all(pages).await {
                    all.extend(page?);
                }
                all
            }
        };
        dialogs.sort_by(|a, b| order(b).cmp(&order(a)));
        if let Some(c) = after {
            let cursor = (c.at_ms, c.account_id.as_str(), c.peer);
            dialogs.retain(|d| order(d) < cursor);
        }
        dialogs.truncate(limit);
        Ok(dialogs)
    }

    /// The body of `MessageReader::get_dialogs`.
    pub(crate) async fn dialogs_by_key(
        &self,
        tenant: &TenantId,
        keys: &[(AccountId, i64)],
    ) -> Result<Vec<Dialog>, PortError> {
        let main = self.tables().await?.main.clone();
        let unique: std::collections::BTreeSet<_> = keys.iter().collect();
        let wanted = unique.into_iter().map(|(a, p)| dialog_key(tenant, a, *p)).collect();
        let items = io::batch_get(&self.client, &main, wanted).await?;
        items.iter().map(|item| codec::dialog(item).map(|d| d.dialog)).collect()
    }

    /// The body of `MessageWriter::upsert_dialogs`: new dialogs as given,
    /// known ones get the new title and kind and keep their message fields.
    pub(crate) async fn upsert(&self, tenant: &TenantId, dialogs: &[Dialog]) -> Result<(), PortError> {
        let heads = self.known_accounts(tenant, dialogs.iter().map(|d| &d.account_id)).await?;
        for d in dialogs {
            let head = &heads[&d.account_id];
            self.update_dialog(tenant, &d.account_id, d.peer, |current| {
                Some(match current {
                    Some(c) => {
                        let next = Dialog { kind: d.kind, title: d.title.clone(), ..c.dialog.clone() };
                        (next, c.owner.clone(), c.team.clone())
                    }
                    None => (d.clone(), head.owner_id.clone(), head.team_id.clone()),
                })
            })
            .await?;
        }
        Ok(())
    }

    /// The body of `MessageWriter::mark_read`.
    pub(crate) async fn read_up_to(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        up_to: i64,
    ) -> Result<(), PortError> {
        let unread = self.count_incoming_after(tenant, account, peer, up_to).await?;
        let updated = self
            .update_dialog(tenant, account, peer, |current| {
                let c = current?;
                Some((Dialog { unread_count: unread, ..c.dialog.clone() }, c.owner.clone(), c.team.clone()))
            })
            .await?;
        match updated {
            Some(_) => Ok(()),
            None => Err(PortError::not_found(format!("dialog {}/{peer} not found", account.as_str()))),
        }
    }

    /// Moves an account's dialogs into the inboxes of `owner` and `team`
    /// (part of reassigning the account).
    pub(crate) async fn retarget_dialogs(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        owner: Option<&UserId>,
        team: Option<&UserId>,
    ) -> Result<(), PortError> {
        for d in self.account_dialogs(tenant, account).await? {
            self.update_dialog(tenant, account, d.peer, |current| {
                let c = current.filter(|c| c.owner.as_ref() != owner || c.team.as_ref() != team)?;
                Some((c.dialog.clone(), owner.cloned(), team.cloned()))
            })
            .await?;
        }
        Ok(())
    }

    /// Deletes an account's dialogs, their messages and the account's
    /// profiles (part of deleting the account).
    pub(crate) async fn delete_account_messages(
        &self,
        tenant: &TenantId,
        account: &AccountId,
    ) -> Result<(), PortError> {
        let main = self.tables().await?.main.clone();
        let dialogs = self.account_dialogs(tenant, account).await?;
        for d in &dialogs {
            self.delete_dialog_messages(tenant, account, d.peer).await?;
        }
        let mut keys: Vec<_> = dialogs.iter().map(|d| dialog_key(tenant, account, d.peer)).collect();
        let profiles = io::query_partition(&self.client, &main, &part_of(tenant, "PROF", account.as_str())).await?;
        keys.extend(profiles.iter().map(io::key_of));
        io::batch_write(&self.client, &main, Vec::new(), keys).await
    }
}
