//! The cold archive through the API: a dialog spanning three months pages
//! back seamlessly from the hot store into the archive, a dialog whose every
//! message is archived still lists in the inbox, and an archived message
//! can be tagged, edited and deleted, in history and in search alike. The local archiver runs in the server on a short tick.

use crate::helpers::{config_for, customer_message, spawn_with, TestApp};
use chrono::{Duration, Utc};
use serde_json::{json, Value};
use tgdesk_core::domain::{AccountId, TenantId};
use tgdesk_core::usecases::{AccountUpdate, UpdateEnvelope};

/// Starts a local server whose archiver looks for expired messages every 100 ms.
async fn spawn_archiving() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_for(dir.path());
    config.archive_every = std::time::Duration::from_millis(100);
    spawn_with(dir, config).await
}

/// Stores messages 1..=n of a dialog, one every `every` up to now.
async fn seed(app: &TestApp, account: &str, peer: i64, n: i64, every: Duration, end: chrono::DateTime<Utc>) {
    let tenant = TenantId::parse("demo").unwrap();
    let messages: Vec<_> = (1..=n)
        .map(|id| {
            let mut m = customer_message(account, peer, id, &format!("message {id}"));
            m.date = end - every * (n - id) as i32;
            m
        })
        .collect();
    app.desk.ports().writer.ingest_messages(&tenant, &messages).await.expect("seeded");
}

