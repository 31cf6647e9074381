//! [`OpenSearchIndex`]: the `SearchIndex` port on OpenSearch (Amazon
//! OpenSearch Service on AWS), over the REST API with reqwest.
//!
//! Messages live in monthly indices, `<prefix>-messages-YYYY.MM` by the
//! message's date, created on first write from an index template that also
//! adds them to the alias `<prefix>-messages`; searches, refreshes and
//! deletes by query go to the alias. Every query is confined to one tenant
//! by a term filter. See `README.md` for the mappings and analyzers.
//!
//! How each change is applied:
//! - `Upsert`: a `_bulk` `index` action with `_id` = `tenant:account:peer:id`
//!   into the month of the message's date (a date never changes, so the
//!   document never moves), replacing what that id held.
//! - `Remove`: the change carries no date, so the month is unknown: a
//!   `_delete_by_query` on the alias by `key` (consecutive removals in one
//!   query). Removals are rare (retention purges), so one query per run of
//!   them costs less than encoding the month into every key.
//! - `RemoveAccount`: a `_delete_by_query` on the alias by tenant and account.
//!
//! A delete by query only sees what a refresh made searchable, so one that
//! follows writes not yet refreshed refreshes first; changes still apply in
//! the order given.
//!
//! `commit` refreshes the alias (unless the configuration leaves that to the
//! cluster's refresh interval) and stores the feed position as the document
//! `position` of `<prefix>-meta`. A `commit(None)` (Lambda's event source
//! mapping keeps its own position) leaves the stored position alone.
//!
//! Requests are signed with SigV4 for an IAM-authorised domain
//! (`TGDESK_OPENSEARCH_SIGV4`), or carry basic auth.

mod bulk;
mod client;
mod config;
mod hits;
mod mapping;
mod query;
mod sigv4;

pub use config::{BasicAuth, BulkLimits, OpenSearchConfig, RetryPolicy, ENV_URL};
pub use sigv4::{SigV4, ENV_SIGV4};

use async_trait::async_trait;
use bulk::Action;
use client::{Body, Client};
use mapping::{key_of, Document, Names};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use tgdesk_core::domain::{AccountId, TenantId};
use tgdesk_core::ports::{MessageChange, PortError, PortErrorKind, SearchIndex, SearchPage, SearchQuery};

/// Keys in one `_delete_by_query` (far under `index.max_terms_count`).
const MAX_KEYS_PER_DELETE: usize = 1_000;

/// Query parameters that let a request on the alias succeed before the
/// first monthly index (and so the alias) exists.
const ALIAS_MAY_BE_MISSING: [(&str, &str); 2] = [("ignore_unavailable", "true"), ("allow_no_indices", "true")];

/// The OpenSearch search index.
pub struct OpenSearchIndex {
    /// The cluster.
    client: Client,
    /// The names this index owns.
    names: Names,
    /// Size of one `_bulk` request.
    bulk: BulkLimits,
    /// True when documents were written since the last refresh, so a delete
    /// by query must refresh first to see them.
    unrefreshed: AtomicBool,
    /// Whether `commit` refreshes ([`OpenSearchConfig::refresh_on_commit`]).
    refresh_on_commit: bool,
}

/// One request's worth of consecutive changes of one kind.
enum Step<'a> {
    Write(Vec<Action>),
    Remove(Vec<String>),
    RemoveAccount(&'a TenantId, &'a AccountId),
}

impl OpenSearchIndex {
    /// Connects to the cluster `config` names and installs (or replaces) the
    /// index template and the meta index. The template shapes indices
    /// created from now on: a changed mapping reaches older months only by
    /// a reindex.
    pub async fn open(config: OpenSearchConfig) -> Result<Self, PortError> {
        let client = Client::new(&config)?;
        let names = Names::new(&config.prefix);
        let template = mapping::template(&config, &names);
        let path = format!("/_index_template/{}", names.template());
        client.call(Method::PUT, &path, &[], Body::Json(template)).await?.ok("index template")?;
        let meta = mapping::meta_index(&config);
        let reply = client.call(Method::PUT, &format!("/{}", names.meta()), &[], Body::Json(meta)).await?;
        if reply.error_type() != Some("resource_already_exists_exception") {
            reply.ok("meta index")?;
        }
        let refresh_on_commit = config.refresh_on_commit;
        Ok(Self { client, names, bulk: config.bulk, unrefreshed: AtomicBool::new(false), refresh_on_commit })
    }

