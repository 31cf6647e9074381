//! The store port, split CQRS-style: [`Directory`] holds tenants, users,
//! accounts, groups, tags, pins and the audit log; [`MessageWriter`] is the
//! ingest side of dialogs and messages, [`MessageReader`] their read side.
//!
//! Every method takes the tenant first: no record is reachable without it.
//! Lists are keyset-paginated with domain values (`after`/`before`), so both a
//! SQL index and a DynamoDB sort key serve them.

use super::{PortError, PortErrorKind};
use crate::domain::{
    Account, AccountHead, AccountId, AccountStatus, AuditAction, AuditEntry, AuditId, Dialog, Group, GroupId, Message,
    PeerProfile, Phone, Role, Tag, TagId, Tenant, TenantId, User, UserId, Username,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

/// Filters for [`Directory::list_users`]; results are ordered by id.
#[derive(Clone, Debug, Default)]
pub struct UserQuery {
    /// Only the agents of this leader's team.
    pub leader_id: Option<UserId>,
    /// Only users with this role.
    pub role: Option<Role>,
    /// Only ids greater than this (keyset cursor).
    pub after: Option<UserId>,
    /// Page size.
    pub limit: usize,
}

/// Which accounts (and dialogs) a query may touch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DialogScope {
    /// Everything in the tenant (admins).
    Tenant,
    /// Accounts whose `team_id` is this leader.
    Team(UserId),
    /// Accounts this user owns.
    Owner(UserId),
    /// One account.
    Account(AccountId),
}

/// What an inbox lists within its scope: every part that is set must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DialogFilter {
    /// Only dialogs with unread messages.
    pub unread_only: bool,
    /// Only dialogs of these accounts (`None`: every account of the scope;
    /// an empty set: none).
    pub accounts: Option<BTreeSet<AccountId>>,
}

impl DialogFilter {
    /// True when `dialog` passes.
    pub fn keeps(&self, dialog: &Dialog) -> bool {
        (!self.unread_only || dialog.unread_count > 0)
            && self.accounts.as_ref().is_none_or(|only| only.contains(&dialog.account_id))
    }

    /// True when it keeps every dialog.
    pub fn is_empty(&self) -> bool {
        !self.unread_only && self.accounts.is_none()
    }
}

/// Filters for [`Directory::list_accounts`]; results are ordered by id.
#[derive(Clone, Debug)]
pub struct AccountQuery {
    /// The visibility limit, applied before every other filter.
    pub scope: DialogScope,
    /// Only accounts owned by this user.
    pub owner: Option<UserId>,
    /// Only accounts without an owner.
    pub unowned: bool,
    /// Only accounts with this tag.
    pub tag: Option<TagId>,
    /// Only accounts in this group.
    pub group: Option<GroupId>,
    /// Only accounts in this status.
    pub status: Option<AccountStatus>,
    /// Case-insensitive substring of the phone or the display name.
    pub text: Option<String>,
    /// Only ids greater than this (keyset cursor).
    pub after: Option<AccountId>,
    /// Page size.
    pub limit: usize,
}

impl AccountQuery {
    /// Returns a query with no filter but the scope.
    pub fn scoped(scope: DialogScope, limit: usize) -> Self {
        Self {
            scope,
            owner: None,
            unowned: false,
            tag: None,
            group: None,
            status: None,
            text: None,
            after: None,
            limit,
        }
    }
}

/// What a pin points at.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PinTarget {
    /// An account.
    Account(AccountId),
    /// A dialog of an account.
    Dialog(AccountId, i64),
}

/// One user's pin.
#[derive(Clone, Debug, PartialEq)]
pub struct Pin {
    /// Whose pin it is; pins are personal.
    pub user_id: UserId,
    /// What is pinned.
    pub target: PinTarget,
    /// When it was pinned.
    pub pinned_at: DateTime<Utc>,
}

/// Filters for [`Directory::list_audit`]; results are newest first.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    /// Only entries by one of these actors (`None`: anyone).
    pub actors: Option<Vec<UserId>>,
    /// Only entries about this account.
    pub account: Option<AccountId>,
    /// Only this action.
    pub action: Option<AuditAction>,
    /// Only entries at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only entries before this time.
    pub to: Option<DateTime<Utc>>,
    /// Only ids smaller than this (keyset cursor, newest first).
    pub before: Option<AuditId>,
    /// Page size.
    pub limit: usize,
}

/// Position in a newest-first dialog list: the last item of the previous page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialogCursor {
    /// Unix milliseconds of the dialog's newest message (0 when it has none).
    pub at_ms: i64,
    /// The dialog's account.
    pub account_id: AccountId,
    /// The dialog's peer.
    pub peer: i64,
}

