//! Search over HTTP: messages stored by ingest become searchable through the
//! change feed and the indexer (never by the request path), in Chinese,
//! Russian and English; hits are scoped to the accounts the caller sees now;
//! tags set on a message are pushed and searchable; bad queries get a 400.

use crate::helpers::*;
use crate::sim_desk::{events, ws};
use serde_json::{json, Value};
use std::time::Duration;
use tgdesk_core::domain::{AccountId, TenantId};

fn demo() -> TenantId {
    TenantId::parse("demo").unwrap()
}

/// The ids of the hits of `query`, polled until `expected` hits show (the
/// index trails the store by its commit interval) or 20 s pass.
async fn hits(app: &TestApp, token: &str, query: &str, expected: usize) -> Vec<Value> {
    let mut last = Value::Null;
    for _ in 0..200 {
        last = app.get(&format!("/api/search?{query}"), token).await.expect(200);
        if last["items"].as_array().unwrap().len() == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    last["items"].as_array().unwrap().clone()
}

fn texts(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|h| h["snippet"].as_array().unwrap().iter().map(|f| f["text"].as_str().unwrap()).collect())
        .collect()
}

async fn ingest(app: &TestApp, account: &str, peer: i64, id: i64, text: &str) {
    let m = customer_message(account, peer, id, text);
    app.desk.ports().writer.ingest_messages(&demo(), &[m]).await.expect("ingested");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hits_follow_what_the_caller_sees_in_every_language() {
    let app = spawn_without_fleet().await;
    let admin = app.admin().await;
    let alice_id = app.create_user(&admin, "alice", "agent", None).await;
    let bruno_id = app.create_user(&admin, "bruno", "agent", None).await;
    let alice = app.login("demo", "alice", PASSWORD).await;
    let bruno = app.login("demo", "bruno", PASSWORD).await;
    let mine = app.create_account(&admin, "+15550700001", Some(&alice_id)).await;
    let theirs = app.create_account(&admin, "+15550700002", Some(&bruno_id)).await;
    ingest(&app, &mine, 501, 1, "Доставка задерживается уже третий день").await;
    ingest(&app, &mine, 502, 2, "我想申请退款，订单号是12345").await;
    ingest(&app, &mine, 503, 3, "Two refunds were issued yesterday").await;
    ingest(&app, &theirs, 601, 1, "Доставка пришла, спасибо").await;

    let found = hits(&app, &alice, "q=%D0%B4%D0%BE%D1%81%D1%82%D0%B0%D0%B2%D0%BA%D0%B8", 1).await; // доставки
    assert_eq!(found.len(), 1, "alice finds her account's message only: {found:?}");
    assert_eq!((found[0]["account_id"].as_str(), found[0]["peer"].as_i64()), (Some(mine.as_str()), Some(501)));
    assert_eq!(found[0]["account_label"], "+15550700001");
    let marked: Vec<&str> = found[0]["snippet"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["hit"] == true)
        .map(|f| f["text"].as_str().unwrap())
        .collect();
    assert_eq!(marked, ["Доставка"]);
    assert_eq!(hits(&app, &alice, "q=%E9%80%80%E6%AC%BE", 1).await[0]["id"], 2, "退款 inside a Chinese sentence");
    assert_eq!(hits(&app, &alice, "q=refund", 1).await[0]["id"], 3, "refund finds refunds");
    assert_eq!(hits(&app, &bruno, "q=%D0%B4%D0%BE%D1%81%D1%82%D0%B0%D0%B2%D0%BA%D0%B8", 1).await[0]["peer"], 601);
    assert_eq!(hits(&app, &admin, "q=%D0%B4%D0%BE%D1%81%D1%82%D0%B0%D0%B2%D0%BA%D0%B8", 2).await.len(), 2);

    // Naming an account the caller does not see is refused as if it did not exist.
    app.get(&format!("/api/search?q=refund&account={theirs}"), &alice).await.expect(404);

    // Reassigned away: alice's next search no longer finds that account's messages.
    app.put(&format!("/api/accounts/{mine}/owner"), &admin, json!({"agent_id": bruno_id})).await.expect(200);
    assert!(hits(&app, &alice, "q=refund", 0).await.is_empty(), "reassigned away: no hits for alice");
    assert_eq!(hits(&app, &bruno, "q=refund", 1).await.len(), 1, "the new owner finds it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_edits_and_deletes_reach_the_results() {
    let app = spawn_without_fleet().await;
    let admin = app.admin().await;
    let account = app.create_account(&admin, "+15550700011", None).await;
    let start = chrono::Utc::now() - chrono::Duration::hours(1);
    let messages: Vec<_> = (1..=23)
        .map(|id| {
            let mut m = customer_message(&account, 700 + id % 3, id, &format!("parcel number {id}"));
            m.date = start + chrono::Duration::seconds(id / 4);
            m
        })
        .collect();
    app.desk.ports().writer.ingest_messages(&demo(), &messages).await.unwrap();
    hits(&app, &admin, "q=parcel&limit=100", 23).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let path = match &cursor {
            Some(c) => format!("/api/search?q=parcel&limit=5&cursor={c}"),
            None => "/api/search?q=parcel&limit=5".to_owned(),
        };
        let page = app.get(&path, &admin).await.expect(200);
        seen.extend(page["items"].as_array().unwrap().iter().map(|h| h["id"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (23, 23), "every hit once across pages: {seen:?}");
    let relevance = app.get("/api/search?q=parcel&order=relevance&limit=5", &admin).await.expect(200);
    let next = relevance["next_cursor"].as_str().unwrap();
    app.get(&format!("/api/search?q=parcel&cursor={next}"), &admin).await.expect(400);

    let id = AccountId::parse(&account).unwrap();
    app.desk.ports().writer.edit_message(&demo(), &id, 701, 1, "the box arrived", chrono::Utc::now()).await.unwrap();
    assert_eq!(hits(&app, &admin, "q=box", 1).await[0]["id"], 1, "an edit is searchable");
    assert_eq!(hits(&app, &admin, "q=parcel&limit=100", 22).await.len(), 22, "and its old words are gone");
    app.desk.ports().writer.delete_messages(&demo(), &id, 701, &[1]).await.unwrap();
    for _ in 0..100 {
        if hits(&app, &admin, "q=box", 1).await[0]["deleted"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(hits(&app, &admin, "q=box", 1).await[0]["deleted"], true, "a deleted message is found, marked deleted");
    app.delete(&format!("/api/accounts/{account}"), &admin).await.expect(200);
    assert!(hits(&app, &admin, "q=parcel", 0).await.is_empty(), "a deleted account's messages leave the index");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tagged_message_is_pushed_and_found_by_its_tag() {
    let app = spawn_without_fleet().await;
    let admin = app.admin().await;
    let alice_id = app.create_user(&admin, "alice", "agent", None).await;
    let alice = app.login("demo", "alice", PASSWORD).await;
    let account = app.create_account(&admin, "+15550700021", Some(&alice_id)).await;
    ingest(&app, &account, 801, 1, "please call me back").await;
    ingest(&app, &account, 801, 2, "call me tomorrow").await;
    let tag = app.post("/api/tags", &admin, json!({"name": "callback"})).await.expect(201);
    let tag_id = tag["id"].as_str().unwrap().to_owned();
    let mut socket = ws(&app, &alice).await;

    let tagged =
        app.put(&format!("/api/messages/{account}/801/1/tags"), &alice, json!({"tags": [tag_id]})).await.expect(200);
    assert_eq!(tagged["tags"], json!([tag_id]));
    let pushed = events(&mut socket, "message.tags", 1).await;
    assert_eq!(pushed[0], json!({"account_id": account, "peer": 801, "id": 1, "tags": [tag_id]}));

    let found = hits(&app, &alice, &format!("tags={tag_id}"), 1).await;
    assert_eq!((found[0]["id"].as_i64(), found[0]["tags"][0]["name"].as_str()), (Some(1), Some("callback")));
    assert_eq!(texts(&found), ["please call me back"], "a tag-only search shows the text's start");
    assert_eq!(hits(&app, &alice, &format!("q=call&tags={tag_id}"), 1).await.len(), 1);
    app.put(&format!("/api/messages/{account}/801/1/tags"), &alice, json!({"tags": []})).await.expect(200);
    assert!(hits(&app, &alice, &format!("tags={tag_id}"), 0).await.is_empty(), "untagged: no longer found by the tag");
    app.put(
        &format!("/api/messages/{account}/801/1/tags"),
        &alice,
        json!({"tags": ["tag_01aaaaaaaaaaaaaaaaaaaaaaaa"]}),
    )
    .await
    .expect(400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_queries_get_a_clear_400_and_no_token_a_401() {
    let app = spawn_without_fleet().await;
    let admin = app.admin().await;
    let long = "a".repeat(501);
    let cases = [
        ("", "name words"),
        ("q=", "name words"),
        ("q=%20%20", "name words"),
        ("q=-spam", "names none"),
        ("q=%22unclosed", "quote"),
        (&*format!("q={long}"), "longer"),
        ("q=x&from=yesterday", "from is not a date"),
        ("q=x&to=2026-13-01", "to is not a date"),
        ("q=x&from=2026-02-01&to=2026-01-01", "before"),
        ("q=x&tags=not-a-tag", "does not exist"),
        ("q=x&tags=tag_01aaaaaaaaaaaaaaaaaaaaaaaa", "does not exist"),
        ("q=x&cursor=garbage", "cursor"),
        ("q=x&order=sideways", ""),
        ("q=x&peer=abc", ""),
    ];
    for (query, says) in cases {
        let body = app.get(&format!("/api/search?{query}"), &admin).await.expect(400);
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{query}: {body}");
    }
    app.call(reqwest::Method::GET, "/api/search?q=x", None, None).await.expect(401);
    app.call(reqwest::Method::GET, "/api/search?q=x", Some("forged.token.value"), None).await.expect(401);
}

async fn indexed_since_start(app: &TestApp) -> u64 {
    let metrics = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("tgdesk_search_indexed_total "))
        .and_then(|v| v.parse().ok())
        .expect("the indexer's counter is exported")
}

fn without_fleet(dir: &std::path::Path) -> tgdesk::config::ServerConfig {
    let mut config = config_for(dir);
    config.fleet = false;
    config
}

/// The index is committed with its feed position: a restart indexes nothing
/// again, and `tgdesk reindex` rebuilds a lost index from the store. (The
/// rebuild reads the local store; on AWS the stream and OpenSearch keep
/// their own positions, so this runs on the local backend only.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_survives_a_restart_and_reindex_rebuilds_it() {
    if crate::test_backend::on_aws() {
        eprintln!("skipped on the AWS backend: reindex rebuilds the local store's index");
        return;
    }
    let app = spawn_without_fleet().await;
    let admin = app.admin().await;
    let account = app.create_account(&admin, "+15550700031", None).await;
    for id in 1..=3 {
        ingest(&app, &account, 901, id, &format!("kept across restarts {id}")).await;
    }
    assert_eq!(hits(&app, &admin, "q=restarts", 3).await.len(), 3);
    let dir = app.stop().await;

    let config = without_fleet(dir.path());
    let app = spawn_with(dir, config).await;
    let admin = app.admin().await;
    assert_eq!(hits(&app, &admin, "q=restarts", 3).await.len(), 3, "found at once after a restart");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(indexed_since_start(&app).await, 0, "nothing was indexed twice");
    let dir = app.stop().await;

    std::fs::remove_dir_all(dir.path().join("search")).unwrap();
    assert_eq!(tgdesk::reindex::reindex(dir.path()).await.unwrap(), 3);
    let config = without_fleet(dir.path());
    let app = spawn_with(dir, config).await;
    let admin = app.admin().await;
    assert_eq!(hits(&app, &admin, "q=restarts", 3).await.len(), 3, "the rebuilt index finds them");
}
