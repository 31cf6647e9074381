//! Sending: single sends and batches are recorded, audited, queued for the
//! fleet, and their status pushed; bad requests get clear errors. The server
//! runs without its fleet here, so the tests read the commands queue as the
//! fleet would (the fleet's side is tested in session-fleet and `e2e`).

use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;
use tgdesk_core::domain::{SendId, TenantId};
use tgdesk_core::usecases::{node_commands_queue, FleetCommand, SendOutcome, COMMANDS_QUEUE};

struct World {
    app: TestApp,
    admin: String,
    agent: String,
    account: String,
    other_account: String,
}

async fn world() -> World {
    let app = spawn_without_fleet().await;
    let admin = app.admin().await;
    let agent_id = app.create_user(&admin, "sender", "agent", None).await;
    let other_id = app.create_user(&admin, "bystander", "agent", None).await;
    let account = app.create_account(&admin, "+15551230001", Some(&agent_id)).await;
    let other_account = app.create_account(&admin, "+15551230002", Some(&other_id)).await;
    let agent = app.login("demo", "sender", PASSWORD).await;
    World { app, admin, agent, account, other_account }
}

/// Takes every command the fleet would receive now from the shared queue.
async fn commands(app: &TestApp) -> Vec<FleetCommand> {
    commands_of(app, COMMANDS_QUEUE).await
}

/// Takes every command waiting in `queue`.
async fn commands_of(app: &TestApp, queue: &str) -> Vec<FleetCommand> {
    let deliveries =
        app.desk.ports().queue.receive(queue, 1000, Duration::from_millis(200), Duration::from_secs(30)).await.unwrap();
    let receipts: Vec<String> = deliveries.iter().map(|d| d.receipt.clone()).collect();
    app.desk.ports().queue.ack(queue, &receipts).await.unwrap();
    deliveries.iter().map(|d| serde_json::from_slice(&d.body).unwrap()).collect()
}

