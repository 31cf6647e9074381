//! Contract of [`SearchIndex`]: every adapter (tantivy, OpenSearch) finds the
//! same messages for the same query, in the same order, with the same
//! languages handled: Chinese by words inside a sentence, Russian and
//! English case-folded and stemmed. Each case works in its own tenant.

use super::fixtures::{assert_kind, at, message, tenant};
use crate::domain::{AccountId, Message, TagId, TenantId};
use crate::ports::{
    MessageChange, PortErrorKind, SearchHit, SearchIndex, SearchOrder, SearchPage, SearchQuery, SearchText,
};
use std::collections::HashSet;

fn upsert(tenant: &TenantId, m: &Message) -> MessageChange {
    MessageChange::Upsert { tenant: tenant.clone(), message: m.clone() }
}

fn text_message(account: &AccountId, peer: i64, id: i64, offset_ms: i64, text: &str) -> Message {
    let mut m = message(account, peer, id, offset_ms, false);
    m.text = text.to_owned();
    m
}

async fn store(index: &dyn SearchIndex, tenant: &TenantId, messages: &[Message]) {
    let changes: Vec<MessageChange> = messages.iter().map(|m| upsert(tenant, m)).collect();
    index.apply(&changes).await.expect("apply");
    index.commit(None).await.expect("commit");
}

fn query(text: &str) -> SearchQuery {
    SearchQuery::text(SearchText::parse(text).expect("valid text"), 50)
}

async fn find(index: &dyn SearchIndex, tenant: &TenantId, q: &SearchQuery) -> Vec<i64> {
    index.search(tenant, q).await.expect("search").hits.iter().map(|h| h.id).collect()
}

async fn ids_of(index: &dyn SearchIndex, tenant: &TenantId, text: &str) -> Vec<i64> {
    find(index, tenant, &query(text)).await
}

/// A stored message is found by a word of it once committed, and carries
/// what a result list shows.
pub async fn a_committed_message_is_found_by_a_word(index: &dyn SearchIndex) {
    let t = tenant();
    let a = AccountId::generate();
    let mut m = text_message(&a, 7, 1, 5, "Where is my parcel? It was due on Monday");
    m.tags = [TagId::generate()].into();
    store(index, &t, std::slice::from_ref(&m)).await;
    let page = index.search(&t, &query("parcel")).await.unwrap();
    assert_eq!(page.hits.len(), 1);
    let hit: &SearchHit = &page.hits[0];
    assert_eq!((&hit.account_id, hit.peer, hit.id), (&a, 7, 1));
    assert_eq!((hit.date, hit.sender_id, hit.sender_name.as_deref()), (m.date, Some(7), Some("Customer 7")));
    assert_eq!((hit.outgoing, hit.deleted, &hit.tags), (false, false, &m.tags));
    let marked: Vec<&str> = hit.snippet.iter().filter(|f| f.hit).map(|f| f.text.as_str()).collect();
    assert_eq!(marked, ["parcel"], "the snippet marks the matched word: {:?}", hit.snippet);
    let whole: String = hit.snippet.iter().map(|f| f.text.as_str()).collect();
    assert!(whole.contains("Where is my parcel"), "the snippet keeps the words around: {whole}");
    assert!(page.next.is_none());
    assert!(ids_of(index, &t, "invoice").await.is_empty());
}

/// Applying the same change twice keeps one document; an upsert replaces.
pub async fn upserts_are_idempotent_and_replace_the_text(index: &dyn SearchIndex) {
    let t = tenant();
    let a = AccountId::generate();
    let m = text_message(&a, 7, 1, 5, "the courier never came");
    store(index, &t, &[m.clone(), m.clone()]).await;
    store(index, &t, std::slice::from_ref(&m)).await;
    assert_eq!(ids_of(index, &t, "courier").await, [1]);
    let mut edited = m.clone();
    edited.text = "the driver arrived late".into();
    edited.edited_at = Some(at(9));
    store(index, &t, &[edited]).await;
    assert!(ids_of(index, &t, "courier").await.is_empty());
    assert_eq!(ids_of(index, &t, "driver").await, [1]);
}

