//! Who is acting, and the permission rules of DESIGN §4: admins act on the
//! whole tenant; leaders on their team's agents and accounts; agents on the
//! accounts they own. Every use case checks through these functions.

use super::AppError;
use crate::domain::{Account, Role, TenantId, User, UserId};
use crate::ports::DialogScope;

/// The authenticated user a use case acts for.
#[derive(Clone, Debug, PartialEq)]
pub struct Actor {
    /// Tenant every read and write is confined to.
    pub tenant: TenantId,
    /// The user.
    pub user_id: UserId,
    /// The user's role at authentication time.
    pub role: Role,
}

impl Actor {
    /// Builds the actor of a stored user.
    pub fn of(user: &User) -> Self {
        Self { tenant: user.tenant.clone(), user_id: user.id.clone(), role: user.role }
    }

    /// Returns the accounts this actor may see.
    pub fn scope(&self) -> DialogScope {
        match self.role {
            Role::Admin => DialogScope::Tenant,
            Role::Leader => DialogScope::Team(self.user_id.clone()),
            Role::Agent => DialogScope::Owner(self.user_id.clone()),
        }
    }

    /// True when the actor may see and work `account`.
    pub fn can_see(&self, account: &Account) -> bool {
        account.tenant == self.tenant
            && match self.role {
                Role::Admin => true,
                Role::Leader => {
                    account.team_id.as_ref() == Some(&self.user_id) || account.owner_id.as_ref() == Some(&self.user_id)
                }
                Role::Agent => account.owner_id.as_ref() == Some(&self.user_id),
            }
    }

    /// Returns `account` when visible, else `NotFound` (never revealing that it exists).
    pub fn visible(&self, account: Option<Account>) -> Result<Account, AppError> {
        account.filter(|a| self.can_see(a)).ok_or_else(|| AppError::not_found("no such account"))
    }

    /// Fails unless the actor may change who owns `account` (admins, and leaders of its team).
    pub fn ensure_can_assign(&self, account: &Account) -> Result<(), AppError> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Leader if self.can_see(account) => Ok(()),
            _ => Err(AppError::forbidden("only admins and the team's leader assign accounts")),
        }
    }

    /// Fails unless `target` may receive accounts from this actor: active,
    /// in the tenant, an agent or leader, and (for leaders) in their team.
    pub fn ensure_can_assign_to(&self, target: &User) -> Result<(), AppError> {
        if target.tenant != self.tenant {
            return Err(AppError::not_found("no such agent"));
        }
        if target.disabled {
            return Err(AppError::invalid(format!("agent {} is disabled", target.username)));
        }
        if target.role == Role::Admin {
            return Err(AppError::invalid("accounts are owned by agents or leaders, not admins"));
        }
        match self.role {
            Role::Admin => Ok(()),
            Role::Leader if target.id == self.user_id || target.leader_id.as_ref() == Some(&self.user_id) => Ok(()),
            Role::Leader => Err(AppError::forbidden(format!("agent {} is not in your team", target.username))),
            Role::Agent => Err(AppError::forbidden("agents cannot assign accounts")),
        }
    }

    /// True when the actor may manage `target` (update, disable, reset its password).
    pub fn can_manage(&self, target: &User) -> bool {
        target.tenant == self.tenant
            && match self.role {
                Role::Admin => true,
                Role::Leader => target.role == Role::Agent && target.leader_id.as_ref() == Some(&self.user_id),
                Role::Agent => false,
            }
    }

    /// True when the actor may see `target` in lists.
    pub fn can_view_user(&self, target: &User) -> bool {
        target.id == self.user_id || self.can_manage(target)
    }

    /// Fails unless the actor is an admin or a leader.
    pub fn ensure_supervisor(&self) -> Result<(), AppError> {
        match self.role {
            Role::Admin | Role::Leader => Ok(()),
            Role::Agent => Err(AppError::forbidden("only admins and leaders may do this")),
        }
    }

    /// Fails unless the actor is an admin.
    pub fn ensure_admin(&self) -> Result<(), AppError> {
        match self.role {
            Role::Admin => Ok(()),
            _ => Err(AppError::forbidden("only admins may do this")),
        }
    }
}

/// Returns the team an account joins when `owner` owns it.
pub(crate) fn team_of(owner: &User) -> Option<UserId> {
    match owner.role {
        Role::Leader => Some(owner.id.clone()),
        Role::Agent => owner.leader_id.clone(),
        Role::Admin => None,
    }
}
