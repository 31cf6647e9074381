//! The ingest pump: update batches on the queue are stored, pushed, and
//! acknowledged; poison batches go to the dead-letter queue with a reason.

use crate::helpers::*;
use std::time::Duration;
use tgdesk_core::domain::{AccountId, TenantId};
use tgdesk_core::ports::dead_letter_queue;
use tgdesk_core::usecases::{encode_batch, AccountUpdate, UpdateEnvelope, UPDATES_QUEUE};

fn envelope(account: &str, peer: i64, ids: std::ops::Range<i64>) -> UpdateEnvelope {
    let account_id = AccountId::parse(account).unwrap();
    let updates = ids
        .map(|id| AccountUpdate::Message { message: customer_message(account, peer, id, &format!("queued {id}")) })
        .collect();
    UpdateEnvelope { tenant: TenantId::parse("demo").unwrap(), account_id, updates }
}

/// Polls `path` until its `items` has `n` entries (or 10 s pass).
async fn wait_for_items(app: &TestApp, path: &str, token: &str, n: usize) -> serde_json::Value {
    for _ in 0..200 {
        let body = app.get(path, token).await.expect(200);
        if body["items"].as_array().map_or(0, Vec::len) >= n {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path} never reached {n} items");
}

#[tokio::test]
async fn batches_on_the_updates_queue_are_stored_once_even_when_redelivered() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let account = app.create_account(&admin, "+15559990001", None).await;
    let batch = encode_batch(&[envelope(&account, 31, 1..51), envelope(&account, 32, 1..3)]);
    app.desk.ports().queue.send_batch(UPDATES_QUEUE, vec![batch.clone(), batch]).await.unwrap();
    let path = format!("/api/accounts/{account}/dialogs/31/messages?limit=500");
    let page = wait_for_items(&app, &path, &admin, 50).await;
    wait_for_items(&app, &format!("/api/accounts/{account}/dialogs"), &admin, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let page_again = app.get(&path, &admin).await.expect(200);
    assert_eq!(page_again["items"].as_array().unwrap().len(), 50, "the redelivered batch added nothing");
    assert_eq!(page["items"][0]["text"], "queued 50");
    let depth = app.desk.ports().queue.depth(UPDATES_QUEUE).await.unwrap();
    assert_eq!((depth.visible, depth.in_flight), (0, 0), "both deliveries were acknowledged");
}

#[tokio::test]
async fn poison_batches_are_dead_lettered_with_their_reason_and_good_envelopes_kept() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let account = app.create_account(&admin, "+15559990002", None).await;
    let mixed = encode_batch(&[envelope(&account, 41, 1..4), envelope("acc_gone", 1, 1..2)]);
    app.desk.ports().queue.send_batch(UPDATES_QUEUE, vec![b"not gzip at all".to_vec(), mixed]).await.unwrap();
    wait_for_items(&app, &format!("/api/accounts/{account}/dialogs/41/messages"), &admin, 3).await;
    let dlq = dead_letter_queue(UPDATES_QUEUE);
    let mut reasons = Vec::new();
    for _ in 0..100 {
        let got = app
            .desk
            .ports()
            .queue
            .receive(&dlq, 10, Duration::from_millis(100), Duration::from_secs(30))
            .await
            .unwrap();
        reasons.extend(got.into_iter().map(|d| d.reason.unwrap_or_default()));
        if reasons.len() == 2 {
            break;
        }
    }
    reasons.sort();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("acc_gone"), "{reasons:?}");
    assert!(reasons[1].contains("not an update batch"), "{reasons:?}");
}

#[tokio::test]
async fn metrics_count_what_the_pipeline_did() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let account = app.create_account(&admin, "+15559990003", None).await;
    app.desk
        .ports()
        .queue
        .send_batch(UPDATES_QUEUE, vec![encode_batch(&[envelope(&account, 51, 1..8)])])
        .await
        .unwrap();
    wait_for_items(&app, &format!("/api/accounts/{account}/dialogs/51/messages"), &admin, 7).await;
    let mut text = String::new();
    for _ in 0..100 {
        text = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
        if text.contains("tgdesk_ingest_messages_total 7") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(text.contains("tgdesk_ingest_messages_total 7"), "{text}");
    assert!(text.contains("# TYPE tgdesk_sessions_online gauge"), "{text}");
    assert!(text.contains("tgdesk_sqlite_page_cache_wrapped 1"), "{text}");
    assert!(text.contains("tgdesk_sessions_connecting 0") && text.contains("tgdesk_logins_pending 0"), "{text}");
    assert!(text.contains("tgdesk_queue_depth{queue=\"updates\",state=\"visible\"} 0"), "{text}");
    let lag: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("tgdesk_ingest_lag_milliseconds "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no lag sample: {text}"));
    assert!(lag < 60_000, "messages dated now are stored within a minute: {lag} ms");
}

#[tokio::test]
async fn a_poison_batch_received_with_good_ones_is_dead_lettered_alone() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let account = app.create_account(&admin, "+15559990004", None).await;
    let bodies = vec![
        encode_batch(&[envelope(&account, 61, 1..4)]),
        encode_batch(&[envelope("acc_gone", 1, 1..2)]),
        encode_batch(&[envelope(&account, 62, 1..6)]),
    ];
    app.desk.ports().queue.send_batch(UPDATES_QUEUE, bodies).await.unwrap();
    wait_for_items(&app, &format!("/api/accounts/{account}/dialogs/61/messages"), &admin, 3).await;
    wait_for_items(&app, &format!("/api/accounts/{account}/dialogs/62/messages"), &admin, 5).await;
    let dlq = dead_letter_queue(UPDATES_QUEUE);
    let mut dead = Vec::new();
    for _ in 0..100 {
        let got = app
            .desk
            .ports()
            .queue
            .receive(&dlq, 10, Duration::from_millis(100), Duration::from_secs(30))
            .await
            .unwrap();
        dead.extend(got);
        let depth = app.desk.ports().queue.depth(UPDATES_QUEUE).await.unwrap();
        if !dead.is_empty() && (depth.visible, depth.in_flight) == (0, 0) {
            break;
        }
    }
    assert_eq!(dead.len(), 1, "only the poison batch is dead-lettered");
    assert!(dead[0].reason.as_deref().unwrap_or_default().contains("acc_gone"), "{:?}", dead[0].reason);
    let depth = app.desk.ports().queue.depth(UPDATES_QUEUE).await.unwrap();
    assert_eq!((depth.visible, depth.in_flight), (0, 0), "the good batches were acknowledged");
}
