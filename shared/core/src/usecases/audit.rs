//! Reading the audit log: admins read everything; leaders read what their
//! team did and what was done to their team's accounts.

use super::{cursor, page_size, Actor, AppError, Desk, Page};
use crate::domain::{AccountId, AuditAction, AuditEntry, AuditId, Role, UserId};
use crate::ports::{AuditQuery, UserQuery};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Filters of [`Desk::read_audit`].
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct AuditFilter {
    /// Actor (user id).
    pub actor: Option<String>,
    /// Account id.
    pub account: Option<String>,
    /// Action name, e.g. `account.assign`.
    pub action: Option<String>,
    /// From this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size (1 to 500, default 50).
    pub limit: Option<usize>,
}

impl Desk {
    /// Returns a page of the audit log, newest first.
    pub async fn read_audit(&self, actor: &Actor, filter: &AuditFilter) -> Result<Page<AuditEntry>, AppError> {
        actor.ensure_supervisor()?;
        let limit = page_size(filter.limit);
        let mut query = AuditQuery {
            actors: filter.actor.as_deref().map(UserId::parse).transpose()?.map(|a| vec![a]),
            account: filter.account.as_deref().map(AccountId::parse).transpose()?,
            action: match filter.action.as_deref() {
                Some(a) => {
                    Some(AuditAction::parse(a).ok_or_else(|| AppError::invalid(format!("unknown action {a:?}")))?)
                }
                None => None,
            },
            from: filter.from,
            to: filter.to,
            before: filter.cursor.as_deref().map(|c| cursor::decode::<AuditId>(&actor.tenant, c)).transpose()?,
            limit,
        };
        if actor.role == Role::Leader {
            self.limit_to_team(actor, &mut query).await?;
        }
        let items = self.ports.directory.list_audit(&actor.tenant, &query).await?;
        let next_cursor = (items.len() == limit).then(|| cursor::encode(&actor.tenant, &items[limit - 1].id));
        Ok(Page { items, next_cursor })
    }

    /// Confines a leader's query to entries by the leader or their agents,
    /// or (when filtering by account) about an account of their team.
    async fn limit_to_team(&self, actor: &Actor, query: &mut AuditQuery) -> Result<(), AppError> {
        if let Some(account) = &query.account {
            self.visible_account(actor, account).await?;
            return Ok(());
        }
        let mut team = vec![actor.user_id.clone()];
        let mut users = UserQuery { leader_id: Some(actor.user_id.clone()), role: None, after: None, limit: 1000 };
        loop {
            let page = self.ports.directory.list_users(&actor.tenant, &users).await?;
            let full = page.len() == users.limit;
            users.after = page.last().map(|u| u.id.clone());
            team.extend(page.into_iter().map(|u| u.id));
            if !full {
                break;
            }
        }
        query.actors = match query.actors.take() {
            Some(wanted) => Some(wanted.into_iter().filter(|a| team.contains(a)).collect()),
            None => Some(team),
        };
        Ok(())
    }
}
