//! Accounts, mapped attribute by attribute, with their phone claims and
//! sealed sessions (an item of its own: the fleet rewrites sessions often,
//! and ingest reads the account item for every batch). The account item
//! carries its index keys: `g1` by owner, `g2` by team, `g3` while runnable.

use super::io::{key, Expr};
use super::tx::Tx;
use crate::dynamo::attrs::{get_bool, get_s, get_ss, get_time, opt_parsed, opt_s, parsed, s, ss, time, Item};
use crate::dynamo::keys;
use crate::dynamo::store::DynamoStore;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::{HashMap, HashSet};
use tgdesk_core::domain::{Account, AccountHead, AccountId, AccountStatus, GroupId, Phone, TagId, TenantId, UserId};
use tgdesk_core::ports::{AccountPut, PortError, PortErrorKind};

/// The stored status of an account item.
pub(super) fn status(item: &Item) -> Result<AccountStatus, PortError> {
    parsed(item, "st", AccountStatus::parse)
}

/// The account item of `a` in `tenant`, without its session; `has_session`
/// says whether a session item goes with it.
fn item(tenant: &TenantId, a: &Account, has_session: bool) -> Item {
    let id = a.id.as_str();
    let mut item = key(keys::accounts(tenant), id);
    item.insert("phone".into(), s(a.phone.as_str()));
    if let Some(name) = &a.display_name {
        item.insert("dname".into(), s(name));
        item.insert("dlow".into(), s(name.to_lowercase()));
    }
    item.insert("st".into(), s(a.status.as_str()));
    if let Some(owner) = &a.owner_id {
        item.insert("own".into(), s(owner.as_str()));
    }
    if let Some(team) = &a.team_id {
        item.insert("team".into(), s(team.as_str()));
    }
    if let Some(tags) = ss(a.tags.iter().map(TagId::as_str)) {
        item.insert("tags".into(), tags);
    }
    if let Some(groups) = ss(a.groups.iter().map(GroupId::as_str)) {
        item.insert("grps".into(), groups);
    }
    item.insert("created".into(), time(a.created_at));
    item.insert("updated".into(), time(a.updated_at));
    item.insert("has_session".into(), AttributeValue::Bool(has_session));
    item.insert("g1pk".into(), s(keys::owner_accounts(tenant, a.owner_id.as_ref())));
    item.insert("g1sk".into(), s(id));
    item.insert("g2pk".into(), s(keys::team_accounts(tenant, a.team_id.as_ref())));
    item.insert("g2sk".into(), s(id));
    if a.status.runs(has_session) {
        item.insert("g3pk".into(), s(keys::runnable(tenant)));
        item.insert("g3sk".into(), s(id));
    }
    item
}

/// Reads an account item, with the session read from its own item.
pub(super) fn account(tenant: &TenantId, item: &Item, session: Option<Vec<u8>>) -> Result<Account, PortError> {
    let set = |name: &str| -> Result<Vec<String>, PortError> {
        Ok(get_ss(item, name)?.into_iter().map(str::to_owned).collect())
    };
    let bad = |what: &str| PortError::new(PortErrorKind::Internal, format!("stored account has a malformed {what}"));
    Ok(Account {
        id: parsed(item, "sk", AccountId::parse)?,
        tenant: tenant.clone(),
        phone: parsed(item, "phone", Phone::parse)?,
        display_name: opt_s(item, "dname")?.map(str::to_owned),
        status: status(item)?,
        owner_id: opt_parsed(item, "own", UserId::parse)?,
        team_id: opt_parsed(item, "team", UserId::parse)?,
        tags: set("tags")?.iter().map(|t| TagId::parse(t)).collect::<Result<_, _>>().map_err(|_| bad("tag"))?,
        groups: set("grps")?.iter().map(|g| GroupId::parse(g)).collect::<Result<_, _>>().map_err(|_| bad("group"))?,
        session,
        created_at: get_time(item, "created")?,
        updated_at: get_time(item, "updated")?,
    })
}

/// The attributes [`head`] reads.
pub(super) const HEAD_ATTRS: [&str; 4] = ["phone", "dname", "own", "team"];

/// Reads the head of an account item (or of its [`HEAD_ATTRS`] projection).
pub(super) fn head(item: &Item) -> Result<AccountHead, PortError> {
    Ok(AccountHead {
        id: parsed(item, "sk", AccountId::parse)?,
        phone: parsed(item, "phone", Phone::parse)?,
        display_name: opt_s(item, "dname")?.map(str::to_owned),
        owner_id: opt_parsed(item, "own", UserId::parse)?,
        team_id: opt_parsed(item, "team", UserId::parse)?,
    })
}

/// The condition that a phone claim is held by `id` (or, `free`, by no one).
fn claim_condition(id: &AccountId, free: bool) -> (String, Expr) {
    let mut expr = Expr::default();
    let held = format!("{} = {}", expr.name("account"), expr.value(s(id.as_str())));
    let c = if free { format!("attribute_not_exists(pk) OR {held}") } else { held };
    (c, expr)
}

