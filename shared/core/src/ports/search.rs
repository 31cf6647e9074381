//! The search index port, and the change feed that feeds it. Adapters of the
//! index: tantivy locally, OpenSearch on AWS. Adapters of the feed: a table
//! of changes beside the SQLite store, the messages table's DynamoDB stream.
//!
//! The index is fed from the store's changes, never by the request path: the
//! indexer reads the feed after the index's committed position, applies the
//! changes and commits the position with them, so a crash replays at most
//! what was not committed, and replaying is harmless (every change is keyed).

use super::PortError;
use crate::domain::{AccountId, Message, TagId, TenantId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Longest query text, in characters.
pub const MAX_QUERY_CHARS: usize = 500;
/// Most clauses (words and phrases) in one query.
pub const MAX_QUERY_CLAUSES: usize = 32;
/// Most tags one query may require.
pub const MAX_QUERY_TAGS: usize = 16;
/// Most accounts one query may be confined to; a larger scope is the whole
/// tenant filtered by the index's own account field in several queries.
pub const MAX_QUERY_ACCOUNTS: usize = 10_000;

/// One clause of a query: a word (a run without spaces; in Chinese often
/// several words, which must all match) or a quoted phrase (its words in
/// order). A negated clause excludes the messages it matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clause {
    /// The clause's text, without quotes or the leading `-`.
    pub text: String,
    /// True for a quoted phrase.
    pub phrase: bool,
    /// True when the clause excludes (`-word`, `-"a phrase"`).
    pub negated: bool,
}

/// A parsed query text: every positive clause must match, no negated one may.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchText {
    clauses: Vec<Clause>,
}

impl SearchText {
    /// Parses `words "a phrase" -excluded`. Errors name what is wrong: an
    /// unclosed quote, too long a text, too many clauses, or only negated
    /// clauses (which would list everything but a few messages).
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.chars().count() > MAX_QUERY_CHARS {
            return Err(format!("q is longer than {MAX_QUERY_CHARS} characters"));
        }
        let mut clauses = Vec::new();
        let mut rest = raw.trim_start();
        while !rest.is_empty() {
            let negated = rest.starts_with('-') && rest.len() > 1;
            if negated {
                rest = &rest[1..];
            }
            let (text, phrase, tail) = if let Some(quoted) = rest.strip_prefix('"') {
                let end = quoted.find('"').ok_or("q has a quote that is not closed")?;
                (&quoted[..end], true, &quoted[end + 1..])
            } else {
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                (&rest[..end], false, &rest[end..])
            };
            let text = text.trim();
            if !text.is_empty() && text.chars().any(char::is_alphanumeric) {
                clauses.push(Clause { text: text.to_owned(), phrase, negated });
            }
            rest = tail.trim_start();
        }
        if clauses.len() > MAX_QUERY_CLAUSES {
            return Err(format!("q has more than {MAX_QUERY_CLAUSES} words and phrases"));
        }
        if !clauses.is_empty() && clauses.iter().all(|c| c.negated) {
            return Err("q excludes words but names none to find".to_owned());
        }
        Ok(Self { clauses })
    }

    /// The clauses in the order written.
    pub fn clauses(&self) -> &[Clause] {
        &self.clauses
    }

    /// True when the text names nothing to find.
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }
}

/// The order of the hits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchOrder {
    /// Newest message first.
    #[default]
    Newest,
    /// Best match first (BM25).
    Relevance,
}

/// A search, always within one tenant.
#[derive(Clone, Debug)]
pub struct SearchQuery {
    /// Words and phrases; may be empty when a filter names what to find.
    pub text: SearchText,
    /// Tags every hit must carry.
    pub tags: Vec<TagId>,
    /// Accounts the hits may come from (`None`: the whole tenant). The use
    /// case sets it from the caller's permissions; an empty list finds nothing.
    pub accounts: Option<Vec<AccountId>>,
    /// Only this dialog (with one account, or of any allowed account).
    pub peer: Option<i64>,
    /// Only messages from this sender (marked id).
    pub sender: Option<i64>,
    /// Only messages at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only messages before this time.
    pub to: Option<DateTime<Utc>>,
    /// The order of the hits.
    pub order: SearchOrder,
    /// Where the previous page stopped: the adapter's own `next` string.
    pub after: Option<String>,
    /// Page size.
    pub limit: usize,
}

impl SearchQuery {
    /// A query with no filter: `text` in the whole tenant, newest first.
    pub fn text(text: SearchText, limit: usize) -> Self {
        Self {
            text,
            tags: Vec::new(),
            accounts: None,
            peer: None,
            sender: None,
            from: None,
            to: None,
            order: SearchOrder::Newest,
            after: None,
            limit,
        }
    }
}

/// A piece of a snippet; `hit` pieces matched the query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Fragment {
    /// The text of this piece.
    pub text: String,
    /// True when this piece matched.
    pub hit: bool,
}

