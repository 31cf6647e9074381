//! The requests `OpenSearchIndex` builds, checked against a stand-in cluster
//! that records them and answers with recorded OpenSearch responses
//! (`tests/fixtures/`): the template, `_bulk` bodies and their retries,
//! deletes by query, commits, and a search body for every kind of clause
//! and filter, with the replies read back into hits and pages.

mod support;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};
use support::{Cluster, ACCOUNT_A, ACCOUNT_B, TENANT};
use tgdesk_core::domain::{AccountId, Message, TagId, TenantId};
use tgdesk_core::ports::{Fragment, MessageChange, PortErrorKind, SearchIndex, SearchOrder, SearchQuery, SearchText};
use tgdesk_opensearch::OpenSearchIndex;

const SEARCH: &str = "POST /tgdesk-messages/_search?ignore_unavailable=true&allow_no_indices=true";
const REFRESH: &str = "POST /tgdesk-messages/_refresh?ignore_unavailable=true&allow_no_indices=true";
const DELETE: &str =
    "POST /tgdesk-messages/_delete_by_query?ignore_unavailable=true&allow_no_indices=true&conflicts=proceed";

fn tenant() -> TenantId {
    TenantId::parse(TENANT).unwrap()
}

fn account(raw: &str) -> AccountId {
    AccountId::parse(raw).unwrap()
}

fn at(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(secs)
}

fn message(account_id: &str, peer: i64, id: i64, date: DateTime<Utc>, text: &str) -> Message {
    let mut m = tgdesk_core::testkit::fixtures::message(&account(account_id), peer, id, 0, false);
    m.date = date;
    m.text = text.into();
    m
}

/// The three messages `bulk_three_indexed.json` and its kin answer for.
fn three_upserts() -> Vec<MessageChange> {
    let mut third = message(ACCOUNT_B, 8, 3, at(3), "third");
    third.outgoing = true;
    third.sender_id = Some(1);
    third.sender_name = None;
    third.tags = [TagId::parse("tag_01hq3m0000000000000000000a").unwrap()].into();
    [message(ACCOUNT_A, 7, 1, at(1), "first"), message(ACCOUNT_A, 7, 2, at(-1), "second"), third]
        .into_iter()
        .map(|message| MessageChange::Upsert { tenant: tenant(), message })
        .collect()
}

fn action(index: &str, account_id: &str, peer: i64, id: i64) -> Value {
    json!({ "index": { "_index": index, "_id": format!("acme:{account_id}:{peer}:{id}") } })
}

fn lines(requests: &[support::Recorded]) -> Vec<String> {
    requests.iter().map(support::Recorded::line).collect()
}

fn query(text: &str, limit: usize) -> SearchQuery {
    SearchQuery::text(SearchText::parse(text).unwrap(), limit)
}

fn piece(text: &str, hit: bool) -> Fragment {
    Fragment { text: text.into(), hit }
}

