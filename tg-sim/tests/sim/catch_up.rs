//! Catch-up through getDifference / getChannelDifference after a restart, and a
//! forced pts gap detected and filled while connected.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use grammers_client::update::Update;
use serde_json::json;

use crate::common::{logged_in, Sim, Tg};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_client_receives_every_missed_message_exactly_once() {
    let sim = Sim::start().await;
    let phone = "+15550003001";
    let session = sim.account(phone, None, true).await;
    let channel =
        sim.post("/control/chats", json!({ "kind": "channel", "title": "Support", "members": [phone] })).await["peer"]
            .as_i64()
            .expect("channel");
    let (mut tg, _) = logged_in(&session).await;
    let mut stream = tg.listen(false).await;
    sim.wait_get_state(1).await;
    sim.post(
        "/control/messages",
        json!({ "account_phone": phone, "from": { "user_id": 900, "name": "Zed" }, "text": "before", "chat": channel }),
    )
    .await;
    assert_eq!(stream.next_message(10).await.text(), "before");
    sim.customer_writes(phone, 901, "before too").await;
    assert_eq!(stream.next_message(10).await.text(), "before too");
    stream.stop().await;
    let session_store = tg.session.clone();
    tg.stop().await;

    // A channel created while the client is away: its updates come inline in getDifference.
    let late = sim.post("/control/chats", json!({ "kind": "channel", "title": "Late", "members": [phone] })).await
        ["peer"]
        .as_i64()
        .expect("late channel");
    let mut expected = HashSet::new();
    for i in 0..1000 {
        let text = format!("missed {i}");
        // 300 in the known channel (more than getDifference inlines), 5 in the new one.
        let chat = if i >= 995 {
            Some(late)
        } else if i % 10 < 3 {
            Some(channel)
        } else {
            None
        };
        match chat {
            Some(chat) => {
                sim.post(
                    "/control/messages",
                    json!({ "account_phone": phone, "from": { "user_id": 900 }, "text": text, "chat": chat }),
                )
                .await;
            }
            None => {
                sim.customer_writes(phone, 6000 + (i % 30), &text).await;
            }
        }
        expected.insert(text);
    }

    let mut tg = Tg::connect(session_store);
    let mut stream = tg.listen(true).await;
    let mut got: HashMap<(i64, i32), String> = HashMap::new();
    let mut duplicates = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while got.len() < 1000 && tokio::time::Instant::now() < deadline {
        if let Some(Update::NewMessage(m)) = stream.try_next(5000).await {
            let key = (m.peer_id().bot_api_dialog_id().unwrap_or(0), m.id());
            if got.insert(key, m.text().to_string()).is_some() {
                duplicates += 1;
            }
        }
    }
    // Anything arriving after the 1,000th would be a duplicate.
    let extra = stream.try_next(1500).await;

    assert_eq!(duplicates, 0);
    assert_eq!(got.len(), 1000);
    assert_eq!(got.values().cloned().collect::<HashSet<_>>(), expected);
    assert_eq!(got.keys().filter(|(peer, _)| *peer == channel).count(), 300);
    assert_eq!(got.keys().filter(|(peer, _)| *peer == late).count(), 5);
    assert!(!matches!(extra, Some(Update::NewMessage(_))), "unexpected extra message: {extra:?}");
    assert!(sim.calls("updates.getChannelDifference").await >= 1);
    stream.stop().await;
    tg.stop().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_gap_is_detected_and_filled_by_get_difference() {
    let sim = Sim::start().await;
    let phone = "+15550003002";
    let session = sim.account(phone, None, true).await;
    let (mut tg, _) = logged_in(&session).await;
    let mut stream = tg.listen(false).await;
    sim.wait_get_state(1).await;
    sim.customer_writes(phone, 910, "first").await;
    assert_eq!(stream.next_message(10).await.text(), "first");
    let diffs_before = sim.calls("updates.getDifference").await;

    sim.post("/control/gap", json!({ "account_phone": phone })).await;
    sim.customer_writes(phone, 910, "after gap").await;
    let filled = stream.next_message(10).await;
    sim.customer_writes(phone, 910, "next").await;
    let next = stream.next_message(10).await;

    assert_eq!(filled.text(), "after gap");
    assert_eq!(next.text(), "next");
    assert!(sim.calls("updates.getDifference").await > diffs_before, "the gap must be filled by getDifference");
    stream.stop().await;
    tg.stop().await;
    sim.stop().await;
}