#[tokio::test]
async fn commands_go_to_the_queue_of_the_node_holding_the_account() {
    let w = world().await;
    let tenant = TenantId::parse("demo").unwrap();
    let account = tgdesk_core::domain::AccountId::parse(&w.account).unwrap();
    let leases = w.app.desk.ports().leases.clone().expect("the server knows the fleet's leases");
    let path = format!("/api/accounts/{}/dialogs/777/messages", w.account);

    // No node holds the account: the shared queue, which every node reads.
    w.app.post(&path, &w.agent, json!({"text": "first"})).await.expect(202);
    assert_eq!(commands(&w.app).await.len(), 1);

    // Node n7 holds it: straight to n7's queue, nothing on the shared one.
    let lease = leases.acquire(&tenant, &account, "n7", Duration::from_secs(60)).await.unwrap();
    w.app.post(&path, &w.agent, json!({"text": "second"})).await.expect(202);
    let batch = json!({"targets": [{"account_id": w.account, "peer": 778}, {"account_id": w.account, "peer": 779}], "text": "all"});
    w.app.post("/api/batch-sends", &w.agent, batch).await.expect(202);
    assert!(commands(&w.app).await.is_empty());
    let routed = commands_of(&w.app, &node_commands_queue("n7")).await;
    let texts: Vec<&str> = routed
        .iter()
        .map(|c| match c {
            FleetCommand::Send { text, .. } => text.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(texts, ["second", "all", "all"]);

    // Released: the shared queue again.
    leases.release(&lease).await.unwrap();
    w.app.post(&path, &w.agent, json!({"text": "third"})).await.expect(202);
    assert_eq!(commands(&w.app).await.len(), 1);
    assert!(commands_of(&w.app, &node_commands_queue("n7")).await.is_empty());
}

#[tokio::test]
async fn a_send_is_queued_audited_handed_to_the_fleet_and_its_outcome_recorded() {
    let w = world().await;
    let path = format!("/api/accounts/{}/dialogs/777/messages", w.account);
    let accepted = w.app.post(&path, &w.agent, json!({"text": "Hello!", "reply_to": 5})).await.expect(202);
    assert_eq!(accepted["status"], "queued");
    let send_id = accepted["send_id"].as_str().unwrap().to_owned();
    let queued = commands(&w.app).await;
    assert_eq!(queued.len(), 1);
    let FleetCommand::Send { send_id: sid, peer, text, reply_to, .. } = &queued[0] else { panic!("{:?}", queued[0]) };
    assert_eq!((sid.as_str(), *peer, text.as_str(), *reply_to), (send_id.as_str(), 777, "Hello!", Some(5)));
    let audit = w.app.get(&format!("/api/audit?action=message.send&account={}", w.account), &w.admin).await.expect(200);
    assert_eq!(audit["items"][0]["details"]["send_id"], send_id.as_str());
    let tenant = TenantId::parse("demo").unwrap();
    let id = SendId::parse(&send_id).unwrap();
    w.app.desk.record_send_outcome(&tenant, &id, SendOutcome::Sent { message_id: 42 }).await.unwrap();
    // A late failure report for the same send changes nothing.
    w.app.desk.record_send_outcome(&tenant, &id, SendOutcome::Failed { reason: "late".into() }).await.unwrap();
    let record = w.app.get(&format!("/api/sends/{send_id}"), &w.agent).await.expect(200);
    assert_eq!((record["status"].as_str(), record["message_id"].as_i64()), (Some("sent"), Some(42)));
}

#[tokio::test]
async fn bad_sends_get_clear_errors_and_queue_nothing() {
    let w = world().await;
    let mine = format!("/api/accounts/{}/dialogs/1/messages", w.account);
    assert_eq!(w.app.post(&mine, &w.agent, json!({"text": "   "})).await.expect(400)["error"]["code"], "invalid_input");
    w.app.post(&mine, &w.agent, json!({"text": "x".repeat(4097)})).await.expect(400);
    w.app.post(&mine, &w.agent, json!({})).await.expect(400);
    let theirs = format!("/api/accounts/{}/dialogs/1/messages", w.other_account);
    w.app.post(&theirs, &w.agent, json!({"text": "hi"})).await.expect(404);
    w.app.post("/api/accounts/acc_nope/dialogs/1/messages", &w.agent, json!({"text": "hi"})).await.expect(404);
    assert!(commands(&w.app).await.is_empty());
    let other = w.app.login("demo", "bystander", PASSWORD).await;
    let sent = w.app.post(&mine, &w.agent, json!({"text": "hi"})).await.expect(202);
    w.app.get(&format!("/api/sends/{}", sent["send_id"].as_str().unwrap()), &other).await.expect(404);
}

#[tokio::test]
async fn a_logged_out_account_cannot_send() {
    let w = world().await;
    use tgdesk_core::domain::{AccountId, AccountStatus};
    let tenant = TenantId::parse("demo").unwrap();
    let mut account = w
        .app
        .desk
        .ports()
        .directory
        .get_account(&tenant, &AccountId::parse(&w.account).unwrap())
        .await
        .unwrap()
        .unwrap();
    account.status = AccountStatus::LoggedOut;
    w.app.desk.ports().directory.put_accounts(&tenant, &[account]).await.unwrap();
    let path = format!("/api/accounts/{}/dialogs/1/messages", w.account);
    let reply = w.app.post(&path, &w.agent, json!({"text": "hi"})).await.expect(409);
    assert!(reply["error"]["message"].as_str().unwrap().contains("logged_out"));
}

#[tokio::test]
async fn a_batch_reports_progress_per_target_and_can_be_cancelled() {
    let w = world().await;
    let targets: Vec<Value> = (1..=5).map(|p| json!({"account_id": w.account, "peer": p})).collect();
    let started =
        w.app.post("/api/batch-sends", &w.agent, json!({"targets": targets, "text": "Sale!"})).await.expect(202);
    let batch = started["batch"]["id"].as_str().unwrap().to_owned();
    assert_eq!(started["counts"], json!({"queued": 5}));
    assert_eq!(started["done"], false);
    let queued = commands(&w.app).await;
    assert_eq!(queued.len(), 5);
    let tenant = TenantId::parse("demo").unwrap();
    let ids: Vec<SendId> = queued
        .iter()
        .map(|c| match c {
            FleetCommand::Send { send_id, .. } => send_id.clone(),
            other => panic!("not a send: {other:?}"),
        })
        .collect();
    w.app.desk.record_send_outcome(&tenant, &ids[0], SendOutcome::Sent { message_id: 1 }).await.unwrap();
    w.app
        .desk
        .record_send_outcome(&tenant, &ids[1], SendOutcome::Failed { reason: "PEER_FLOOD".into() })
        .await
        .unwrap();
    let cancelled = w.app.post(&format!("/api/batch-sends/{batch}/cancel"), &w.agent, json!({})).await.expect(200);
    assert_eq!(cancelled["counts"], json!({"sent": 1, "failed": 1, "cancelled": 3}));
    assert_eq!(cancelled["done"], true);
    let page = w.app.get(&format!("/api/batch-sends/{batch}?limit=2"), &w.agent).await.expect(200);
    assert_eq!(page["sends"]["items"].as_array().unwrap().len(), 2);
    assert!(page["sends"]["next_cursor"].is_string());
    let all = w.app.get(&format!("/api/batch-sends/{batch}?limit=500"), &w.agent).await.expect(200);
    let failed = all["sends"]["items"].as_array().unwrap().iter().find(|s| s["status"] == "failed").cloned();
    assert_eq!(failed.expect("one failed send")["error"], "PEER_FLOOD");
    let other = w.app.login("demo", "bystander", PASSWORD).await;
    w.app.get(&format!("/api/batch-sends/{batch}"), &other).await.expect(404);
    w.app.get(&format!("/api/batch-sends/{batch}"), &w.admin).await.expect(200);
}

#[tokio::test]
async fn a_batch_with_an_invisible_or_repeated_target_is_refused_whole() {
    let w = world().await;
    let targets = json!([
        {"account_id": w.account, "peer": 1},
        {"account_id": w.other_account, "peer": 1},
        {"account_id": w.account, "peer": 1},
    ]);
    let reply = w.app.post("/api/batch-sends", &w.agent, json!({"targets": targets, "text": "x"})).await.expect(400);
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(message.contains("targets[1]") && message.contains("targets[2]"), "{message}");
    assert!(commands(&w.app).await.is_empty());
    w.app.post("/api/batch-sends", &w.agent, json!({"targets": [], "text": "x"})).await.expect(400);
}

/// Uploads bytes as a file and returns its description.
async fn upload(app: &TestApp, token: &str, name: &str, bytes: Vec<u8>) -> crate::helpers::Reply {
    app.post_raw(&format!("/api/files?name={name}"), token, "image/png", bytes).await
}

#[tokio::test]
async fn an_uploaded_file_is_attached_to_a_send_and_readable_by_its_uploader_only() {
    let w = world().await;
    let png = vec![0x89, b'P', b'N', b'G', 1, 2, 3, 4];
    let file = upload(&w.app, &w.agent, "photo.png", png.clone()).await.expect(201);
    assert_eq!((file["size"].as_u64(), file["content_type"].as_str()), (Some(8), Some("image/png")));
    let id = file["id"].as_str().unwrap();
    let resp = w.app.http.get(format!("{}/api/files/{id}", w.app.base)).bearer_auth(&w.agent).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "image/png");
    assert_eq!(resp.bytes().await.unwrap().to_vec(), png);
    let other = w.app.login("demo", "bystander", PASSWORD).await;
    w.app.get(&format!("/api/files/{id}"), &other).await.expect(404);
    let path = format!("/api/accounts/{}/dialogs/9/messages", w.account);
    w.app.post(&path, &w.agent, json!({"files": [id]})).await.expect(202);
    let queued = commands(&w.app).await;
    let FleetCommand::Send { files, text, .. } = &queued[0] else { panic!("{:?}", queued[0]) };
    assert_eq!((files.len(), files[0].name.as_str(), text.as_str()), (1, "photo.png", ""));
    w.app.post(&path, &other, json!({"files": [id]})).await.expect(404);
    let theirs = format!("/api/accounts/{}/dialogs/9/messages", w.other_account);
    w.app.post(&theirs, &other, json!({"text": "x", "files": [id]})).await.expect(400);
    w.app.post(&path, &w.agent, json!({"files": ["fil_missing"]})).await.expect(404);
}

/// Uploads `pieces` of `piece` bytes each as a chunked body (no Content-Length).
async fn upload_chunked(app: &TestApp, token: &str, pieces: usize, piece: Vec<u8>) -> reqwest::Response {
    let body = futures::stream::iter((0..pieces).map(move |_| Ok::<_, std::io::Error>(piece.clone())));
    app.http
        .post(format!("{}/api/files?name=video.mp4", app.base))
        .bearer_auth(token)
        .header("content-type", "video/mp4")
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .expect("request sent")
}

/// Every file under the server's blob store, temporary ones included.
fn stored_files(app: &TestApp) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&app.dir.path().join("files"), &mut out);
    out
}

