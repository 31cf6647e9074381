//! The control API's contract: validation errors, login codes, stats and the
//! traffic generator.

use std::collections::HashSet;
use std::time::Duration;

use grammers_client::update::Update;

use serde_json::json;

use crate::common::{logged_in, Sim};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_api_validates_input_and_reports_missing_things() {
    let sim = Sim::start().await;

    let (bad_phone, _) = sim.post_status("/control/accounts", json!({ "phone": "12345" })).await;
    let (no_account, _) = sim
        .post_status(
            "/control/messages",
            json!({ "account_phone": "+15550005999", "from": { "user_id": 1 }, "text": "x" }),
        )
        .await;
    let (no_code, _) = sim.get("/control/login-code?phone=%2B15550005999").await;
    let (bad_kind, _) =
        sim.post_status("/control/chats", json!({ "kind": "forum", "title": "x", "members": [] })).await;
    sim.account("+15550005001", None, true).await;
    let (no_chat, _) = sim
        .post_status(
            "/control/messages",
            json!({ "account_phone": "+15550005001", "from": { "user_id": 1 }, "text": "x", "chat": -42 }),
        )
        .await;
    let (no_msg, _) =
        sim.post_status("/control/messages/1/99/delete", json!({ "account_phone": "+15550005001" })).await;

    assert_eq!(bad_phone, 400);
    assert_eq!(no_account, 404);
    assert_eq!(no_code, 404);
    assert_eq!(bad_kind, 400);
    assert_eq!(no_chat, 404);
    assert_eq!(no_msg, 404);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_messages_posts_all_in_order_or_none() {
    let sim = Sim::start().await;
    sim.account("+15550005004", None, true).await;
    let msg = |phone: &str, user: i64, text: &str| json!({ "account_phone": phone, "from": { "user_id": user }, "text": text });

    let (status, bad) = sim
        .post_status(
            "/control/messages/batch",
            json!({ "messages": [msg("+15550005004", 5, "a"), msg("+15550005998", 5, "b")] }),
        )
        .await;
    assert_eq!(status, 404);
    assert!(bad["error"].as_str().unwrap().contains("messages[1]"), "{bad}");
    let (_, stats) = sim.get("/control/stats").await;
    assert_eq!(stats["sent_total"].as_u64(), Some(0), "nothing of a refused batch was posted");

    let batch: Vec<_> = (0..50).map(|i| msg("+15550005004", 5 + i % 2, &format!("m{i}"))).collect();
    let posted = sim.post("/control/messages/batch", json!({ "messages": batch })).await;
    assert_eq!(posted["posted"], 50);
    let ids: Vec<(i64, i64)> = posted["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["peer"].as_i64().unwrap(), m["message_id"].as_i64().unwrap()))
        .collect();
    assert!(ids.iter().all(|(peer, _)| *peer == 5 || *peer == 6));
    assert!(ids.windows(2).all(|w| w[0].1 < w[1].1), "ids rise in order: {ids:?}");
    let (_, stats) = sim.get("/control/stats").await;
    assert_eq!(stats["per_account"]["+15550005004"].as_u64(), Some(50));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_generator_delivers_about_the_requested_rate() {
    let sim = Sim::start().await;
    sim.account("+15550005002", None, true).await;
    sim.account("+15550005003", None, true).await;

    sim.post("/control/traffic", json!({ "rate": 400, "duration_s": 1.0 })).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, stats) = sim.get("/control/stats").await;

    let total = stats["sent_total"].as_u64().expect("total");
    let a = stats["per_account"]["+15550005002"].as_u64().expect("a");
    let b = stats["per_account"]["+15550005003"].as_u64().expect("b");
    // Bursty by design: allow a wide band around 400, minus edits/deletes.
    assert!((150..=1200).contains(&total), "total {total}");
    assert_eq!(a + b, total);
    assert!(a > 0 && b > 0);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_traffic_reaches_live_clients_exactly_once() {
    let sim = Sim::start().await;
    let mut listeners = Vec::new();
    let mut clients = Vec::new();
    for i in 0..12 {
        let phone = format!("+1555000{:04}", 6000 + i);
        let session = sim.account(&phone, None, true).await;
        let (mut tg, _) = logged_in(&session).await;
        listeners.push((phone, tg.listen(false).await));
        clients.push(tg);
    }
    sim.wait_get_state(12).await;

    sim.post("/control/traffic", json!({ "rate": 600, "duration_s": 2.0 })).await;
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let (_, stats) = sim.get("/control/stats").await;

    let mut total = 0;
    for (phone, listener) in listeners.iter_mut() {
        let expected = stats["per_account"][phone.as_str()].as_u64().expect("count") as usize;
        let mut ids = HashSet::new();
        let mut dup = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        // Wait until the expected count arrived, then briefly for duplicates.
        while tokio::time::Instant::now() < deadline {
            let wait = if ids.len() >= expected { 100 } else { 500 };
            match listener.try_next(wait).await {
                Some(Update::NewMessage(m)) if !ids.insert(m.id()) => dup += 1,
                Some(_) => {}
                None if ids.len() >= expected => break,
                None => {}
            }
        }
        assert_eq!(dup, 0, "{phone} got duplicates");
        assert_eq!(ids.len() as u64, stats["per_account"][phone.as_str()].as_u64().expect("count"), "{phone}");
        total += ids.len();
    }
    assert!(total > 300, "total {total}");
    for (_, l) in listeners {
        l.stop().await;
    }
    for tg in clients {
        tg.stop().await;
    }
    sim.stop().await;
}
