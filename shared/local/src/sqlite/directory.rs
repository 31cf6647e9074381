//! `Directory` for [`SqliteStore`]: each method moves its arguments onto the
//! blocking pool and runs one body from `users`, `accounts` or `organise`.

use super::{accounts, organise, users, SqliteStore};
use async_trait::async_trait;
use tgdesk_core::domain::{
    Account, AccountHead, AccountId, AccountStatus, AuditEntry, Group, GroupId, Phone, Tag, TagId, Tenant, TenantId,
    User, UserId, Username,
};
use tgdesk_core::ports::{
    AccountPut, AccountQuery, AuditQuery, Directory, Pin, PinTarget, PortError, SessionSave, SessionSaves, UserQuery,
};

#[async_trait]
impl Directory for SqliteStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), PortError> {
        let tenant = tenant.clone();
        self.db.write(move |tx| users::create_tenant(tx, &tenant)).await
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>, PortError> {
        let id = id.clone();
        self.db.read(move |tx| users::get_tenant(tx, &id)).await
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, PortError> {
        self.db.read(users::list_tenants).await
    }

    async fn set_account_status(
        &self,
        tenant: &TenantId,
        id: &AccountId,
        status: AccountStatus,
    ) -> Result<(), PortError> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.db
            .write(move |tx| accounts::set_account_column(tx, &tenant, &id, accounts::AccountColumn::Status(status)))
            .await
    }

    async fn set_account_session(
        &self,
        tenant: &TenantId,
        id: &AccountId,
        session: Option<Vec<u8>>,
        fencing: Option<u64>,
    ) -> Result<(), PortError> {
        let (tenant, id) = (tenant.clone(), id.clone());
        let column = accounts::AccountColumn::Session(session, fencing);
        self.db.write(move |tx| accounts::set_account_column(tx, &tenant, &id, column)).await
    }

    async fn set_account_sessions(
        &self,
        tenant: &TenantId,
        sessions: &[SessionSave],
    ) -> Result<SessionSaves, PortError> {
        let (tenant, sessions) = (tenant.clone(), sessions.to_vec());
        self.db.write(move |tx| accounts::set_account_sessions(tx, &tenant, sessions)).await
    }

    async fn insert_user(&self, user: &User) -> Result<(), PortError> {
        let user = user.clone();
        self.db.write(move |tx| users::insert_user(tx, &user)).await
    }

    async fn update_user(&self, user: &User) -> Result<(), PortError> {
        let user = user.clone();
        self.db.write(move |tx| users::update_user(tx, &user)).await
    }

