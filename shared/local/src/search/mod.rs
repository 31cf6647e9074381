//! [`TantivyIndex`]: the `SearchIndex` port on a tantivy index under the data
//! dir. One index holds every tenant; every query is confined to one tenant
//! by a term. Commits record the change feed's position as their payload, so
//! a restart resumes from there instead of reindexing. tantivy is blocking:
//! writes and searches run on the blocking pool.

mod query;
mod terms;
mod tokenizer;

pub use tokenizer::{tokens, warm_up, MixedTokenizer, MIXED};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tantivy::collector::TopDocs;
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};
use tgdesk_core::domain::{AccountId, Message, TagId, TenantId};
use tgdesk_core::ports::{
    Fragment, MessageChange, PortError, PortErrorKind, SearchHit, SearchIndex, SearchOrder, SearchPage, SearchQuery,
};

/// Memory the writer may buffer before it flushes a segment.
const WRITER_MEMORY: usize = 64 << 20;
/// Characters of a snippet.
const SNIPPET_CHARS: usize = 160;
/// Deepest page a relevance search may reach (offset paging).
const MAX_RELEVANCE_OFFSET: usize = 10_000;

/// The fields of a message document.
#[derive(Clone, Copy)]
struct Fields {
    key: Field,
    tenant: Field,
    account: Field,
    peer: Field,
    id: Field,
    sender: Field,
    sender_name: Field,
    date: Field,
    tiebreak: Field,
    text: Field,
    tags: Field,
    flags: Field,
}

const OUTGOING: u64 = 1;
const DELETED: u64 = 2;

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_stored().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(MIXED).set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let filter = NumericOptions::default().set_indexed().set_stored();
    let fields = Fields {
        key: b.add_text_field("key", STRING),
        tenant: b.add_text_field("tenant", STRING),
        account: b.add_text_field("account", STRING | STORED),
        peer: b.add_i64_field("peer", filter.clone()),
        id: b.add_i64_field("id", NumericOptions::default().set_stored()),
        sender: b.add_i64_field("sender", filter.clone()),
        sender_name: b.add_text_field("sender_name", STORED),
        date: b.add_i64_field("date", filter.set_fast()),
        tiebreak: b.add_u64_field("tiebreak", NumericOptions::default().set_fast()),
        text: b.add_text_field("text", text),
        tags: b.add_text_field("tags", STRING | STORED),
        flags: b.add_u64_field("flags", NumericOptions::default().set_stored()),
    };
    (b.build(), fields)
}

fn key_of(tenant: &TenantId, account: &AccountId, peer: i64, id: i64) -> String {
    format!("{tenant}\u{1f}{account}\u{1f}{peer}\u{1f}{id}")
}

/// A stable 64-bit hash of a document key: the tie-break between messages of
/// one instant, so newest-first pages are exact (FNV-1a; never changes).
fn tiebreak(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// One page of hits (score, address) and the position after it.
type ScoredPage = (Vec<(f32, DocAddress)>, Option<String>);

/// The first date window of a newest-first search: a day.
const FIRST_WINDOW_NS: i64 = 86_400 * 1_000_000_000;
/// How much each next window is wider than the one before.
const WINDOW_GROWTH: i64 = 8;

/// The oldest and newest message date in the index (`None`: it is empty).
fn date_span(searcher: &tantivy::Searcher) -> Option<(i64, i64)> {
    let mut span: Option<(i64, i64)> = None;
    for segment in searcher.segment_readers() {
        if segment.num_docs() == 0 {
            continue;
        }
        let Ok(dates) = segment.fast_fields().i64("date") else { continue };
        let (low, high) = (dates.min_value(), dates.max_value());
        span = Some(span.map_or((low, high), |(l, h)| (l.min(low), h.max(high))));
    }
    span
}

fn nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

fn internal(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> PortError {
    PortError::with_source(PortErrorKind::Internal, format!("search index: {what}"), e)
}

/// The tantivy search index.
#[derive(Clone)]
pub struct TantivyIndex {
    inner: Arc<Inner>,
}

struct Inner {
    index: Index,
    fields: Fields,
    writer: Mutex<IndexWriter>,
    reader: IndexReader,
}

impl TantivyIndex {
    /// Opens the index in `dir`, creating it (and the dir) when missing.
    pub fn open(dir: &Path) -> Result<Self, PortError> {
        std::fs::create_dir_all(dir).map_err(|e| internal("cannot create its directory", e))?;
        let (schema, fields) = schema();
        let directory = tantivy::directory::MmapDirectory::open(dir).map_err(|e| internal("cannot open", e))?;
        let index = Index::open_or_create(directory, schema).map_err(|e| internal("cannot open", e))?;
        index.tokenizers().register(MIXED, MixedTokenizer);
        // One indexing thread: the other core serves ingest and requests.
        let writer = index.writer_with_num_threads(1, WRITER_MEMORY).map_err(|e| internal("cannot lock", e))?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| internal("cannot read", e))?;
        tokenizer::warm_up();
        Ok(Self { inner: Arc::new(Inner { index, fields, writer: Mutex::new(writer), reader }) })
    }

    /// Deletes every document (for a rebuild); visible after the next commit.
    pub async fn clear(&self) -> Result<(), PortError> {
        let inner = self.inner.clone();
        blocking(move || {
            inner.lock_writer()?.delete_all_documents().map_err(|e| internal("cannot clear", e))?;
            Ok(())
        })
        .await
    }

    /// Documents visible to search now.
    pub fn documents(&self) -> u64 {
        self.inner.reader.searcher().num_docs()
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PortError> + Send + 'static,
) -> Result<T, PortError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| internal("task failed", e))?
}

