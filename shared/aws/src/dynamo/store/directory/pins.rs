//! Pins: one partition per user (`sk` = the target), listed newest first by
//! sorting the user's few pins in memory; `g2` gathers every user's pins of
//! one account, so deleting the account deletes them.

use super::io::{key, Query};
use crate::dynamo::attrs::{get_n, get_s, get_time, n, parsed, s, time, Item};
use crate::dynamo::keys;
use crate::dynamo::store::DynamoStore;
use tgdesk_core::domain::{AccountId, TenantId, UserId};
use tgdesk_core::ports::{Pin, PinTarget, PortError};

fn item(tenant: &TenantId, pin: &Pin) -> Item {
    let account = match &pin.target {
        PinTarget::Account(a) | PinTarget::Dialog(a, _) => a,
    };
    let mut item = key(keys::pins(tenant, &pin.user_id), keys::pin(&pin.target));
    item.insert("user".into(), s(pin.user_id.as_str()));
    item.insert("account".into(), s(account.as_str()));
    if let PinTarget::Dialog(_, peer) = pin.target {
        item.insert("peer".into(), n(peer));
    }
    item.insert("at".into(), time(pin.pinned_at));
    item.insert("g2pk".into(), s(keys::account_pins(tenant, account)));
    item.insert("g2sk".into(), s(keys::pin_of_user(&pin.user_id, &pin.target)));
    item
}

fn pin(item: &Item) -> Result<Pin, PortError> {
    let account = parsed(item, "account", AccountId::parse)?;
    let target = match item.contains_key("peer") {
        true => PinTarget::Dialog(account, get_n(item, "peer")?),
        false => PinTarget::Account(account),
    };
    Ok(Pin { user_id: parsed(item, "user", UserId::parse)?, target, pinned_at: get_time(item, "at")? })
}

/// The table key of a stored pin (or of its `g2` projection).
fn item_key(item: &Item) -> Result<(String, String), PortError> {
    Ok((get_s(item, "pk")?.to_owned(), get_s(item, "sk")?.to_owned()))
}

impl DynamoStore {
    /// `set_pin`: a put, so pinning twice keeps one pin (the later time).
    pub(super) async fn set_pin_item(&self, tenant: &TenantId, p: &Pin) -> Result<(), PortError> {
        let table = &self.tables().await?.main;
        self.client
            .put_item()
            .table_name(table)
            .set_item(Some(item(tenant, p)))
            .send()
            .await
            .map_err(|e| crate::error::sdk("dynamodb put pin", e))?;
        Ok(())
    }

    /// `remove_pin`: a delete, which succeeds on a missing pin.
    pub(super) async fn remove_pin_item(
        &self,
        tenant: &TenantId,
        user: &UserId,
        target: &PinTarget,
    ) -> Result<(), PortError> {
        self.batch_delete(vec![(keys::pins(tenant, user), keys::pin(target))]).await
    }

    /// `list_pins`: the user's partition, sorted newest first in memory.
    pub(super) async fn pin_items(&self, tenant: &TenantId, user: &UserId) -> Result<Vec<Pin>, PortError> {
        let items = self.query(&Query::table(keys::pins(tenant, user)), usize::MAX).await?;
        let mut pins =
            items.iter().map(|i| Ok((pin(i)?, get_s(i, "sk")?.to_owned()))).collect::<Result<Vec<_>, PortError>>()?;
        // Newest first; ties by account, then target, descending.
        pins.sort_by(|(a, ka), (b, kb)| {
            let account = |p: &Pin| match &p.target {
                PinTarget::Account(x) | PinTarget::Dialog(x, _) => x.clone(),
            };
            (b.pinned_at, account(b), kb).cmp(&(a.pinned_at, account(a), ka))
        });
        Ok(pins.into_iter().map(|(p, _)| p).collect())
    }

    /// Deletes every pin of `user`.
    pub(super) async fn delete_pins_of_user(&self, tenant: &TenantId, user: &UserId) -> Result<(), PortError> {
        let items = self.query(&Query::table(keys::pins(tenant, user)), usize::MAX).await?;
        self.batch_delete(items.iter().map(item_key).collect::<Result<_, _>>()?).await
    }

    /// Deletes every user's pins of `account` (read through `g2`).
    pub(super) async fn delete_pins_of_account(&self, tenant: &TenantId, account: &AccountId) -> Result<(), PortError> {
        let items = self.query(&Query::index("g2", keys::account_pins(tenant, account)), usize::MAX).await?;
        self.batch_delete(items.iter().map(item_key).collect::<Result<_, _>>()?).await
    }
}
