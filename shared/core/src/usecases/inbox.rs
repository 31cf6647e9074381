//! Reading conversations: the inbox (every dialog the actor may see, their
//! pinned dialogs first, then newest message first), one account's dialogs,
//! a dialog's messages, and tags on messages.

use super::events::{DeskEvent, MessageTagged};
use super::{cursor, page_size, Actor, AppError, Desk, DialogView, Page};
use crate::domain::{Account, AccountId, Dialog, GroupId, Message, TagId};
use crate::ports::{AccountQuery, DialogCursor, DialogFilter, DialogScope, PinTarget};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Most pins one user may hold (accounts and dialogs together).
pub const MAX_PINS: usize = 200;

/// Most accounts a group or tag filter of the inbox may stand for: the
/// filter travels to the store as a set.
pub const MAX_FILTER_ACCOUNTS: usize = 10_000;

/// Up to this many accounts, a filtered inbox page merges the accounts'
/// own dialog lists; past it, the store filters the scope's inbox.
const MERGED_ACCOUNTS: usize = 20;

/// What an agent narrows their inbox to; every part that is set must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InboxQuery {
    /// Only this account's dialogs.
    pub account: Option<AccountId>,
    /// Only dialogs of accounts in this group.
    pub group: Option<GroupId>,
    /// Only dialogs of accounts with this tag.
    pub tag: Option<TagId>,
    /// Only dialogs with unread messages.
    pub unread_only: bool,
}

/// Where an inbox page starts: within the pinned list, or in the newest-first list.
#[derive(Serialize, Deserialize)]
enum InboxPos {
    Pinned(usize),
    /// After this (at_ms, account, peer); `None`: from the newest.
    Rest(Option<(i64, String, i64)>),
}