/// One matching message, with what a result list shows of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// The message's account.
    pub account_id: AccountId,
    /// The message's dialog.
    pub peer: i64,
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
    /// The message's tags.
    pub tags: BTreeSet<TagId>,
    /// The best passage of the text, matches marked (the start of the text
    /// when only filters matched).
    pub snippet: Vec<Fragment>,
    /// Relevance (higher is better; 0 when ordered by date without words).
    pub score: f32,
}

/// One page of hits.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchPage {
    /// The hits in the order asked for.
    pub hits: Vec<SearchHit>,
    /// Where the next page starts (`None`: this is the last).
    pub next: Option<String>,
}

/// One change of the stored messages, as the index must learn it.
// Nearly every change is an upsert, so boxing the message would cost an
// allocation per change to save space only on the rare removals.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum MessageChange {
    /// A message was stored or changed (text, tags, deletion mark): the
    /// index holds it as given, replacing what it had under its key.
    Upsert {
        /// Its tenant.
        tenant: TenantId,
        /// The message as stored now.
        message: Message,
    },
    /// A message left the store for good (not into the archive).
    Remove {
        /// Its tenant.
        tenant: TenantId,
        /// Its account.
        account: AccountId,
        /// Its dialog.
        peer: i64,
        /// Its id.
        id: i64,
    },
    /// An account and all its messages were deleted.
    RemoveAccount {
        /// Its tenant.
        tenant: TenantId,
        /// The account.
        account: AccountId,
    },
}

/// A full-text index of messages.
#[async_trait]
pub trait SearchIndex: Send + Sync {
    /// Applies changes in order (idempotent: applying one twice leaves the
    /// index as applying it once). They become visible at the next `commit`.
    async fn apply(&self, changes: &[MessageChange]) -> Result<(), PortError>;
    /// Makes everything applied so far durable and visible to `search`, and
    /// records `position` (the feed position the changes came up to) with it;
    /// `None` keeps the position recorded before (changes that did not come
    /// from the feed: those made in the archive).
    async fn commit(&self, position: Option<&str>) -> Result<(), PortError>;
    /// The position recorded by the last commit (`None`: none yet, or an
    /// index fed by something that keeps its own position, as Lambda's
    /// event source mapping does).
    async fn position(&self) -> Result<Option<String>, PortError>;
    /// Returns a page of hits; `Invalid` for a malformed `after`.
    async fn search(&self, tenant: &TenantId, query: &SearchQuery) -> Result<SearchPage, PortError>;
}

/// A batch of changes read from a feed.
#[derive(Clone, Debug, Default)]
pub struct FeedBatch {
    /// The changes, oldest first.
    pub changes: Vec<MessageChange>,
    /// The position after the last of them (the one given back when empty).
    pub position: Option<String>,
    /// When the oldest of them was written (index lag is now minus this).
    pub oldest: Option<DateTime<Utc>>,
}

/// The store's changes of messages, in the order they were made.
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// Returns up to `limit` changes after `after` (`None`: from the oldest
    /// kept); `Invalid` for a position this feed never gave.
    async fn read(&self, after: Option<&str>, limit: usize) -> Result<FeedBatch, PortError>;
    /// Lets the feed forget the changes up to `upto`, which the consumer has
    /// committed. A feed that expires changes by itself may ignore it.
    async fn trim(&self, upto: &str) -> Result<(), PortError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clause(text: &str, phrase: bool, negated: bool) -> Clause {
        Clause { text: text.into(), phrase, negated }
    }

    #[test]
    fn words_phrases_and_exclusions_are_parsed_in_order() {
        let q = SearchText::parse(r#" refund "order 42"  -spam 退款 -"not this" "#).unwrap();
        assert_eq!(
            q.clauses(),
            [
                clause("refund", false, false),
                clause("order 42", true, false),
                clause("spam", false, true),
                clause("退款", false, false),
                clause("not this", true, true),
            ]
        );
    }

    #[test]
    fn punctuation_only_clauses_are_dropped_and_blank_text_is_empty() {
        assert!(SearchText::parse("  ").unwrap().is_empty());
        assert!(SearchText::parse(r#"... "" - ?"#).unwrap().is_empty());
    }

    #[test]
    fn bad_texts_are_refused_with_the_reason() {
        assert!(SearchText::parse(r#"refund "order"#).unwrap_err().contains("quote"));
        assert!(SearchText::parse(&"a".repeat(MAX_QUERY_CHARS + 1)).unwrap_err().contains("longer"));
        let many = vec!["w"; MAX_QUERY_CLAUSES + 1].join(" ");
        assert!(SearchText::parse(&many).unwrap_err().contains("more than"));
        assert!(SearchText::parse("-spam").unwrap_err().contains("names none"));
    }
}