impl DialogCursor {
    /// Returns the cursor that points just past `dialog`.
    pub fn after(dialog: &Dialog) -> Self {
        Self { at_ms: dialog.inbox_ms(), account_id: dialog.account_id.clone(), peer: dialog.peer }
    }
}

/// What [`MessageWriter::ingest_messages`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IngestOutcome {
    /// Positions (in the input slice) of the messages stored for the first
    /// time, ascending; only these are pushed and indexed.
    pub fresh: Vec<usize>,
    /// Messages already stored (redelivery), left unchanged.
    pub duplicates: usize,
    /// Every dialog a fresh message went to, as the write left it (order,
    /// preview, unread), in no particular order: what `dialog.update` pushes,
    /// without reading the dialogs back.
    pub dialogs: Vec<Dialog>,
}

impl IngestOutcome {
    /// Returns how many messages were stored for the first time.
    pub fn inserted(&self) -> usize {
        self.fresh.len()
    }
}

/// Tenants, users, accounts, groups, tags, pins and the audit log.
/// What `put_accounts` did with one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountPut {
    /// Stored.
    Stored,
    /// Not stored: another account (or an earlier record of the batch) has its phone.
    PhoneTaken,
}

impl AccountPut {
    /// `Conflict` naming the phone of the first refused record, if any.
    pub fn all_stored(outcomes: &[AccountPut], accounts: &[Account]) -> Result<(), PortError> {
        match outcomes.iter().zip(accounts).find(|(o, _)| **o == AccountPut::PhoneTaken) {
            Some((_, a)) => Err(PortError::conflict(format!("phone {} belongs to another account", a.phone.masked()))),
            None => Ok(()),
        }
    }
}

/// One sealed session a fleet node saves under its lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSave {
    /// The account.
    pub id: AccountId,
    /// Its sealed session.
    pub sealed: Vec<u8>,
    /// The fencing number of the node's lease on the account.
    pub fencing: u64,
}

/// What `set_account_sessions` could not store, each in the order given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionSaves {
    /// Accounts that do not exist (in the tenant).
    pub unknown: Vec<AccountId>,
    /// Accounts whose session a later lease holder wrote already.
    pub fenced: Vec<AccountId>,
}

