//! Revocation reaching open sockets, and who is in push audiences.
//!
//! A token is checked once when a socket opens, so bumping a user's token
//! version (disable, password change or reset, deletion) also publishes a
//! `session.revoked` event to that user: every socket holding an older
//! version closes itself (`valid_from` is the first version still valid).
//! The event goes through the push hub, so it reaches sockets wherever the
//! hub delivers. Audiences leave disabled users out: the tenant's roster
//! (enabled admins, disabled users) is read at most every [`ROSTER_TTL`] and
//! at once after a change made in this process.

use super::events::{DeskEvent, SocketsRevoked};
use super::{AppError, Desk};
use crate::domain::{Role, TenantId, User, UserId};
use crate::ports::UserQuery;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Event type telling sockets of older token versions to close.
pub const SESSION_REVOKED: &str = "session.revoked";

/// How stale the roster may be in a process that did not make the change
/// (sockets are closed at once by [`SESSION_REVOKED`]; this bounds pushes
/// kept for a user disabled elsewhere).
pub const ROSTER_TTL: Duration = Duration::from_secs(2);

/// Who of a tenant counts for audiences.
#[derive(Debug, Default)]
pub(crate) struct Roster {
    /// Enabled admins: they see every account.
    pub admins: Vec<UserId>,
    /// Disabled users: in no audience.
    pub disabled: HashSet<UserId>,
}

/// Rosters per tenant, read through.
#[derive(Default)]
pub(crate) struct RosterCache {
    tenants: Mutex<HashMap<TenantId, (Instant, Arc<Roster>)>>,
}

impl RosterCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, (Instant, Arc<Roster>)>> {
        // Entries are replaced whole; a panic elsewhere leaves none half-written.
        self.tenants.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets the tenant's roster after a change to its users.
    pub fn invalidate(&self, tenant: &TenantId) {
        self.lock().remove(tenant);
    }
}

impl Desk {
    /// Returns the tenant's roster, read from the directory when older than [`ROSTER_TTL`].
    pub(crate) async fn roster(&self, tenant: &TenantId) -> Result<Arc<Roster>, AppError> {
        if let Some((at, roster)) = self.roster.lock().get(tenant) {
            if at.elapsed() < ROSTER_TTL {
                return Ok(roster.clone());
            }
        }
        let read_at = Instant::now();
        let mut query = UserQuery { leader_id: None, role: None, after: None, limit: 500 };
        let mut roster = Roster::default();
        loop {
            let page = self.ports.directory.list_users(tenant, &query).await?;
            let full = page.len() == query.limit;
            query.after = page.last().map(|u| u.id.clone());
            for user in page {
                if user.disabled {
                    roster.disabled.insert(user.id);
                } else if user.role == Role::Admin {
                    roster.admins.push(user.id);
                }
            }
            if !full {
                break;
            }
        }
        let roster = Arc::new(roster);
        self.roster.lock().insert(tenant.clone(), (read_at, roster.clone()));
        Ok(roster)
    }

    /// Tells `user`'s open sockets that tokens older than `valid_from` are revoked.
    pub(crate) async fn revoke_sockets(&self, user: &User, valid_from: u32) -> Result<(), AppError> {
        let event = DeskEvent::SessionRevoked(SocketsRevoked { valid_from }).into_push()?;
        Ok(self.ports.push.publish(&user.tenant, std::slice::from_ref(&user.id), event).await?)
    }
}