#[tokio::test]
async fn opening_installs_the_template_with_three_analyzers_and_the_meta_index() {
    let cluster = Cluster::start().await;
    cluster.reply(200, "template_acknowledged.json").reply(200, "meta_index_created.json");

    OpenSearchIndex::open(cluster.config()).await.unwrap();

    let sent = cluster.take();
    assert_eq!(lines(&sent), ["PUT /_index_template/tgdesk-messages", "PUT /tgdesk-meta"]);
    let t = sent[0].json();
    assert_eq!(t["index_patterns"], json!(["tgdesk-messages-*"]));
    assert_eq!(t["template"]["aliases"], json!({ "tgdesk-messages": {} }), "every month joins the alias");
    let settings = &t["template"]["settings"];
    assert_eq!((settings["number_of_shards"].clone(), settings["refresh_interval"].clone()), (json!(1), json!("30s")));
    let analysis = &settings["analysis"];
    for (analyzer, stemmer, language) in [
        ("tgdesk_english", "tgdesk_english_stemmer", "porter2"),
        ("tgdesk_russian", "tgdesk_russian_stemmer", "russian"),
    ] {
        assert_eq!(
            analysis["analyzer"][analyzer],
            json!({ "type": "custom", "char_filter": ["tgdesk_no_cjk"], "tokenizer": "standard",
                    "filter": ["lowercase", stemmer] })
        );
        assert_eq!(analysis["filter"][stemmer], json!({ "type": "stemmer", "language": language }));
    }
    assert_eq!(analysis["char_filter"]["tgdesk_no_cjk"]["type"], "pattern_replace");
    let mappings = &t["template"]["mappings"];
    assert_eq!(mappings["dynamic"], "strict");
    let fields = &mappings["properties"];
    assert_eq!(
        fields["text"],
        json!({ "type": "text", "analyzer": "tgdesk_english", "fields": {
            "ru": { "type": "text", "analyzer": "tgdesk_russian" },
            "zh": { "type": "text", "analyzer": "smartcn" } } })
    );
    for keyword in ["key", "tenant", "account", "tags"] {
        assert_eq!(fields[keyword], json!({ "type": "keyword" }), "{keyword}");
    }
    for long in ["peer", "id", "sender", "date_ns"] {
        assert_eq!(fields[long], json!({ "type": "long" }), "{long}");
    }
    assert_eq!(fields["date"], json!({ "type": "date_nanos" }));
    assert_eq!(fields["sender_name"]["index"], false, "the name is stored, not searched");
    assert_eq!(sent[1].json()["mappings"]["properties"]["position"]["type"], "keyword");
}

#[tokio::test]
async fn opening_again_accepts_the_existing_meta_index() {
    let cluster = Cluster::start().await;
    cluster.reply(200, "template_acknowledged.json").reply(400, "meta_index_exists.json");

    let opened = OpenSearchIndex::open(cluster.config()).await;

    assert!(opened.is_ok(), "{:?}", opened.err());
}

#[tokio::test]
async fn a_cluster_without_smartcn_fails_to_open_with_the_reason() {
    let cluster = Cluster::start().await;
    cluster.reply(400, "smartcn_missing.json");

    let err = OpenSearchIndex::open(cluster.config()).await.err().expect("refused");

    assert_eq!(err.kind, PortErrorKind::Invalid);
    assert!(err.message.contains("failed to find analyzer [smartcn]"), "{err}");
}

#[tokio::test]
async fn upserts_go_in_one_bulk_to_the_month_of_their_date() {
    let cluster = Cluster::start().await;
    let index = cluster.open().await;
    cluster.reply(200, "bulk_three_indexed.json");

    index.apply(&three_upserts()).await.unwrap();

    let sent = cluster.take();
    assert_eq!(lines(&sent), ["POST /_bulk"]);
    let body = sent[0].ndjson();
    assert_eq!(body.len(), 6);
    assert_eq!(body[0], action("tgdesk-messages-2026.01", ACCOUNT_A, 7, 1));
    assert_eq!(body[2], action("tgdesk-messages-2025.12", ACCOUNT_A, 7, 2), "a December message goes to December");
    assert_eq!(body[4], action("tgdesk-messages-2026.01", ACCOUNT_B, 8, 3));
    assert_eq!(
        body[1],
        json!({ "key": format!("acme:{ACCOUNT_A}:7:1"), "tenant": "acme", "account": ACCOUNT_A, "peer": 7, "id": 1,
                "sender": 7, "sender_name": "Customer 7", "date": "2026-01-01T00:00:01.000000000Z",
                "date_ns": 1_767_225_601_000_000_000_i64, "text": "first", "tags": [],
                "outgoing": false, "deleted": false })
    );
    assert_eq!(body[5]["tags"], json!(["tag_01hq3m0000000000000000000a"]));
    assert_eq!((body[5]["outgoing"].clone(), body[5].get("sender_name")), (json!(true), None));
}

#[tokio::test]
async fn applying_twice_sends_the_same_bulk() {
    let cluster = Cluster::start().await;
    let index = cluster.open().await;
    cluster.reply(200, "bulk_three_indexed.json").reply(200, "bulk_three_indexed.json");

    index.apply(&three_upserts()).await.unwrap();
    index.apply(&three_upserts()).await.unwrap();

    let sent = cluster.take();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].body, sent[1].body, "same ids into the same indices: the second replaces the first");
}