/// Removing a message, or an account, takes it out of the results.
pub async fn removed_messages_and_accounts_are_not_found(index: &dyn SearchIndex) {
    let t = tenant();
    let (a, b) = (AccountId::generate(), AccountId::generate());
    let ms = [
        text_message(&a, 7, 1, 1, "apple one"),
        text_message(&a, 7, 2, 2, "apple two"),
        text_message(&b, 7, 1, 3, "apple three"),
    ];
    store(index, &t, &ms).await;
    assert_eq!(ids_of(index, &t, "apple").await.len(), 3);
    let remove = MessageChange::Remove { tenant: t.clone(), account: a.clone(), peer: 7, id: 2 };
    index.apply(&[remove.clone(), remove]).await.unwrap();
    index.commit(None).await.unwrap();
    assert_eq!(ids_of(index, &t, "apple").await, [1, 1]);
    index.apply(&[MessageChange::RemoveAccount { tenant: t.clone(), account: a.clone() }]).await.unwrap();
    index.commit(None).await.unwrap();
    let hits = index.search(&t, &query("apple")).await.unwrap().hits;
    assert_eq!(hits.iter().map(|h| (&h.account_id, h.id)).collect::<Vec<_>>(), [(&b, 1)]);
}

/// One tenant never finds another's messages.
pub async fn tenants_never_see_each_other(index: &dyn SearchIndex) {
    let (t1, t2) = (tenant(), tenant());
    let a = AccountId::generate();
    store(index, &t1, &[text_message(&a, 7, 1, 1, "confidential banana")]).await;
    assert_eq!(ids_of(index, &t1, "banana").await, [1]);
    assert!(ids_of(index, &t2, "banana").await.is_empty());
}

/// The accounts list confines the hits; an empty list finds nothing.
pub async fn the_account_scope_confines_the_hits(index: &dyn SearchIndex) {
    let t = tenant();
    let (a, b, c) = (AccountId::generate(), AccountId::generate(), AccountId::generate());
    let ms =
        [text_message(&a, 7, 1, 1, "cherry"), text_message(&b, 7, 2, 2, "cherry"), text_message(&c, 7, 3, 3, "cherry")];
    store(index, &t, &ms).await;
    let mut q = query("cherry");
    q.accounts = Some(vec![a.clone(), c.clone()]);
    assert_eq!(find(index, &t, &q).await, [3, 1]);
    q.accounts = Some(Vec::new());
    assert!(find(index, &t, &q).await.is_empty());
}

/// Dialog, sender and date filters each narrow the hits; `to` is exclusive.
pub async fn dialog_sender_and_date_filters_narrow_the_hits(index: &dyn SearchIndex) {
    let t = tenant();
    let a = AccountId::generate();
    let mut from_agent = text_message(&a, 8, 3, 3_000, "grape");
    from_agent.outgoing = true;
    from_agent.sender_id = Some(1);
    let ms = [text_message(&a, 7, 1, 1_000, "grape"), text_message(&a, 8, 2, 2_000, "grape"), from_agent];
    store(index, &t, &ms).await;
    let mut q = query("grape");
    q.peer = Some(8);
    assert_eq!(find(index, &t, &q).await, [3, 2]);
    q.sender = Some(8);
    assert_eq!(find(index, &t, &q).await, [2]);
    let mut q = query("grape");
    q.from = Some(at(2_000));
    q.to = Some(at(3_000));
    assert_eq!(find(index, &t, &q).await, [2]);
}

/// Every named tag must be on a hit; tags alone (no words) are a query.
pub async fn tags_filter_and_alone_make_a_query(index: &dyn SearchIndex) {
    let t = tenant();
    let a = AccountId::generate();
    let (x, y) = (TagId::generate(), TagId::generate());
    let mut m1 = text_message(&a, 7, 1, 1, "lemon");
    m1.tags = [x.clone()].into();
    let mut m2 = text_message(&a, 7, 2, 2, "lime");
    m2.tags = [x.clone(), y.clone()].into();
    store(index, &t, &[m1, m2, text_message(&a, 7, 3, 3, "lemon")]).await;
    let mut q = query("");
    q.tags = vec![x.clone()];
    assert_eq!(find(index, &t, &q).await, [2, 1]);
    q.tags = vec![x.clone(), y];
    assert_eq!(find(index, &t, &q).await, [2]);
    let mut q = query("lemon");
    q.tags = vec![x];
    assert_eq!(find(index, &t, &q).await, [1]);
}