    async fn get_user(&self, tenant: &TenantId, id: &UserId) -> Result<Option<User>, PortError> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.db.read(move |tx| users::get_user(tx, &tenant, &id)).await
    }

    async fn find_user(&self, tenant: &TenantId, username: &Username) -> Result<Option<User>, PortError> {
        let (tenant, name) = (tenant.clone(), username.clone());
        self.db.read(move |tx| users::find_user(tx, &tenant, &name)).await
    }

    async fn list_users(&self, tenant: &TenantId, query: &UserQuery) -> Result<Vec<User>, PortError> {
        let (tenant, query) = (tenant.clone(), query.clone());
        self.db.read(move |tx| users::list_users(tx, &tenant, &query)).await
    }

    async fn delete_user(&self, tenant: &TenantId, id: &UserId) -> Result<(), PortError> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.db.write(move |tx| users::delete_user(tx, &tenant, &id)).await
    }

    async fn put_accounts(&self, tenant: &TenantId, accounts: &[Account]) -> Result<Vec<AccountPut>, PortError> {
        if accounts.is_empty() {
            return Ok(Vec::new());
        }
        let (tenant, accounts) = (tenant.clone(), accounts.to_vec());
        self.db.write(move |tx| accounts::put_accounts(tx, &tenant, &accounts)).await
    }

    async fn get_account(&self, tenant: &TenantId, id: &AccountId) -> Result<Option<Account>, PortError> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.db.read(move |tx| accounts::get_account(tx, &tenant, &id)).await
    }

    async fn get_account_heads(&self, tenant: &TenantId, ids: &[AccountId]) -> Result<Vec<AccountHead>, PortError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let (tenant, ids) = (tenant.clone(), ids.to_vec());
        self.db.read(move |tx| accounts::get_account_heads(tx, &tenant, &ids)).await
    }

    async fn get_accounts(&self, tenant: &TenantId, ids: &[AccountId]) -> Result<Vec<Account>, PortError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let (tenant, ids) = (tenant.clone(), ids.to_vec());
        self.db.read(move |tx| accounts::get_accounts(tx, &tenant, &ids)).await
    }

    async fn find_accounts_by_phone(&self, tenant: &TenantId, phones: &[Phone]) -> Result<Vec<Account>, PortError> {
        if phones.is_empty() {
            return Ok(Vec::new());
        }
        let (tenant, phones) = (tenant.clone(), phones.to_vec());
        self.db.read(move |tx| accounts::find_by_phone(tx, &tenant, &phones)).await
    }

    async fn runnable_accounts(
        &self,
        tenant: &TenantId,
        after: Option<&AccountId>,
        limit: usize,
    ) -> Result<Vec<AccountId>, PortError> {
        let (tenant, after) = (tenant.clone(), after.cloned());
        self.db.read(move |tx| accounts::runnable_accounts(tx, &tenant, after.as_ref(), limit)).await
    }

    async fn list_accounts(&self, tenant: &TenantId, query: &AccountQuery) -> Result<Vec<Account>, PortError> {
        let (tenant, query) = (tenant.clone(), query.clone());
        self.db.read(move |tx| accounts::list_accounts(tx, &tenant, &query)).await
    }

    async fn delete_account(&self, tenant: &TenantId, id: &AccountId) -> Result<(), PortError> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.db.write(move |tx| accounts::delete_account(tx, &tenant, &id)).await
    }

    async fn put_group(&self, tenant: &TenantId, group: &Group) -> Result<(), PortError> {
        let (tenant, group) = (tenant.clone(), group.clone());
        self.db.write(move |tx| organise::put_group(tx, &tenant, &group)).await
    }

    async fn get_group(&self, tenant: &TenantId, id: &GroupId) -> Result<Option<Group>, PortError> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.db.read(move |tx| organise::get_group(tx, &tenant, &id)).await
    }

    async fn list_groups(&self, tenant: &TenantId, owner: Option<&UserId>) -> Result<Vec<Group>, PortError> {
        let (tenant, owner) = (tenant.clone(), owner.cloned());
        self.db.read(move |tx| organise::list_groups(tx, &tenant, owner.as_ref())).await
    }

    async fn delete_group(&self, tenant: &TenantId, id: &GroupId) -> Result<(), PortError> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.db.write(move |tx| organise::delete_group(tx, &tenant, &id)).await
    }

    async fn put_tag(&self, tenant: &TenantId, tag: &Tag) -> Result<(), PortError> {
        let (tenant, tag) = (tenant.clone(), tag.clone());
        self.db.write(move |tx| organise::put_tag(tx, &tenant, &tag)).await
    }

    async fn list_tags(&self, tenant: &TenantId) -> Result<Vec<Tag>, PortError> {
        let tenant = tenant.clone();
        self.db.read(move |tx| organise::list_tags(tx, &tenant)).await
    }

    async fn delete_tag(&self, tenant: &TenantId, id: &TagId) -> Result<(), PortError> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.db.write(move |tx| organise::delete_tag(tx, &tenant, &id)).await
    }

    async fn set_pin(&self, tenant: &TenantId, pin: &Pin) -> Result<(), PortError> {
        let (tenant, pin) = (tenant.clone(), pin.clone());
        self.db.write(move |tx| organise::set_pin(tx, &tenant, &pin)).await
    }

    async fn remove_pin(&self, tenant: &TenantId, user: &UserId, target: &PinTarget) -> Result<(), PortError> {
        let (tenant, user, target) = (tenant.clone(), user.clone(), target.clone());
        self.db.write(move |tx| organise::remove_pin(tx, &tenant, &user, &target)).await
    }

    async fn list_pins(&self, tenant: &TenantId, user: &UserId) -> Result<Vec<Pin>, PortError> {
        let (tenant, user) = (tenant.clone(), user.clone());
        self.db.read(move |tx| organise::list_pins(tx, &tenant, &user)).await
    }

    async fn append_audit(&self, tenant: &TenantId, entries: &[AuditEntry]) -> Result<(), PortError> {
        if entries.is_empty() {
            return Ok(());
        }
        let (tenant, entries) = (tenant.clone(), entries.to_vec());
        self.db.write(move |tx| organise::append_audit(tx, &tenant, &entries)).await
    }

    async fn list_audit(&self, tenant: &TenantId, query: &AuditQuery) -> Result<Vec<AuditEntry>, PortError> {
        let (tenant, query) = (tenant.clone(), query.clone());
        self.db.read(move |tx| organise::list_audit(tx, &tenant, &query)).await
    }
}
