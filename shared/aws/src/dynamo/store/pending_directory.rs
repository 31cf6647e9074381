//! TEMPORARY: the `Directory` half is written on another branch; this stands
//! in for it (accounts only) so the message side's cases run. Replaced at merge.

use super::io;
use super::DynamoStore;
use crate::dynamo::attrs::{get_s, s, Item};
use crate::dynamo::keys::part;
use async_trait::async_trait;
use tgdesk_core::domain::*;
use tgdesk_core::ports::*;

fn pending() -> PortError {
    PortError::new(PortErrorKind::Internal, "pending")
}

fn slot(u: &Option<UserId>) -> String {
    u.as_ref().map_or("-".to_owned(), |u| u.as_str().to_owned())
}

fn user(raw: &str) -> Option<UserId> {
    (raw != "-").then(|| UserId::parse(raw).ok()).flatten()
}

#[async_trait]
impl Directory for DynamoStore {
    async fn create_tenant(&self, _: &Tenant) -> Result<(), PortError> {
        Err(pending())
    }
    async fn get_tenant(&self, _: &TenantId) -> Result<Option<Tenant>, PortError> {
        Err(pending())
    }
    async fn list_tenants(&self) -> Result<Vec<Tenant>, PortError> {
        Err(pending())
    }
    async fn insert_user(&self, _: &User) -> Result<(), PortError> {
        Err(pending())
    }
    async fn update_user(&self, _: &User) -> Result<(), PortError> {
        Err(pending())
    }
    async fn get_user(&self, _: &TenantId, _: &UserId) -> Result<Option<User>, PortError> {
        Err(pending())
    }
    async fn find_user(&self, _: &TenantId, _: &Username) -> Result<Option<User>, PortError> {
        Err(pending())
    }
    async fn list_users(&self, _: &TenantId, _: &UserQuery) -> Result<Vec<User>, PortError> {
        Err(pending())
    }
    async fn delete_user(&self, _: &TenantId, _: &UserId) -> Result<(), PortError> {
        Err(pending())
    }
    async fn put_accounts(&self, tenant: &TenantId, accounts: &[Account]) -> Result<(), PortError> {
        let main = self.tables().await?.main.clone();
        let mut items = Vec::new();
        for a in accounts {
            let mut item: Item =
                [("pk".to_owned(), s(part(tenant, "ACC"))), ("sk".to_owned(), s(a.id.as_str()))].into();
            item.insert("phone".into(), s(a.phone.as_str()));
            item.insert("owner".into(), s(slot(&a.owner_id)));
            item.insert("team".into(), s(slot(&a.team_id)));
            items.push(item);
            self.retarget_dialogs(tenant, &a.id, a.owner_id.as_ref(), a.team_id.as_ref()).await?;
        }
        io::batch_write(&self.client, &main, items, Vec::new()).await
    }
    async fn set_account_status(&self, _: &TenantId, _: &AccountId, _: AccountStatus) -> Result<(), PortError> {
        Err(pending())
    }
    async fn set_account_session(&self, _: &TenantId, _: &AccountId, _: Option<Vec<u8>>) -> Result<(), PortError> {
        Err(pending())
    }
    async fn get_account(&self, _: &TenantId, _: &AccountId) -> Result<Option<Account>, PortError> {
        Err(pending())
    }
    async fn get_accounts(&self, _: &TenantId, _: &[AccountId]) -> Result<Vec<Account>, PortError> {
        Err(pending())
    }
    async fn get_account_heads(&self, tenant: &TenantId, ids: &[AccountId]) -> Result<Vec<AccountHead>, PortError> {
        let main = self.tables().await?.main.clone();
        let keys = ids
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|id| [("pk".to_owned(), s(part(tenant, "ACC"))), ("sk".to_owned(), s(id.as_str()))].into())
            .collect();
        let items = io::batch_get(&self.client, &main, keys).await?;
        items
            .iter()
            .map(|i| {
                Ok(AccountHead {
                    id: AccountId::parse(get_s(i, "sk")?).map_err(|_| pending())?,
                    phone: Phone::parse(get_s(i, "phone")?).map_err(|_| pending())?,
                    display_name: None,
                    owner_id: user(get_s(i, "owner")?),
                    team_id: user(get_s(i, "team")?),
                })
            })
            .collect()
    }
    async fn find_accounts_by_phone(&self, _: &TenantId, _: &[Phone]) -> Result<Vec<Account>, PortError> {
        Err(pending())
    }
    async fn list_accounts(&self, _: &TenantId, _: &AccountQuery) -> Result<Vec<Account>, PortError> {
        Err(pending())
    }
    async fn runnable_accounts(
        &self,
        _: &TenantId,
        _: Option<&AccountId>,
        _: usize,
    ) -> Result<Vec<AccountId>, PortError> {
        Err(pending())
    }
    async fn delete_account(&self, _: &TenantId, _: &AccountId) -> Result<(), PortError> {
        Err(pending())
    }
    async fn put_group(&self, _: &TenantId, _: &Group) -> Result<(), PortError> {
        Err(pending())
    }
    async fn get_group(&self, _: &TenantId, _: &GroupId) -> Result<Option<Group>, PortError> {
        Err(pending())
    }
    async fn list_groups(&self, _: &TenantId, _: Option<&UserId>) -> Result<Vec<Group>, PortError> {
        Err(pending())
    }
    async fn delete_group(&self, _: &TenantId, _: &GroupId) -> Result<(), PortError> {
        Err(pending())
    }
    async fn put_tag(&self, _: &TenantId, _: &Tag) -> Result<(), PortError> {
        Err(pending())
    }
    async fn list_tags(&self, _: &TenantId) -> Result<Vec<Tag>, PortError> {
        Err(pending())
    }
    async fn delete_tag(&self, _: &TenantId, _: &TagId) -> Result<(), PortError> {
        Err(pending())
    }
    async fn set_pin(&self, _: &TenantId, _: &Pin) -> Result<(), PortError> {
        Err(pending())
    }
    async fn remove_pin(&self, _: &TenantId, _: &UserId, _: &PinTarget) -> Result<(), PortError> {
        Err(pending())
    }
    async fn list_pins(&self, _: &TenantId, _: &UserId) -> Result<Vec<Pin>, PortError> {
        Err(pending())
    }
    async fn append_audit(&self, _: &TenantId, _: &[AuditEntry]) -> Result<(), PortError> {
        Err(pending())
    }
    async fn list_audit(&self, _: &TenantId, _: &AuditQuery) -> Result<Vec<AuditEntry>, PortError> {
        Err(pending())
    }
}
