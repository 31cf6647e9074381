//! Account reads by many ids, by phone, by query and for the fleet. Every
//! `AccountQuery` filter is a filter expression on the partition the scope
//! picks (the tenant's accounts, or `g1` by owner, or `g2` by team), read
//! page after page until the page asked for is full.

use super::accounts::{head, HEAD_ATTRS};
use super::io::Query;
use crate::dynamo::attrs::{parsed, s};
use crate::dynamo::keys;
use crate::dynamo::store::DynamoStore;
use tgdesk_core::domain::{Account, AccountHead, AccountId, Phone, TenantId};
use tgdesk_core::ports::{AccountQuery, DialogScope, PortError};

/// Items DynamoDB evaluates per request of a filtered list.
const FILTERED_PAGE: i32 = 500;

/// Returns the query of the partition that serves `q`, with every filter of
/// `q` on it (the owner filter too when the partition implies it).
fn account_query(tenant: &TenantId, q: &AccountQuery) -> Query {
    let mut query = match &q.scope {
        DialogScope::Tenant if q.owner.is_some() => Query::index("g1", keys::owner_accounts(tenant, q.owner.as_ref())),
        DialogScope::Tenant if q.unowned => Query::index("g1", keys::owner_accounts(tenant, None)),
        DialogScope::Tenant => Query::table(keys::accounts(tenant)),
        DialogScope::Owner(u) => Query::index("g1", keys::owner_accounts(tenant, Some(u))),
        DialogScope::Team(u) => Query::index("g2", keys::team_accounts(tenant, Some(u))),
        DialogScope::Account(id) => {
            let mut query = Query::table(keys::accounts(tenant));
            query.exact = Some(id.as_str().to_owned());
            query
        }
    };
    if let Some(owner) = &q.owner {
        query.filter.eq("own", s(owner.as_str()));
    }
    if q.unowned {
        query.filter.absent("own");
    }
    if let Some(tag) = &q.tag {
        query.filter.contains("tags", tag.as_str());
    }
    if let Some(group) = &q.group {
        query.filter.contains("grps", group.as_str());
    }
    if let Some(status) = q.status {
        query.filter.eq("st", s(status.as_str()));
    }
    if let Some(text) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let expr = &mut query.filter.expr;
        let (phone, lower, needle) = (expr.name("phone"), expr.name("dlow"), expr.value(s(text.to_lowercase())));
        query.filter.clause(format!("(contains({phone}, {needle}) OR contains({lower}, {needle}))"));
    }
    if let Some(after) = &q.after {
        match &q.scope {
            DialogScope::Account(_) => {
                let expr = &mut query.filter.expr;
                let (id, after) = (expr.name("g1sk"), expr.value(s(after.as_str())));
                query.filter.clause(format!("{id} > {after}"));
            }
            _ => query.from = Some(after.as_str().to_owned()),
        }
    }
    query.page =
        if query.filter.is_empty() { i32::try_from(q.limit.clamp(1, 1_000)).unwrap_or(1_000) } else { FILTERED_PAGE };
    query
}

impl DynamoStore {
    /// `get_account_heads`: one batched read of only the head attributes.
    pub(super) async fn account_heads(
        &self,
        tenant: &TenantId,
        ids: &[AccountId],
    ) -> Result<Vec<AccountHead>, PortError> {
        let keys = ids.iter().map(|id| (keys::accounts(tenant), id.as_str().to_owned())).collect();
        self.batch_get(keys, Some(&HEAD_ATTRS)).await?.iter().map(head).collect()
    }

    /// `find_accounts_by_phone`: the phone claims, then their accounts.
    pub(super) async fn accounts_by_phone(
        &self,
        tenant: &TenantId,
        phones: &[Phone],
    ) -> Result<Vec<Account>, PortError> {
        let keys = phones.iter().map(|p| (keys::phones(tenant), p.as_str().to_owned())).collect();
        let ids = self
            .batch_get(keys, None)
            .await?
            .iter()
            .map(|claim| parsed(claim, "account", AccountId::parse))
            .collect::<Result<Vec<_>, _>>()?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // A phone changing hands in between: keep only accounts that still have it.
        let asked: std::collections::HashSet<&str> = phones.iter().map(Phone::as_str).collect();
        Ok(self.account_items(tenant, &ids).await?.into_iter().filter(|a| asked.contains(a.phone.as_str())).collect())
    }

    /// `list_accounts`. The text filter is a `contains` on the phone and on a
    /// lowercase copy of the display name, evaluated on every account of the
    /// scope's partition until the page fills: fine for a desk's scopes, not
    /// for 300,000 accounts searched by text; the scalable path is a text
    /// index through the search port (issue 19). Owner and team scopes read
    /// `g1`/`g2`, which DynamoDB keeps eventually consistent: an account
    /// reassigned a moment ago may still list under its former owner.
    pub(super) async fn account_page(&self, tenant: &TenantId, q: &AccountQuery) -> Result<Vec<Account>, PortError> {
        if q.limit == 0 {
            return Ok(Vec::new());
        }
        let items = self.query(&account_query(tenant, q), q.limit).await?;
        self.with_sessions(tenant, items).await
    }

    /// `runnable_accounts`: the ids on `g3`, in id order.
    pub(super) async fn runnable_ids(
        &self,
        tenant: &TenantId,
        after: Option<&AccountId>,
        limit: usize,
    ) -> Result<Vec<AccountId>, PortError> {
        let mut query = Query::index("g3", keys::runnable(tenant));
        query.from = after.map(|a| a.as_str().to_owned());
        query.page = i32::try_from(limit.clamp(1, 1_000)).unwrap_or(1_000);
        let items = self.query(&query, limit).await?;
        items.iter().map(|i| parsed(i, "sk", AccountId::parse)).collect()
    }
}