#[async_trait]
pub trait Directory: Send + Sync {
    /// Creates a tenant; `Conflict` when the name is taken.
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), PortError>;
    /// Returns the tenant, or `None`.
    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, PortError>;
    /// Returns every tenant ordered by name (the operator's and the fleet's view).
    async fn list_tenants(&self) -> Result<Vec<Tenant>, PortError>;

    /// Stores a new user; `Conflict` when the username is taken in the tenant.
    async fn insert_user(&self, user: &User) -> Result<(), PortError>;
    /// Replaces a stored user; `NotFound` when the id is unknown.
    async fn update_user(&self, user: &User) -> Result<(), PortError>;
    /// Returns the user, or `None`.
    async fn get_user(&self, tenant: &TenantId, id: &UserId) -> Result<Option<User>, PortError>;
    /// Returns the user with this username, or `None`.
    async fn find_user(&self, tenant: &TenantId, username: &Username) -> Result<Option<User>, PortError>;
    /// Returns a page of users ordered by id.
    async fn list_users(&self, tenant: &TenantId, query: &UserQuery) -> Result<Vec<User>, PortError>;
    /// Deletes a user, their pins and their groups (accounts leave those groups);
    /// `NotFound` when unknown.
    async fn delete_user(&self, tenant: &TenantId, id: &UserId) -> Result<(), PortError>;

    /// Inserts or replaces accounts by id, each on its own: a record whose
    /// phone another account of the tenant held when the call began (or an
    /// earlier record of the batch takes) is refused and the rest are stored. Answers what
    /// became of each record, in order. Tags and groups are replaced by the
    /// record's sets, and the owner and team of the account's dialogs follow
    /// the record (the inbox is keyed by them). The record's session is
    /// stored for a new account only: an existing account keeps the session
    /// stored (the fleet's, written under its lease, or an admin's through
    /// `set_account_session`), so a record read before the fleet saved
    /// cannot put an older session back. `Err` means the backend
    /// failed: some records may be stored, and putting the same records
    /// again completes the call (a batch may hold 300,000 accounts, more than
    /// any one transaction of DynamoDB's).
    async fn put_accounts(&self, tenant: &TenantId, accounts: &[Account]) -> Result<Vec<AccountPut>, PortError>;
    /// Sets only an account's status (and `updated_at`), so the session fleet
    /// never overwrites a concurrent change of owner, tags or groups;
    /// `NotFound` when the account is unknown.
    async fn set_account_status(
        &self,
        tenant: &TenantId,
        id: &AccountId,
        status: AccountStatus,
    ) -> Result<(), PortError>;
    /// Sets only an account's encrypted session (`None` removes it), like
    /// `set_account_status`; `NotFound` when the account is unknown.
    ///
    /// `fencing` is the lease under which a fleet node writes (its fencing
    /// number): the account keeps the highest one written, and a write under
    /// a lower one is refused with `Conflict`, so a node whose lease was taken
    /// over can no longer overwrite what the new holder saved. `None` (an
    /// admin importing a key) writes unconditionally and leaves the fence as
    /// it is. Removing the session keeps the fence too.
    async fn set_account_session(
        &self,
        tenant: &TenantId,
        id: &AccountId,
        session: Option<Vec<u8>>,
        fencing: Option<u64>,
    ) -> Result<(), PortError>;
    /// Stores the sealed sessions of many accounts of the tenant, as
    /// `set_account_session` does each under its fencing number; says which
    /// ids are unknown and which were refused for an older lease (nothing is
    /// stored for those). A fleet node saves thousands of sessions at once
    /// when traffic starts: an adapter should write them in one go rather
    /// than one write each.
    async fn set_account_sessions(
        &self,
        tenant: &TenantId,
        sessions: &[SessionSave],
    ) -> Result<SessionSaves, PortError> {
        let mut outcome = SessionSaves::default();
        for save in sessions {
            match self.set_account_session(tenant, &save.id, Some(save.sealed.clone()), Some(save.fencing)).await {
                Ok(()) => {}
                Err(e) if e.kind == PortErrorKind::NotFound => outcome.unknown.push(save.id.clone()),
                Err(e) if e.kind == PortErrorKind::Conflict => outcome.fenced.push(save.id.clone()),
                Err(e) => return Err(e),
            }
        }
        Ok(outcome)
    }
    /// Returns the account, or `None`.
    async fn get_account(&self, tenant: &TenantId, id: &AccountId) -> Result<Option<Account>, PortError>;
    /// Returns the accounts among `ids` that exist (in no particular order).
    async fn get_accounts(&self, tenant: &TenantId, ids: &[AccountId]) -> Result<Vec<Account>, PortError>;
    /// Returns the heads of the accounts among `ids` that exist (in no
    /// particular order): ingest reads them for every batch, so an adapter
    /// should read only those fields.
    async fn get_account_heads(&self, tenant: &TenantId, ids: &[AccountId]) -> Result<Vec<AccountHead>, PortError> {
        Ok(self.get_accounts(tenant, ids).await?.iter().map(Account::head).collect())
    }
    /// Returns the accounts with one of these phones (in no particular order).
    async fn find_accounts_by_phone(&self, tenant: &TenantId, phones: &[Phone]) -> Result<Vec<Account>, PortError>;
    /// Returns a page of accounts ordered by id.
    async fn list_accounts(&self, tenant: &TenantId, query: &AccountQuery) -> Result<Vec<Account>, PortError>;
    /// Returns, ordered by id, up to `limit` ids after `after` of the accounts
    /// the fleet runs: those with a stored session that are neither logged
    /// out nor banned. Ids only: a node scans for them every few seconds.
    async fn runnable_accounts(
        &self,
        tenant: &TenantId,
        after: Option<&AccountId>,
        limit: usize,
    ) -> Result<Vec<AccountId>, PortError>;
    /// Deletes an account with its dialogs, messages and pins; `NotFound` when unknown.
    async fn delete_account(&self, tenant: &TenantId, id: &AccountId) -> Result<(), PortError>;

    /// Inserts or replaces a group; `Conflict` when its owner has another group of
    /// that name (compared without ASCII case).
    async fn put_group(&self, tenant: &TenantId, group: &Group) -> Result<(), PortError>;
    /// Returns the group, or `None`.
    async fn get_group(&self, tenant: &TenantId, id: &GroupId) -> Result<Option<Group>, PortError>;
    /// Returns the groups of one owner, or of the tenant, ordered by name.
    async fn list_groups(&self, tenant: &TenantId, owner: Option<&UserId>) -> Result<Vec<Group>, PortError>;
    /// Deletes a group and takes every account out of it; `NotFound` when unknown.
    async fn delete_group(&self, tenant: &TenantId, id: &GroupId) -> Result<(), PortError>;

    /// Inserts or replaces a tag; `Conflict` when another tag has its name (compared
    /// without ASCII case).
    async fn put_tag(&self, tenant: &TenantId, tag: &Tag) -> Result<(), PortError>;
    /// Returns every tag of the tenant ordered by name.
    async fn list_tags(&self, tenant: &TenantId) -> Result<Vec<Tag>, PortError>;
    /// Deletes a tag and removes it from accounts and messages; `NotFound` when unknown.
    async fn delete_tag(&self, tenant: &TenantId, id: &TagId) -> Result<(), PortError>;

    /// Pins something for a user; pinning twice keeps one pin.
    async fn set_pin(&self, tenant: &TenantId, pin: &Pin) -> Result<(), PortError>;
    /// Removes a pin; removing a missing pin succeeds.
    async fn remove_pin(&self, tenant: &TenantId, user: &UserId, target: &PinTarget) -> Result<(), PortError>;
    /// Returns a user's pins, newest first.
    async fn list_pins(&self, tenant: &TenantId, user: &UserId) -> Result<Vec<Pin>, PortError>;

    /// Appends entries to the audit log.
    async fn append_audit(&self, tenant: &TenantId, entries: &[AuditEntry]) -> Result<(), PortError>;
    /// Returns a page of the audit log, newest first.
    async fn list_audit(&self, tenant: &TenantId, query: &AuditQuery) -> Result<Vec<AuditEntry>, PortError>;
}