/// Waits (10 s at most) until the hot store holds `hot` messages of the dialog.
async fn wait_until_hot(app: &TestApp, account: &str, peer: i64, hot: usize) {
    let (tenant, account) = (TenantId::parse("demo").unwrap(), AccountId::parse(account).unwrap());
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let held = app.desk.ports().reader.list_messages(&tenant, &account, peer, None, 500).await.unwrap().len();
        if held == hot {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the hot store still holds {held} messages, not {hot}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Pages back through a dialog's whole history, `page` at a time; returns
/// every id in the order served. Panics if the cursor never runs out.
async fn whole_history(app: &TestApp, token: &str, account: &str, peer: i64, page: usize) -> Vec<i64> {
    let first = format!("/api/accounts/{account}/dialogs/{peer}/messages?limit={page}");
    let (mut seen, mut path) = (Vec::new(), first.clone());
    for _ in 0..100 {
        let reply = app.get(&path, token).await.expect(200);
        seen.extend(ids(&reply));
        match reply["next_cursor"].as_str() {
            Some(c) => path = format!("{first}&cursor={c}"),
            None => return seen,
        }
    }
    panic!("the history of {account}/{peer} never ends: {} ids so far", seen.len());
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"].as_array().unwrap().iter().map(|m| m["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn a_dialog_spanning_three_months_pages_back_from_hot_into_the_archive() {
    if crate::test_backend::on_aws() {
        return; // On AWS DynamoDB's TTL expires messages; moto keeps TTL as a setting only.
    }
    // Arrange: 120 messages 20 hours apart, up to 10 hours ago; the 84 older than 30 days expire.
    let app = spawn_archiving().await;
    let admin = app.admin().await;
    let account = app.create_account(&admin, "+15550001001", None).await;
    seed(&app, &account, 77, 120, Duration::hours(20), Utc::now() - Duration::hours(10)).await;
    wait_until_hot(&app, &account, 77, 36).await;

    // Act: page back through the whole history, 25 at a time.
    let seen = whole_history(&app, &admin, &account, 77, 25).await;

    // Assert: every message once, newest first, across the hot/cold boundary.
    assert_eq!(seen, (1..=120).rev().collect::<Vec<_>>());
}

#[tokio::test]
async fn an_archived_dialog_still_lists_in_the_inbox_and_its_messages_take_tags() {
    if crate::test_backend::on_aws() {
        return;
    }
    // Arrange: a dialog whose every message is 40 to 60 days old.
    let app = spawn_archiving().await;
    let admin = app.admin().await;
    let account = app.create_account(&admin, "+15550001002", None).await;
    seed(&app, &account, 88, 20, Duration::days(1), Utc::now() - Duration::days(40)).await;
    wait_until_hot(&app, &account, 88, 0).await;
    let tag = app.post("/api/tags", &admin, json!({"name": "old-case"})).await.expect(201);

    // Act
    let inbox = app.get("/api/inbox", &admin).await.expect(200);
    let path = format!("/api/messages/{account}/88/5/tags");
    let tagged = app.put(&path, &admin, json!({"tags": [tag["id"]]})).await.expect(200);
    let page = app.get(&format!("/api/accounts/{account}/dialogs/88/messages?limit=50"), &admin).await.expect(200);

    // Assert
    let dialog = inbox["items"].as_array().unwrap().iter().find(|d| d["peer"] == 88).expect("the dialog lists");
    assert_eq!(dialog["last_message_id"], 20);
    assert_eq!(tagged["tags"], json!([tag["id"]]));
    assert_eq!(ids(&page), (1..=20).rev().collect::<Vec<_>>());
    let five = page["items"].as_array().unwrap().iter().find(|m| m["id"] == 5).unwrap();
    assert_eq!(five["tags"], json!([tag["id"]]));
    let missing = app.put(&format!("/api/messages/{account}/88/99/tags"), &admin, json!({"tags": []})).await;
    assert_eq!(missing.status.as_u16(), 404);
}

/// The hits of a search, polled (10 s at most) until `want` says they are
/// what the test waits for; returns the last page's hits.
async fn search_until(app: &TestApp, token: &str, query: &str, want: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let page = app.get(&format!("/api/search?{query}"), token).await.expect(200);
        let hits = page["items"].as_array().unwrap().clone();
        if want(&hits) || tokio::time::Instant::now() >= deadline {
            return hits;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn edits_deletes_and_tags_of_archived_messages_reach_search() {
    if crate::test_backend::on_aws() {
        return;
    }
    // Arrange: ten messages 40 to 50 days old, archived once search had them.
    let app = spawn_archiving().await;
    let admin = app.admin().await;
    let account = app.create_account(&admin, "+15550001004", None).await;
    seed(&app, &account, 66, 10, Duration::days(1), Utc::now() - Duration::days(40)).await;
    wait_until_hot(&app, &account, 66, 0).await;
    let tag = app.post("/api/tags", &admin, json!({"name": "escalated"})).await.expect(201);
    let tag_id = tag["id"].as_str().unwrap().to_owned();

    // Act: tag message 3 through the API; Telegram edits 4 and deletes 5.
    app.put(&format!("/api/messages/{account}/66/3/tags"), &admin, json!({"tags": [tag_id]})).await.expect(200);
    let updates = vec![
        AccountUpdate::Edit { peer: 66, id: 4, text: "rewritten answer".into(), edited_at: Utc::now() },
        AccountUpdate::Delete { peer: 66, ids: vec![5] },
    ];
    let envelope = UpdateEnvelope {
        tenant: TenantId::parse("demo").unwrap(),
        account_id: AccountId::parse(&account).unwrap(),
        updates,
    };
    app.desk.ingest(&envelope).await.expect("ingest");

    // Assert: search finds each message as it now is.
    let ids = |hits: &[Value]| hits.iter().map(|h| h["id"].as_i64().unwrap()).collect::<Vec<_>>();
    let tagged = search_until(&app, &admin, &format!("tags={tag_id}"), |h| !h.is_empty()).await;
    assert_eq!(ids(&tagged), [3], "found by the tag set after archiving");
    let edited = search_until(&app, &admin, "q=rewritten", |h| !h.is_empty()).await;
    assert_eq!(ids(&edited), [4], "found by the edited text");
    let five = |h: &[Value]| h.iter().find(|h| h["id"] == 5).cloned();
    let all = search_until(&app, &admin, "q=message&limit=50", |h| five(h).is_some_and(|f| f["deleted"] == true)).await;
    assert_eq!(five(&all).expect("message 5 still found")["deleted"], true, "shown deleted");
    assert!(!ids(&all).contains(&4), "the old text of 4 no longer matches");
}

#[tokio::test]
async fn a_delete_naming_no_dialog_reaches_archived_private_chats() {
    if crate::test_backend::on_aws() {
        return;
    }
    // Arrange: a private chat whose ten messages are archived, and a newer
    // chat still hot (ids count up across an account's private chats).
    let app = spawn_archiving().await;
    let admin = app.admin().await;
    let account = app.create_account(&admin, "+15550001005", None).await;
    seed(&app, &account, 55, 10, Duration::days(1), Utc::now() - Duration::days(40)).await;
    wait_until_hot(&app, &account, 55, 0).await;
    let newer: Vec<_> = (11..=12).map(|id| customer_message(&account, 56, id, &format!("recent {id}"))).collect();
    let tenant = TenantId::parse("demo").unwrap();
    app.desk.ports().writer.ingest_messages(&tenant, &newer).await.expect("stored");

    // Act: Telegram deletes 4 (archived), 12 (hot) and 999 (unknown) without naming dialogs.
    let updates = vec![AccountUpdate::DeleteUnplaced { ids: vec![4, 12, 999] }];
    let envelope = UpdateEnvelope { tenant, account_id: AccountId::parse(&account).unwrap(), updates };
    app.desk.ingest(&envelope).await.expect("ingest");

    // Assert: each is marked deleted where it is, the others are not.
    let deleted = |page: &Value| -> Vec<i64> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["deleted"] == true)
            .map(|m| m["id"].as_i64().unwrap())
            .collect()
    };
    let cold = app.get(&format!("/api/accounts/{account}/dialogs/55/messages?limit=50"), &admin).await.expect(200);
    let hot = app.get(&format!("/api/accounts/{account}/dialogs/56/messages?limit=50"), &admin).await.expect(200);
    assert_eq!((deleted(&cold), ids(&cold).len()), (vec![4], 10));
    assert_eq!(deleted(&hot), [12]);
}

/// Waits (10 s at most) until the admin's archive view shows `messages`.
async fn wait_for_archived(app: &TestApp, admin: &str, messages: u64) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let view = app.get("/api/admin/archive", admin).await.expect(200);
        if view["messages"].as_u64() == Some(messages) {
            return view;
        }
        assert!(tokio::time::Instant::now() < deadline, "the archive shows {view}, not {messages} messages");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn admins_see_the_archive_and_retention_deletes_whole_months_past_it() {
    if crate::test_backend::on_aws() {
        return; // On AWS DynamoDB's TTL expires messages; moto keeps TTL as a setting only.
    }
    // Arrange: 120 messages 20 hours apart, up to 10 hours ago (about 100
    // days); 30 days hot, deleted from the archive 60 days after their date.
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_for(dir.path());
    config.archive_every = std::time::Duration::from_millis(100);
    config.retention_days = Some(60);
    let app = spawn_with(dir, config).await;
    let admin = app.admin().await;
    let account = app.create_account(&admin, "+15550001003", None).await;
    let end = Utc::now() - Duration::hours(10);
    seed(&app, &account, 77, 120, Duration::hours(20), end).await;
    let date = |id: i64| end - Duration::hours(20) * (120 - id) as i32;
    let first_kept = tgdesk_core::usecases::first_kept_month(Utc::now(), std::time::Duration::from_secs(60 * 86_400));
    let kept: Vec<i64> = (1..=120).filter(|id| date(*id).format("%Y-%m").to_string() >= first_kept).collect();
    wait_until_hot(&app, &account, 77, 36).await;

    // Act + assert: the archive keeps the cold messages of the months retention keeps.
    let cold = kept.iter().filter(|id| **id <= 84).count() as u64;
    let view = wait_for_archived(&app, &admin, cold).await;
    assert_eq!(view["policy"], json!({"hot_days": 30, "retention_days": 60}));
    assert!(view["objects"].as_u64().unwrap() >= 1 && view["bytes"].as_u64().unwrap() > 0, "{view}");
    let seen = whole_history(&app, &admin, &account, 77, 50).await;
    assert_eq!(seen, kept.iter().rev().copied().collect::<Vec<_>>(), "history ends where retention cut");

    // Only admins see the archive; a forged token is refused.
    app.create_user(&admin, "archivist", "leader", None).await;
    let leader = app.login("demo", "archivist", crate::helpers::PASSWORD).await;
    app.get("/api/admin/archive", &leader).await.expect(403);
    app.call(reqwest::Method::GET, "/api/admin/archive", Some("forged.token.here"), None).await.expect(401);
}