#[tokio::test]
async fn a_rejected_item_is_sent_again_alone_until_it_is_indexed() {
    let cluster = Cluster::start().await;
    let index = cluster.open().await;
    cluster.reply(200, "bulk_second_rejected.json").reply(200, "bulk_one_indexed.json");

    index.apply(&three_upserts()).await.unwrap();

    let sent = cluster.take();
    assert_eq!(lines(&sent), ["POST /_bulk", "POST /_bulk"]);
    let retry = sent[1].ndjson();
    assert_eq!(retry.len(), 2, "only the rejected item");
    assert_eq!(retry[0], action("tgdesk-messages-2025.12", ACCOUNT_A, 7, 2));
    assert_eq!(retry[1]["text"], "second");
}

#[tokio::test]
async fn an_item_rejected_on_every_try_is_throttled_and_named() {
    let cluster = Cluster::start().await;
    let index = cluster.open().await;
    cluster.reply(200, "bulk_second_rejected.json");
    cluster.reply(200, "bulk_one_rejected.json").reply(200, "bulk_one_rejected.json");

    let err = index.apply(&three_upserts()).await.unwrap_err();

    assert_eq!(err.kind, PortErrorKind::Throttled);
    assert!(err.message.contains(&format!("acme:{ACCOUNT_A}:7:2 into tgdesk-messages-2025.12")), "{err}");
    assert_eq!(cluster.take().len(), 3, "three tries in all");
}

#[tokio::test]
async fn an_item_that_cannot_be_indexed_fails_the_apply_naming_it() {
    let cluster = Cluster::start().await;
    let index = cluster.open().await;
    cluster.reply(200, "bulk_second_unparsable.json");

    let err = index.apply(&three_upserts()).await.unwrap_err();

    assert_eq!(err.kind, PortErrorKind::Invalid);
    let named = format!("first: acme:{ACCOUNT_A}:7:2 into tgdesk-messages-2025.12: 400 mapper_parsing_exception");
    assert!(err.message.contains(&named), "{err}");
    assert!(err.message.contains("1 of 3 items failed for good, 1 were rejected for now"), "{err}");
    assert_eq!(cluster.take().len(), 1, "no retry of a batch that cannot succeed");
}

#[tokio::test]
async fn a_busy_cluster_is_asked_again() {
    let cluster = Cluster::start().await;
    let index = cluster.open().await;
    cluster.reply(429, "too_many_requests.json").reply(200, "bulk_three_indexed.json");

    index.apply(&three_upserts()).await.unwrap();

    let sent = cluster.take();
    assert_eq!(lines(&sent), ["POST /_bulk", "POST /_bulk"]);
    assert_eq!(sent[0].body, sent[1].body);
}

#[tokio::test]
async fn a_cluster_busy_on_every_try_is_throttled() {
    let cluster = Cluster::start().await;
    let index = cluster.open().await;
    for _ in 0..3 {
        cluster.reply(429, "too_many_requests.json");
    }

    let err = index.search(&tenant(), &query("parcel", 10)).await.unwrap_err();

    assert_eq!(err.kind, PortErrorKind::Throttled);
    assert!(err.message.contains("es_rejected_execution_exception"), "{err}");
    assert_eq!(cluster.unused(), 0);
}

/// A `_bulk` reply that indexed every `(month, account, peer, id)`.
fn indexed(items: &[(&str, &str, i64, i64)]) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|(month, account_id, peer, id)| {
            json!({ "index": { "_index": format!("tgdesk-messages-{month}"),
                "_id": format!("acme:{account_id}:{peer}:{id}"), "_version": 1, "result": "created",
                "_shards": { "total": 2, "successful": 1, "failed": 0 }, "_seq_no": 0, "_primary_term": 1,
                "status": 201 } })
        })
        .collect();
    json!({ "took": 3, "errors": false, "items": items })
}

