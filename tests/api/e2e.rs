//! End to end over REST and WebSocket only: accounts imported with session
//! strings from the Telegram simulator (an external one, as `TGDESK_SIM_URL`
//! allows) come online through the fleet; customers' messages are stored,
//! listed and pushed to exactly the agents allowed to see them; replies reach
//! the customer.

use crate::helpers::*;
use crate::sim_desk::{events, sim_session, ws, Ws};
use futures::StreamExt;
use serde_json::{json, Value};
use std::time::Duration;
use tg_sim::{SimConfig, Simulator};
use tokio_tungstenite::tungstenite;

/// Collects `message.new` texts until `n` arrived (or the wait ends).
async fn new_messages(ws: &mut Ws, n: usize) -> Vec<String> {
    let seen = events(ws, "message.new", n).await;
    seen.iter().map(|data| data["text"].as_str().unwrap_or_default().to_owned()).collect()
}

/// Returns whatever arrives within half a second of quiet.
async fn quiet(ws: &mut Ws) -> Vec<Value> {
    let mut seen = Vec::new();
    while let Ok(Some(Ok(tungstenite::Message::Text(t)))) =
        tokio::time::timeout(Duration::from_millis(500), ws.next()).await
    {
        seen.push(serde_json::from_str(&t).unwrap());
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_messages_reach_exactly_the_right_agents_and_replies_reach_customers() {
    let sim_dir = tempfile::tempdir().unwrap();
    let sim = Simulator::start(SimConfig::new("127.0.0.1:0".parse().unwrap(), sim_dir.path())).await.unwrap();
    let control = sim.control_url();
    let http = reqwest::Client::new();
    let mut sessions = Vec::new();
    for phone in ["+15550400001", "+15550400002"] {
        sessions.push(sim_session(&http, &control, json!({"phone": phone})).await);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_for(dir.path());
    config.sim_url = Some(control.clone());
    let app = spawn_with(dir, config).await;
    let admin = app.admin().await;
    let lead = app.create_user(&admin, "e2elead", "leader", None).await;
    app.create_user(&admin, "alice", "agent", Some(&lead)).await;
    app.create_user(&admin, "bruno", "agent", None).await;
    let csv = format!(
        "phone,owner,session\n+15550400001,alice,{}\n+15550400002,bruno,{}\n+15550400003,bruno,not-a-session\n",
        sessions[0], sessions[1]
    );
    let report = app.post_raw("/api/accounts/import", &admin, "text/csv", csv.clone().into_bytes()).await.expect(200);
    assert_eq!(report["imported"], 2, "{report}");
    assert_eq!(report["rejected"][0]["line"], 4);
    let again = app.post_raw("/api/accounts/import", &admin, "text/csv", csv.into_bytes()).await.expect(200);
    assert_eq!((again["imported"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(2)), "{again}");
    let alice = app.login("demo", "alice", PASSWORD).await;
    let bruno = app.login("demo", "bruno", PASSWORD).await;
    let leader = app.login("demo", "e2elead", PASSWORD).await;
    let accounts = app.get("/api/accounts", &alice).await.expect(200);
    let alice_account = accounts["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(accounts["items"][0]["has_session"], true);
    for _ in 0..300 {
        let all = app.get("/api/accounts?status=online", &admin).await.expect(200);
        if all["items"].as_array().unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.get("/api/accounts?status=online", &admin).await.expect(200)["items"].as_array().unwrap().len(), 2);
    let (mut ws_alice, mut ws_bruno, mut ws_leader, mut ws_admin) =
        (ws(&app, &alice).await, ws(&app, &bruno).await, ws(&app, &leader).await, ws(&app, &admin).await);
    let mut peer = 0;
    for i in 0..5 {
        let body = json!({"account_phone": "+15550400001", "from": {"user_id": 9001, "name": "Carol"}, "text": format!("to alice {i}")});
        let sent: Value =
            http.post(format!("{control}/control/messages")).json(&body).send().await.unwrap().json().await.unwrap();
        peer = sent["peer"].as_i64().unwrap();
    }
    for i in 0..3 {
        let body = json!({"account_phone": "+15550400002", "from": {"user_id": 9002, "name": "Dan"}, "text": format!("to bruno {i}")});
        http.post(format!("{control}/control/messages")).json(&body).send().await.unwrap();
    }
    let expected_alice: Vec<String> = (0..5).map(|i| format!("to alice {i}")).collect();
    let expected_bruno: Vec<String> = (0..3).map(|i| format!("to bruno {i}")).collect();
    assert_eq!(new_messages(&mut ws_alice, 5).await, expected_alice);
    assert_eq!(new_messages(&mut ws_leader, 5).await, expected_alice);
    assert_eq!(new_messages(&mut ws_bruno, 3).await, expected_bruno);
    let mut admin_saw = new_messages(&mut ws_admin, 8).await;
    admin_saw.sort();
    let mut all: Vec<String> = expected_alice.iter().chain(&expected_bruno).cloned().collect();
    all.sort();
    assert_eq!(admin_saw, all);
    let extra = quiet(&mut ws_alice).await;
    assert!(
        extra.iter().all(|e| e["type"] != "message.new"),
        "no duplicate or foreign message reached alice: {extra:?}"
    );
    let history = app.get(&format!("/api/accounts/{alice_account}/dialogs/{peer}/messages"), &alice).await.expect(200);
    let mut stored: Vec<String> =
        history["items"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_owned()).collect();
    stored.reverse();
    assert_eq!(stored, expected_alice, "each message stored once, in order");
    let inbox = app.get("/api/inbox", &alice).await.expect(200);
    assert_eq!(inbox["items"][0]["preview"], "to alice 4");
    // Searchable, each once, by exactly the agents who may see it.
    let mut found = Value::Null;
    for _ in 0..200 {
        found = app.get("/api/search?q=alice&limit=100", &alice).await.expect(200);
        if found["items"].as_array().unwrap().len() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut searched: Vec<String> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["snippet"].as_array().unwrap().iter().map(|f| f["text"].as_str().unwrap()).collect())
        .collect();
    searched.sort();
    assert_eq!(searched, expected_alice, "every message searchable once");
    assert_eq!(app.get("/api/search?q=alice", &bruno).await.expect(200)["items"], json!([]), "bruno sees none");
    assert_eq!(
        app.get("/api/search?q=alice&limit=100", &leader).await.expect(200)["items"].as_array().unwrap().len(),
        5
    );
    let reply = app
        .post(&format!("/api/accounts/{alice_account}/dialogs/{peer}/messages"), &alice, json!({"text": "Hi Carol!"}))
        .await
        .expect(202);
    let send_id = reply["send_id"].as_str().unwrap().to_owned();
    let mut status = String::new();
    for _ in 0..200 {
        status =
            app.get(&format!("/api/sends/{send_id}"), &alice).await.expect(200)["status"].as_str().unwrap().to_owned();
        if status != "queued" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "sent");
    let on_sim: Value = http
        .get(format!("{control}/control/sent?account_phone=%2B15550400001"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(on_sim["items"][0]["text"], "Hi Carol!");
    assert_eq!(on_sim["items"][0]["peer"].as_i64(), Some(peer));
    drop(app);
    sim.shutdown().await;
}
