//! Importing a session, live updates, sending (text, reply, media), dialogs,
//! history paging, groups, channels, edits and deletes.

use std::collections::HashSet;

use grammers_client::message::InputMessage;
use grammers_client::tl;
use grammers_client::update::Update;
use serde_json::json;

use crate::common::{logged_in, session_data, Sim, Tg};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_session_string_answers_get_me_with_the_account() {
    let sim = Sim::start().await;
    let session = sim.account("+15550001001", None, true).await;
    let tg = Tg::from_data(session_data(&session));

    let me = tg.client.get_me().await.expect("get_me");

    assert_eq!(me.phone(), Some("15550001001"));
    assert_eq!(me.first_name(), Some("Agent 1001"));
    // Creating the account again hands out the same session.
    assert_eq!(sim.account("+15550001001", None, true).await, session);
    tg.stop().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_message_arrives_live_and_the_reply_shows_in_control_sent() {
    let sim = Sim::start().await;
    let session = sim.account("+15550001002", None, true).await;
    let (mut tg, _me) = logged_in(&session).await;
    let mut stream = tg.listen(false).await;
    sim.wait_get_state(1).await;

    let (peer, id) = sim.customer_writes("+15550001002", 4242, "where is my order?").await;
    let msg = stream.next_message(10).await;

    assert_eq!(peer, 4242);
    assert_eq!(msg.id(), id);
    assert_eq!(msg.text(), "where is my order?");
    assert!(!msg.outgoing());
    let customer = msg.peer().expect("peer").to_ref().await.expect("ref").expect("cached customer");

    let sent = tg
        .client
        .send_message(customer, InputMessage::new().text("on its way").reply_to(Some(id)))
        .await
        .expect("send");
    let uploaded =
        tg.client.upload_stream(&mut &b"%PDF-1.4 invoice"[..], 16, "invoice.pdf".into()).await.expect("upload");
    tg.client
        .send_message(customer, InputMessage::new().text("your invoice").document(uploaded))
        .await
        .expect("send doc");

    // Bodies of 512 bytes or more travel gzip_packed from grammers.
    let long = "x".repeat(3000);
    tg.client.send_message(customer, long.as_str()).await.expect("send long");

    let (_, v) = sim.get("/control/sent?account_phone=%2B15550001002").await;
    let items = v["items"].as_array().expect("items");
    assert_eq!(items.len(), 3);
    assert_eq!(items[2]["text"], long);
    assert_eq!(items[0]["peer"], 4242);
    assert_eq!(items[0]["message_id"], sent.id());
    assert_eq!(items[0]["text"], "on its way");
    assert_eq!(items[0]["reply_to"], id);
    assert_eq!(items[1]["media"]["name"], "invoice.pdf");
    assert_eq!(items[1]["media"]["bytes_b64"], "JVBERi0xLjQgaW52b2ljZQ==");
    let (_, stats) = sim.get("/control/stats").await;
    assert_eq!(stats["per_account"]["+15550001002"], 1);
    let tl::enums::contacts::Contacts::Contacts(contacts) =
        tg.client.invoke(&tl::functions::contacts::GetContacts { hash: 0 }).await.expect("contacts")
    else {
        panic!("contacts not modified");
    };
    assert_eq!(contacts.users.len(), 1);
    assert_eq!(contacts.users[0].id(), 4242);
    let tl::enums::users::UserFull::Full(full) = tg
        .client
        .invoke(&tl::functions::users::GetFullUser {
            id: tl::types::InputUser { user_id: 4242, access_hash: customer.auth.hash() }.into(),
        })
        .await
        .expect("full user");
    assert_eq!(full.users.len(), 1);
    stream.stop().await;
    tg.stop().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dialogs_and_history_page_through_everything_newest_first() {
    let sim = Sim::start().await;
    let session = sim.account("+15550001003", None, true).await;
    for c in 0..25 {
        sim.customer_writes("+15550001003", 5000 + c, "hi").await;
    }
    for i in 0..150 {
        sim.customer_writes("+15550001003", 5000, &format!("m{i}")).await;
    }
    let tg = Tg::from_data(session_data(&session));

    let mut dialogs = tg.client.iter_dialogs();
    let mut seen = HashSet::new();
    while let Some(d) = dialogs.next().await.expect("dialogs") {
        seen.insert(d.peer().id().bare_id().expect("id"));
    }
    let first = seen.contains(&5000);
    let customer = {
        let mut it = tg.client.iter_dialogs();
        let d = it.next().await.expect("dialogs").expect("one dialog");
        d.peer().to_ref().await.expect("ref").expect("cached")
    };
    let mut history = tg.client.iter_messages(customer);
    let mut texts = Vec::new();
    while let Some(m) = history.next().await.expect("history") {
        texts.push(m.text().to_string());
    }

    assert_eq!(seen.len(), 25);
    assert!(first);
    assert_eq!(texts.len(), 151);
    assert_eq!(texts[0], "m149");
    assert_eq!(texts[150], "hi");
    tg.stop().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_and_channel_posts_edits_and_deletes_arrive_as_updates() {
    let sim = Sim::start().await;
    let session = sim.account("+15550001004", None, true).await;
    let group = sim
        .post("/control/chats", json!({ "kind": "group", "title": "VIP", "members": ["+15550001004"] }))
        .await["peer"]
        .as_i64()
        .expect("group");
    let channel = sim
        .post("/control/chats", json!({ "kind": "channel", "title": "News", "members": ["+15550001004"] }))
        .await["peer"]
        .as_i64()
        .expect("channel");
    assert!(group < 0 && group > -1_000_000_000_000);
    assert!(channel < -1_000_000_000_000);
    let (mut tg, _) = logged_in(&session).await;
    let mut stream = tg.listen(false).await;
    sim.wait_get_state(1).await;

    let g = sim.post("/control/messages", json!({ "account_phone": "+15550001004", "from": { "user_id": 77, "name": "Ann" }, "text": "in group", "chat": group })).await;
    let m = stream.next_message(10).await;
    assert_eq!(m.text(), "in group");
    assert_eq!(m.peer_id().bot_api_dialog_id(), Some(group));
    assert_eq!(g["peer"], group);
    let chats =
        tg.client.invoke(&tl::functions::messages::GetChats { id: vec![-group, 12345] }).await.expect("getChats");
    let tl::enums::messages::Chats::Chats(chats) = chats else { panic!("slice") };
    assert_eq!(chats.chats.len(), 1);

    let c = sim.post("/control/messages", json!({ "account_phone": "+15550001004", "from": { "user_id": 78, "name": "Bob" }, "text": "in channel", "chat": channel, "media": { "kind": "photo", "name": "p.jpg", "bytes_b64": "AAEC" } })).await;
    let m = stream.next_message(10).await;
    assert_eq!(m.text(), "in channel");
    assert_eq!(m.peer_id().bot_api_dialog_id(), Some(channel));
    let photo = m.photo().expect("photo");
    let mut download = tg.client.iter_download(&photo);
    let mut bytes = Vec::new();
    while let Some(chunk) = download.next().await.expect("download") {
        bytes.extend(chunk);
    }
    assert_eq!(bytes, vec![0u8, 1, 2]);
    let cid = c["message_id"].as_i64().expect("id");

    sim.post(&format!("/control/messages/{channel}/{cid}/edit"), json!({ "text": "fixed" })).await;
    match stream.next_update(10).await {
        Update::MessageEdited(m) => assert_eq!(m.text(), "fixed"),
        other => panic!("expected an edit, got {other:?}"),
    }
    sim.post(&format!("/control/messages/{channel}/{cid}/delete"), json!({})).await;
    match stream.next_update(10).await {
        Update::MessageDeleted(d) => assert_eq!(d.messages(), &[cid as i32]),
        other => panic!("expected a deletion, got {other:?}"),
    }
    stream.stop().await;
    tg.stop().await;
    sim.stop().await;
}

fn send_with_random_id(peer: tl::enums::InputPeer, text: &str, random_id: i64) -> tl::functions::messages::SendMessage {
    tl::functions::messages::SendMessage {
        no_webpage: false,
        silent: false,
        background: false,
        clear_draft: false,
        peer,
        reply_to: None,
        message: text.into(),
        random_id,
        reply_markup: None,
        entities: None,
        schedule_date: None,
        schedule_repeat_period: None,
        send_as: None,
        noforwards: false,
        update_stickersets_order: false,
        invert_media: false,
        quick_reply_shortcut: None,
        effect: None,
        allow_paid_floodskip: false,
        allow_paid_stars: None,
        suggested_post: None,
        rich_message: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_random_id_is_refused_and_posts_nothing() {
    let sim = Sim::start().await;
    let session = sim.account("+15550001031", None, true).await;
    let (mut tg, _me) = logged_in(&session).await;
    let mut stream = tg.listen(false).await;
    sim.wait_get_state(1).await;
    sim.customer_writes("+15550001031", 4343, "hello?").await;
    let msg = stream.next_message(10).await;
    let customer = msg.peer().expect("peer").to_ref().await.expect("ref").expect("cached customer");

    let first = tg.client.invoke(&send_with_random_id(customer.into(), "once", 77)).await;
    assert!(matches!(first, Ok(tl::enums::Updates::Updates(_))), "{first:?}");
    let again = tg.client.invoke(&send_with_random_id(customer.into(), "once", 77)).await;
    match again {
        Err(grammers_client::InvocationError::Rpc(rpc)) => assert_eq!(rpc.name, "RANDOM_ID_DUPLICATE"),
        other => panic!("a repeat must be refused, got {other:?}"),
    }
    tg.client.invoke(&send_with_random_id(customer.into(), "another", 78)).await.expect("a new random_id sends");

    let (_, v) = sim.get("/control/sent?account_phone=%2B15550001031").await;
    let texts: Vec<&str> = v["items"].as_array().expect("items").iter().filter_map(|i| i["text"].as_str()).collect();
    assert_eq!(texts, ["once", "another"]);
    tg.stop().await;
    sim.stop().await;
}
