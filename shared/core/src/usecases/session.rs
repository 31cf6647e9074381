//! Logging in, checking tokens, changing one's own password.

use super::{Actor, AgentView, AppError, Desk};
use crate::auth::{validate_new_password, LoginThrottle, TokenError};
use crate::domain::{AuditAction, AuditEntry, AuditId, TenantId, User, UserId, Username};
use chrono::Utc;

/// A successful login.
#[derive(Clone, Debug)]
pub struct LoginOutcome {
    /// Bearer token.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// The user who logged in.
    pub user: AgentView,
}

impl Desk {
    /// Checks a password and returns a token. Each attempt is reserved with
    /// the throttle before anything is awaited or checked (per parsed
    /// username and per client address), so bursts and spellings of one name
    /// share a limit; a success takes its reservation back. Unknown users
    /// cost one argon2 check like known ones, and every failure reads the
    /// same, so usernames can be probed neither by answer nor by time.
    pub async fn login(
        &self,
        tenant: &str,
        username: &str,
        password: &str,
        address: &str,
    ) -> Result<LoginOutcome, AppError> {
        let bad = || AppError::Unauthorized("wrong tenant, username or password".into());
        let names = TenantId::parse(tenant).ok().zip(Username::parse(username).ok());
        let user_key = names.as_ref().map(|(t, u)| LoginThrottle::user_key(t, u));
        let address_key = LoginThrottle::address_key(address);
        if let Some(wait) = self.throttle.reserve(user_key.as_deref(), &address_key).await? {
            return Err(AppError::TooManyRequests { retry_after_s: wait.as_secs().max(1) });
        }
        let user = match &names {
            Some((t, u)) => self.ports.directory.find_user(t, u).await?,
            None => None,
        };
        let matches = match self.passwords.verify(password, user.as_ref().map(|u| u.password_hash.as_str())).await {
            Ok(matches) => matches,
            Err(busy) => {
                let keys: Vec<&str> = user_key.as_deref().into_iter().chain([address_key.as_str()]).collect();
                self.throttle.unreserve(&keys).await?;
                return Err(busy.into());
            }
        };
        let user = match user {
            Some(u) if matches && !u.disabled => u,
            _ => return Err(bad()),
        };
        if let Some(key) = &user_key {
            self.throttle.succeeded(key, Some(&address_key)).await?;
        }
        self.audit(&Actor::of(&user), AuditAction::Login, None, None, serde_json::json!({})).await?;
        Ok(LoginOutcome {
            token: self.tokens.issue(&user.tenant, &user.id, user.token_version),
            expires_in: self.tokens.ttl().as_secs(),
            user: AgentView::from(&user),
        })
    }

    /// Resolves a bearer token to its actor: signature and expiry, then the
    /// user must still exist, be enabled and hold the token's version.
    pub async fn authenticate(&self, token: &str) -> Result<Actor, AppError> {
        let claims = self.tokens.verify(token).map_err(|e| match e {
            TokenError::Expired => AppError::Unauthorized("the token has expired; log in again".into()),
            TokenError::Invalid => AppError::Unauthorized("the token is invalid".into()),
        })?;
        let revoked = || AppError::Unauthorized("the token was revoked; log in again".into());
        let tenant = TenantId::parse(&claims.tid).map_err(|_| revoked())?;
        let id = UserId::parse(&claims.sub).map_err(|_| revoked())?;
        let user = self.ports.directory.get_user(&tenant, &id).await?.ok_or_else(revoked)?;
        if user.disabled || user.token_version != claims.tv {
            return Err(revoked());
        }
        Ok(Actor::of(&user))
    }

    /// Returns the actor's own record.
    pub async fn me(&self, actor: &Actor) -> Result<AgentView, AppError> {
        Ok(AgentView::from(&self.load_user(actor, &actor.user_id).await?))
    }

    /// Changes the actor's password after checking the current one (checks
    /// throttled like logins); other sessions' tokens are revoked, their
    /// sockets closed, and a fresh token is returned.
    pub async fn change_own_password(&self, actor: &Actor, current: &str, new: &str) -> Result<String, AppError> {
        let mut user = self.load_user(actor, &actor.user_id).await?;
        // A stolen token must not become a way to guess the password: the check is throttled too.
        let key = LoginThrottle::password_check_key(&actor.tenant, &actor.user_id);
        if let Some(wait) = self.throttle.reserve_key(&key).await? {
            return Err(AppError::TooManyRequests { retry_after_s: wait.as_secs().max(1) });
        }
        let matches = match self.passwords.verify(current, Some(&user.password_hash)).await {
            Ok(matches) => matches,
            Err(busy) => {
                self.throttle.unreserve(&[&key]).await?;
                return Err(busy.into());
            }
        };
        if !matches {
            return Err(AppError::forbidden("the current password is wrong"));
        }
        validate_new_password(new)?;
        user.password_hash = self.passwords.hash(new).await?;
        user.token_version += 1;
        self.ports.directory.update_user(&user).await?;
        self.throttle.succeeded(&key, None).await?;
        self.revoke_sockets(&user, user.token_version).await?;
        self.audit(
            actor,
            AuditAction::AgentPassword,
            None,
            Some(user.id.to_string()),
            serde_json::json!({"self": true}),
        )
        .await?;
        Ok(self.tokens.issue(&user.tenant, &user.id, user.token_version))
    }

    /// Loads a user of the actor's tenant or fails with `NotFound`.
    pub(crate) async fn load_user(&self, actor: &Actor, id: &UserId) -> Result<User, AppError> {
        self.ports.directory.get_user(&actor.tenant, id).await?.ok_or_else(|| AppError::not_found("no such agent"))
    }

    /// Appends one audit entry for the actor.
    pub(crate) async fn audit(
        &self,
        actor: &Actor,
        action: AuditAction,
        account: Option<crate::domain::AccountId>,
        target: Option<String>,
        details: serde_json::Value,
    ) -> Result<(), AppError> {
        let entry = AuditEntry {
            id: AuditId::generate(),
            at: Utc::now(),
            actor_id: Some(actor.user_id.clone()),
            action,
            account_id: account,
            target,
            details,
        };
        self.ports.directory.append_audit(&actor.tenant, &[entry]).await?;
        Ok(())
    }
}
