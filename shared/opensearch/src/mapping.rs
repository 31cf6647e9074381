//! The shape of the index: the names this adapter owns, the index template
//! every monthly index is created from (analysis and mappings), and a
//! message as a document.
//!
//! The text is indexed three ways, and a word matches when any one of them
//! finds it: `text` (English: lower-cased, Snowball English stemming),
//! `text.ru` (Russian: lower-cased, Snowball Russian stemming) and `text.zh`
//! (Chinese words by `smartcn`, the Smart Chinese analysis plugin that
//! Amazon OpenSearch Service ships on every domain; a self-managed cluster
//! needs `bin/opensearch-plugin install analysis-smartcn`). The English and
//! Russian analyzers are the built-in `english` and `russian` ones rebuilt
//! as custom analyzers, for three differences that keep them in step with
//! the tantivy index: Han, kana and hangul are dropped before tokenizing (the
//! standard tokenizer would make each character a word, so `天气` would match
//! any text holding both characters anywhere), English stems with Snowball
//! (`porter2`, where the built-in uses Porter), and no stop words are
//! dropped (a help desk searches "not delivered").

use crate::config::OpenSearchConfig;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tgdesk_core::domain::{AccountId, Message, TenantId};

/// The fields a word is looked for in, in the order highlights prefer them.
pub(crate) const TEXT_FIELDS: [&str; 3] = ["text", "text.ru", "text.zh"];

/// The names one prefix owns.
#[derive(Clone, Debug)]
pub(crate) struct Names {
    prefix: String,
}

impl Names {
    /// The names under `prefix`.
    pub fn new(prefix: &str) -> Self {
        Self { prefix: prefix.to_owned() }
    }

    /// The alias over every monthly index: searches, refreshes and deletes
    /// by query go there.
    pub fn alias(&self) -> String {
        format!("{}-messages", self.prefix)
    }

    /// The index template's name (the alias's, in the template namespace).
    pub fn template(&self) -> String {
        self.alias()
    }

    /// The index holding messages sent in `date`'s month (UTC). A message's
    /// date never changes, so its document never moves between indices.
    pub fn month(&self, date: DateTime<Utc>) -> String {
        format!("{}-messages-{}", self.prefix, date.format("%Y.%m"))
    }

    /// The small index holding the committed feed position.
    pub fn meta(&self) -> String {
        format!("{}-meta", self.prefix)
    }
}

/// A message's document id, unique across tenants:
/// `tenant:account:peer:id` (no part can hold a `:`).
pub(crate) fn key_of(tenant: &TenantId, account: &AccountId, peer: i64, id: i64) -> String {
    format!("{tenant}:{account}:{peer}:{id}")
}

/// A message as the index stores it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Document {
    /// [`key_of`]: the `_id`, and the tie-break of newest-first pages.
    pub key: String,
    pub tenant: String,
    pub account: String,
    pub peer: i64,
    pub id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_name: Option<String>,
    /// The date for people and dashboards (`date_nanos`).
    pub date: String,
    /// The date in nanoseconds since the epoch: what pages sort and filter
    /// on, a plain `long`, so a `search_after` value round-trips exactly.
    pub date_ns: i64,
    pub text: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub outgoing: bool,
    pub deleted: bool,
}

/// Returns `t` in nanoseconds since the epoch (saturating past 2262).
pub(crate) fn nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

impl Document {
    /// The document of `message` in `tenant`.
    pub fn of(tenant: &TenantId, m: &Message) -> Self {
        Self {
            key: key_of(tenant, &m.account_id, m.peer, m.id),
            tenant: tenant.to_string(),
            account: m.account_id.to_string(),
            peer: m.peer,
            id: m.id,
            sender: m.sender_id,
            sender_name: m.sender_name.clone(),
            date: m.date.to_rfc3339_opts(SecondsFormat::Nanos, true),
            date_ns: nanos(m.date),
            text: m.text.clone(),
            tags: m.tags.iter().map(ToString::to_string).collect(),
            outgoing: m.outgoing,
            deleted: m.deleted,
        }
    }
}