impl Desk {
    /// Returns a page of the actor's inbox: pinned dialogs first (newest
    /// first), then all other visible dialogs newest first.
    pub async fn inbox(
        &self,
        actor: &Actor,
        raw_cursor: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Page<DialogView>, AppError> {
        self.filtered_inbox(actor, &InboxQuery::default(), raw_cursor, limit).await
    }

    /// [`Self::inbox`] narrowed by `query`, in the same order; the cursor
    /// of a page belongs with the query it was made for.
    pub async fn filtered_inbox(
        &self,
        actor: &Actor,
        query: &InboxQuery,
        raw_cursor: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Page<DialogView>, AppError> {
        let filter =
            DialogFilter { unread_only: query.unread_only, accounts: self.filter_accounts(actor, query).await? };
        self.dialog_page(actor, &actor.scope(), &filter, raw_cursor, limit).await
    }

    /// The accounts an inbox query stands for, among those the actor may see
    /// (`None`: no account filter).
    async fn filter_accounts(
        &self,
        actor: &Actor,
        query: &InboxQuery,
    ) -> Result<Option<BTreeSet<AccountId>>, AppError> {
        if query.group.is_none() && query.tag.is_none() {
            return match &query.account {
                Some(id) => Ok(Some([self.visible_account(actor, id).await?.id].into())),
                None => Ok(None),
            };
        }
        let mut listing = AccountQuery::scoped(actor.scope(), 1_000);
        listing.group = query.group.clone();
        listing.tag = query.tag.clone();
        let mut found = BTreeSet::new();
        loop {
            let page = self.ports.directory.list_accounts(&actor.tenant, &listing).await?;
            let last = page.last().map(|a| a.id.clone());
            found.extend(
                page.into_iter().map(|a| a.id).filter(|id| query.account.as_ref().is_none_or(|only| only == id)),
            );
            if found.len() > MAX_FILTER_ACCOUNTS {
                let message = format!("the filter stands for more than {MAX_FILTER_ACCOUNTS} accounts; narrow it");
                return Err(AppError::invalid(message));
            }
            match last {
                Some(last) => listing.after = Some(last),
                None => return Ok(Some(found)),
            }
        }
    }

    /// Returns a page of one account's dialogs, with the same order as the inbox.
    pub async fn account_dialogs(
        &self,
        actor: &Actor,
        id: &AccountId,
        raw_cursor: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Page<DialogView>, AppError> {
        self.visible_account(actor, id).await?;
        self.dialog_page(actor, &DialogScope::Account(id.clone()), &DialogFilter::default(), raw_cursor, limit).await
    }

    /// Returns a page of a dialog's messages, newest first, continuing from
    /// the hot store into the archive with the same cursor.
    pub async fn dialog_messages(
        &self,
        actor: &Actor,
        id: &AccountId,
        peer: i64,
        raw_cursor: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Page<Message>, AppError> {
        self.visible_account(actor, id).await?;
        let limit = page_size(limit);
        let before = raw_cursor.map(|c| cursor::decode::<i64>(&actor.tenant, c)).transpose()?;
        let items = self.history(&actor.tenant, id, peer, before, limit).await?;
        let next_cursor = (items.len() == limit).then(|| cursor::encode(&actor.tenant, &items[limit - 1].id));
        Ok(Page { items, next_cursor })
    }

    /// Replaces a message's tags, in the store or, for an archived message, in the archive.
    pub async fn tag_message(
        &self,
        actor: &Actor,
        id: &AccountId,
        peer: i64,
        message: i64,
        tags: &[TagId],
    ) -> Result<Message, AppError> {
        let account = self.visible_account(actor, id).await?;
        let known: HashSet<TagId> =
            self.ports.directory.list_tags(&actor.tenant).await?.into_iter().map(|t| t.id).collect();
        if let Some(bad) = tags.iter().find(|t| !known.contains(t)) {
            return Err(AppError::invalid(format!("tag {bad} does not exist")));
        }
        let set: BTreeSet<TagId> = tags.iter().cloned().collect();
        self.apply_tags(&actor.tenant, (id, peer, message), &set).await?;
        let tagged = self
            .find_message(&actor.tenant, id, peer, message)
            .await?
            .ok_or_else(|| AppError::not_found("no such message"))?;
        let event = DeskEvent::MessageTags(MessageTagged {
            account_id: id.clone(),
            peer,
            id: message,
            tags: tagged.tags.clone(),
        });
        let audience = self.audience(&account).await?;
        self.ports.push.publish(&actor.tenant, &audience, event.into_push()?).await?;
        Ok(tagged)
    }

    async fn dialog_page(
        &self,
        actor: &Actor,
        scope: &DialogScope,
        filter: &DialogFilter,
        raw_cursor: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Page<DialogView>, AppError> {
        let limit = page_size(limit);
        let pos = match raw_cursor {
            Some(c) => cursor::decode::<InboxPos>(&actor.tenant, c)?,
            None => InboxPos::Pinned(0),
        };
        let mut pinned = self.pinned_dialogs(actor, scope).await?;
        pinned.retain(|d| filter.keeps(d));
        let pinned_keys: HashSet<(AccountId, i64)> = pinned.iter().map(|d| (d.account_id.clone(), d.peer)).collect();
        let mut page: Vec<(Dialog, bool)> = Vec::with_capacity(limit);
        let mut after = match pos {
            InboxPos::Pinned(skip) => {
                page.extend(pinned.iter().skip(skip).take(limit).map(|d| (d.clone(), true)));
                if skip + page.len() < pinned.len() {
                    return self.views(actor, page, Some(InboxPos::Pinned(skip + limit))).await;
                }
                None
            }
            InboxPos::Rest(None) => None,
            InboxPos::Rest(Some((at_ms, account, peer))) => {
                Some(DialogCursor { at_ms, account_id: AccountId::parse(&account)?, peer })
            }
        };
        // Pinned dialogs were listed already; skip them, fetching more until the page is full.
        while page.len() < limit {
            let want = limit - page.len();
            let batch = self.list_filtered(&actor.tenant, scope, filter, after.as_ref(), want).await?;
            let exhausted = batch.len() < want;
            if let Some(last) = batch.last() {
                after = Some(DialogCursor::after(last));
            }
            page.extend(
                batch
                    .into_iter()
                    .filter(|d| !pinned_keys.contains(&(d.account_id.clone(), d.peer)))
                    .map(|d| (d, false)),
            );
            if exhausted {
                return self.views(actor, page, None).await;
            }
        }
        let next = InboxPos::Rest(after.map(|c| (c.at_ms, c.account_id.to_string(), c.peer)));
        self.views(actor, page, Some(next)).await
    }

    /// One page of `scope`'s dialogs passing `filter`. A few accounts are
    /// read as their own lists and merged (each is short and indexed);
    /// more go to the store as a filter on the scope's inbox.
    async fn list_filtered(
        &self,
        tenant: &crate::domain::TenantId,
        scope: &DialogScope,
        filter: &DialogFilter,
        after: Option<&DialogCursor>,
        limit: usize,
    ) -> Result<Vec<Dialog>, AppError> {
        let few = filter.accounts.as_ref().filter(|only| only.len() <= MERGED_ACCOUNTS);
        let Some(accounts) = few else {
            return Ok(self.ports.reader.list_dialogs(tenant, scope, filter, after, limit).await?);
        };
        let unread = DialogFilter { unread_only: filter.unread_only, accounts: None };
        let mut merged = Vec::new();
        for account in accounts {
            let own = DialogScope::Account(account.clone());
            merged.extend(self.ports.reader.list_dialogs(tenant, &own, &unread, after, limit).await?);
        }
        let key = |d: &Dialog| (d.inbox_ms(), d.account_id.clone(), d.peer);
        merged.sort_by_key(|d| std::cmp::Reverse(key(d)));
        merged.truncate(limit);
        Ok(merged)
    }

    /// Returns the actor's pinned dialogs within `scope` that still exist and are visible, newest first.
    async fn pinned_dialogs(&self, actor: &Actor, scope: &DialogScope) -> Result<Vec<Dialog>, AppError> {
        let keys: Vec<(AccountId, i64)> = self
            .ports
            .directory
            .list_pins(&actor.tenant, &actor.user_id)
            .await?
            .into_iter()
            .filter_map(|p| match p.target {
                PinTarget::Dialog(a, peer) => Some((a, peer)),
                PinTarget::Account(_) => None,
            })
            .filter(|(a, _)| !matches!(scope, DialogScope::Account(only) if only != a))
            .collect();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let accounts = self.accounts_by_id(actor, keys.iter().map(|(a, _)| a.clone()).collect()).await?;
        let mut dialogs: Vec<Dialog> = self
            .ports
            .reader
            .get_dialogs(&actor.tenant, &keys)
            .await?
            .into_iter()
            .filter(|d| accounts.get(&d.account_id).is_some_and(|a| actor.can_see(a)))
            .collect();
        dialogs.sort_by(|a, b| {
            let key = |d: &Dialog| (d.inbox_ms(), d.account_id.clone(), d.peer);
            key(b).cmp(&key(a))
        });
        Ok(dialogs)
    }

    async fn accounts_by_id(
        &self,
        actor: &Actor,
        mut ids: Vec<AccountId>,
    ) -> Result<HashMap<AccountId, Account>, AppError> {
        ids.sort();
        ids.dedup();
        Ok(self
            .ports
            .directory
            .get_accounts(&actor.tenant, &ids)
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect())
    }

    async fn views(
        &self,
        actor: &Actor,
        page: Vec<(Dialog, bool)>,
        next: Option<InboxPos>,
    ) -> Result<Page<DialogView>, AppError> {
        let accounts = self.accounts_by_id(actor, page.iter().map(|(d, _)| d.account_id.clone()).collect()).await?;
        let items = page
            .into_iter()
            .map(|(d, pinned)| {
                let label = accounts.get(&d.account_id).map(Account::label).unwrap_or_default();
                DialogView::build(d, label, pinned)
            })
            .collect();
        Ok(Page { items, next_cursor: next.map(|n| cursor::encode(&actor.tenant, &n)) })
    }
}