#[tokio::test]
async fn bulks_are_split_at_the_action_limit() {
    let cluster = Cluster::start().await;
    let mut config = cluster.config();
    config.bulk.max_actions = 2;
    cluster.reply(200, "template_acknowledged.json").reply(200, "meta_index_created.json");
    let index = OpenSearchIndex::open(config).await.unwrap();
    cluster.take();
    cluster.reply_json(200, indexed(&[("2026.01", ACCOUNT_A, 7, 1), ("2025.12", ACCOUNT_A, 7, 2)]));
    cluster.reply_json(200, indexed(&[("2026.01", ACCOUNT_B, 8, 3)]));

    index.apply(&three_upserts()).await.unwrap();

    let sizes: Vec<usize> = cluster.take().iter().map(|r| r.ndjson().len()).collect();
    assert_eq!(sizes, [4, 2], "two actions, then the third");
}

#[tokio::test]
async fn a_bulk_reply_for_other_items_is_refused() {
    let cluster = Cluster::start().await;
    let index = cluster.open().await;
    cluster.reply_json(200, indexed(&[("2026.01", ACCOUNT_A, 7, 1)]));

    let err = index.apply(&three_upserts()).await.unwrap_err();

    assert_eq!(err.kind, PortErrorKind::Internal);
}

#[tokio::test]
async fn removals_delete_by_key_and_accounts_by_tenant_and_account() {
    let cluster = Cluster::start().await;
    let index = cluster.open().await;
    cluster.reply(200, "deleted_by_query.json").reply(200, "deleted_by_query.json");
    let remove = MessageChange::Remove { tenant: tenant(), account: account(ACCOUNT_A), peer: 7, id: 2 };
    let remove_account = MessageChange::RemoveAccount { tenant: tenant(), account: account(ACCOUNT_B) };

    index.apply(&[remove.clone(), remove, remove_account]).await.unwrap();

    let sent = cluster.take();
    assert_eq!(lines(&sent), [DELETE, DELETE], "no refresh: nothing was written");
    let key = format!("acme:{ACCOUNT_A}:7:2");
    assert_eq!(sent[0].json(), json!({ "query": { "bool": { "filter": [{ "terms": { "key": [key, key] } }] } } }));
    assert_eq!(
        sent[1].json(),
        json!({ "query": { "bool": { "filter": [
            { "term": { "tenant": "acme" } }, { "term": { "account": ACCOUNT_B } }] } } })
    );
}

#[tokio::test]
async fn a_removal_after_unrefreshed_writes_refreshes_first() {
    let cluster = Cluster::start().await;
    let index = cluster.open().await;
    cluster.reply(200, "bulk_three_indexed.json").reply(200, "refreshed.json");
    cluster.reply(200, "deleted_by_query.json").reply(200, "deleted_by_query.json");
    let mut changes = three_upserts();
    let remove = MessageChange::Remove { tenant: tenant(), account: account(ACCOUNT_A), peer: 7, id: 2 };
    changes.push(remove.clone());

    index.apply(&changes).await.unwrap();
    index.apply(&[remove]).await.unwrap();

    assert_eq!(lines(&cluster.take()), ["POST /_bulk", REFRESH, DELETE, DELETE]);
}

#[tokio::test]
async fn a_delete_by_query_with_failures_is_unavailable() {
    let cluster = Cluster::start().await;
    let index = cluster.open().await;
    cluster.reply(200, "delete_by_query_failed.json");

    let remove = MessageChange::RemoveAccount { tenant: tenant(), account: account(ACCOUNT_A) };
    let err = index.apply(&[remove]).await.unwrap_err();

    assert_eq!(err.kind, PortErrorKind::Unavailable);
    assert!(err.message.contains("1 failures; first: es_rejected_execution_exception"), "{err}");
}

#[tokio::test]
async fn commit_refreshes_the_alias_and_stores_the_position_it_is_given() {
    let cluster = Cluster::start().await;
    let index = cluster.open().await;
    cluster.reply(200, "refreshed.json").reply(200, "position_indexed.json").reply(200, "refreshed.json");

    index.commit(Some("position-42")).await.unwrap();
    index.commit(None).await.unwrap();

    let sent = cluster.take();
    assert_eq!(lines(&sent), [REFRESH, "PUT /tgdesk-meta/_doc/position", REFRESH]);
    assert_eq!(sent[1].json(), json!({ "position": "position-42" }));
}