/// Phone claims written at once by `put_accounts`.
const CLAIMS_IN_FLIGHT: usize = 16;

/// Returns the last record of each id, in order: successive upserts would
/// leave that one.
fn last_of_each_id(accounts: &[Account]) -> Vec<&Account> {
    let mut last: HashMap<&AccountId, usize> = HashMap::new();
    for (i, a) in accounts.iter().enumerate() {
        last.insert(&a.id, i);
    }
    accounts.iter().enumerate().filter(|(i, a)| last[&a.id] == *i).map(|(_, a)| a).collect()
}

/// The session item of an account.
fn session_item(tenant: &TenantId, id: &AccountId, sealed: &[u8]) -> Item {
    let mut item = key(keys::sessions(tenant), id.as_str());
    item.insert("sealed".into(), AttributeValue::B(sealed.to_vec().into()));
    item
}

impl DynamoStore {
    /// `put_accounts`, each record on its own: phones are checked (within the
    /// batch and against the claims), then claimed one conditional put each,
    /// and the records whose phone is theirs are written, in batches. Not
    /// one transaction: a batch may hold 300,000 accounts and
    /// `TransactWriteItems` takes 100 items. An outage while writing leaves
    /// the batch partly written; writing it again completes it.
    pub(super) async fn put_account_items(
        &self,
        tenant: &TenantId,
        accounts: &[Account],
    ) -> Result<Vec<AccountPut>, PortError> {
        let records = last_of_each_id(accounts);
        let old_keys = records.iter().map(|a| (keys::accounts(tenant), a.id.as_str().to_owned())).collect();
        let old: HashMap<String, Item> = self
            .batch_get(old_keys, Some(&["phone", "own", "team", "has_session"]))
            .await?
            .into_iter()
            .map(|i| Ok((get_s(&i, "sk")?.to_owned(), i)))
            .collect::<Result<_, PortError>>()?;
        let (held, mut refused) = self.check_phones(tenant, &records).await?;
        let fresh: Vec<&Account> =
            records.iter().copied().filter(|a| !held.contains(a.phone.as_str()) && !refused.contains(&a.id)).collect();
        refused.extend(self.claim_phones(tenant, &fresh).await?);
        let records: Vec<&Account> = records.into_iter().filter(|a| !refused.contains(&a.id)).collect();
        self.register_inboxes(tenant, &records).await?;
        let mut items = Vec::with_capacity(records.len() * 2);
        let mut no_session = Vec::new();
        for a in &records {
            // An existing account keeps its session (the port's rule): its
            // session item is left alone and its flag copied over.
            if let Some(before) = old.get(a.id.as_str()) {
                items.push(item(tenant, a, get_bool(before, "has_session")));
                continue;
            }
            items.push(item(tenant, a, a.session.is_some()));
            match &a.session {
                Some(sealed) => items.push(session_item(tenant, &a.id, sealed)),
                None => no_session.push((keys::sessions(tenant), a.id.as_str().to_owned())),
            }
        }
        self.batch_put(items).await?;
        self.batch_delete(no_session).await?;
        for a in &records {
            let Some(before) = old.get(a.id.as_str()) else { continue };
            let old_phone = get_s(before, "phone")?;
            if old_phone != a.phone.as_str() {
                let (c, expr) = claim_condition(&a.id, false);
                match self.delete_if(key(keys::phones(tenant), old_phone), &c, expr).await {
                    // Not ours any more: released already.
                    Err(e) if e.kind == PortErrorKind::Conflict => {}
                    other => other?,
                }
            }
            // The inbox follows owner and team: move the dialogs along.
            let moved = opt_s(before, "own")? != a.owner_id.as_ref().map(UserId::as_str)
                || opt_s(before, "team")? != a.team_id.as_ref().map(UserId::as_str);
            if moved {
                self.retarget_dialogs(tenant, &a.id, a.owner_id.as_ref(), a.team_id.as_ref()).await?;
            }
        }
        Ok(accounts
            .iter()
            .map(|a| if refused.contains(&a.id) { AccountPut::PhoneTaken } else { AccountPut::Stored })
            .collect())
    }

    /// Checks the phones of `records`: returns those already claimed by their
    /// record, and the records refused because an earlier record of the
    /// batch or another account holds their phone.
    async fn check_phones(
        &self,
        tenant: &TenantId,
        records: &[&Account],
    ) -> Result<(HashSet<String>, HashSet<AccountId>), PortError> {
        let mut phones: HashMap<&str, &AccountId> = HashMap::new();
        let mut refused = HashSet::new();
        for a in records {
            if phones.get(a.phone.as_str()).is_some_and(|first| *first != &a.id) {
                refused.insert(a.id.clone());
            } else {
                phones.insert(a.phone.as_str(), &a.id);
            }
        }
        let claim_keys = phones.keys().map(|p| (keys::phones(tenant), (*p).to_owned())).collect();
        let mut held = HashSet::new();
        for claim in self.batch_get(claim_keys, None).await? {
            let (phone, holder) = (get_s(&claim, "sk")?, get_s(&claim, "account")?);
            match phones.get(phone) {
                Some(id) if id.as_str() != holder => {
                    refused.insert((*id).clone());
                }
                _ => {
                    held.insert(phone.to_owned());
                }
            }
        }
        Ok((held, refused))
    }

