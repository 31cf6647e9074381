//! Tenants: one item each under the [`keys::TENANTS`] partition, so the sort
//! key order is the name order `list_tenants` promises.

use super::io::{key, Expr, Query};
use crate::dynamo::attrs::{doc, get_doc, Item};
use crate::dynamo::keys;
use crate::dynamo::store::DynamoStore;
use tgdesk_core::domain::{Tenant, TenantId};
use tgdesk_core::ports::PortError;

fn item(tenant: &Tenant) -> Result<Item, PortError> {
    let mut item = key(keys::TENANTS, tenant.id.as_str());
    item.insert("doc".into(), doc(tenant)?);
    Ok(item)
}

impl DynamoStore {
    /// `create_tenant`: a put on condition that the name is free.
    pub(super) async fn create_tenant_item(&self, tenant: &Tenant) -> Result<(), PortError> {
        self.put_if(item(tenant)?, "attribute_not_exists(pk)", Expr::default())
            .await
            .map_err(|e| super::conflict(e, format!("tenant {} exists", tenant.id)))
    }

    /// `get_tenant`.
    pub(super) async fn tenant_item(&self, id: &TenantId) -> Result<Option<Tenant>, PortError> {
        let found = self.get(keys::TENANTS.to_owned(), id.as_str().to_owned()).await?;
        found.map(|i| get_doc(&i, "doc")).transpose()
    }

    /// `list_tenants`: the partition in sort key (name) order.
    pub(super) async fn tenant_items(&self) -> Result<Vec<Tenant>, PortError> {
        let items = self.query(&Query::table(keys::TENANTS.to_owned()), usize::MAX).await?;
        items.iter().map(|i| get_doc(i, "doc")).collect()
    }
}
