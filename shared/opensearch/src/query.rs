//! Turns a port query into an OpenSearch search body: the tenant and every
//! filter in `filter` context (they never change relevance), each word or
//! phrase a `multi_match` over the three text fields in `must` (all terms
//! of a word in one field: a Chinese run that splits into several words
//! needs them all), excluded clauses in `must_not`, a sort that pages with
//! `search_after`, and a highlight whose markers no message holds.

use crate::mapping::TEXT_FIELDS;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use tgdesk_core::domain::TenantId;
use tgdesk_core::ports::{Clause, PortError, PortErrorKind, SearchOrder, SearchQuery};

/// Marks the start of a match in a highlight (a private-use character).
pub(crate) const HIT_START: char = '\u{e000}';
/// Marks the end of a match in a highlight.
pub(crate) const HIT_END: char = '\u{e001}';
/// Characters of a snippet.
pub(crate) const SNIPPET_CHARS: usize = 160;
/// Largest page: one request never asks for more hits than this.
pub(crate) const MAX_PAGE: usize = 1_000;

/// Where a page stopped: the sort values of its last hit.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum After {
    /// Newest first: (date in nanoseconds, key).
    Newest(i64, String),
    /// Best first: (score, key).
    Relevance(f64, String),
}

fn invalid_position() -> PortError {
    PortError::new(PortErrorKind::Invalid, "search page position is malformed")
}

impl After {
    /// The opaque `next` string of this position.
    pub fn encode(&self) -> String {
        let values = match self {
            After::Newest(date, key) => json!(["n", date, key]),
            After::Relevance(score, key) => json!(["r", score, key]),
        };
        URL_SAFE_NO_PAD.encode(values.to_string())
    }

    /// Reads a `next` string back; `Invalid` unless this adapter made it
    /// for a query of the same `order`.
    pub fn decode(raw: &str, order: SearchOrder) -> Result<Self, PortError> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid_position())?;
        let values: Vec<Value> = serde_json::from_slice(&bytes).map_err(|_| invalid_position())?;
        let [tag, value, key] = values.as_slice() else { return Err(invalid_position()) };
        let key = key.as_str().ok_or_else(invalid_position)?.to_owned();
        match (order, tag.as_str()) {
            (SearchOrder::Newest, Some("n")) => Ok(After::Newest(value.as_i64().ok_or_else(invalid_position)?, key)),
            (SearchOrder::Relevance, Some("r")) => {
                Ok(After::Relevance(value.as_f64().ok_or_else(invalid_position)?, key))
            }
            _ => Err(invalid_position()),
        }
    }

    /// The position of a hit from its `sort` values.
    pub fn of_sort(order: SearchOrder, sort: &Value) -> Option<Self> {
        let key = sort.get(1)?.as_str()?.to_owned();
        match order {
            SearchOrder::Newest => Some(After::Newest(sort.get(0)?.as_i64()?, key)),
            SearchOrder::Relevance => Some(After::Relevance(sort.get(0)?.as_f64()?, key)),
        }
    }

    fn values(&self) -> Value {
        match self {
            After::Newest(date, key) => json!([date, key]),
            After::Relevance(score, key) => json!([score, key]),
        }
    }
}

/// A search body ready to send.
pub(crate) struct Built {
    /// The body of `_search`.
    pub body: Value,
    /// True when words take part (snippets are highlights, not the start).
    pub has_text: bool,
    /// Hits the page shows (the body asks for one more, to know if a next page exists).
    pub limit: usize,
}

fn clause_query(clause: &Clause) -> Value {
    let kind = if clause.phrase { "phrase" } else { "best_fields" };
    let mut q = json!({ "query": clause.text, "fields": TEXT_FIELDS, "type": kind });
    if !clause.phrase {
        q["operator"] = json!("and");
    }
    json!({ "multi_match": q })
}