#[tokio::test]
async fn commit_leaves_the_refresh_to_the_cluster_when_configured_so() {
    let cluster = Cluster::start().await;
    let mut config = cluster.config();
    config.refresh_on_commit = false;
    config.refresh_interval = "1s".into();
    cluster.reply(200, "template_acknowledged.json").reply(200, "meta_index_created.json");
    let index = OpenSearchIndex::open(config).await.expect("open");
    let template = cluster.take();
    assert_eq!(template[0].json()["template"]["settings"]["refresh_interval"], "1s", "{:?}", template[0].json());
    cluster.reply(200, "position_indexed.json");

    index.commit(None).await.unwrap();
    index.commit(Some("position-43")).await.unwrap();

    assert_eq!(lines(&cluster.take()), ["PUT /tgdesk-meta/_doc/position"], "no refresh, the position stored");
}

#[tokio::test]
async fn the_position_is_read_back_or_none_before_the_first() {
    let cluster = Cluster::start().await;
    let index = cluster.open().await;
    cluster.reply(200, "position_found.json").reply(404, "position_missing.json");

    assert_eq!(index.position().await.unwrap().as_deref(), Some("position-42"));
    assert_eq!(index.position().await.unwrap(), None);

    assert_eq!(lines(&cluster.take()), ["GET /tgdesk-meta/_doc/position", "GET /tgdesk-meta/_doc/position"]);
}

