//! `Directory` for [`DynamoStore`]: tenants, users, accounts, groups, tags,
//! pins and the audit log as items of the `main` table (kinds, keys and
//! indexes: `shared/aws/DESIGN.md`). Each method here is one call into the
//! module that holds the items' codec and requests.

mod account_queries;
mod accounts;
mod audit;
mod fleet;
mod inbox_rosters;
mod io;
mod jobs;
mod organise;
mod pins;
mod tenants;
mod tx;
mod users;

use super::DynamoStore;
use async_trait::async_trait;
use tgdesk_core::domain::{
    Account, AccountHead, AccountId, AccountStatus, AuditEntry, Group, GroupId, Phone, Tag, TagId, Tenant, TenantId,
    User, UserId, Username,
};
use tgdesk_core::domain::{Job, JobId};
use tgdesk_core::ports::{
    AccountPut, AccountQuery, AuditQuery, Directory, Jobs, Pin, PinTarget, PortError, PortErrorKind, SessionSave,
    SessionSaves, UserQuery,
};

/// Gives a `Conflict` the message the caller can act on; other errors pass.
fn conflict(e: PortError, message: String) -> PortError {
    match e.kind {
        PortErrorKind::Conflict => PortError { message, ..e },
        _ => e,
    }
}

#[async_trait]
impl Directory for DynamoStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), PortError> {
        self.create_tenant_item(tenant).await
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, PortError> {
        self.tenant_item(id).await
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, PortError> {
        self.tenant_items().await
    }

    async fn insert_user(&self, user: &User) -> Result<(), PortError> {
        self.insert_user_item(user).await
    }

    async fn update_user(&self, user: &User) -> Result<(), PortError> {
        self.update_user_item(user).await
    }

    async fn get_user(&self, tenant: &TenantId, id: &UserId) -> Result<Option<User>, PortError> {
        self.user_item(tenant, id).await
    }

    async fn find_user(&self, tenant: &TenantId, username: &Username) -> Result<Option<User>, PortError> {
        self.user_by_name(tenant, username).await
    }

    async fn list_users(&self, tenant: &TenantId, query: &UserQuery) -> Result<Vec<User>, PortError> {
        self.user_page(tenant, query).await
    }

    async fn delete_user(&self, tenant: &TenantId, id: &UserId) -> Result<(), PortError> {
        self.delete_user_item(tenant, id).await
    }

    async fn put_accounts(&self, tenant: &TenantId, accounts: &[Account]) -> Result<Vec<AccountPut>, PortError> {
        if accounts.is_empty() {
            return Ok(Vec::new());
        }
        self.put_account_items(tenant, accounts).await
    }

    async fn set_account_status(
        &self,
        tenant: &TenantId,
        id: &AccountId,
        status: AccountStatus,
    ) -> Result<(), PortError> {
        self.set_status(tenant, id, status).await
    }

    async fn set_account_session(
        &self,
        tenant: &TenantId,
        id: &AccountId,
        session: Option<Vec<u8>>,
        fencing: Option<u64>,
    ) -> Result<(), PortError> {
        self.set_session(tenant, id, session.as_deref(), fencing).await
    }

    async fn set_account_sessions(
        &self,
        tenant: &TenantId,
        sessions: &[SessionSave],
    ) -> Result<SessionSaves, PortError> {
        if sessions.is_empty() {
            return Ok(SessionSaves::default());
        }
        self.set_sessions(tenant, sessions).await
    }

    async fn get_account(&self, tenant: &TenantId, id: &AccountId) -> Result<Option<Account>, PortError> {
        self.account_item(tenant, id).await
    }

    async fn get_accounts(&self, tenant: &TenantId, ids: &[AccountId]) -> Result<Vec<Account>, PortError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.account_items(tenant, ids).await
    }

    async fn get_account_heads(&self, tenant: &TenantId, ids: &[AccountId]) -> Result<Vec<AccountHead>, PortError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.account_heads(tenant, ids).await
    }

    async fn find_accounts_by_phone(&self, tenant: &TenantId, phones: &[Phone]) -> Result<Vec<Account>, PortError> {
        if phones.is_empty() {
            return Ok(Vec::new());
        }
        self.accounts_by_phone(tenant, phones).await
    }

    async fn list_accounts(&self, tenant: &TenantId, query: &AccountQuery) -> Result<Vec<Account>, PortError> {
        self.account_page(tenant, query).await
    }

    async fn runnable_accounts(
        &self,
        tenant: &TenantId,
        after: Option<&AccountId>,
        limit: usize,
    ) -> Result<Vec<AccountId>, PortError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.runnable_ids(tenant, after, limit).await
    }

    async fn delete_account(&self, tenant: &TenantId, id: &AccountId) -> Result<(), PortError> {
        self.delete_account_item(tenant, id).await
    }

    async fn put_group(&self, tenant: &TenantId, group: &Group) -> Result<(), PortError> {
        self.put_group_item(tenant, group).await
    }

    async fn get_group(&self, tenant: &TenantId, id: &GroupId) -> Result<Option<Group>, PortError> {
        self.group_item(tenant, id).await
    }

    async fn list_groups(&self, tenant: &TenantId, owner: Option<&UserId>) -> Result<Vec<Group>, PortError> {
        self.group_items(tenant, owner).await
    }

    async fn delete_group(&self, tenant: &TenantId, id: &GroupId) -> Result<(), PortError> {
        self.delete_group_item(tenant, id).await
    }

    async fn put_tag(&self, tenant: &TenantId, tag: &Tag) -> Result<(), PortError> {
        self.put_tag_item(tenant, tag).await
    }

    async fn list_tags(&self, tenant: &TenantId) -> Result<Vec<Tag>, PortError> {
        self.tag_items(tenant).await
    }

    async fn delete_tag(&self, tenant: &TenantId, id: &TagId) -> Result<(), PortError> {
        self.delete_tag_item(tenant, id).await
    }

    async fn set_pin(&self, tenant: &TenantId, pin: &Pin) -> Result<(), PortError> {
        self.set_pin_item(tenant, pin).await
    }

    async fn remove_pin(&self, tenant: &TenantId, user: &UserId, target: &PinTarget) -> Result<(), PortError> {
        self.remove_pin_item(tenant, user, target).await
    }

    async fn list_pins(&self, tenant: &TenantId, user: &UserId) -> Result<Vec<Pin>, PortError> {
        self.pin_items(tenant, user).await
    }

    async fn append_audit(&self, tenant: &TenantId, entries: &[AuditEntry]) -> Result<(), PortError> {
        self.append_audit_items(tenant, entries).await
    }

    async fn list_audit(&self, tenant: &TenantId, query: &AuditQuery) -> Result<Vec<AuditEntry>, PortError> {
        self.audit_page(tenant, query).await
    }
}

#[async_trait]
impl Jobs for DynamoStore {
    async fn insert_job(&self, job: &Job) -> Result<(), PortError> {
        self.insert_job_item(job).await
    }

    async fn update_job(&self, job: &Job) -> Result<(), PortError> {
        self.update_job_item(job).await
    }

    async fn get_job(&self, tenant: &TenantId, id: &JobId) -> Result<Option<Job>, PortError> {
        self.job_item(tenant, id).await
    }

    async fn list_jobs(
        &self,
        tenant: &TenantId,
        started_by: Option<&UserId>,
        before: Option<&JobId>,
        limit: usize,
    ) -> Result<Vec<Job>, PortError> {
        self.job_items(tenant, started_by, before, limit).await
    }
}
