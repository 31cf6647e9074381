//! Dialogs: the inbox reads, upserts, read marks, and following an account
//! to its new owner.
//!
//! A dialog is listed in one inbox partition (`g1`): its owner's in its
//! team, or for an unowned account its team's unowned slot, so an ingested
//! message moves one index entry. Every inbox is the merge of the slots a
//! roster names (`directory/inbox_rosters.rs`; an agent's own is usually one
//! slot), read lazily newest first: a slot is read again only once its
//! buffered dialogs have all been taken, so a page costs about one small
//! query per slot plus the dialogs it returns.

use super::codec::{self, dialog_key, StoredDialog};
use super::io;
use super::DynamoStore;
use crate::dynamo::attrs::{s, Item};
use crate::dynamo::keys::{self, inbox_key, part_of};
use crate::error;
use futures::{StreamExt, TryStreamExt};
use std::collections::VecDeque;
use tgdesk_core::domain::{AccountId, Dialog, TenantId, UserId};
use tgdesk_core::ports::{DialogCursor, DialogFilter, DialogScope, PortError};

/// Inbox partitions read at once while merging.
const MERGE_CONCURRENCY: usize = 32;
/// Most accounts a filter names in one query's `IN` (DynamoDB takes 100
/// operands); a larger set is applied to what the query returns.
const ACCOUNTS_IN_QUERY: usize = 100;
/// Index entries a filtered read evaluates at least: a selective filter
/// keeps few of them, and each read is a round trip.
const FILTERED_READ: usize = 200;

/// Returns the sort key of a dialog in the inbox order.
fn order(d: &Dialog) -> (i64, &str, i64) {
    (d.inbox_ms(), d.account_id.as_str(), d.peer)
}

/// One inbox partition being read newest first.
struct Lane {
    part: String,
    buffered: VecDeque<Dialog>,
    /// Where the next page starts (`None` before the first page and after the last).
    next: Option<Item>,
    done: bool,
}

