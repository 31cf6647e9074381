//! Searching messages: the query is checked and confined here, in the use
//! case, to the accounts the caller may see *now* (an account reassigned
//! away drops out of the caller's results at once), then asked of the index.

use super::{cursor, Actor, AppError, Desk, TagRef};
use crate::domain::{AccountId, Role, TagId};
use crate::ports::{AccountQuery, SearchHit, SearchOrder, SearchQuery, SearchText, MAX_QUERY_ACCOUNTS, MAX_QUERY_TAGS};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Largest page of hits.
pub const MAX_SEARCH_PAGE: usize = 100;
/// Page size when the client names none.
pub const DEFAULT_SEARCH_PAGE: usize = 20;

/// What a client asks for.
#[derive(Clone, Debug, Default)]
pub struct SearchRequest {
    /// Words, `"phrases"` and `-excluded` words.
    pub q: Option<String>,
    /// Tags every hit must carry.
    pub tags: Vec<TagId>,
    /// Only this account (which the caller must see).
    pub account: Option<AccountId>,
    /// Only this dialog.
    pub peer: Option<i64>,
    /// Only messages from this sender.
    pub sender: Option<i64>,
    /// Only messages at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only messages before this time.
    pub to: Option<DateTime<Utc>>,
    /// Newest first (default) or best match first.
    pub order: SearchOrder,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size (1..=100, default 20).
    pub limit: Option<usize>,
}

/// One hit as clients see it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SearchHitView {
    /// The message's account.
    pub account_id: AccountId,
    /// The account's display name or phone.
    pub account_label: String,
    /// The message's dialog.
    pub peer: i64,
    /// The dialog's title, when the dialog is still stored.
    pub dialog_title: Option<String>,
    /// The message id.
    pub id: i64,
    /// When it was sent.
    pub date: DateTime<Utc>,
    /// Marked id of the sender, when known.
    pub sender_id: Option<i64>,
    /// Sender's display name, when known.
    pub sender_name: Option<String>,
    /// True when the account itself sent it.
    pub outgoing: bool,
    /// True once deleted on Telegram.
    pub deleted: bool,
    /// The message's tags (those still in the tenant's dictionary).
    pub tags: Vec<TagRef>,
    /// The best passage, matched words marked.
    pub snippet: Vec<crate::ports::Fragment>,
    /// Relevance (higher is better).
    pub score: f32,
}

/// One page of hits.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SearchResults {
    /// Hits in the order asked for.
    pub items: Vec<SearchHitView>,
    /// Cursor of the next page, absent on the last.
    pub next_cursor: Option<String>,
}

/// Where a page stopped, bound to the order it was asked in.
#[derive(Serialize, Deserialize)]
struct SearchPos {
    order: SearchOrder,
    after: String,
}

impl Desk {
    /// Searches the messages of the accounts the actor may see.
    pub async fn search(&self, actor: &Actor, req: SearchRequest) -> Result<SearchResults, AppError> {
        let text = SearchText::parse(req.q.as_deref().unwrap_or("")).map_err(AppError::invalid)?;
        if text.is_empty() && req.tags.is_empty() {
            return Err(AppError::invalid("name words (q) or tags to search for"));
        }
        if req.tags.len() > MAX_QUERY_TAGS {
            return Err(AppError::invalid(format!("at most {MAX_QUERY_TAGS} tags per search")));
        }
        if let (Some(from), Some(to)) = (req.from, req.to) {
            if from >= to {
                return Err(AppError::invalid("from must be before to"));
            }
        }
        let tags = self.ports.directory.list_tags(&actor.tenant).await?;
        let names: HashMap<TagId, String> = tags.into_iter().map(|t| (t.id, t.name)).collect();
        if let Some(bad) = req.tags.iter().find(|t| !names.contains_key(*t)) {
            return Err(AppError::invalid(format!("tag {bad} does not exist")));
        }
        let after = match req.cursor.as_deref() {
            Some(raw) => {
                let pos: SearchPos = cursor::decode(&actor.tenant, raw)?;
                if pos.order != req.order {
                    return Err(AppError::invalid("cursor belongs to a search in another order"));
                }
                Some(pos.after)
            }
            None => None,
        };
        let accounts = self.searchable_accounts(actor, req.account.as_ref()).await?;
        let query = SearchQuery {
            text,
            tags: req.tags,
            accounts,
            peer: req.peer,
            sender: req.sender,
            from: req.from,
            to: req.to,
            order: req.order,
            after,
            limit: req.limit.unwrap_or(DEFAULT_SEARCH_PAGE).clamp(1, MAX_SEARCH_PAGE),
        };
        let index =
            self.ports.search.as_ref().ok_or_else(|| AppError::Unavailable("this process serves no search".into()))?;
        let page = index.search(&actor.tenant, &query).await?;
        let next_cursor =
            page.next.map(|after| cursor::encode(&actor.tenant, &SearchPos { order: query.order, after }));
        Ok(SearchResults { items: self.hit_views(actor, page.hits, &names).await?, next_cursor })
    }

