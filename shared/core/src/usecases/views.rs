//! What use cases return to clients: records without secrets, enriched with
//! what the caller needs on screen (tag names, their own pins).

use crate::domain::{
    Account, AccountId, AccountStatus, Dialog, GroupId, PeerKind, Phone, Role, TagId, User, UserId, Username,
};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// A page of a list; `next_cursor` is `None` on the last page.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page.
    pub next_cursor: Option<String>,
}

/// A user as clients see it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AgentView {
    /// Id.
    pub id: UserId,
    /// Login name.
    pub username: Username,
    /// Name shown to colleagues.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// The agent's leader.
    pub leader_id: Option<UserId>,
    /// True when the user cannot log in.
    pub disabled: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl From<&User> for AgentView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.clone(),
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            role: u.role,
            leader_id: u.leader_id.clone(),
            disabled: u.disabled,
            created_at: u.created_at,
        }
    }
}

/// A tag as shown on an account.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TagRef {
    /// Id.
    pub id: TagId,
    /// Name.
    pub name: String,
}

/// An account as clients see it (no session bytes).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    /// Id.
    pub id: AccountId,
    /// Phone (E.164).
    pub phone: Phone,
    /// Display name.
    pub display_name: Option<String>,
    /// Session status.
    pub status: AccountStatus,
    /// Owner agent.
    pub owner_id: Option<UserId>,
    /// Leader whose team holds the account.
    pub team_id: Option<UserId>,
    /// Tags with their names.
    pub tags: Vec<TagRef>,
    /// Groups the account is in.
    pub groups: Vec<GroupId>,
    /// True when the caller pinned it.
    pub pinned: bool,
    /// True when a Telegram session is stored.
    pub has_session: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl AccountView {
    /// Builds the view; `tag_name` resolves tag ids (unknown ids are skipped).
    pub fn build(a: &Account, pinned: bool, tag_name: impl Fn(&TagId) -> Option<String>) -> Self {
        Self {
            id: a.id.clone(),
            phone: a.phone.clone(),
            display_name: a.display_name.clone(),
            status: a.status,
            owner_id: a.owner_id.clone(),
            team_id: a.team_id.clone(),
            tags: a.tags.iter().filter_map(|id| tag_name(id).map(|name| TagRef { id: id.clone(), name })).collect(),
            groups: a.groups.iter().cloned().collect(),
            pinned,
            has_session: a.session.is_some(),
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// A dialog as listed in the inbox.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DialogView {
    /// The account it belongs to.
    pub account_id: AccountId,
    /// The account's display name or phone.
    pub account_label: String,
    /// Marked peer id.
    pub peer: i64,
    /// Kind of chat.
    pub kind: PeerKind,
    /// Title.
    pub title: String,
    /// Date of the newest message.
    pub last_message_at: Option<DateTime<Utc>>,
    /// Id of the newest message.
    pub last_message_id: Option<i64>,
    /// Preview of the newest message.
    pub preview: String,
    /// Unread incoming messages.
    pub unread_count: u32,
    /// True when the caller pinned it.
    pub pinned: bool,
}

impl DialogView {
    /// Builds the view of a dialog.
    pub fn build(d: Dialog, account_label: String, pinned: bool) -> Self {
        Self {
            account_id: d.account_id,
            account_label,
            peer: d.peer,
            kind: d.kind,
            title: d.title,
            last_message_at: d.last_message_at,
            last_message_id: d.last_message_id,
            preview: d.preview,
            unread_count: d.unread_count,
            pinned,
        }
    }
}
