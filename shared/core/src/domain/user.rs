//! People who use the desk: admins, leaders (with a team) and agents.

use super::{DomainError, TenantId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a user may do; see `usecases::permissions` for the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages everything in the tenant.
    Admin,
    /// Manages the agents of their team and the team's accounts.
    Leader,
    /// Works the accounts they own.
    Agent,
}

impl Role {
    /// Returns the role's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Leader => "leader",
            Role::Agent => "agent",
        }
    }

    /// Parses a wire name.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw {
            "admin" => Ok(Role::Admin),
            "leader" => Ok(Role::Leader),
            "agent" => Ok(Role::Agent),
            _ => Err(DomainError::new(format!("role {raw:?} is not admin, leader or agent"))),
        }
    }
}

/// A login name, unique in its tenant and compared without case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "alice")]
pub struct Username(String);

impl Username {
    /// Lowercases and validates: 2 to 64 of `a-z 0-9 . _ -`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let lower = raw.trim().to_lowercase();
        let ok = (2..=64).contains(&lower.len())
            && lower.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(Self(lower))
        } else {
            Err(DomainError::new(format!("username {raw:?} must be 2 to 64 characters of a-z, 0-9, '.', '_' and '-'")))
        }
    }

    /// Returns the normalised name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = DomainError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Username> for String {
    fn from(u: Username) -> String {
        u.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user as stored. Never serialised to clients as is: it holds the hash.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    /// Stable id.
    pub id: UserId,
    /// The tenant the user belongs to.
    pub tenant: TenantId,
    /// Login name.
    pub username: Username,
    /// Name shown to colleagues.
    pub display_name: String,
    /// What the user may do.
    pub role: Role,
    /// The leader whose team an agent is in (agents only).
    pub leader_id: Option<UserId>,
    /// A disabled user can neither log in nor use a token issued before.
    pub disabled: bool,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// Bumped to revoke every token issued before (disable, password change).
    pub token_version: u32,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}
