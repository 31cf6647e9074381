//! The search index port. Adapters: tantivy locally, OpenSearch on AWS.

use super::PortError;
use crate::domain::{AccountId, Message, TenantId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A full-text query, always within one tenant and a set of accounts the
/// caller may see.
#[derive(Clone, Debug)]
pub struct SearchQuery {
    /// Words to find.
    pub text: String,
    /// Accounts the caller may see (`None`: the whole tenant).
    pub accounts: Option<Vec<AccountId>>,
    /// Only this dialog.
    pub peer: Option<i64>,
    /// Only messages at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only messages before this time.
    pub to: Option<DateTime<Utc>>,
    /// Page size.
    pub limit: usize,
}

/// One match.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchHit {
    /// The message's account.
    pub account_id: AccountId,
    /// The message's dialog.
    pub peer: i64,
    /// The message id.
    pub id: i64,
    /// Relevance (higher is better).
    pub score: f32,
}

/// A full-text index of messages.
#[async_trait]
pub trait SearchIndex: Send + Sync {
    /// Adds or replaces messages (idempotent on their key).
    async fn index(&self, tenant: &TenantId, messages: &[Message]) -> Result<(), PortError>;
    /// Makes everything indexed so far visible to `search`.
    async fn refresh(&self) -> Result<(), PortError>;
    /// Returns matches, newest first.
    async fn search(&self, tenant: &TenantId, query: &SearchQuery) -> Result<Vec<SearchHit>, PortError>;
}
