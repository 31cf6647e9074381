//! The audit log: who did what to which account, and when.

use super::{AccountId, AuditId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The actions the audit log records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum AuditAction {
    /// A user logged in.
    #[serde(rename = "auth.login")]
    Login,
    /// A user was created.
    #[serde(rename = "agent.create")]
    AgentCreate,
    /// A user's name, role, team or disabled flag changed.
    #[serde(rename = "agent.update")]
    AgentUpdate,
    /// A user was deleted.
    #[serde(rename = "agent.delete")]
    AgentDelete,
    /// A password was changed or reset.
    #[serde(rename = "agent.password")]
    AgentPassword,
    /// Accounts were imported.
    #[serde(rename = "account.import")]
    AccountImport,
    /// An account was added.
    #[serde(rename = "account.create")]
    AccountCreate,
    /// An account was deleted.
    #[serde(rename = "account.delete")]
    AccountDelete,
    /// An account got a new owner.
    #[serde(rename = "account.assign")]
    AccountAssign,
    /// An account lost its owner.
    #[serde(rename = "account.reclaim")]
    AccountReclaim,
    /// An account's name or tags changed.
    #[serde(rename = "account.update")]
    AccountUpdate,
    /// An agent started, continued or finished a Telegram login of an account.
    #[serde(rename = "account.login")]
    AccountLogin,
    /// An agent logged an account out of Telegram.
    #[serde(rename = "account.logout")]
    AccountLogout,
    /// A message was sent.
    #[serde(rename = "message.send")]
    MessageSend,
    /// A sent message was edited.
    #[serde(rename = "message.edit")]
    MessageEdit,
    /// A sent message was deleted.
    #[serde(rename = "message.delete")]
    MessageDelete,
    /// A tenant was created.
    #[serde(rename = "tenant.create")]
    TenantCreate,
}

impl AuditAction {
    /// Returns the wire name (`area.verb`).
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Login => "auth.login",
            AuditAction::AgentCreate => "agent.create",
            AuditAction::AgentUpdate => "agent.update",
            AuditAction::AgentDelete => "agent.delete",
            AuditAction::AgentPassword => "agent.password",
            AuditAction::AccountImport => "account.import",
            AuditAction::AccountCreate => "account.create",
            AuditAction::AccountDelete => "account.delete",
            AuditAction::AccountAssign => "account.assign",
            AuditAction::AccountReclaim => "account.reclaim",
            AuditAction::AccountUpdate => "account.update",
            AuditAction::AccountLogin => "account.login",
            AuditAction::AccountLogout => "account.logout",
            AuditAction::MessageSend => "message.send",
            AuditAction::MessageEdit => "message.edit",
            AuditAction::MessageDelete => "message.delete",
            AuditAction::TenantCreate => "tenant.create",
        }
    }

    /// Parses a wire name.
    pub fn parse(raw: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(raw.to_owned())).ok()
    }
}

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Stable id (sorts by time).
    pub id: AuditId,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it (none for the operator or the system).
    pub actor_id: Option<UserId>,
    /// What was done.
    pub action: AuditAction,
    /// The account it concerned, if any.
    pub account_id: Option<AccountId>,
    /// Other object it concerned (an agent id, a dialog, …).
    pub target: Option<String>,
    /// Free-form details (old and new owner, counts, …).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}