/// The composable index template of the monthly indices: settings with the
/// analyzers, strict mappings, and the alias every new month joins.
pub(crate) fn template(config: &OpenSearchConfig, names: &Names) -> Value {
    let keyword = json!({ "type": "keyword" });
    json!({
        "index_patterns": [format!("{}-*", names.alias())],
        "priority": 100,
        "_meta": { "owner": "tgdesk", "schema": 1 },
        "template": {
            "settings": {
                "number_of_shards": config.shards,
                "number_of_replicas": config.replicas,
                "refresh_interval": config.refresh_interval,
                "analysis": analysis(),
            },
            "mappings": {
                "dynamic": "strict",
                "properties": {
                    "key": keyword,
                    "tenant": keyword,
                    "account": keyword,
                    "tags": keyword,
                    "peer": { "type": "long" },
                    "id": { "type": "long" },
                    "sender": { "type": "long" },
                    "sender_name": { "type": "keyword", "index": false, "doc_values": false },
                    "date": { "type": "date_nanos" },
                    "date_ns": { "type": "long" },
                    "outgoing": { "type": "boolean" },
                    "deleted": { "type": "boolean" },
                    "text": {
                        "type": "text",
                        "analyzer": "tgdesk_english",
                        "fields": {
                            "ru": { "type": "text", "analyzer": "tgdesk_russian" },
                            "zh": { "type": "text", "analyzer": "smartcn" },
                        },
                    },
                },
            },
            "aliases": { names.alias(): {} },
        },
    })
}

fn analysis() -> Value {
    let analyzer = |stemmer: &str| {
        json!({
            "type": "custom",
            "char_filter": ["tgdesk_no_cjk"],
            "tokenizer": "standard",
            "filter": ["lowercase", stemmer],
        })
    };
    json!({
        "char_filter": {
            "tgdesk_no_cjk": {
                "type": "pattern_replace",
                "pattern": "[\\p{IsHan}\\p{IsHiragana}\\p{IsKatakana}\\p{IsHangul}]+",
                "replacement": " ",
            },
        },
        "filter": {
            "tgdesk_english_stemmer": { "type": "stemmer", "language": "porter2" },
            "tgdesk_russian_stemmer": { "type": "stemmer", "language": "russian" },
        },
        "analyzer": {
            "tgdesk_english": analyzer("tgdesk_english_stemmer"),
            "tgdesk_russian": analyzer("tgdesk_russian_stemmer"),
        },
    })
}

/// The meta index: one document, `position`, never searched.
pub(crate) fn meta_index(config: &OpenSearchConfig) -> Value {
    json!({
        "settings": { "number_of_shards": 1, "number_of_replicas": config.replicas },
        "mappings": {
            "dynamic": "strict",
            "properties": { "position": { "type": "keyword", "index": false } },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_message_lives_in_the_index_of_its_month_in_utc() {
        let names = Names::new("tgdesk");
        let last_second = Utc.with_ymd_and_hms(2025, 12, 31, 23, 59, 59).unwrap();
        assert_eq!(names.month(last_second), "tgdesk-messages-2025.12");
        assert_eq!(names.month(last_second + chrono::Duration::seconds(1)), "tgdesk-messages-2026.01");
        assert_eq!((names.alias(), names.meta()), ("tgdesk-messages".into(), "tgdesk-meta".into()));
    }

    #[test]
    fn the_date_is_kept_to_the_nanosecond_both_ways() {
        let tenant = TenantId::parse("acme").unwrap();
        let mut m = tgdesk_core::testkit::fixtures::message(&AccountId::generate(), 7, 1, 5, false);
        m.date += chrono::Duration::nanoseconds(17);
        let doc = Document::of(&tenant, &m);
        assert_eq!(doc.date, "2026-01-01T00:00:00.005000017Z");
        assert_eq!(DateTime::from_timestamp_nanos(doc.date_ns), m.date);
        assert_eq!(doc.key, format!("acme:{}:7:1", m.account_id));
    }
}