impl Inner {
    fn lock_writer(&self) -> Result<std::sync::MutexGuard<'_, IndexWriter>, PortError> {
        self.writer.lock().map_err(|_| PortError::new(PortErrorKind::Internal, "search index writer poisoned"))
    }

    fn document(&self, tenant: &TenantId, m: &Message, key: &str) -> TantivyDocument {
        let f = self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.key, key);
        doc.add_text(f.tenant, tenant.as_str());
        doc.add_text(f.account, m.account_id.as_str());
        doc.add_i64(f.peer, m.peer);
        doc.add_i64(f.id, m.id);
        if let Some(sender) = m.sender_id {
            doc.add_i64(f.sender, sender);
        }
        if let Some(name) = &m.sender_name {
            doc.add_text(f.sender_name, name);
        }
        doc.add_i64(f.date, nanos(m.date));
        doc.add_u64(f.tiebreak, tiebreak(key));
        doc.add_text(f.text, &m.text);
        for tag in &m.tags {
            doc.add_text(f.tags, tag.as_str());
        }
        let flags = if m.outgoing { OUTGOING } else { 0 } | if m.deleted { DELETED } else { 0 };
        doc.add_u64(f.flags, flags);
        doc
    }

    fn apply(&self, changes: &[MessageChange]) -> Result<(), PortError> {
        let writer = self.lock_writer()?;
        for change in changes {
            match change {
                MessageChange::Upsert { tenant, message: m } => {
                    let key = key_of(tenant, &m.account_id, m.peer, m.id);
                    writer.delete_term(Term::from_field_text(self.fields.key, &key));
                    writer.add_document(self.document(tenant, m, &key)).map_err(|e| internal("cannot add", e))?;
                }
                MessageChange::Remove { tenant, account, peer, id } => {
                    writer.delete_term(Term::from_field_text(self.fields.key, &key_of(tenant, account, *peer, *id)));
                }
                MessageChange::RemoveAccount { account, .. } => {
                    writer.delete_term(Term::from_field_text(self.fields.account, account.as_str()));
                }
            }
        }
        Ok(())
    }

    fn commit(&self, position: Option<&str>) -> Result<(), PortError> {
        let mut writer = self.lock_writer()?;
        // Without a position (a change made outside the feed), the one
        // recorded stays: tantivy would write none.
        let position = match position {
            Some(p) => Some(p.to_owned()),
            None => self.index.load_metas().map_err(|e| internal("cannot read metas", e))?.payload,
        };
        let mut prepared = writer.prepare_commit().map_err(|e| internal("cannot commit", e))?;
        if let Some(p) = &position {
            prepared.set_payload(p);
        }
        prepared.commit().map_err(|e| internal("cannot commit", e))?;
        drop(writer);
        self.reader.reload().map_err(|e| internal("cannot reload", e))
    }

    fn search(&self, tenant: &TenantId, q: &SearchQuery) -> Result<SearchPage, PortError> {
        if q.accounts.as_ref().is_some_and(Vec::is_empty) {
            return Ok(SearchPage::default());
        }
        let searcher = self.reader.searcher();
        let built = query::build(&self.fields, tenant, q)?;
        let Some(built) = built else { return Ok(SearchPage::default()) };
        let (addresses, next): ScoredPage = match q.order {
            SearchOrder::Relevance => {
                let offset = match q.after.as_deref() {
                    Some(raw) => query::relevance_offset(raw)?,
                    None => 0,
                };
                if offset > MAX_RELEVANCE_OFFSET {
                    return Err(PortError::new(PortErrorKind::Invalid, "search pages go no deeper than 10,000 hits"));
                }
                let top = TopDocs::with_limit(q.limit + 1).and_offset(offset).order_by_score();
                let mut found = searcher.search(&*built.query, &top).map_err(|e| internal("cannot search", e))?;
                let more = found.len() > q.limit;
                found.truncate(q.limit);
                let next = more.then(|| query::relevance_position(offset + q.limit));
                (found, next)
            }
            SearchOrder::Newest => self.newest_first(&searcher, &built, q)?,
        };
        let snippets = if built.has_text {
            let mut g = SnippetGenerator::create(&searcher, &*built.query, self.fields.text)
                .map_err(|e| internal("cannot build snippets", e))?;
            g.set_max_num_chars(SNIPPET_CHARS);
            Some(g)
        } else {
            None
        };
        let mut hits = Vec::with_capacity(addresses.len());
        for (score, addr) in addresses {
            let doc: TantivyDocument = searcher.doc(addr).map_err(|e| internal("cannot read a document", e))?;
            hits.push(self.hit(&doc, score, snippets.as_ref())?);
        }
        Ok(SearchPage { hits, next })
    }

    /// A newest-first page, searched in date windows that widen back from
    /// the newest end (a day, then 8, 64, … times that) until one holds more
    /// than a page, so a common word stops at its newest hits instead of
    /// sorting every match. Exact: whatever a window leaves out is older
    /// than all it holds.
    fn newest_first(
        &self,
        searcher: &tantivy::Searcher,
        built: &query::Built,
        q: &SearchQuery,
    ) -> Result<ScoredPage, PortError> {
        let Some((oldest, newest)) = date_span(searcher) else { return Ok((Vec::new(), None)) };
        let after = built.newest_after;
        let mut top_end = newest;
        if let Some((cursor, _)) = after {
            top_end = top_end.min(cursor);
        }
        if let Some(to) = q.to {
            top_end = top_end.min(nanos(to));
        }
        let floor = q.from.map_or(oldest, |from| nanos(from).max(oldest));
        let by_date = move |segment: &tantivy::SegmentReader| {
            let dates = segment.fast_fields().i64("date").expect("date is a fast field");
            let ties = segment.fast_fields().u64("tiebreak").expect("tiebreak is a fast field");
            move |doc: tantivy::DocId| {
                let key = (dates.first(doc).unwrap_or(i64::MIN), ties.first(doc).unwrap_or(0));
                // Hits of the cursor's instant already shown sort below every other hit and are dropped.
                match after {
                    Some(cursor) if key >= cursor => (i64::MIN, 0),
                    _ => key,
                }
            }
        };
        let mut span = FIRST_WINDOW_NS;
        loop {
            let start = top_end.saturating_sub(span);
            let whole = start <= floor;
            let windowed = if whole { None } else { Some(query::since(&self.fields, &*built.query, start)) };
            let top = TopDocs::with_limit(q.limit + 1).order_by(by_date);
            let mut found: Vec<((i64, u64), DocAddress)> = searcher
                .search(windowed.as_deref().unwrap_or(&*built.query), &top)
                .map_err(|e| internal("cannot search", e))?;
            found.retain(|(key, _)| *key != (i64::MIN, 0));
            if found.len() > q.limit || whole {
                let more = found.len() > q.limit;
                found.truncate(q.limit);
                let next = more.then(|| found.last().map(|(key, _)| query::newest_position(*key))).flatten();
                return Ok((found.into_iter().map(|(_, addr)| (0.0, addr)).collect(), next));
            }
            span = span.saturating_mul(WINDOW_GROWTH);
        }
    }

    fn hit(
        &self,
        doc: &TantivyDocument,
        score: f32,
        snippets: Option<&SnippetGenerator>,
    ) -> Result<SearchHit, PortError> {
        let f = self.fields;
        let text_of = |field| doc.get_first(field).and_then(|v| v.as_str().map(str::to_owned));
        let int_of = |field| doc.get_first(field).and_then(|v| v.as_i64());
        let corrupt = || PortError::new(PortErrorKind::Internal, "search index: a document lacks a field");
        let account = AccountId::parse(&text_of(f.account).ok_or_else(corrupt)?)
            .map_err(|e| PortError::new(PortErrorKind::Internal, format!("search index: {e}")))?;
        let date_ns = int_of(f.date).ok_or_else(corrupt)?;
        let flags = doc.get_first(f.flags).and_then(|v| v.as_u64()).unwrap_or(0);
        let text = text_of(f.text).unwrap_or_default();
        let snippet = match snippets {
            Some(g) => fragments(&text, &g.snippet(&text)),
            None => vec![Fragment { text: text.chars().take(SNIPPET_CHARS).collect(), hit: false }],
        };
        let tags: BTreeSet<TagId> =
            doc.get_all(f.tags).filter_map(|v| v.as_str().and_then(|s| TagId::parse(s).ok())).collect();
        Ok(SearchHit {
            account_id: account,
            peer: int_of(f.peer).ok_or_else(corrupt)?,
            id: int_of(f.id).ok_or_else(corrupt)?,
            date: DateTime::from_timestamp_nanos(date_ns),
            sender_id: int_of(f.sender),
            sender_name: text_of(f.sender_name),
            outgoing: flags & OUTGOING != 0,
            deleted: flags & DELETED != 0,
            tags,
            snippet,
            score,
        })
    }
}