/// Builds the search body of `q` in `tenant`; `Invalid` for a malformed `after`.
pub(crate) fn build(tenant: &TenantId, q: &SearchQuery) -> Result<Built, PortError> {
    let after = q.after.as_deref().map(|raw| After::decode(raw, q.order)).transpose()?;
    let mut filter = vec![json!({ "term": { "tenant": tenant.as_str() } })];
    if let Some(accounts) = &q.accounts {
        let ids: Vec<&str> = accounts.iter().map(|a| a.as_str()).collect();
        filter.push(json!({ "terms": { "account": ids } }));
    }
    for tag in &q.tags {
        filter.push(json!({ "term": { "tags": tag.as_str() } }));
    }
    if let Some(peer) = q.peer {
        filter.push(json!({ "term": { "peer": peer } }));
    }
    if let Some(sender) = q.sender {
        filter.push(json!({ "term": { "sender": sender } }));
    }
    if q.from.is_some() || q.to.is_some() {
        let mut range = serde_json::Map::new();
        if let Some(from) = q.from {
            range.insert("gte".into(), json!(crate::mapping::nanos(from)));
        }
        if let Some(to) = q.to {
            range.insert("lt".into(), json!(crate::mapping::nanos(to)));
        }
        filter.push(json!({ "range": { "date_ns": range } }));
    }
    let (negated, positive): (Vec<&Clause>, Vec<&Clause>) = q.text.clauses().iter().partition(|c| c.negated);
    let mut bool_query = json!({ "filter": filter });
    if !positive.is_empty() {
        bool_query["must"] = positive.into_iter().map(clause_query).collect();
    }
    if !negated.is_empty() {
        bool_query["must_not"] = negated.into_iter().map(clause_query).collect();
    }
    let sort = match q.order {
        SearchOrder::Newest => json!([{ "date_ns": { "order": "desc" } }, { "key": { "order": "desc" } }]),
        SearchOrder::Relevance => json!([{ "_score": { "order": "desc" } }, { "key": { "order": "asc" } }]),
    };
    let limit = q.limit.min(MAX_PAGE);
    let mut body = json!({
        "size": limit + 1,
        "track_total_hits": false,
        "query": { "bool": bool_query },
        "sort": sort,
    });
    if let Some(after) = after {
        body["search_after"] = after.values();
    }
    let has_text = !q.text.clauses().iter().all(|c| c.negated);
    if has_text {
        body["highlight"] = highlight();
    }
    Ok(Built { body, has_text, limit })
}

fn highlight() -> Value {
    let fields: serde_json::Map<String, Value> = TEXT_FIELDS.iter().map(|f| ((*f).to_owned(), json!({}))).collect();
    json!({
        "type": "unified",
        "pre_tags": [HIT_START.to_string()],
        "post_tags": [HIT_END.to_string()],
        "number_of_fragments": 1,
        "fragment_size": SNIPPET_CHARS,
        "fields": fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_forgeries_are_invalid() {
        let newest = After::Newest(1_767_225_600_005_000_000, "acme:acc_x:7:1".into());
        assert_eq!(After::decode(&newest.encode(), SearchOrder::Newest).unwrap(), newest);
        let best = After::Relevance(1.2345678, "acme:acc_x:7:2".into());
        assert_eq!(After::decode(&best.encode(), SearchOrder::Relevance).unwrap(), best);
        assert!(After::decode(&newest.encode(), SearchOrder::Relevance).is_err(), "a position of the other order");
        let forged = |values: Value| URL_SAFE_NO_PAD.encode(values.to_string());
        for bad in [
            "not a position".to_owned(),
            String::new(),
            forged(json!(["n", "soon", "k"])),
            forged(json!(["n", 5])),
            forged(json!(["n", 5, 6])),
            forged(json!({ "n": 5 })),
        ] {
            let err = After::decode(&bad, SearchOrder::Newest).unwrap_err();
            assert_eq!(err.kind, PortErrorKind::Invalid, "{bad}");
        }
    }
}