/// Words must all match (in any order); a phrase matches its words in
/// order; a negated clause excludes.
pub async fn words_phrases_and_exclusions_match_as_written(index: &dyn SearchIndex) {
    let t = tenant();
    let a = AccountId::generate();
    let ms = [
        text_message(&a, 7, 1, 1, "order number 42 was cancelled"),
        text_message(&a, 7, 2, 2, "number of the order is 42"),
        text_message(&a, 7, 3, 3, "order shipped"),
    ];
    store(index, &t, &ms).await;
    assert_eq!(ids_of(index, &t, "order 42").await, [2, 1]);
    assert_eq!(ids_of(index, &t, r#""order number""#).await, [1]);
    assert_eq!(ids_of(index, &t, "order -cancelled").await, [3, 2]);
    assert_eq!(ids_of(index, &t, "ORDER Shipped").await, [3]);
}

/// Chinese is found by a word inside a sentence; Russian and English are
/// case-folded and stemmed; a mixed message is found by each of its
/// languages.
pub async fn chinese_russian_and_english_are_found_by_words(index: &dyn SearchIndex) {
    let t = tenant();
    let a = AccountId::generate();
    let ms = [
        text_message(&a, 7, 1, 1, "我想申请退款，订单号是12345"),
        text_message(&a, 7, 2, 2, "Доставка задерживается уже третий день"),
        text_message(&a, 7, 3, 3, "Two refunds were issued yesterday"),
        text_message(&a, 7, 4, 4, "您好 the payment failed, оплата не прошла"),
        text_message(&a, 7, 5, 5, "今天天气很好"),
    ];
    store(index, &t, &ms).await;
    assert_eq!(ids_of(index, &t, "退款").await, [1]);
    assert_eq!(ids_of(index, &t, "доставки").await, [2]);
    assert_eq!(ids_of(index, &t, "ДОСТАВКА").await, [2]);
    assert_eq!(ids_of(index, &t, "refund").await, [3]);
    assert_eq!(ids_of(index, &t, "Refunding").await, [3]);
    assert_eq!(ids_of(index, &t, "payment").await, [4]);
    assert_eq!(ids_of(index, &t, "оплаты").await, [4]);
    assert_eq!(ids_of(index, &t, "您好").await, [4]);
    assert_eq!(ids_of(index, &t, "12345").await, [1]);
    assert!(ids_of(index, &t, "退货").await.is_empty(), "a different Chinese word does not match");
}

async fn all_pages(index: &dyn SearchIndex, tenant: &TenantId, mut q: SearchQuery) -> Vec<SearchHit> {
    let mut hits = Vec::new();
    for _ in 0..super::fixtures::MAX_PAGES {
        let SearchPage { hits: page, next } = index.search(tenant, &q).await.expect("search");
        assert!(page.len() <= q.limit);
        hits.extend(page);
        match next {
            Some(n) => q.after = Some(n),
            None => return hits,
        }
    }
    panic!("paging never ended");
}

/// Newest first pages through every hit exactly once, also when many
/// messages share one second (Telegram dates are whole seconds).
pub async fn newest_first_pages_without_gaps_or_duplicates(index: &dyn SearchIndex) {
    let t = tenant();
    let (a, b) = (AccountId::generate(), AccountId::generate());
    let ms: Vec<Message> =
        (0..23).map(|i| text_message(if i % 2 == 0 { &a } else { &b }, 7, i + 1, (i / 5) * 1_000, "melon")).collect();
    store(index, &t, &ms).await;
    let mut q = query("melon");
    q.limit = 4;
    let hits = all_pages(index, &t, q).await;
    assert_eq!(hits.len(), 23, "every hit once");
    let keys: HashSet<(AccountId, i64)> = hits.iter().map(|h| (h.account_id.clone(), h.id)).collect();
    assert_eq!(keys.len(), 23, "no duplicates");
    assert!(hits.windows(2).all(|w| w[0].date >= w[1].date), "newest first");
}

/// Newest first reaches back across months to sparse hits, under newer
/// messages that do not match, and keeps to the dates asked for.
pub async fn newest_first_reaches_back_across_months(index: &dyn SearchIndex) {
    let t = tenant();
    let a = AccountId::generate();
    let day = 86_400_000;
    // A melon every ten days for 200 days, and a busy last day of apples.
    let mut ms: Vec<Message> = (0..20).map(|i| text_message(&a, 7, i + 1, i * 10 * day, "melon")).collect();
    ms.extend((0..30).map(|i| text_message(&a, 8, 100 + i, 199 * day + i * 1_000, "apple")));
    store(index, &t, &ms).await;
    let mut q = query("melon");
    q.limit = 3;
    let ids: Vec<i64> = all_pages(index, &t, q.clone()).await.iter().map(|h| h.id).collect();
    assert_eq!(ids, (1..=20).rev().collect::<Vec<i64>>(), "every melon, newest first");
    q.from = Some(at(45 * day));
    q.to = Some(at(120 * day));
    let ids: Vec<i64> = all_pages(index, &t, q).await.iter().map(|h| h.id).collect();
    assert_eq!(ids, (6..=12).rev().collect::<Vec<i64>>(), "only days 45 to 120, the end excluded");
}

/// Relevance order puts the better match first and pages too.
pub async fn relevance_order_ranks_and_pages(index: &dyn SearchIndex) {
    let t = tenant();
    let a = AccountId::generate();
    let mut ms = vec![text_message(&a, 7, 1, 1, "kiwi kiwi kiwi kiwi")];
    ms.extend((2..12).map(|i| text_message(&a, 7, i, i, "kiwi and a long sentence about other fruit entirely")));
    store(index, &t, &ms).await;
    let mut q = query("kiwi");
    q.order = SearchOrder::Relevance;
    q.limit = 3;
    let hits = all_pages(index, &t, q).await;
    assert_eq!(hits.len(), 11);
    assert_eq!(hits[0].id, 1, "the densest match first");
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    assert_eq!(hits.iter().map(|h| h.id).collect::<HashSet<_>>().len(), 11);
}

/// The position given to `commit` is read back; a commit without one
/// (changes made in the archive) keeps it and still shows its changes.
pub async fn the_committed_position_is_read_back(index: &dyn SearchIndex) {
    let (t, a) = (tenant(), AccountId::generate());
    index.apply(&[upsert(&t, &text_message(&a, 7, 1, 1, "plum"))]).await.unwrap();
    index.commit(Some("position-41")).await.unwrap();
    assert_eq!(index.position().await.unwrap().as_deref(), Some("position-41"));
    index.commit(Some("position-42")).await.unwrap();
    assert_eq!(index.position().await.unwrap().as_deref(), Some("position-42"));

    index.apply(&[upsert(&t, &text_message(&a, 7, 2, 2, "quince"))]).await.unwrap();
    index.commit(None).await.unwrap();
    assert_eq!(index.position().await.unwrap().as_deref(), Some("position-42"));
    assert_eq!(index.search(&t, &query("quince")).await.unwrap().hits.len(), 1);
}

/// A page position this adapter never gave is `Invalid`.
pub async fn a_forged_page_position_is_invalid(index: &dyn SearchIndex) {
    let t = tenant();
    let mut q = query("anything");
    q.after = Some("not a position".into());
    assert_kind(index.search(&t, &q).await, PortErrorKind::Invalid);
}

/// Expands to one `#[tokio::test]` per search contract case; `$make`
/// returns a future of [`SearchHandle`](crate::testkit::SearchHandle).
#[macro_export]
macro_rules! search_contract_suite {
    ($make:expr) => {
        $crate::search_contract_suite!(@cases $make;
            a_committed_message_is_found_by_a_word,
            upserts_are_idempotent_and_replace_the_text,
            removed_messages_and_accounts_are_not_found,
            tenants_never_see_each_other,
            the_account_scope_confines_the_hits,
            dialog_sender_and_date_filters_narrow_the_hits,
            tags_filter_and_alone_make_a_query,
            words_phrases_and_exclusions_match_as_written,
            chinese_russian_and_english_are_found_by_words,
            newest_first_pages_without_gaps_or_duplicates,
            newest_first_reaches_back_across_months,
            relevance_order_ranks_and_pages,
            the_committed_position_is_read_back,
            a_forged_page_position_is_invalid,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let handle: $crate::testkit::SearchHandle = ($make)().await;
                $crate::testkit::search_suite::$case(&*handle.port).await;
            }
        )+
    };
}
