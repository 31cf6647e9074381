//! The leases port: which fleet node runs which account. A lease expires unless
//! renewed, so a dead node's accounts are taken over; no account is ever
//! leased to two nodes at once.

use super::PortError;
use crate::domain::{AccountId, TenantId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// A held lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The tenant of the account.
    pub tenant: TenantId,
    /// The leased account.
    pub account_id: AccountId,
    /// The node holding it.
    pub node: String,
    /// Grows on every take-over, so a stale holder's writes can be refused.
    pub fencing: u64,
    /// When it lapses unless renewed.
    pub expires_at: DateTime<Utc>,
}

/// Store-backed account leases.
#[async_trait]
pub trait Leases: Send + Sync {
    /// Takes the lease when it is free or expired; `Conflict` when another node holds it.
    async fn acquire(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        node: &str,
        ttl: Duration,
    ) -> Result<Lease, PortError>;
    /// Extends a held lease; `Conflict` when it was taken over meanwhile.
    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<Lease, PortError>;
    /// Gives a lease up; releasing a lease taken over meanwhile changes nothing.
    async fn release(&self, lease: &Lease) -> Result<(), PortError>;
}
