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

    // A file bigger than Telegram's 512 KiB parts and the blob store's chunks streams through whole.
    let manual: Vec<u8> = (0..1_500_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let media = json!({"kind": "document", "name": "manual.pdf", "bytes_b64": base64::engine::general_purpose::STANDARD.encode(&manual)});
    let big = desk
        .control("/control/messages", Some(json!({"account_phone": PHONE, "from": from, "text": "", "media": media})))
        .await;
    let big_id = big["message_id"].as_i64().unwrap();
    let big_path = format!("{base}/dialogs/{peer}/messages/{big_id}");
    desk.wait_for(&format!("{base}/dialogs/{peer}/messages"), "the manual is stored", |b| {
        b["items"][0]["id"].as_i64() == Some(big_id)
    })
    .await;
    let streamed = app.http.get(format!("{}{big_path}/media", app.base)).bearer_auth(alice).send().await.unwrap();
    assert_eq!(streamed.status().as_u16(), 200);
    assert_eq!(streamed.headers()["content-length"], "1500000");
    assert_eq!(streamed.headers()["content-type"], "application/pdf");
    let body = streamed.bytes().await.unwrap();
    assert!(body.as_ref() == manual.as_slice(), "the manual differs: {} of {} bytes", body.len(), manual.len());

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_and_photos_are_kept_current_from_telegram_and_fetched_on_first_view() {
    const PHONE: &str = "+15550600003";
    let accounts = [SimAccount { phone: PHONE, extra: json!({}), history: 0 }];
    let (desk, ids) = SimDesk::start(&accounts).await;
    let (app, alice, bruno) = (&desk.app, &desk.alice, &desk.bruno);
    let base = format!("/api/accounts/{}", ids[0]);
    desk.wait_status(&ids[0], "online").await;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let (own, first, second) = (b"\xFF\xD8 own face".to_vec(), b"\xFF\xD8 first".to_vec(), b"\xFF\xD8 second".to_vec());
    let write = |text: &'static str| {
        let body = json!({"account_phone": PHONE, "from": {"user_id": 8101, "name": "Gus Ho"}, "text": text});
        desk.control("/control/messages", Some(body))
    };
    let photo = |user: Value, bytes: Option<&[u8]>| {
        desk.control("/control/photos", Some(json!({"user": user, "bytes_b64": bytes.map(b64)})))
    };
    let get_photo = |path: String, token: String| {
        let (url, http) = (format!("{}{path}", app.base), app.http.clone());
        async move { http.get(url).bearer_auth(token).send().await.unwrap() }
    };
    let profile_path = format!("{base}/dialogs/8101/profile");

    // A customer who is not a contact has a profile from the users that came with their message.
    let peer = write("hello").await["peer"].as_i64().unwrap();
    assert_eq!(peer, 8101);
    let profile = desk.wait_for(&profile_path, "the customer's profile", |b| b["synced_at"].is_string()).await;
    assert_eq!((profile["first_name"].as_str(), profile["is_contact"].as_bool()), (Some("Gus Ho"), Some(false)));
    assert!(profile["photo_id"].is_null(), "{profile}");
    assert_eq!(get_photo(format!("{profile_path}/photo"), alice.clone()).await.status().as_u16(), 404, "no photo yet");

    // A new photo arrives with their next message, and is fetched once, on first view.
    let first_id = photo(json!(8101), Some(&first)).await["photo_id"].as_i64().unwrap();
    write("new look").await;
    desk.wait_for(&profile_path, "the new photo", |b| b["photo_id"].as_i64() == Some(first_id)).await;
    let shown = get_photo(format!("{profile_path}/photo"), alice.clone()).await;
    assert_eq!(shown.status().as_u16(), 200);
    assert_eq!(shown.headers()["content-type"], "image/jpeg");
    assert_eq!(shown.bytes().await.unwrap().to_vec(), first);
    let downloads = rpc_calls(&desk.control("/control/stats", None).await, "upload.getFile");
    let again = get_photo(format!("{profile_path}/photo"), alice.clone()).await.bytes().await.unwrap();
    assert_eq!(again.to_vec(), first);
    assert_eq!(rpc_calls(&desk.control("/control/stats", None).await, "upload.getFile"), downloads, "kept after");
    assert_eq!(get_photo(format!("{profile_path}/photo"), bruno.clone()).await.status().as_u16(), 404);
    let unknown = get_photo(format!("{base}/dialogs/424242/profile/photo"), alice.clone()).await;
    assert_eq!(unknown.status().as_u16(), 404, "no such dialog");

    // A changed photo is a new one; a removed photo is gone.
    let second_id = photo(json!(8101), Some(&second)).await["photo_id"].as_i64().unwrap();
    write("newer look").await;
    desk.wait_for(&profile_path, "the second photo", |b| b["photo_id"].as_i64() == Some(second_id)).await;
    let shown = get_photo(format!("{profile_path}/photo"), alice.clone()).await.bytes().await.unwrap();
    assert_eq!(shown.to_vec(), second);

    // A photo replaced again before anyone looked and while the customer was
    // quiet: 404, and the account's profiles are synced anew.
    let third_id = photo(json!(8101), Some(b"\xFF\xD8 third")).await["photo_id"].as_i64().unwrap();
    write("third look").await;
    desk.wait_for(&profile_path, "the third photo", |b| b["photo_id"].as_i64() == Some(third_id)).await;
    let fourth = b"\xFF\xD8 fourth".to_vec();
    let fourth_id = photo(json!(8101), Some(&fourth)).await["photo_id"].as_i64().unwrap();
    let gone = get_photo(format!("{profile_path}/photo"), alice.clone()).await;
    assert_eq!(gone.status().as_u16(), 404, "Telegram no longer has the third photo");
    desk.wait_for(&profile_path, "the profile synced anew", |b| b["photo_id"].as_i64() == Some(fourth_id)).await;
    let shown = get_photo(format!("{profile_path}/photo"), alice.clone()).await.bytes().await.unwrap();
    assert_eq!(shown.to_vec(), fourth);

    photo(json!(8101), None).await;
    write("no face").await;
    desk.wait_for(&profile_path, "the photo removed", |b| b["photo_id"].is_null()).await;
    assert_eq!(get_photo(format!("{profile_path}/photo"), alice.clone()).await.status().as_u16(), 404);

    // The account's own photo comes with a sync on demand.
    let own_id = photo(json!(PHONE), Some(&own)).await["photo_id"].as_i64().unwrap();
    app.post(&format!("{base}/sync"), alice, json!({})).await.expect(202);
    desk.wait_for(&format!("{base}/profile"), "the own photo", |b| b["photo_id"].as_i64() == Some(own_id)).await;
    let mine = get_photo(format!("{base}/profile/photo"), alice.clone()).await;
    assert_eq!(mine.status().as_u16(), 200);
    assert_eq!(mine.bytes().await.unwrap().to_vec(), own);
    assert_eq!(get_photo(format!("{base}/profile/photo"), bruno.clone()).await.status().as_u16(), 404);
    desk.stop().await;
}
