//! Working a conversation against the simulator: a customer's file is
//! fetched from Telegram on first view and kept; the dialog is marked read
//! here and on Telegram; the account's reply is edited and deleted on both
//! sides; the customer's profile and the account's contacts show beside it.

use crate::helpers::*;
use crate::sim_desk::{SimAccount, SimDesk, HISTORY_CUSTOMER};
use base64::Engine;
use serde_json::{json, Value};
use std::time::Duration;

const PHONE: &str = "+15550600001";

fn rpc_calls(stats: &Value, method: &str) -> u64 {
    stats["rpc_calls"][method].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_read_marks_edits_deletes_and_profiles_work_against_telegram() {
    let accounts = [SimAccount { phone: PHONE, extra: json!({}), history: 0 }];
    let (desk, ids) = SimDesk::start(&accounts).await;
    let (app, alice, bruno) = (&desk.app, &desk.alice, &desk.bruno);
    let account = &ids[0];
    let base = format!("/api/accounts/{account}");
    desk.control("/control/contacts", Some(json!({"account_phone": PHONE, "user_id": 8001, "name": "Fay Lin"}))).await;
    desk.wait_status(account, "online").await;

    let pdf = b"%PDF-1.4 receipt bytes".to_vec();
    let from = json!({"user_id": 8001, "name": "Fay Lin"});
    let media = json!({"kind": "document", "name": "receipt.pdf", "bytes_b64": base64::engine::general_purpose::STANDARD.encode(&pdf)});
    let with_file = desk
        .control(
            "/control/messages",
            Some(json!({"account_phone": PHONE, "from": from, "text": "my receipt", "media": media})),
        )
        .await;
    let text_only = desk
        .control("/control/messages", Some(json!({"account_phone": PHONE, "from": from, "text": "and hello"})))
        .await;
    let peer = with_file["peer"].as_i64().unwrap();
    let (file_id, text_id) = (with_file["message_id"].as_i64().unwrap(), text_only["message_id"].as_i64().unwrap());
    let dialogs = desk
        .wait_for(&format!("{base}/dialogs"), "both messages are stored", |b| b["items"][0]["unread_count"] == 2)
        .await;
    assert_eq!(dialogs["items"][0]["peer"].as_i64(), Some(peer));

    // The file: fetched on first view, then served from the blob store.
    let media_path = format!("{base}/dialogs/{peer}/messages/{file_id}/media");
    let fetch = |token: String| {
        let url = format!("{}{media_path}", app.base);
        let http = app.http.clone();
        async move { http.get(url).bearer_auth(token).send().await.unwrap() }
    };
    let first = fetch(alice.clone()).await;
    assert_eq!(first.status().as_u16(), 200);
    assert_eq!(first.headers()["content-type"], "application/pdf");
    assert!(first.headers()["content-disposition"].to_str().unwrap().contains("receipt.pdf"));
    assert_eq!(first.bytes().await.unwrap().to_vec(), pdf);
    let downloads = rpc_calls(&desk.control("/control/stats", None).await, "upload.getFile");
    assert!(downloads > 0, "the first view downloads from Telegram");
    assert_eq!(fetch(alice.clone()).await.bytes().await.unwrap().to_vec(), pdf);
    assert_eq!(rpc_calls(&desk.control("/control/stats", None).await, "upload.getFile"), downloads, "kept after");
    assert_eq!(fetch(bruno.clone()).await.status().as_u16(), 404, "another agent's account");
    app.get(&format!("{base}/dialogs/{peer}/messages/{text_id}/media"), alice).await.expect(404);

    // Read: at once here, and on Telegram.
    let reads_before = rpc_calls(&desk.control("/control/stats", None).await, "messages.readHistory");
    let read = app.post(&format!("{base}/dialogs/{peer}/read"), alice, json!({})).await.expect(200);
    assert_eq!(read["unread_count"], 0);
    for _ in 0..100 {
        if rpc_calls(&desk.control("/control/stats", None).await, "messages.readHistory") > reads_before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(rpc_calls(&desk.control("/control/stats", None).await, "messages.readHistory") > reads_before);
    app.post(&format!("{base}/dialogs/424242/read"), alice, json!({})).await.expect(404);
    app.post(&format!("{base}/dialogs/{peer}/read"), bruno, json!({})).await.expect(404);

    // Who the customer is, and the account's contacts.
    let profile = app.get(&format!("{base}/dialogs/{peer}/profile"), alice).await.expect(200);
    assert_eq!(
        (profile["title"].as_str(), profile["is_contact"].as_bool()),
        (Some("Fay Lin"), Some(true)),
        "{profile}"
    );
    assert_eq!(profile["first_name"], "Fay Lin", "the simulator keeps a name whole");
    let contacts = app.get(&format!("{base}/contacts"), alice).await.expect(200);
    assert_eq!(field_list(&contacts, "peer"), ["8001"]);
    app.get(&format!("{base}/contacts"), bruno).await.expect(404);

    // The account's reply, edited and deleted on Telegram and here.
    let sent = app.post(&format!("{base}/dialogs/{peer}/messages"), alice, json!({"text": "got it"})).await.expect(202);
    let send_path = format!("/api/sends/{}", sent["send_id"].as_str().unwrap());
    let record = desk.wait_for(&send_path, "the reply is sent", |b| b["status"] == "sent").await;
    let reply_id = record["message_id"].as_i64().unwrap();
    let message_path = format!("{base}/dialogs/{peer}/messages/{reply_id}");
    desk.wait_for(&format!("{base}/dialogs/{peer}/messages"), "the reply is stored", |b| {
        b["items"][0]["id"].as_i64() == Some(reply_id)
    })
    .await;
    app.patch(&message_path, alice, json!({"text": ""})).await.expect(400);
    app.patch(&message_path, bruno, json!({"text": "hijack"})).await.expect(404);
    let customers = format!("{base}/dialogs/{peer}/messages/{text_id}");
    app.patch(&customers, alice, json!({"text": "not mine"})).await.expect(403);
    let edited = app.patch(&message_path, alice, json!({"text": "got it, thanks"})).await.expect(200);
    assert_eq!(edited["text"], "got it, thanks");
    assert!(edited["edited_at"].is_string());
    desk.wait_for(&format!("{base}/dialogs/{peer}/messages"), "the edit is stored", |b| {
        b["items"][0]["text"] == "got it, thanks"
    })
    .await;
    app.delete(&message_path, alice).await.expect(200);
    desk.wait_for(&format!("{base}/dialogs/{peer}/messages"), "the delete is stored", |b| {
        b["items"][0]["deleted"] == true
    })
    .await;
    app.delete(&message_path, alice).await.expect(409);
    let stats = desk.control("/control/stats", None).await;
    assert_eq!(
        (rpc_calls(&stats, "messages.editMessage"), rpc_calls(&stats, "messages.deleteMessages")),
        (1, 1),
        "edited and deleted on Telegram once each: {stats}"
    );
    let audit = app.get(&format!("/api/audit?account={account}"), &desk.admin).await.expect(200);
    let actions: Vec<String> = field_list(&audit, "action");
    assert!(
        actions.contains(&"message.edit".to_owned()) && actions.contains(&"message.delete".to_owned()),
        "{actions:?}"
    );
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_history_is_fetched_from_telegram_on_request_without_becoming_unread() {
    let accounts = [SimAccount { phone: "+15550600002", extra: json!({}), history: 150 }];
    let (desk, ids) = SimDesk::start(&accounts).await;
    let (app, alice, bruno) = (&desk.app, &desk.alice, &desk.bruno);
    let base = format!("/api/accounts/{}", ids[0]);
    let messages = format!("{base}/dialogs/{HISTORY_CUSTOMER}/messages?limit=500");
    // Coming online syncs the recent history only.
    let recent = desk.wait_for(&messages, "the recent history is synced", |b| !field_list(b, "id").is_empty()).await;
    let synced = field_list(&recent, "id").len();
    assert!(synced < 150, "only recent history at first: {synced}");
    let unread = app.get(&format!("{base}/dialogs"), alice).await.expect(200)["items"][0]["unread_count"].clone();
    let oldest: i64 = field_list(&recent, "id").last().unwrap().parse().unwrap();
    let history = format!("{base}/dialogs/{HISTORY_CUSTOMER}/history");
    app.post(&history, bruno, json!({})).await.expect(404);
    app.post(&history, alice, json!({"limit": 0})).await.expect(400);
    app.post(&history, alice, json!({"before": oldest, "limit": 1000})).await.expect(202);
    let all = desk.wait_for(&messages, "the whole history is stored", |b| field_list(b, "id").len() == 150).await;
    let texts = field_list(&all, "text");
    let expected: Vec<String> = (0..150).rev().map(|i| format!("old {i}")).collect();
    assert_eq!(texts, expected, "every message once, newest first");
    let after = app.get(&format!("{base}/dialogs"), alice).await.expect(200);
    assert_eq!(after["items"][0]["unread_count"], unread, "history is not news");
    desk.stop().await;
}