/// One page of one inbox partition and where the next one starts.
type InboxPage = (Vec<Dialog>, Option<Item>);

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

    /// Reads one page of up to `limit` index entries of inbox partition
    /// `part`, newest first, after `after`, from `start` on, keeping what
    /// `filter` keeps.
    async fn inbox_page(
        &self,
        part: &str,
        after: Option<&DialogCursor>,
        start: Option<Item>,
        filter: &DialogFilter,
        limit: usize,
    ) -> Result<InboxPage, PortError> {
        let limit = if filter.is_empty() { limit } else { limit.max(FILTERED_READ) };
        let main = &self.tables().await?.main;
        let mut request = self
            .client
            .query()
            .table_name(main)
            .index_name(crate::dynamo::tables::index_name("g1"))
            .scan_index_forward(false)
            .expression_attribute_names("#pk", "g1pk")
            .expression_attribute_values(":pk", s(part))
            .set_exclusive_start_key(start)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX));
        request = match after {
            Some(c) => request
                .key_condition_expression("#pk = :pk AND #sk < :after")
                .expression_attribute_names("#sk", "g1sk")
                .expression_attribute_values(":after", s(inbox_key(c.at_ms, &c.account_id, c.peer))),
            None => request.key_condition_expression("#pk = :pk"),
        };
        let mut clauses = Vec::new();
        if filter.unread_only {
            clauses.push("#unread > :none".to_owned());
            request = request
                .expression_attribute_names("#unread", "unread")
                .expression_attribute_values(":none", crate::dynamo::attrs::n(0));
        }
        if let Some(accounts) = filter.accounts.as_ref().filter(|a| !a.is_empty() && a.len() <= ACCOUNTS_IN_QUERY) {
            let mut names = Vec::with_capacity(accounts.len());
            for (i, account) in accounts.iter().enumerate() {
                names.push(format!(":a{i}"));
                request = request.expression_attribute_values(format!(":a{i}"), s(account.as_str()));
            }
            clauses.push(format!("#account IN ({})", names.join(", ")));
            request = request.expression_attribute_names("#account", "account");
        }
        if !clauses.is_empty() {
            request = request.filter_expression(clauses.join(" AND "));
        }
        let out = request.send().await.map_err(|e| error::sdk("dynamodb query inbox", e))?;
        let mut dialogs: Vec<Dialog> =
            out.items().iter().map(|item| codec::dialog(item).map(|d| d.dialog)).collect::<Result<_, _>>()?;
        // A set too large for the query's `IN`, and what the expression already kept.
        dialogs.retain(|d| filter.keeps(d));
        Ok((dialogs, out.last_evaluated_key))
    }

    /// Merges inbox partitions `parts` newest first into one page of up to
    /// `limit` dialogs after `after` that `filter` keeps.
    async fn merge_inboxes(
        &self,
        parts: Vec<String>,
        filter: &DialogFilter,
        after: Option<&DialogCursor>,
        limit: usize,
    ) -> Result<Vec<Dialog>, PortError> {
        // The first read of each partition is small when there are many: most
        // give a dialog or two to a page; one that gives more is read again.
        let mut want = (2 * limit).div_ceil(parts.len().max(1)).clamp(1, limit.max(1));
        let mut lanes: Vec<Lane> =
            parts.into_iter().map(|part| Lane { part, buffered: VecDeque::new(), next: None, done: false }).collect();
        let mut out = Vec::with_capacity(limit);
        while out.len() < limit {
            // A partition with nothing buffered may hold the next dialog: read it first.
            let empty: Vec<usize> =
                (0..lanes.len()).filter(|&i| lanes[i].buffered.is_empty() && !lanes[i].done).collect();
            if !empty.is_empty() {
                let reads: Vec<_> = empty
                    .iter()
                    .map(|&i| self.inbox_page(&lanes[i].part, after, lanes[i].next.clone(), filter, want))
                    .collect();
                let pages: Vec<InboxPage> =
                    futures::stream::iter(reads).buffered(MERGE_CONCURRENCY).try_collect().await?;
                for (&i, (dialogs, next)) in empty.iter().zip(pages) {
                    lanes[i].done = next.is_none();
                    lanes[i].buffered.extend(dialogs);
                    lanes[i].next = next;
                }
                continue;
            }
            let newest = lanes
                .iter_mut()
                .filter(|l| !l.buffered.is_empty())
                .max_by(|a, b| order(&a.buffered[0]).cmp(&order(&b.buffered[0])));
            let Some(lane) = newest else { break };
            out.extend(lane.buffered.pop_front());
            want = limit - out.len();
        }
        Ok(out)
    }

    /// The body of `MessageReader::list_dialogs`.
    pub(crate) async fn inbox(
        &self,
        tenant: &TenantId,
        scope: &DialogScope,
        filter: &DialogFilter,
        after: Option<&DialogCursor>,
        limit: usize,
    ) -> Result<Vec<Dialog>, PortError> {
        if limit == 0 || filter.accounts.as_ref().is_some_and(|a| a.is_empty()) {
            return Ok(Vec::new());
        }
        let parts = match scope {
            DialogScope::Owner(owner) => self.inbox_roster(tenant, &keys::owner_inboxes(owner)).await?,
            DialogScope::Team(leader) => self.inbox_roster(tenant, leader.as_str()).await?,
            DialogScope::Tenant => self.inbox_roster(tenant, keys::ALL_INBOXES).await?,
            DialogScope::Account(account) => {
                let mut dialogs = self.account_dialogs(tenant, account).await?;
                dialogs.retain(|d| filter.keeps(d));
                dialogs.sort_by(|a, b| order(b).cmp(&order(a)));
                if let Some(c) = after {
                    let cursor = (c.at_ms, c.account_id.as_str(), c.peer);
                    dialogs.retain(|d| order(d) < cursor);
                }
                dialogs.truncate(limit);
                return Ok(dialogs);
            }
        };
        let parts = parts.into_iter().map(|slot| keys::inbox(tenant, &slot)).collect();
        self.merge_inboxes(parts, filter, after, limit).await
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