    fn steps<'a>(&self, changes: &'a [MessageChange]) -> Result<Vec<Step<'a>>, PortError> {
        let mut steps: Vec<Step<'a>> = Vec::new();
        for change in changes {
            match change {
                MessageChange::Upsert { tenant, message } => {
                    let doc = Document::of(tenant, message);
                    let action = Action::index(&self.names.month(message.date), &doc.key, &doc)?;
                    match steps.last_mut() {
                        Some(Step::Write(actions)) => actions.push(action),
                        _ => steps.push(Step::Write(vec![action])),
                    }
                }
                MessageChange::Remove { tenant, account, peer, id } => {
                    let key = key_of(tenant, account, *peer, *id);
                    match steps.last_mut() {
                        Some(Step::Remove(keys)) if keys.len() < MAX_KEYS_PER_DELETE => keys.push(key),
                        _ => steps.push(Step::Remove(vec![key])),
                    }
                }
                MessageChange::RemoveAccount { tenant, account } => steps.push(Step::RemoveAccount(tenant, account)),
            }
        }
        Ok(steps)
    }

    async fn refresh(&self) -> Result<(), PortError> {
        let path = format!("/{}/_refresh", self.names.alias());
        self.unrefreshed.store(false, Ordering::SeqCst);
        let outcome = self.client.call(Method::POST, &path, &ALIAS_MAY_BE_MISSING, Body::Empty).await;
        if let Err(e) = outcome.and_then(|reply| reply.ok("refresh")) {
            self.unrefreshed.store(true, Ordering::SeqCst);
            return Err(e);
        }
        Ok(())
    }

    async fn delete_by_query(&self, filter: Vec<Value>) -> Result<(), PortError> {
        if self.unrefreshed.load(Ordering::SeqCst) {
            self.refresh().await?;
        }
        let path = format!("/{}/_delete_by_query", self.names.alias());
        let mut params = ALIAS_MAY_BE_MISSING.to_vec();
        // A document rewritten meanwhile keeps its new version; the next removal takes it.
        params.push(("conflicts", "proceed"));
        let body = json!({ "query": { "bool": { "filter": filter } } });
        let reply = self.client.call(Method::POST, &path, &params, Body::Json(body)).await?.ok("delete by query")?;
        let failures = reply.get("failures").and_then(Value::as_array).map_or(0, Vec::len);
        if failures > 0 || reply.get("timed_out").and_then(Value::as_bool) == Some(true) {
            let first = reply.pointer("/failures/0/cause/type").and_then(Value::as_str).unwrap_or("timed out");
            let message = format!("opensearch delete by query: {failures} failures; first: {first}");
            return Err(PortError::new(PortErrorKind::Unavailable, message));
        }
        Ok(())
    }
}

#[async_trait]
impl SearchIndex for OpenSearchIndex {
    async fn apply(&self, changes: &[MessageChange]) -> Result<(), PortError> {
        for step in self.steps(changes)? {
            match step {
                Step::Write(actions) => {
                    self.unrefreshed.store(true, Ordering::SeqCst);
                    bulk::send(&self.client, &actions, self.bulk).await?;
                }
                Step::Remove(keys) => self.delete_by_query(vec![json!({ "terms": { "key": keys } })]).await?,
                Step::RemoveAccount(tenant, account) => {
                    let filter = vec![
                        json!({ "term": { "tenant": tenant.as_str() } }),
                        json!({ "term": { "account": account.as_str() } }),
                    ];
                    self.delete_by_query(filter).await?;
                }
            }
        }
        Ok(())
    }

    async fn commit(&self, position: Option<&str>) -> Result<(), PortError> {
        if self.refresh_on_commit {
            self.refresh().await?;
        }
        if let Some(position) = position {
            let path = format!("/{}/_doc/position", self.names.meta());
            let body = Body::Json(json!({ "position": position }));
            self.client.call(Method::PUT, &path, &[], body).await?.ok("store the position")?;
        }
        Ok(())
    }

    async fn position(&self) -> Result<Option<String>, PortError> {
        let path = format!("/{}/_doc/position", self.names.meta());
        let reply = self.client.call(Method::GET, &path, &[], Body::Empty).await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let doc = reply.ok("read the position")?;
        Ok(doc.pointer("/_source/position").and_then(Value::as_str).map(str::to_owned))
    }

    async fn search(&self, tenant: &TenantId, query: &SearchQuery) -> Result<SearchPage, PortError> {
        let built = query::build(tenant, query)?;
        if query.accounts.as_ref().is_some_and(Vec::is_empty) || built.limit == 0 {
            return Ok(SearchPage::default());
        }
        let path = format!("/{}/_search", self.names.alias());
        let body = Body::Json(built.body.clone());
        let reply = self.client.call(Method::POST, &path, &ALIAS_MAY_BE_MISSING, body).await?;
        if reply.error_type() == Some("index_not_found_exception") {
            return Ok(SearchPage::default());
        }
        hits::page(&reply.ok("search")?, &built, query.order)
    }
}
