//! Users, mapped attribute by attribute (`User` is no serde type), and their
//! username claims: an insert or rename writes the user and the claim in one
//! transaction, the claim only if no one holds it.

use super::io::{key, Expr, Query};
use super::tx::Tx;
use crate::dynamo::attrs::{get_bool, get_n, get_s, get_time, n, opt_parsed, parsed, s, time, Item};
use crate::dynamo::keys;
use crate::dynamo::store::DynamoStore;
use aws_sdk_dynamodb::types::AttributeValue;
use tgdesk_core::domain::{Role, TenantId, User, UserId, Username};
use tgdesk_core::ports::{PortError, PortErrorKind, UserQuery};

fn item(user: &User) -> Item {
    let mut item = key(keys::users(&user.tenant), user.id.as_str());
    item.insert("username".into(), s(user.username.as_str()));
    item.insert("dname".into(), s(&user.display_name));
    item.insert("role".into(), s(user.role.as_str()));
    if let Some(leader) = &user.leader_id {
        item.insert("leader".into(), s(leader.as_str()));
    }
    item.insert("disabled".into(), AttributeValue::Bool(user.disabled));
    item.insert("pwhash".into(), s(&user.password_hash));
    item.insert("tokv".into(), n(user.token_version));
    item.insert("created".into(), time(user.created_at));
    item
}

fn user(tenant: &TenantId, item: &Item) -> Result<User, PortError> {
    Ok(User {
        id: parsed(item, "sk", UserId::parse)?,
        tenant: tenant.clone(),
        username: parsed(item, "username", Username::parse)?,
        display_name: get_s(item, "dname")?.to_owned(),
        role: parsed(item, "role", Role::parse)?,
        leader_id: opt_parsed(item, "leader", UserId::parse)?,
        disabled: get_bool(item, "disabled"),
        password_hash: get_s(item, "pwhash")?.to_owned(),
        token_version: get_n(item, "tokv")?,
        created_at: get_time(item, "created")?,
    })
}

/// The username claim of `user`.
fn claim(user: &User) -> Item {
    let mut item = key(keys::usernames(&user.tenant), user.username.as_str());
    item.insert("user".into(), s(user.id.as_str()));
    item
}

/// The condition that the claim at hand is held by `id` or by no one (a
/// claim lost to a failure midway must not block a rename or a delete).
fn held_by(id: &UserId) -> (String, Expr) {
    let mut expr = Expr::default();
    let c = format!("attribute_not_exists(pk) OR {} = {}", expr.name("user"), expr.value(s(id.as_str())));
    (c, expr)
}

impl DynamoStore {
    /// `insert_user`: the user and its username claim in one transaction, both new.
    pub(super) async fn insert_user_item(&self, u: &User) -> Result<(), PortError> {
        let mut tx = Tx::new(&self.tables().await?.main);
        tx.put(item(u), Some(("attribute_not_exists(pk)", Expr::default())))?;
        tx.put(claim(u), Some(("attribute_not_exists(pk)", Expr::default())))?;
        self.transact("insert user", tx)
            .await
            .map_err(|e| super::conflict(e, format!("user {} or username {} exists", u.id, u.username)))
    }

    /// `update_user`: the user on condition its username is the one read, moving
    /// the claim in the same transaction when the username changes.
    pub(super) async fn update_user_item(&self, u: &User) -> Result<(), PortError> {
        let old = self
            .user_item(&u.tenant, &u.id)
            .await?
            .ok_or_else(|| PortError::not_found(format!("user {} not found", u.id)))?;
        let mut tx = Tx::new(&self.tables().await?.main);
        // Unchanged since read: a concurrent rename must not leave two claims.
        let mut expr = Expr::default();
        let unchanged = format!("{} = {}", expr.name("username"), expr.value(s(old.username.as_str())));
        tx.put(item(u), Some((&unchanged, expr)))?;
        if old.username != u.username {
            let (c, expr) = held_by(&u.id);
            tx.delete(key(keys::usernames(&u.tenant), old.username.as_str()), Some((&c, expr)))?;
            tx.put(claim(u), Some(("attribute_not_exists(pk)", Expr::default())))?;
        }
        self.transact("update user", tx)
            .await
            .map_err(|e| super::conflict(e, format!("username {} is taken or the user changed", u.username)))
    }

    /// `get_user`.
    pub(super) async fn user_item(&self, tenant: &TenantId, id: &UserId) -> Result<Option<User>, PortError> {
        let found = self.get(keys::users(tenant), id.as_str().to_owned()).await?;
        found.map(|i| user(tenant, &i)).transpose()
    }

    /// `find_user`: the claim, then the user it names.
    pub(super) async fn user_by_name(&self, tenant: &TenantId, name: &Username) -> Result<Option<User>, PortError> {
        let Some(claim) = self.get(keys::usernames(tenant), name.as_str().to_owned()).await? else {
            // As many reads for an unknown name as for a known one, so a
            // failed login's timing does not tell whether the user exists.
            let nobody =
                UserId::parse("usr_nobody").map_err(|e| PortError::new(PortErrorKind::Internal, e.to_string()))?;
            self.user_item(tenant, &nobody).await?;
            return Ok(None);
        };
        let id = parsed(&claim, "user", UserId::parse)?;
        // A rename in flight may leave the claim a moment ahead of the user.
        Ok(self.user_item(tenant, &id).await?.filter(|u| &u.username == name))
    }

    /// `list_users`: by id, through the filters until the page is full.
    pub(super) async fn user_page(&self, tenant: &TenantId, q: &UserQuery) -> Result<Vec<User>, PortError> {
        let mut query = Query::table(keys::users(tenant));
        query.from = q.after.as_ref().map(|a| a.as_str().to_owned());
        if let Some(leader) = &q.leader_id {
            query.filter.eq("leader", s(leader.as_str()));
        }
        if let Some(role) = q.role {
            query.filter.eq("role", s(role.as_str()));
        }
        let items = self.query(&query, q.limit).await?;
        items.iter().map(|i| user(tenant, i)).collect()
    }

    /// `delete_user`: pins and groups first, then the user and its claim.
    pub(super) async fn delete_user_item(&self, tenant: &TenantId, id: &UserId) -> Result<(), PortError> {
        let old =
            self.user_item(tenant, id).await?.ok_or_else(|| PortError::not_found(format!("user {id} not found")))?;
        // The cascade first: a failure leaves the user there to delete again.
        self.delete_pins_of_user(tenant, id).await?;
        for group in self.group_items(tenant, Some(id)).await? {
            self.delete_group_item(tenant, &group.id).await?;
        }
        let mut tx = Tx::new(&self.tables().await?.main);
        tx.delete(key(keys::users(tenant), id.as_str()), Some(("attribute_exists(pk)", Expr::default())))?;
        let (c, expr) = held_by(id);
        tx.delete(key(keys::usernames(tenant), old.username.as_str()), Some((&c, expr)))?;
        self.transact("delete user", tx).await.map_err(|e| match e.kind {
            tgdesk_core::ports::PortErrorKind::Conflict => PortError::not_found(format!("user {id} not found")),
            _ => e,
        })
    }
}
