//! Ingest on DynamoDB: a conditional put per message (`attribute_not_exists`,
//! so redelivery stores nothing twice), then one write per dialog per batch.
//!
//! Several ingest workers may write one dialog at once, so each dialog write
//! compares and bumps the dialog's version (`ver`) and is retried on a lost
//! race: unread counts stay exact without a lock. A dialog's change is
//! computed from every message of the batch, fresh or not, against the
//! dialog's newest message: a batch redelivered after a crash between its
//! message puts and its dialog write completes the dialog write, and one
//! redelivered after both changes nothing.

use super::codec::{self, dialog_item, message_item, StoredDialog};
use super::DynamoStore;
use crate::error;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::{BTreeSet, HashMap};
use tgdesk_core::domain::{AccountHead, AccountId, Dialog, DialogDelta, Message, TenantId, UserId};
use tgdesk_core::ports::{Directory, IngestOutcome, PortError, PortErrorKind};

/// Message puts in flight at once.
const PUT_CONCURRENCY: usize = 32;
/// Dialog writes in flight at once.
const DIALOG_CONCURRENCY: usize = 16;
/// Tries of a dialog write that keeps losing races before giving up (retryably).
const DIALOG_TRIES: u32 = 20;

impl DynamoStore {
    /// Returns the heads of the accounts of `ids`; `NotFound` naming the first unknown one.
    pub(crate) async fn known_accounts(
        &self,
        tenant: &TenantId,
        ids: impl IntoIterator<Item = &AccountId>,
    ) -> Result<HashMap<AccountId, AccountHead>, PortError> {
        let wanted: BTreeSet<AccountId> = ids.into_iter().cloned().collect();
        let list: Vec<AccountId> = wanted.iter().cloned().collect();
        let heads: HashMap<AccountId, AccountHead> =
            self.get_account_heads(tenant, &list).await?.into_iter().map(|h| (h.id.clone(), h)).collect();
        if let Some(missing) = wanted.iter().find(|id| !heads.contains_key(*id)) {
            return Err(PortError::not_found(format!("account {} not found", missing.as_str())));
        }
        Ok(heads)
    }

