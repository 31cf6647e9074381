//! Groups and tags: each a JSON document item with a name claim (a group's
//! name is unique per owner, a tag's per tenant, both without ASCII case)
//! written in the same transaction. Deleting one takes it out of every
//! account first, then deletes the record, so a failure midway can be redone.

use super::io::{key, Expr, Query};
use super::tx::Tx;
use crate::dynamo::attrs::{doc, get_doc, s, Item};
use crate::dynamo::keys;
use crate::dynamo::store::DynamoStore;
use aws_sdk_dynamodb::types::AttributeValue;
use tgdesk_core::domain::{Group, GroupId, Tag, TagId, TenantId, UserId};
use tgdesk_core::ports::{PortError, PortErrorKind};

/// A record with a unique name: where it and its claim live.
struct Named<'a> {
    record: (String, &'a str),
    claim: (String, String),
    /// The claim's attribute naming the record.
    holder: &'static str,
}

impl Named<'_> {
    /// The condition that the claim is held by this record or by no one (a
    /// claim lost to a failure midway must not block a rename or a delete).
    fn held(&self) -> (String, Expr) {
        let mut expr = Expr::default();
        let held = format!("{} = {}", expr.name(self.holder), expr.value(s(self.record.1)));
        (format!("attribute_not_exists(pk) OR {held}"), expr)
    }
}

fn group_named<'a>(tenant: &TenantId, g: &'a Group) -> Named<'a> {
    Named {
        record: (keys::groups(tenant), g.id.as_str()),
        claim: (keys::group_names(tenant), keys::group_name(&g.owner_id, &g.name)),
        holder: "group",
    }
}

fn tag_named<'a>(tenant: &TenantId, t: &'a Tag) -> Named<'a> {
    Named {
        record: (keys::tags(tenant), t.id.as_str()),
        claim: (keys::tag_names(tenant), keys::tag_name(&t.name)),
        holder: "tag",
    }
}

impl DynamoStore {
    /// Puts `record` (a document, plus `extra` attributes) with its name
    /// claim, releasing the claim of its previous name `old`.
    async fn put_named(
        &self,
        what: &str,
        new: &Named<'_>,
        old: Option<&Named<'_>>,
        mut item: Item,
    ) -> Result<(), PortError> {
        let mut tx = Tx::new(&self.tables().await?.main);
        item.extend(key(new.record.0.clone(), new.record.1));
        tx.put(item, None)?;
        let mut claim = key(new.claim.0.clone(), new.claim.1.clone());
        claim.insert(new.holder.into(), s(new.record.1));
        let (c, expr) = new.held();
        tx.put(claim, Some((&c, expr)))?;
        if let Some(old) = old.filter(|o| o.claim != new.claim) {
            let (c, expr) = old.held();
            tx.delete(key(old.claim.0.clone(), old.claim.1.clone()), Some((&c, expr)))?;
        }
        self.transact(what, tx).await.map_err(|e| super::conflict(e, format!("{what}: the name is taken")))
    }

    /// Deletes a record and its claim; `NotFound` when it went meanwhile.
    async fn delete_named(&self, what: &str, named: &Named<'_>) -> Result<(), PortError> {
        let mut tx = Tx::new(&self.tables().await?.main);
        tx.delete(key(named.record.0.clone(), named.record.1), Some(("attribute_exists(pk)", Expr::default())))?;
        let (c, expr) = named.held();
        tx.delete(key(named.claim.0.clone(), named.claim.1.clone()), Some((&c, expr)))?;
        self.transact(what, tx).await.map_err(|e| match e.kind {
            PortErrorKind::Conflict => PortError::not_found(format!("{what}: {} not found", named.record.1)),
            _ => e,
        })
    }

    /// Takes `member` out of set attribute `attr` of every account holding it.
    /// Reads the tenant's accounts through a filter: a cascade, rare, and
    /// due to become a job (issue 19).
    async fn remove_from_accounts(&self, tenant: &TenantId, attr: &str, member: &str) -> Result<(), PortError> {
        let mut query = Query::table(keys::accounts(tenant));
        query.filter.contains(attr, member);
        for account in self.query(&query, usize::MAX).await? {
            let sk = crate::dynamo::attrs::get_s(&account, "sk")?;
            let mut expr = Expr::default();
            let update =
                format!("DELETE {} {}", expr.name(attr), expr.value(AttributeValue::Ss(vec![member.to_owned()])));
            match self.update(key(keys::accounts(tenant), sk), &update, Some("attribute_exists(pk)"), expr).await {
                // The account was deleted meanwhile: nothing holds the member any more.
                Err(e) if e.kind == PortErrorKind::Conflict => {}
                other => other?,
            }
        }
        Ok(())
    }