/// Splits a snippet into plain and matched pieces. A text that fits in a
/// snippet is shown whole (tantivy's fragment stops at the last word, which
/// would drop closing punctuation); an empty snippet (no match in the text:
/// the hit came from a filter) is the text's start.
fn fragments(text: &str, snippet: &tantivy::snippet::Snippet) -> Vec<Fragment> {
    let range = snippet.fragment_range();
    let (shown, shift) = if text.chars().count() <= SNIPPET_CHARS && text.get(range.clone()).is_some() {
        (text, range.start)
    } else {
        (snippet.fragment(), 0)
    };
    if snippet.highlighted().is_empty() {
        return vec![Fragment { text: shown.chars().take(SNIPPET_CHARS).collect(), hit: false }];
    }
    let mut out = Vec::new();
    let mut at = 0;
    for range in snippet.highlighted() {
        let (start, end) = (range.start + shift, range.end + shift);
        if start > at {
            out.push(Fragment { text: shown[at..start].to_owned(), hit: false });
        }
        out.push(Fragment { text: shown[start..end].to_owned(), hit: true });
        at = end;
    }
    if at < shown.len() {
        out.push(Fragment { text: shown[at..].to_owned(), hit: false });
    }
    out
}

#[async_trait]
impl SearchIndex for TantivyIndex {
    async fn apply(&self, changes: &[MessageChange]) -> Result<(), PortError> {
        let inner = self.inner.clone();
        let changes = changes.to_vec();
        blocking(move || inner.apply(&changes)).await
    }

