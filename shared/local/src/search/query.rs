//! Turns a port query into a tantivy query: the words through the same
//! tokenizer as the documents, every filter a constant-score clause (so
//! filters never change relevance), and the page position decoded.

use super::terms::TermsQuery;
use super::{tokenizer, Fields};
use std::ops::Bound;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::Term;
use tgdesk_core::domain::TenantId;
use tgdesk_core::ports::{Clause, PortError, PortErrorKind, SearchQuery};

/// A query ready to run.
pub(super) struct Built {
    pub query: Box<dyn Query>,
    /// True when words take part (snippets mark them).
    pub has_text: bool,
    /// For newest-first pages: the (date, tie-break) of the last hit shown.
    pub newest_after: Option<(i64, u64)>,
}

fn invalid_position() -> PortError {
    PortError::new(PortErrorKind::Invalid, "search page position is malformed")
}

/// The position after a relevance page ending at `offset`.
pub(super) fn relevance_position(offset: usize) -> String {
    format!("r{offset}")
}

pub(super) fn relevance_offset(raw: &str) -> Result<usize, PortError> {
    raw.strip_prefix('r').and_then(|n| n.parse().ok()).ok_or_else(invalid_position)
}

/// The position after a newest-first page whose last hit sorts at `key`.
pub(super) fn newest_position((date, tie): (i64, u64)) -> String {
    format!("n{date}.{tie}")
}

fn newest_after(raw: &str) -> Result<(i64, u64), PortError> {
    let (date, tie) = raw.strip_prefix('n').and_then(|r| r.split_once('.')).ok_or_else(invalid_position)?;
    Ok((date.parse().map_err(|_| invalid_position())?, tie.parse().map_err(|_| invalid_position())?))
}

fn filter(q: impl Query) -> (Occur, Box<dyn Query>) {
    (Occur::Must, Box::new(ConstScoreQuery::new(Box::new(q), 0.0)))
}

fn term(t: Term) -> TermQuery {
    TermQuery::new(t, IndexRecordOption::Basic)
}

/// The query of one clause; `None` when it has no words the index keeps.
fn clause_query(fields: &Fields, clause: &Clause) -> Option<Box<dyn Query>> {
    let terms: Vec<Term> =
        tokenizer::tokens(&clause.text).into_iter().map(|t| Term::from_field_text(fields.text, &t.text)).collect();
    match terms.len() {
        0 => None,
        1 => Some(Box::new(TermQuery::new(terms[0].clone(), IndexRecordOption::WithFreqs))),
        _ if clause.phrase => Some(Box::new(PhraseQuery::new(terms))),
        // A run without spaces that splits into several words (Chinese):
        // every word must be there.
        _ => Some(Box::new(BooleanQuery::new(
            terms
                .into_iter()
                .map(|t| (Occur::Must, Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs)) as Box<dyn Query>))
                .collect(),
        ))),
    }
}

/// `query` restricted to messages dated `start` (nanoseconds) or later.
pub(super) fn since(fields: &Fields, query: &dyn Query, start: i64) -> Box<dyn Query> {
    let window = RangeQuery::new(Bound::Included(Term::from_field_i64(fields.date, start)), Bound::Unbounded);
    Box::new(BooleanQuery::new(vec![(Occur::Must, query.box_clone()), filter(window)]))
}

/// Builds the query; `Ok(None)` when it can match nothing (a word made only
/// of what the index drops).
pub(super) fn build(fields: &Fields, tenant: &TenantId, q: &SearchQuery) -> Result<Option<Built>, PortError> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> =
        vec![filter(term(Term::from_field_text(fields.tenant, tenant.as_str())))];
    let mut has_text = false;
    for clause in q.text.clauses() {
        match (clause_query(fields, clause), clause.negated) {
            (Some(query), false) => {
                clauses.push((Occur::Must, query));
                has_text = true;
            }
            (Some(query), true) => clauses.push((Occur::MustNot, query)),
            (None, false) => return Ok(None),
            (None, true) => {}
        }
    }
    if let Some(accounts) = &q.accounts {
        let terms = accounts.iter().map(|a| Term::from_field_text(fields.account, a.as_str()));
        clauses.push(filter(TermsQuery::new(fields.account, terms)));
    }
    for tag in &q.tags {
        clauses.push(filter(term(Term::from_field_text(fields.tags, tag.as_str()))));
    }
    if let Some(peer) = q.peer {
        clauses.push(filter(term(Term::from_field_i64(fields.peer, peer))));
    }
    if let Some(sender) = q.sender {
        clauses.push(filter(term(Term::from_field_i64(fields.sender, sender))));
    }
    let newest_after = match (q.order, q.after.as_deref()) {
        (tgdesk_core::ports::SearchOrder::Newest, Some(raw)) => Some(newest_after(raw)?),
        _ => None,
    };
    let date = |t: chrono::DateTime<chrono::Utc>| Term::from_field_i64(fields.date, super::nanos(t));
    let lower = q.from.map_or(Bound::Unbounded, |t| Bound::Included(date(t)));
    let upper = match (q.to, newest_after) {
        (Some(to), Some((after, _))) if after < super::nanos(to) => {
            Bound::Included(Term::from_field_i64(fields.date, after))
        }
        (Some(to), _) => Bound::Excluded(date(to)),
        (None, Some((after, _))) => Bound::Included(Term::from_field_i64(fields.date, after)),
        (None, None) => Bound::Unbounded,
    };
    if !matches!((&lower, &upper), (Bound::Unbounded, Bound::Unbounded)) {
        clauses.push(filter(RangeQuery::new(lower, upper)));
    }
    Ok(Some(Built { query: Box::new(BooleanQuery::new(clauses)), has_text, newest_after }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_forgeries_are_invalid() {
        assert_eq!(relevance_offset(&relevance_position(40)).unwrap(), 40);
        assert_eq!(newest_after(&newest_position((-5, 7))).unwrap(), (-5, 7));
        for bad in ["", "r", "rx", "n5", "n.5", "nx.1", "q1"] {
            assert_eq!(newest_after(bad).err().map(|e| e.kind), Some(PortErrorKind::Invalid), "{bad}");
        }
        assert!(relevance_offset("n1.2").is_err());
    }
}