    /// Stores a message unless stored before; returns whether it was fresh.
    async fn put_new_message(&self, table: &str, tenant: &TenantId, m: &Message) -> Result<bool, PortError> {
        let item = message_item(tenant, m, self.hot_window)?;
        let put = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) => {
                let e = error::sdk("dynamodb put message", e);
                if e.kind == PortErrorKind::Conflict {
                    Ok(false)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Reads one dialog item (strongly consistent).
    pub(crate) async fn read_dialog(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
    ) -> Result<Option<StoredDialog>, PortError> {
        let tables = self.tables().await?;
        let out = self
            .client
            .get_item()
            .table_name(&tables.main)
            .set_key(Some(codec::dialog_key(tenant, account, peer)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| error::sdk("dynamodb get dialog", e))?;
        out.item().map(codec::dialog).transpose()
    }

    /// Writes `dialog` in place of version `ver` (`None`: where none is);
    /// returns false when another writer got there first.
    pub(crate) async fn write_dialog(
        &self,
        tenant: &TenantId,
        dialog: &Dialog,
        keys: (Option<&UserId>, Option<&UserId>),
        ver: Option<u64>,
    ) -> Result<bool, PortError> {
        let tables = self.tables().await?;
        let item = dialog_item(tenant, dialog, keys.0, keys.1, ver.map_or(1, |v| v + 1));
        let mut put = self.client.put_item().table_name(&tables.main).set_item(Some(item));
        put = match ver {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(v) => put
                .condition_expression("ver = :ver")
                .expression_attribute_values(":ver", AttributeValue::N(v.to_string())),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e) => {
                let e = error::sdk("dynamodb put dialog", e);
                if e.kind == PortErrorKind::Conflict {
                    Ok(false)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Rewrites one dialog with `change`, which is given the dialog as
    /// stored (`None` when there is none yet) and returns its new state with
    /// the owner and team whose inboxes it belongs in, or `None` to leave it.
    /// The write compares and bumps the dialog's version and is tried again
    /// on a lost race, so concurrent writers never lose each other's change.
    /// Returns the dialog as it stands after (`None`: there is none).
    pub(crate) async fn update_dialog<F>(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        mut change: F,
    ) -> Result<Option<Dialog>, PortError>
    where
        F: FnMut(Option<&StoredDialog>) -> Option<(Dialog, Option<UserId>, Option<UserId>)> + Send,
    {
        for _ in 0..DIALOG_TRIES {
            let current = self.read_dialog(tenant, account, peer).await?;
            let Some((next, owner, team)) = change(current.as_ref()) else {
                return Ok(current.map(|c| c.dialog));
            };
            if self.write_dialog(tenant, &next, (owner.as_ref(), team.as_ref()), current.map(|c| c.ver)).await? {
                return Ok(Some(next));
            }
        }
        Err(PortError::new(PortErrorKind::Throttled, "dialog write kept losing races; retry"))
    }

    /// Applies one batch's delta to one dialog; returns the dialog as it
    /// stands after (unchanged when the batch said nothing new).
    async fn apply_delta(
        &self,
        tenant: &TenantId,
        head: &AccountHead,
        peer: i64,
        delta: &DialogDelta<'_>,
    ) -> Result<Option<Dialog>, PortError> {
        self.update_dialog(tenant, &head.id, peer, |current| {
            let next = delta.apply(current.map(|c| &c.dialog), &head.id, peer)?;
            Some(match current {
                Some(c) => (next, c.owner.clone(), c.team.clone()),
                None => (next, head.owner_id.clone(), head.team_id.clone()),
            })
        })
        .await
    }

    /// The body of `MessageWriter::ingest_messages`.
    pub(crate) async fn ingest(&self, tenant: &TenantId, messages: &[Message]) -> Result<IngestOutcome, PortError> {
        let mut outcome = IngestOutcome::default();
        if messages.is_empty() {
            return Ok(outcome);
        }
        let heads = self.known_accounts(tenant, messages.iter().map(|m| &m.account_id)).await?;
        let table = self.tables().await?.messages.clone();
        // A message twice in one batch is put once: its first place counts.
        let mut seen = BTreeSet::new();
        let firsts: Vec<usize> = (0..messages.len())
            .filter(|&i| seen.insert((&messages[i].account_id, messages[i].peer, messages[i].id)))
            .collect();
        outcome.duplicates = messages.len() - firsts.len();
        for chunk in firsts.chunks(PUT_CONCURRENCY) {
            let puts =
                futures::future::join_all(chunk.iter().map(|&i| self.put_new_message(&table, tenant, &messages[i])));
            for (&i, put) in chunk.iter().zip(puts.await) {
                if put? {
                    outcome.fresh.push(i);
                } else {
                    outcome.duplicates += 1;
                }
            }
        }
        for &i in &outcome.fresh {
            self.list_under_tags(tenant, &messages[i]).await?;
        }
        let mut deltas: HashMap<(&AccountId, i64), DialogDelta<'_>> = HashMap::new();
        for m in firsts.iter().map(|&i| &messages[i]) {
            deltas.entry((&m.account_id, m.peer)).or_default().add(m);
        }
        let touched: BTreeSet<(&AccountId, i64)> =
            outcome.fresh.iter().map(|&i| (&messages[i].account_id, messages[i].peer)).collect();
        let work: Vec<_> = deltas.iter().collect();
        for chunk in work.chunks(DIALOG_CONCURRENCY) {
            let writes =
                chunk.iter().map(|((account, peer), delta)| self.apply_delta(tenant, &heads[*account], *peer, delta));
            for (written, ((account, peer), _)) in futures::future::join_all(writes).await.into_iter().zip(chunk) {
                // Only dialogs a fresh message went to are news for push.
                if touched.contains(&(*account, *peer)) {
                    outcome.dialogs.extend(written?);
                } else {
                    written?;
                }
            }
        }
        Ok(outcome)
    }
}
