//! Reads a search reply: each hit's `_source` back into a [`SearchHit`], its
//! highlight split on the markers into [`Fragment`]s, and the last hit's
//! `sort` values into the next page's position.

use crate::mapping::{Document, TEXT_FIELDS};
use crate::query::{After, Built, HIT_END, HIT_START, SNIPPET_CHARS};
use chrono::DateTime;
use serde_json::Value;
use tgdesk_core::domain::{AccountId, TagId};
use tgdesk_core::ports::{Fragment, PortError, PortErrorKind, SearchHit, SearchOrder, SearchPage};

fn corrupt(what: impl std::fmt::Display) -> PortError {
    PortError::new(PortErrorKind::Internal, format!("opensearch search: {what}"))
}

/// The page of a `_search` reply to `built`.
pub(crate) fn page(reply: &Value, built: &Built, order: SearchOrder) -> Result<SearchPage, PortError> {
    let raw = reply.pointer("/hits/hits").and_then(Value::as_array).ok_or_else(|| corrupt("the reply has no hits"))?;
    let shown = &raw[..raw.len().min(built.limit)];
    let mut hits = Vec::with_capacity(shown.len());
    for h in shown {
        hits.push(hit(h, built.has_text)?);
    }
    let next = match (raw.len() > built.limit, shown.last()) {
        (true, Some(last)) => {
            let sort = last.get("sort").ok_or_else(|| corrupt("a hit has no sort values"))?;
            Some(After::of_sort(order, sort).ok_or_else(|| corrupt("a hit's sort values are malformed"))?.encode())
        }
        _ => None,
    };
    Ok(SearchPage { hits, next })
}

fn hit(raw: &Value, has_text: bool) -> Result<SearchHit, PortError> {
    let source = raw.get("_source").cloned().ok_or_else(|| corrupt("a hit has no _source"))?;
    let doc: Document = serde_json::from_value(source).map_err(|e| corrupt(format!("a document is malformed: {e}")))?;
    let account_id = AccountId::parse(&doc.account).map_err(corrupt)?;
    let snippet = if has_text { best_highlight(raw.get("highlight")) } else { None }
        .unwrap_or_else(|| vec![Fragment { text: doc.text.chars().take(SNIPPET_CHARS).collect(), hit: false }]);
    Ok(SearchHit {
        account_id,
        peer: doc.peer,
        id: doc.id,
        date: DateTime::from_timestamp_nanos(doc.date_ns),
        sender_id: doc.sender,
        sender_name: doc.sender_name,
        outgoing: doc.outgoing,
        deleted: doc.deleted,
        tags: doc.tags.iter().filter_map(|t| TagId::parse(t).ok()).collect(),
        snippet,
        // `_score` is null when sorting by date.
        score: raw.get("_score").and_then(Value::as_f64).unwrap_or(0.0) as f32,
    })
}

/// The highlight with the most matches across the text fields (the first
/// field wins a tie), split into fragments; `None` when no field matched.
fn best_highlight(highlight: Option<&Value>) -> Option<Vec<Fragment>> {
    let highlight = highlight?;
    TEXT_FIELDS
        .iter()
        .filter_map(|f| highlight.get(*f)?.get(0)?.as_str())
        .map(fragments)
        .filter(|pieces| pieces.iter().any(|p| p.hit))
        .rev()
        .max_by_key(|pieces| pieces.iter().filter(|p| p.hit).count())
}

/// Splits a highlighted text on the markers: text between a start and an
/// end marker is a hit; a marker without its pair is dropped.
pub(crate) fn fragments(highlighted: &str) -> Vec<Fragment> {
    let mut out: Vec<Fragment> = Vec::new();
    let mut current = String::new();
    let mut in_hit = false;
    let flush = |text: &mut String, hit: bool, out: &mut Vec<Fragment>| {
        if text.is_empty() {
            return;
        }
        match out.last_mut() {
            Some(last) if last.hit == hit => last.text.push_str(text),
            _ => out.push(Fragment { text: text.clone(), hit }),
        }
        text.clear();
    };
    for c in highlighted.chars() {
        match c {
            HIT_START if !in_hit => {
                flush(&mut current, false, &mut out);
                in_hit = true;
            }
            HIT_END if in_hit => {
                flush(&mut current, true, &mut out);
                in_hit = false;
            }
            HIT_START | HIT_END => {}
            c => current.push(c),
        }
    }
    flush(&mut current, in_hit, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn piece(text: &str, hit: bool) -> Fragment {
        Fragment { text: text.into(), hit }
    }

    #[test]
    fn markers_split_a_highlight_into_plain_and_matched_pieces() {
        let marked = "Where is my \u{e000}parcel\u{e001}? The \u{e000}parcel\u{e001}";
        assert_eq!(
            fragments(marked),
            [piece("Where is my ", false), piece("parcel", true), piece("? The ", false), piece("parcel", true)]
        );
        assert_eq!(fragments("\u{e000}退款\u{e001}，订单"), [piece("退款", true), piece("，订单", false)]);
        assert_eq!(fragments("a \u{e001}b\u{e000}"), [piece("a b", false)], "unpaired markers are dropped");
        assert!(fragments("").is_empty());
    }

    #[test]
    fn the_field_with_the_most_matches_gives_the_snippet() {
        let highlight = json!({
            "text": ["\u{e000}order\u{e001} shipped"],
            "text.ru": ["\u{e000}order\u{e001} \u{e000}shipped\u{e001}"],
            "text.zh": ["order shipped"],
        });
        let best = best_highlight(Some(&highlight)).unwrap();
        assert_eq!(best.iter().filter(|p| p.hit).count(), 2);
        let tie = json!({ "text.zh": ["\u{e000}b\u{e001}"], "text": ["\u{e000}a\u{e001}"] });
        assert_eq!(best_highlight(Some(&tie)).unwrap(), [piece("a", true)], "the first field wins a tie");
        assert!(best_highlight(Some(&json!({ "text": ["no match"] }))).is_none());
    }
}