    async fn commit(&self, position: Option<&str>) -> Result<(), PortError> {
        let inner = self.inner.clone();
        let position = position.map(str::to_owned);
        blocking(move || inner.commit(position.as_deref())).await
    }

    async fn position(&self) -> Result<Option<String>, PortError> {
        let inner = self.inner.clone();
        blocking(move || Ok(inner.index.load_metas().map_err(|e| internal("cannot read metas", e))?.payload)).await
    }

    async fn search(&self, tenant: &TenantId, query: &SearchQuery) -> Result<SearchPage, PortError> {
        let inner = self.inner.clone();
        let (tenant, query) = (tenant.clone(), query.clone());
        blocking(move || inner.search(&tenant, &query)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tgdesk_core::testkit::SearchHandle;

    async fn make() -> SearchHandle {
        let dir = tempfile::tempdir().unwrap();
        let index = TantivyIndex::open(dir.path()).unwrap();
        SearchHandle::new(Arc::new(index)).keep_alive(dir)
    }

    tgdesk_core::search_contract_suite!(make);

    #[tokio::test]
    async fn a_reopened_index_keeps_its_documents_and_position() {
        let dir = tempfile::tempdir().unwrap();
        let tenant = TenantId::parse("acme").unwrap();
        let mut m = tgdesk_core::testkit::fixtures::message(&AccountId::generate(), 7, 1, 1, false);
        m.text = "persistent words".into();
        {
            let index = TantivyIndex::open(dir.path()).unwrap();
            index.apply(&[MessageChange::Upsert { tenant: tenant.clone(), message: m }]).await.unwrap();
            index.commit(Some("9")).await.unwrap();
        }
        let index = TantivyIndex::open(dir.path()).unwrap();
        assert_eq!(index.position().await.unwrap().as_deref(), Some("9"));
        assert_eq!(index.documents(), 1);
        let q = SearchQuery::text(tgdesk_core::ports::SearchText::parse("persistent").unwrap(), 10);
        assert_eq!(index.search(&tenant, &q).await.unwrap().hits.len(), 1);
    }
}
