//! The cold archive through the API: a dialog spanning three months pages
//! back seamlessly from the hot store into the archive, a dialog whose every
//! message is archived still lists in the inbox, and an archived message
//! can be tagged. The local archiver runs in the server on a short tick.

use crate::helpers::{config_for, customer_message, spawn_with, TestApp};
use chrono::{Duration, Utc};
use serde_json::{json, Value};
use tgdesk_core::domain::{AccountId, TenantId};

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
    app.desk.writer.ingest_messages(&tenant, &messages).await.expect("seeded");
}

/// Waits (10 s at most) until the hot store holds `hot` messages of the dialog.
async fn wait_until_hot(app: &TestApp, account: &str, peer: i64, hot: usize) {
    let (tenant, account) = (TenantId::parse("demo").unwrap(), AccountId::parse(account).unwrap());
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let held = app.desk.reader.list_messages(&tenant, &account, peer, None, 500).await.unwrap().len();
        if held == hot {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the hot store still holds {held} messages, not {hot}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
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
    let mut seen = Vec::new();
    let mut path = format!("/api/accounts/{account}/dialogs/77/messages?limit=25");
    for _ in 0..20 {
        let page = app.get(&path, &admin).await.expect(200);
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/accounts/{account}/dialogs/77/messages?limit=25&cursor={c}"),
            None => break,
        }
    }

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