    /// Claims the phones of `accounts`, [`CLAIMS_IN_FLIGHT`] at a time;
    /// returns the accounts whose claim another account won meanwhile. When
    /// the backend fails, releases the claims this call made and fails.
    async fn claim_phones(&self, tenant: &TenantId, accounts: &[&Account]) -> Result<HashSet<AccountId>, PortError> {
        let mut claimed: Vec<&Account> = Vec::new();
        let mut lost = HashSet::new();
        let mut failure = None;
        for chunk in accounts.chunks(CLAIMS_IN_FLIGHT) {
            let puts = chunk.iter().map(|a| {
                let mut claim = key(keys::phones(tenant), a.phone.as_str());
                claim.insert("account".into(), s(a.id.as_str()));
                let (c, expr) = claim_condition(&a.id, true);
                async move { self.put_if(claim, &c, expr).await }
            });
            for (a, result) in chunk.iter().zip(futures::future::join_all(puts).await) {
                match result {
                    Ok(()) => claimed.push(a),
                    Err(e) if e.kind == PortErrorKind::Conflict => {
                        lost.insert(a.id.clone());
                    }
                    Err(e) => failure = Some(e),
                }
            }
            if failure.is_some() {
                break;
            }
        }
        let Some(failure) = failure else { return Ok(lost) };
        for a in claimed {
            let (c, expr) = claim_condition(&a.id, false);
            match self.delete_if(key(keys::phones(tenant), a.phone.as_str()), &c, expr).await {
                // Not ours any more: nothing to release.
                Err(e) if e.kind == PortErrorKind::Conflict => {}
                other => other?,
            }
        }
        Err(failure)
    }

    /// Reads the sessions of the account items that have one, and the accounts.
    pub(super) async fn with_sessions(&self, tenant: &TenantId, items: Vec<Item>) -> Result<Vec<Account>, PortError> {
        let wanted = items
            .iter()
            .filter(|i| get_bool(i, "has_session"))
            .map(|i| Ok((keys::sessions(tenant), get_s(i, "sk")?.to_owned())))
            .collect::<Result<Vec<_>, PortError>>()?;
        let mut sessions: HashMap<String, Vec<u8>> = HashMap::new();
        if !wanted.is_empty() {
            for i in self.batch_get(wanted, None).await? {
                sessions.insert(get_s(&i, "sk")?.to_owned(), crate::dynamo::attrs::get_b(&i, "sealed")?);
            }
        }
        items.iter().map(|i| account(tenant, i, sessions.remove(get_s(i, "sk")?))).collect()
    }

    /// `get_account`: the account item, then its session item if it has one.
    pub(super) async fn account_item(&self, tenant: &TenantId, id: &AccountId) -> Result<Option<Account>, PortError> {
        let Some(item) = self.get(keys::accounts(tenant), id.as_str().to_owned()).await? else {
            return Ok(None);
        };
        Ok(self.with_sessions(tenant, vec![item]).await?.pop())
    }

    /// `get_accounts`: batched reads of the account items and their sessions.
    pub(super) async fn account_items(&self, tenant: &TenantId, ids: &[AccountId]) -> Result<Vec<Account>, PortError> {
        let keys = ids.iter().map(|id| (keys::accounts(tenant), id.as_str().to_owned())).collect();
        let items = self.batch_get(keys, None).await?;
        self.with_sessions(tenant, items).await
    }

    /// `delete_account`: dialogs, messages and pins first, then the account with
    /// its phone claim and session in one transaction.
    pub(super) async fn delete_account_item(&self, tenant: &TenantId, id: &AccountId) -> Result<(), PortError> {
        let gone = || PortError::not_found(format!("account {id} not found"));
        let old = self.get(keys::accounts(tenant), id.as_str().to_owned()).await?.ok_or_else(gone)?;
        // The cascade first: a failure leaves the account there to delete again.
        self.delete_account_messages(tenant, id).await?;
        self.delete_pins_of_account(tenant, id).await?;
        let mut tx = Tx::new(&self.tables().await?.main);
        tx.delete(key(keys::accounts(tenant), id.as_str()), Some(("attribute_exists(pk)", Expr::default())))?;
        // Free or ours: a claim lost to a failure midway must not block the delete.
        let (c, expr) = claim_condition(id, true);
        tx.delete(key(keys::phones(tenant), get_s(&old, "phone")?), Some((&c, expr)))?;
        tx.delete(key(keys::sessions(tenant), id.as_str()), None)?;
        tx.delete(key(keys::session_fences(tenant), id.as_str()), None)?;
        self.transact("delete account", tx).await.map_err(|e| match e.kind {
            PortErrorKind::Conflict => gone(),
            _ => e,
        })
    }
}
