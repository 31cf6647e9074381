//! Telegram accounts the desk works, and the groups and tags that organise them.

use super::{AccountId, DomainError, GroupId, Phone, TagId, TenantId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Where an account's Telegram session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Not connected (the initial state).
    Offline,
    /// A session is being opened.
    Connecting,
    /// Connected and receiving updates.
    Online,
    /// A login code was sent; waiting for the agent to enter it.
    CodeSent,
    /// The 2FA password is needed to finish logging in.
    PasswordRequired,
    /// Logged out (by an agent or by Telegram).
    LoggedOut,
    /// Telegram banned the number.
    Banned,
    /// The session failed; see the account's last error.
    Error,
}

impl AccountStatus {
    /// Whether the session fleet runs an account in this status that has a
    /// stored session (`has_session`): every status but logged out and
    /// banned, whose keys are dead. The one rule the fleet's scan, its
    /// commands and every store's `runnable_accounts` follow.
    pub fn runs(self, has_session: bool) -> bool {
        has_session && !matches!(self, AccountStatus::LoggedOut | AccountStatus::Banned)
    }

    /// Every status, in wire order.
    pub const ALL: [AccountStatus; 8] = [
        AccountStatus::Offline,
        AccountStatus::Connecting,
        AccountStatus::Online,
        AccountStatus::CodeSent,
        AccountStatus::PasswordRequired,
        AccountStatus::LoggedOut,
        AccountStatus::Banned,
        AccountStatus::Error,
    ];

    /// Returns the wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Offline => "offline",
            AccountStatus::Connecting => "connecting",
            AccountStatus::Online => "online",
            AccountStatus::CodeSent => "code_sent",
            AccountStatus::PasswordRequired => "password_required",
            AccountStatus::LoggedOut => "logged_out",
            AccountStatus::Banned => "banned",
            AccountStatus::Error => "error",
        }
    }

    /// Parses a wire name.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| DomainError::new(format!("status {raw:?} is unknown")))
    }
}

/// A Telegram user account managed by the desk.
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    /// Stable id.
    pub id: AccountId,
    /// Owning tenant.
    pub tenant: TenantId,
    /// The account's phone, unique in the tenant.
    pub phone: Phone,
    /// Name shown in the desk (Telegram profile name once synced).
    pub display_name: Option<String>,
    /// Session state.
    pub status: AccountStatus,
    /// The one agent who works the account, if any.
    pub owner_id: Option<UserId>,
    /// The leader whose team the account belongs to. Kept when the account is
    /// reclaimed, so the old owner's leader still sees the unowned account.
    pub team_id: Option<UserId>,
    /// Tenant-wide tags.
    pub tags: BTreeSet<TagId>,
    /// Groups (of any agent) the account is in.
    pub groups: BTreeSet<GroupId>,
    /// The encrypted Telegram session, if one was imported or made by login.
    pub session: Option<Vec<u8>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// What ingest needs of an account for every batch: who works it and how
/// its dialogs label it, without its session, tags or groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountHead {
    /// Stable id.
    pub id: AccountId,
    /// The account's phone.
    pub phone: Phone,
    /// Name shown in the desk.
    pub display_name: Option<String>,
    /// The one agent who works the account, if any.
    pub owner_id: Option<UserId>,
    /// The leader whose team the account belongs to.
    pub team_id: Option<UserId>,
}

impl AccountHead {
    /// How the desk labels the account: its name, or its phone.
    pub fn label(&self) -> String {
        label(&self.display_name, &self.phone)
    }
}

/// An account's label: its name, or its phone.
fn label(display_name: &Option<String>, phone: &Phone) -> String {
    display_name.clone().unwrap_or_else(|| phone.to_string())
}

impl Account {
    /// Whether the session fleet runs the account ([`AccountStatus::runs`]).
    pub fn is_runnable(&self) -> bool {
        self.status.runs(self.session.is_some())
    }

    /// How the desk labels the account: its name, or its phone.
    pub fn label(&self) -> String {
        label(&self.display_name, &self.phone)
    }

    /// The account's [`AccountHead`].
    pub fn head(&self) -> AccountHead {
        AccountHead {
            id: self.id.clone(),
            phone: self.phone.clone(),
            display_name: self.display_name.clone(),
            owner_id: self.owner_id.clone(),
            team_id: self.team_id.clone(),
        }
    }
}

/// A named set of accounts belonging to the agent who made it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Group {
    /// Stable id.
    pub id: GroupId,
    /// The agent who made it; only they (and their supervisors) use it.
    pub owner_id: UserId,
    /// Name, unique per owner.
    pub name: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A tenant-wide label for accounts and messages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tag {
    /// Stable id.
    pub id: TagId,
    /// Name, unique in the tenant.
    pub name: String,
    /// Display colour (`#rrggbb`), if chosen.
    pub color: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// Validates a group or tag name: 1 to 64 characters after trimming, no control characters.
pub fn parse_label(raw: &str, what: &str) -> Result<String, DomainError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(DomainError::new(format!(
            "{what} name {raw:?} must be 1 to 64 characters without control characters"
        )));
    }
    Ok(name.to_owned())
}