#[tokio::test]
async fn empty_and_oversized_files_are_refused_and_leave_nothing_behind() {
    let w = world().await;
    upload(&w.app, &w.agent, "empty.png", Vec::new()).await.expect(400);
    upload(&w.app, &w.agent, "..", vec![1]).await.expect(400);
    let big = vec![0u8; tgdesk_core::usecases::MAX_FILE_BYTES + 1];
    let reply = upload(&w.app, &w.agent, "big.bin", big).await;
    assert_eq!(reply.expect(413)["error"]["code"], "payload_too_large");
    // Without a Content-Length the limit is met while the body streams in.
    let piece = vec![7u8; 1024 * 1024];
    let pieces = tgdesk_core::usecases::MAX_FILE_BYTES / piece.len() + 1;
    let resp = upload_chunked(&w.app, &w.agent, pieces, piece).await;
    assert_eq!(resp.status(), 413);
    assert!(stored_files(&w.app).is_empty(), "left behind: {:?}", stored_files(&w.app));
}

#[tokio::test]
async fn a_large_upload_streams_in_and_back_out_unchanged() {
    let w = world().await;
    let piece: Vec<u8> = (0..300_001u32).map(|i| (i % 241) as u8).collect();
    let resp = upload_chunked(&w.app, &w.agent, 12, piece.clone()).await;
    assert_eq!(resp.status(), 201);
    let file: Value = resp.json().await.unwrap();
    assert_eq!((file["size"].as_u64(), file["content_type"].as_str()), (Some(12 * 300_001), Some("video/mp4")));
    let id = file["id"].as_str().unwrap();
    let resp = w.app.http.get(format!("{}/api/files/{id}", w.app.base)).bearer_auth(&w.agent).send().await.unwrap();
    assert_eq!(resp.headers()["content-length"], (12 * 300_001).to_string().as_str());
    assert_eq!(resp.headers()["content-disposition"], "attachment; filename=\"video.mp4\"");
    let back = resp.bytes().await.unwrap();
    assert!(back.chunks(piece.len()).all(|c| c == piece.as_slice()) && back.len() == 12 * piece.len());
}