    /// `put_group`: the group with its name claim, releasing its old name.
    pub(super) async fn put_group_item(&self, tenant: &TenantId, g: &Group) -> Result<(), PortError> {
        let old = self.group_item(tenant, &g.id).await?;
        let mut item = Item::new();
        item.insert("doc".into(), doc(g)?);
        item.insert("owner".into(), s(g.owner_id.as_str()));
        self.put_named(
            "put group",
            &group_named(tenant, g),
            old.as_ref().map(|o| group_named(tenant, o)).as_ref(),
            item,
        )
        .await
    }

    /// `get_group`.
    pub(super) async fn group_item(&self, tenant: &TenantId, id: &GroupId) -> Result<Option<Group>, PortError> {
        let found = self.get(keys::groups(tenant), id.as_str().to_owned()).await?;
        found.map(|i| get_doc(&i, "doc")).transpose()
    }

    /// The groups of `owner` (or all), by name then id. The tenant's groups
    /// partition is read with a filter (strongly consistent, unlike an index).
    pub(super) async fn group_items(&self, tenant: &TenantId, owner: Option<&UserId>) -> Result<Vec<Group>, PortError> {
        let mut query = Query::table(keys::groups(tenant));
        if let Some(owner) = owner {
            query.filter.eq("owner", s(owner.as_str()));
        }
        let mut groups: Vec<Group> =
            self.query(&query, usize::MAX).await?.iter().map(|i| get_doc(i, "doc")).collect::<Result<_, _>>()?;
        groups.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        Ok(groups)
    }

    /// `delete_group`: out of every account first, then the group and its claim.
    pub(super) async fn delete_group_item(&self, tenant: &TenantId, id: &GroupId) -> Result<(), PortError> {
        let group =
            self.group_item(tenant, id).await?.ok_or_else(|| PortError::not_found(format!("group {id} not found")))?;
        self.remove_from_accounts(tenant, "grps", id.as_str()).await?;
        self.delete_named("delete group", &group_named(tenant, &group)).await
    }

    /// `put_tag`: the tag with its name claim, releasing its old name.
    pub(super) async fn put_tag_item(&self, tenant: &TenantId, t: &Tag) -> Result<(), PortError> {
        let old = self.tag_item(tenant, &t.id).await?;
        let mut item = Item::new();
        item.insert("doc".into(), doc(t)?);
        self.put_named("put tag", &tag_named(tenant, t), old.as_ref().map(|o| tag_named(tenant, o)).as_ref(), item)
            .await
    }

    async fn tag_item(&self, tenant: &TenantId, id: &TagId) -> Result<Option<Tag>, PortError> {
        let found = self.get(keys::tags(tenant), id.as_str().to_owned()).await?;
        found.map(|i| get_doc(&i, "doc")).transpose()
    }

    /// `list_tags`: by name, then id.
    pub(super) async fn tag_items(&self, tenant: &TenantId) -> Result<Vec<Tag>, PortError> {
        let items = self.query(&Query::table(keys::tags(tenant)), usize::MAX).await?;
        let mut tags: Vec<Tag> = items.iter().map(|i| get_doc(i, "doc")).collect::<Result<_, _>>()?;
        tags.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        Ok(tags)
    }

    /// `delete_tag`: off every account and message first, then the tag and its claim.
    pub(super) async fn delete_tag_item(&self, tenant: &TenantId, id: &TagId) -> Result<(), PortError> {
        let tag =
            self.tag_item(tenant, id).await?.ok_or_else(|| PortError::not_found(format!("tag {id} not found")))?;
        self.remove_from_accounts(tenant, "tags", id.as_str()).await?;
        self.remove_tag_from_messages(tenant, id).await?;
        self.delete_named("delete tag", &tag_named(tenant, &tag)).await
    }
}
