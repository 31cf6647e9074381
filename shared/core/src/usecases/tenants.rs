//! Tenants, created by the operator (CLI or operator API) with a first admin.

use super::{AgentView, AppError, Desk};
use crate::auth::validate_new_password;
use crate::domain::{AuditAction, AuditEntry, AuditId, Role, Tenant, TenantId, User, UserId, Username};
use crate::ports::PortErrorKind;
use chrono::Utc;

impl Desk {
    /// Creates a tenant and its first admin. `Conflict` when the tenant exists.
    pub async fn create_tenant(
        &self,
        name: &str,
        admin_username: &str,
        admin_password: &str,
    ) -> Result<AgentView, AppError> {
        let id = TenantId::parse(name)?;
        let username = Username::parse(admin_username)?;
        validate_new_password(admin_password)?;
        let password_hash = self.passwords.hash(admin_password).await?;
        let now = Utc::now();
        self.ports.directory.create_tenant(&Tenant { id: id.clone(), created_at: now }).await.map_err(|e| {
            if e.kind == PortErrorKind::Conflict {
                AppError::Conflict(format!("tenant {id} already exists"))
            } else {
                e.into()
            }
        })?;
        let admin = User {
            id: UserId::generate(),
            tenant: id.clone(),
            display_name: username.to_string(),
            username,
            role: Role::Admin,
            leader_id: None,
            disabled: false,
            password_hash,
            token_version: 0,
            created_at: now,
        };
        self.ports.directory.insert_user(&admin).await?;
        let entry = AuditEntry {
            id: AuditId::generate(),
            at: now,
            actor_id: None,
            action: AuditAction::TenantCreate,
            account_id: None,
            target: Some(admin.id.to_string()),
            details: serde_json::json!({"tenant": id.as_str(), "admin": admin.username.as_str()}),
        };
        self.ports.directory.append_audit(&id, &[entry]).await?;
        Ok(AgentView::from(&admin))
    }

    /// Creates the tenant unless it exists; returns true when it was created.
    pub async fn ensure_tenant(
        &self,
        name: &str,
        admin_username: &str,
        admin_password: &str,
    ) -> Result<bool, AppError> {
        let id = TenantId::parse(name)?;
        if self.ports.directory.get_tenant(&id).await?.is_some() {
            return Ok(false);
        }
        self.create_tenant(name, admin_username, admin_password).await.map(|_| true)
    }
}
