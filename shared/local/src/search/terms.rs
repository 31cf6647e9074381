//! [`TermsQuery`]: documents whose field holds one of a set of terms (an
//! agent's accounts), found by one dictionary lookup per term and segment.
//! tantivy's `TermSetQuery` walks the field's whole term dictionary through
//! an automaton instead; with 300,000 accounts in the dictionary that walk
//! was most of a scoped search's time.

use tantivy::query::{BitSetDocSet, ConstScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{BitSet, DocId, DocSet, Score, SegmentReader, TantivyError, Term};

/// Matches documents whose `field` holds any of `terms`, with a constant score.
#[derive(Clone, Debug)]
pub(super) struct TermsQuery {
    field: Field,
    terms: Vec<Term>,
}

impl TermsQuery {
    /// The query of `terms`, all of one field.
    pub(super) fn new(field: Field, terms: impl IntoIterator<Item = Term>) -> Self {
        let mut terms: Vec<Term> = terms.into_iter().collect();
        terms.sort();
        terms.dedup();
        Self { field, terms }
    }
}

impl Query for TermsQuery {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for term in &self.terms {
            visitor(term, false);
        }
    }
}

impl Weight for TermsQuery {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let inverted = reader.inverted_index(self.field)?;
        let mut docs = BitSet::with_max_value(reader.max_doc());
        for term in &self.terms {
            let Some(info) = inverted.get_term_info(term)? else { continue };
            let mut postings = inverted.read_block_postings_from_terminfo(&info, IndexRecordOption::Basic)?;
            while !postings.docs().is_empty() {
                for &doc in postings.docs() {
                    docs.insert(doc);
                }
                postings.advance();
            }
        }
        Ok(Box::new(ConstScorer::new(BitSetDocSet::from(docs), boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) == doc {
            Ok(Explanation::new("one of the terms", 1.0))
        } else {
            Err(TantivyError::InvalidArgument(format!("document {doc} holds none of the terms")))
        }
    }
}