/// The write side of dialogs and messages (ingest).
#[async_trait]
pub trait MessageWriter: Send + Sync {
    /// Inserts dialogs or updates their title and kind, keeping their message fields.
    /// `NotFound` when an account is unknown.
    async fn upsert_dialogs(&self, tenant: &TenantId, dialogs: &[Dialog]) -> Result<(), PortError>;
    /// Stores messages, idempotent on (account, peer, id): a message stored
    /// before is left as it is and counted as a duplicate. Creates missing
    /// dialogs, moves each dialog's newest message forward (never back) and adds
    /// new incoming messages above the dialog's newest id to its unread count
    /// (older ones are history fetched later). `NotFound` when the account of
    /// a message not stored before is unknown; nothing of the batch is stored then.
    async fn ingest_messages(&self, tenant: &TenantId, messages: &[Message]) -> Result<IngestOutcome, PortError>;
    /// Replaces a message's text and sets its edit time; when it is its
    /// dialog's newest message, the dialog's preview shows the new text.
    /// `NotFound` when unknown.
    async fn edit_message(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        id: i64,
        text: &str,
        edited_at: DateTime<Utc>,
    ) -> Result<(), PortError>;
    /// Marks messages deleted (the text is kept); unknown ids are ignored.
    async fn delete_messages(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        ids: &[i64],
    ) -> Result<(), PortError>;
    /// Marks deleted the messages with these ids in the account's private
    /// chats and basic groups (ids unique per account; channels are left
    /// alone), and returns the (peer, id) of each message it marked.
    async fn delete_unplaced_messages(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        ids: &[i64],
    ) -> Result<Vec<(i64, i64)>, PortError>;
    /// Sets a dialog's unread count to the incoming messages after `up_to`;
    /// `NotFound` when the dialog is unknown.
    async fn mark_read(&self, tenant: &TenantId, account: &AccountId, peer: i64, up_to: i64) -> Result<(), PortError>;
    /// Replaces a message's tags; `NotFound` when the message is unknown.
    async fn set_message_tags(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        id: i64,
        tags: &BTreeSet<TagId>,
    ) -> Result<(), PortError>;
    /// Inserts or replaces profiles by (account, peer). An account has at most
    /// one own profile: storing one with `is_self` clears the flag elsewhere.
    /// `NotFound` when an account is unknown.
    async fn upsert_profiles(&self, tenant: &TenantId, profiles: &[PeerProfile]) -> Result<(), PortError>;
}

/// The read side of dialogs and messages.
#[async_trait]
pub trait MessageReader: Send + Sync {
    /// Returns dialogs in `scope` that pass `filter`, newest message first
    /// (dialogs without messages last), starting after `after`: `limit` of
    /// them unless fewer remain.
    async fn list_dialogs(
        &self,
        tenant: &TenantId,
        scope: &DialogScope,
        filter: &DialogFilter,
        after: Option<&DialogCursor>,
        limit: usize,
    ) -> Result<Vec<Dialog>, PortError>;
    /// Returns the dialogs among `keys` that exist (in no particular order).
    async fn get_dialogs(&self, tenant: &TenantId, keys: &[(AccountId, i64)]) -> Result<Vec<Dialog>, PortError>;
    /// Returns a dialog's messages newest first, with ids below `before`.
    async fn list_messages(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Message>, PortError>;
    /// Returns one message, or `None`.
    async fn get_message(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        id: i64,
    ) -> Result<Option<Message>, PortError>;
    /// Returns what the account knows of user `peer`, or `None`.
    async fn get_profile(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
    ) -> Result<Option<PeerProfile>, PortError>;
    /// Returns the account's own profile, or `None` before the first sync.
    async fn get_self_profile(&self, tenant: &TenantId, account: &AccountId) -> Result<Option<PeerProfile>, PortError>;
    /// Returns the account's contacts ordered by peer id, after `after`.
    async fn list_contacts(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<PeerProfile>, PortError>;
}
