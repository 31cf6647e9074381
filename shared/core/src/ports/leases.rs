//! The leases port: which fleet node runs which account. A lease expires unless
//! renewed, so a dead node's accounts are taken over; no account is ever
//! leased to two nodes at once. Adapters: a SQLite table, a DynamoDB table
//! with conditional writes.

use super::{PortError, PortErrorKind};
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
    /// Grows on every acquisition, so a stale holder's writes can be refused.
    pub fencing: u64,
    /// When it lapses unless renewed (whole milliseconds).
    pub expires_at: DateTime<Utc>,
}

/// Account leases with expiry and fencing. Times come from the calling
/// node's clock (a DynamoDB condition has no clock of its own), so nodes keep
/// their clocks within a skew well under the lease's renewal margin; a node
/// compares `expires_at` with its own clock only to renew early.
#[async_trait]
pub trait Leases: Send + Sync {
    /// Takes the lease for `ttl` when it is free, expired, released or held by
    /// `node` itself; `Conflict` while another node holds it unexpired, and
    /// `Invalid` for an empty node name. Of concurrent calls for one account
    /// at most one node wins. Every success returns a fencing number larger
    /// than any earlier one for the account.
    async fn acquire(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        node: &str,
        ttl: Duration,
    ) -> Result<Lease, PortError>;

    /// Extends a lease to `ttl` from now, keeping its fencing number, even
    /// past its expiry when nobody took it meanwhile; `Conflict` once another
    /// acquisition or a release replaced it.
    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<Lease, PortError>;

    /// Renews many leases at once, as [`Leases::renew`] renews one: a node
    /// renews everything it holds with one call per heartbeat instead of a
    /// write per account. Returns, in order, each renewed lease or `None` for
    /// one replaced meanwhile; an `Err` means the backend failed and nothing
    /// can be told (some may be renewed). The default renews one by one;
    /// adapters that can batch override it.
    async fn renew_many(&self, leases: &[Lease], ttl: Duration) -> Result<Vec<Option<Lease>>, PortError> {
        let mut renewed = Vec::with_capacity(leases.len());
        for lease in leases {
            renewed.push(match self.renew(lease, ttl).await {
                Ok(lease) => Some(lease),
                Err(e) if e.kind == PortErrorKind::Conflict => None,
                Err(e) => return Err(e),
            });
        }
        Ok(renewed)
    }

    /// Gives a lease up, so another node may acquire it at once; releasing a
    /// lease replaced meanwhile (taken over, or released already) changes
    /// nothing.
    async fn release(&self, lease: &Lease) -> Result<(), PortError>;

    /// Returns the tenant's current leases, expired ones included (a node
    /// takes those over without trying every account), released ones not.
    async fn list(&self, tenant: &TenantId) -> Result<Vec<Lease>, PortError>;

    /// Returns the lease that holds `account` now (not released, not expired
    /// by the caller's clock), or `None`: the node a command for the account
    /// must reach.
    async fn holder(&self, tenant: &TenantId, account: &AccountId) -> Result<Option<Lease>, PortError>;
}
