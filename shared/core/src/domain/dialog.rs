//! Dialogs: one conversation of one account with one peer.

use super::AccountId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What kind of chat a peer is. Peer ids are Telegram's marked ids: users
/// positive, basic groups negative, channels `-100…`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeerKind {
    /// A private chat with a user.
    User,
    /// A basic group.
    Group,
    /// A channel or supergroup.
    Channel,
}

impl PeerKind {
    /// Returns the wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PeerKind::User => "user",
            PeerKind::Group => "group",
            PeerKind::Channel => "channel",
        }
    }

    /// Parses a wire name; unknown names read as a user chat.
    pub fn from_str_lossy(raw: &str) -> Self {
        match raw {
            "group" => PeerKind::Group,
            "channel" => PeerKind::Channel,
            _ => PeerKind::User,
        }
    }

    /// Derives the kind from a marked peer id.
    pub fn of_peer(peer: i64) -> Self {
        if peer > 0 {
            PeerKind::User
        } else if peer <= -1_000_000_000_000 {
            PeerKind::Channel
        } else {
            PeerKind::Group
        }
    }
}

/// A conversation as listed in the inbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Dialog {
    /// The account the dialog belongs to.
    pub account_id: AccountId,
    /// Marked peer id.
    pub peer: i64,
    /// Kind of chat.
    pub kind: PeerKind,
    /// Title (the customer's name, or the group's title).
    pub title: String,
    /// Date of the newest message, if any.
    pub last_message_at: Option<DateTime<Utc>>,
    /// Id of the newest message, if any.
    pub last_message_id: Option<i64>,
    /// A short preview of the newest message.
    pub preview: String,
    /// Incoming messages not read yet.
    pub unread_count: u32,
}

impl Dialog {
    /// The inbox sort key: unix milliseconds of the newest message, 0 when
    /// there is none (such dialogs come last).
    pub fn inbox_ms(&self) -> i64 {
        self.last_message_at.map_or(0, |at| at.timestamp_millis())
    }
}

/// What Telegram shows of a user as one account sees them: the account's own
/// profile, a contact, or the customer of a private dialog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PeerProfile {
    /// The account that sees the user.
    pub account_id: AccountId,
    /// The user's marked peer id (their user id).
    pub peer: i64,
    /// First name.
    pub first_name: String,
    /// Last name, if set.
    pub last_name: Option<String>,
    /// Username without `@`, if set.
    pub username: Option<String>,
    /// Phone in E.164 with `+`, when Telegram shows it.
    pub phone: Option<String>,
    /// True when the user is in the account's contacts.
    pub is_contact: bool,
    /// True for the account's own profile.
    pub is_self: bool,
    /// Id of the current profile photo, if one is set (fetched on first view).
    #[serde(default)]
    pub photo_id: Option<i64>,
    /// When this was last synced from Telegram.
    pub synced_at: DateTime<Utc>,
}

impl PeerProfile {
    /// Returns "First Last", or the first name alone.
    pub fn full_name(&self) -> String {
        match &self.last_name {
            Some(last) if !last.is_empty() => format!("{} {last}", self.first_name),
            _ => self.first_name.clone(),
        }
    }
}