#[tokio::test]
async fn a_query_puts_every_filter_in_filter_context_and_words_in_must() {
    let cluster = Cluster::start().await;
    let index = cluster.open().await;
    cluster.reply(200, "search_no_hits.json");
    let (x, y) = (TagId::parse("tag_x").unwrap(), TagId::parse("tag_y").unwrap());
    let mut q = query(r#"退款 "order number" -spam -"not this""#, 20);
    q.tags = vec![x, y];
    q.accounts = Some(vec![account(ACCOUNT_A), account(ACCOUNT_B)]);
    q.peer = Some(-100_123);
    q.sender = Some(7);
    q.from = Some(at(1));
    q.to = Some(at(3));

    let page = index.search(&tenant(), &q).await.unwrap();

    assert!(page.hits.is_empty() && page.next.is_none());
    let sent = cluster.take();
    assert_eq!(lines(&sent), [SEARCH]);
    let fields = json!(["text", "text.ru", "text.zh"]);
    let word = |text: &str| {
        json!({ "multi_match": {
        "query": text, "fields": fields, "type": "best_fields", "operator": "and" } })
    };
    let phrase = |text: &str| json!({ "multi_match": { "query": text, "fields": fields, "type": "phrase" } });
    let body = sent[0].json();
    assert_eq!(
        body["query"],
        json!({ "bool": {
            "filter": [
                { "term": { "tenant": "acme" } },
                { "terms": { "account": [ACCOUNT_A, ACCOUNT_B] } },
                { "term": { "tags": "tag_x" } },
                { "term": { "tags": "tag_y" } },
                { "term": { "peer": -100_123 } },
                { "term": { "sender": 7 } },
                { "range": { "date_ns": { "gte": 1_767_225_601_000_000_000_i64, "lt": 1_767_225_603_000_000_000_i64 } } },
            ],
            "must": [word("退款"), phrase("order number")],
            "must_not": [word("spam"), phrase("not this")],
        } })
    );
    assert_eq!(body["size"], 21, "one more than the page, to know whether another follows");
    assert_eq!(body["track_total_hits"], false);
    assert_eq!(body["sort"], json!([{ "date_ns": { "order": "desc" } }, { "key": { "order": "desc" } }]));
    assert!(body.get("search_after").is_none());
    let highlight = &body["highlight"];
    assert_eq!(
        (highlight["pre_tags"].clone(), highlight["post_tags"].clone()),
        (json!(["\u{e000}"]), json!(["\u{e001}"]))
    );
    assert_eq!(highlight["fields"], json!({ "text": {}, "text.ru": {}, "text.zh": {} }));
}

#[tokio::test]
async fn newest_pages_sort_by_date_then_key_and_continue_after_the_last_hit() {
    let cluster = Cluster::start().await;
    let index = cluster.open().await;
    cluster.reply(200, "search_newest_page.json").reply(200, "search_no_hits.json");
    let mut q = query("parcel", 2);

    let page = index.search(&tenant(), &q).await.unwrap();

    let keys: Vec<(String, i64, i64)> = page.hits.iter().map(|h| (h.account_id.to_string(), h.peer, h.id)).collect();
    assert_eq!(
        keys,
        [(ACCOUNT_A.to_owned(), 8, 3), (ACCOUNT_A.to_owned(), 7, 1)],
        "the third hit only says more follow"
    );
    let (first, second) = (&page.hits[0], &page.hits[1]);
    assert_eq!((first.date, first.sender_id, first.sender_name.as_deref()), (at(3), Some(1), None));
    assert_eq!((first.outgoing, first.deleted, first.score), (true, false, 0.0));
    assert_eq!(first.tags, [TagId::parse("tag_01hq3m0000000000000000000a").unwrap()].into());
    assert_eq!(
        first.snippet,
        [piece("Your ", false), piece("parcel", true), piece(" left the warehouse today", false)]
    );
    assert_eq!(second.sender_name.as_deref(), Some("Customer 7"));
    assert_eq!(second.snippet, [piece("Where is my ", false), piece("parcel", true), piece("?", false)]);
    q.after = page.next.clone();
    assert!(q.after.is_some());

    let last = index.search(&tenant(), &q).await.unwrap();

    assert!(last.hits.is_empty() && last.next.is_none());
    let sent = cluster.take();
    let (one, two) = (sent[0].json(), sent[1].json());
    assert_eq!(two["search_after"], json!([1_767_225_602_000_000_000_i64, format!("acme:{ACCOUNT_A}:7:1")]));
    assert_eq!((one["query"].clone(), one["sort"].clone()), (two["query"].clone(), two["sort"].clone()));
}

#[tokio::test]
async fn relevance_pages_sort_by_score_then_key() {
    let cluster = Cluster::start().await;
    let index = cluster.open().await;
    cluster.reply(200, "search_relevance_page.json").reply(200, "search_no_hits.json");
    let mut q = query("kiwi", 1);
    q.order = SearchOrder::Relevance;

    let page = index.search(&tenant(), &q).await.unwrap();
    q.after = page.next.clone();
    index.search(&tenant(), &q).await.unwrap();

    assert_eq!(page.hits.len(), 1);
    assert!((page.hits[0].score - 2.130_708_5).abs() < 1e-6);
    assert_eq!(page.hits[0].snippet.iter().filter(|f| f.hit).count(), 4);
    let sent = cluster.take();
    assert_eq!(sent[0].json()["sort"], json!([{ "_score": { "order": "desc" } }, { "key": { "order": "asc" } }]));
    assert_eq!(sent[1].json()["search_after"], json!([2.1307085, format!("acme:{ACCOUNT_A}:7:1")]));
}

#[tokio::test]
async fn tags_alone_make_a_query_without_highlight_and_the_snippet_is_the_start() {
    let cluster = Cluster::start().await;
    let index = cluster.open().await;
    cluster.reply(200, "search_tags_only.json");
    let mut q = query("", 10);
    q.tags = vec![TagId::parse("tag_01hq3m0000000000000000000a").unwrap()];

    let page = index.search(&tenant(), &q).await.unwrap();

    let body = cluster.take()[0].json();
    assert!(body["query"]["bool"].get("must").is_none() && body.get("highlight").is_none());
    let hit = &page.hits[0];
    assert_eq!(hit.snippet.len(), 1);
    assert!(!hit.snippet[0].hit);
    assert_eq!(hit.snippet[0].text.chars().count(), 160, "the first 160 characters");
    assert!(hit.snippet[0].text.starts_with("Доставка задерживается"));
    assert_eq!(hit.tags.len(), 2);
}

#[tokio::test]
async fn a_forged_page_position_is_invalid_and_nothing_is_sent() {
    let cluster = Cluster::start().await;
    let index = cluster.open().await;
    let mut q = query("anything", 10);
    q.after = Some("not a position".into());

    let err = index.search(&tenant(), &q).await.unwrap_err();

    assert_eq!(err.kind, PortErrorKind::Invalid);
    assert!(cluster.take().is_empty());
}

#[tokio::test]
async fn an_empty_account_scope_finds_nothing_without_asking() {
    let cluster = Cluster::start().await;
    let index = cluster.open().await;
    let mut q = query("anything", 10);
    q.accounts = Some(Vec::new());

    let page = index.search(&tenant(), &q).await.unwrap();

    assert!(page.hits.is_empty() && page.next.is_none());
    assert!(cluster.take().is_empty());
}

#[tokio::test]
async fn a_search_before_the_first_month_exists_finds_nothing() {
    let cluster = Cluster::start().await;
    let index = cluster.open().await;
    cluster.reply(404, "index_not_found.json");

    let page = index.search(&tenant(), &query("parcel", 10)).await.unwrap();

    assert!(page.hits.is_empty() && page.next.is_none());
}

/// Signs the recorded request again from what arrived (its signed headers,
/// path, query, body and time) and returns the `Authorization` that gives.
fn signature_of_what_arrived(r: &support::Recorded, url: &str, secret: &str, region: &str) -> String {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    let auth = r.header("authorization");
    let signed: Vec<&str> =
        auth.split("SignedHeaders=").nth(1).unwrap().split(',').next().unwrap().split(';').collect();
    let headers: Vec<(&str, &str)> = signed.iter().map(|name| (*name, r.header(name))).collect();
    let time = chrono::NaiveDateTime::parse_from_str(r.header("x-amz-date"), "%Y%m%dT%H%M%SZ").unwrap().and_utc();
    let identity = aws_credential_types::Credentials::new("AKIDEXAMPLE", secret, None, None, "test").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("es")
        .time(time.into())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let uri = match r.query.as_str() {
        "" => format!("{url}{}", r.path),
        q => format!("{url}{}?{q}", r.path),
    };
    let request = SignableRequest::new(&r.method, uri, headers.into_iter(), SignableBody::Bytes(r.body.as_bytes()));
    let (instructions, _) = sign(request.unwrap(), &params).unwrap().into_parts();
    let authorization =
        instructions.headers().find(|(n, _)| n.eq_ignore_ascii_case("authorization")).map(|(_, v)| v.to_owned());
    authorization.expect("an authorization header")
}

#[tokio::test]
async fn requests_to_an_iam_domain_carry_a_sigv4_signature_of_exactly_what_is_sent() {
    use aws_credential_types::provider::SharedCredentialsProvider;
    let cluster = Cluster::start().await;
    let mut config = cluster.config();
    let credentials = aws_credential_types::Credentials::new("AKIDEXAMPLE", "the-secret", None, None, "test");
    config.sigv4 = Some(tgdesk_opensearch::SigV4 {
        credentials: SharedCredentialsProvider::new(credentials),
        region: "eu-west-1".into(),
        service: "es".into(),
    });
    cluster.reply(200, "template_acknowledged.json").reply(200, "meta_index_created.json");
    let index = OpenSearchIndex::open(config).await.unwrap();
    cluster.reply(200, "bulk_three_indexed.json");
    index.apply(&three_upserts()).await.unwrap();

    let sent = cluster.take();
    assert!(sent.len() >= 3, "{:?}", lines(&sent));
    for r in &sent {
        let auth = r.header("authorization");
        assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"), "{} {auth:?}", r.line());
        assert!(auth.contains("/eu-west-1/es/aws4_request"), "{auth}");
        assert_eq!(auth, signature_of_what_arrived(r, &cluster.url, "the-secret", "eu-west-1"), "{}", r.line());
        assert_ne!(auth, signature_of_what_arrived(r, &cluster.url, "another-secret", "eu-west-1"));
    }
}

#[tokio::test]
async fn without_sigv4_requests_go_unsigned() {
    let cluster = Cluster::start().await;
    cluster.reply(200, "template_acknowledged.json").reply(200, "meta_index_created.json");
    OpenSearchIndex::open(cluster.config()).await.unwrap();
    let sent = cluster.take();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|r| r.header("authorization").is_empty() && r.header("x-amz-date").is_empty()));
}