    /// The accounts a search may look in: the one named (if visible), else
    /// every account the actor may see (`None` for admins: the tenant).
    async fn searchable_accounts(
        &self,
        actor: &Actor,
        account: Option<&AccountId>,
    ) -> Result<Option<Vec<AccountId>>, AppError> {
        if let Some(id) = account {
            return Ok(Some(vec![self.visible_account(actor, id).await?.id]));
        }
        if actor.role == Role::Admin {
            return Ok(None);
        }
        let mut ids = Vec::new();
        let mut query = AccountQuery::scoped(actor.scope(), super::MAX_PAGE);
        loop {
            let page = self.ports.directory.list_accounts(&actor.tenant, &query).await?;
            let full = page.len() == query.limit;
            ids.extend(page.into_iter().map(|a| a.id));
            if ids.len() > MAX_QUERY_ACCOUNTS {
                return Err(AppError::invalid(format!(
                    "you see more than {MAX_QUERY_ACCOUNTS} accounts; name one (account=) to search in"
                )));
            }
            if !full {
                return Ok(Some(ids));
            }
            query.after = ids.last().cloned();
        }
    }

    async fn hit_views(
        &self,
        actor: &Actor,
        hits: Vec<SearchHit>,
        tag_names: &HashMap<TagId, String>,
    ) -> Result<Vec<SearchHitView>, AppError> {
        let mut account_ids: Vec<AccountId> = hits.iter().map(|h| h.account_id.clone()).collect();
        account_ids.sort();
        account_ids.dedup();
        let labels: HashMap<AccountId, String> = self
            .ports
            .directory
            .get_accounts(&actor.tenant, &account_ids)
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a.label()))
            .collect();
        let mut keys: Vec<(AccountId, i64)> = hits.iter().map(|h| (h.account_id.clone(), h.peer)).collect();
        keys.sort();
        keys.dedup();
        let titles: HashMap<(AccountId, i64), String> = self
            .ports
            .reader
            .get_dialogs(&actor.tenant, &keys)
            .await?
            .into_iter()
            .map(|d| ((d.account_id, d.peer), d.title))
            .collect();
        Ok(hits
            .into_iter()
            .map(|h| SearchHitView {
                account_label: labels.get(&h.account_id).cloned().unwrap_or_default(),
                dialog_title: titles.get(&(h.account_id.clone(), h.peer)).cloned(),
                tags: h
                    .tags
                    .iter()
                    .filter_map(|t| tag_names.get(t).map(|name| TagRef { id: t.clone(), name: name.clone() }))
                    .collect(),
                account_id: h.account_id,
                peer: h.peer,
                id: h.id,
                date: h.date,
                sender_id: h.sender_id,
                sender_name: h.sender_name,
                outgoing: h.outgoing,
                deleted: h.deleted,
                snippet: h.snippet,
                score: h.score,
            })
            .collect())
    }
}
