//! The contract cases, one function per sentence of the port's docs.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};
use tgdesk_core::domain::AccountId;
use tgdesk_core::ports::{
    LoginStep, MemoryBlob, OutgoingFile, OutgoingMessage, TelegramDownload, TelegramError, TelegramUpdate,
};

use crate::harness::{next_any_update, next_update, phone, try_next_update, Harness};

pub async fn code_login_refuses_a_wrong_code_and_goes_online_with_the_right_one(h: &Harness) {
    let session = h.connect(&h.account("+15550101001", None, false).await).await;
    let before = session.login_step();

    let sent = session.request_login_code(&phone("+15550101001")).await.expect("code requested");
    let right = h.login_code("+15550101001").await;
    let wrong = if right == "00000" { "11111" } else { "00000" };
    let refused = session.submit_code(wrong).await;
    let accepted = session.submit_code(&right).await.expect("right code");

    assert_eq!(before, LoginStep::LoggedOut);
    assert_eq!(sent, LoginStep::CodeSent);
    assert!(matches!(refused, Err(TelegramError::PhoneCodeInvalid)), "{refused:?}");
    assert_eq!(accepted, LoginStep::Online);
    assert_eq!(session.login_step(), LoginStep::Online);
    assert_eq!(session.profile().await.expect("profile").phone.as_deref(), Some("+15550101001"));
    // Online means the update stream runs.
    h.wait_calls("updates.getState", 1).await;
    h.customer_writes("+15550101001", 4242, "welcome").await;
    let first = next_update(session.as_ref(), 10).await;
    assert!(matches!(first, TelegramUpdate::NewMessage(ref m) if m.text == "welcome"), "{first:?}");
    session.disconnect().await;
}

pub async fn two_factor_login_refuses_a_wrong_password_and_accepts_the_right_one(h: &Harness) {
    let session = h.connect(&h.account("+15550101002", Some("correct horse"), false).await).await;
    session.request_login_code(&phone("+15550101002")).await.expect("code requested");
    let code = h.login_code("+15550101002").await;

    let after_code = session.submit_code(&code).await.expect("code accepted");
    let wrong = session.submit_password("wrong horse").await;
    let right = session.submit_password("correct horse").await.expect("right password");

    assert_eq!(after_code, LoginStep::PasswordRequired);
    assert!(matches!(wrong, Err(TelegramError::PasswordInvalid)), "{wrong:?}");
    assert_eq!(right, LoginStep::Online);
    assert!(session.profile().await.is_ok());
    session.disconnect().await;
}

pub async fn a_flood_wait_under_the_cap_is_slept_through_and_a_longer_one_surfaces(h: &Harness) {
    let p = "+15550101003";
    let session = h.online(p).await;
    h.post("/control/flood", json!({ "account_phone": p, "method": "users.getUsers", "seconds": 1 })).await;

    let started = Instant::now();
    let slept = session.profile().await;
    let waited = started.elapsed();
    h.post("/control/flood", json!({ "account_phone": p, "method": "users.getUsers", "seconds": 120 })).await;
    let surfaced = session.profile().await;
    let after = session.profile().await;

    assert!(slept.is_ok(), "{slept:?}");
    assert!(waited >= Duration::from_secs(1), "{waited:?}");
    assert!(matches!(surfaced, Err(TelegramError::FloodWait(d)) if d == Duration::from_secs(120)), "{surfaced:?}");
    assert!(after.is_ok());
    session.disconnect().await;
}

pub async fn a_flooded_login_code_request_reports_the_wait(h: &Harness) {
    let p = "+15550101004";
    let session = h.connect(&h.account(p, None, false).await).await;
    h.post("/control/flood", json!({ "account_phone": p, "method": "auth.sendCode", "seconds": 300 })).await;

    let flooded = session.request_login_code(&phone(p)).await;

    assert!(matches!(flooded, Err(TelegramError::FloodWait(d)) if d == Duration::from_secs(300)), "{flooded:?}");
    assert!(flooded.as_ref().err().is_some_and(TelegramError::is_retryable));
    session.disconnect().await;
}

pub async fn logout_makes_the_key_stop_working(h: &Harness) {
    let p = "+15550101005";
    let bytes = h.account(p, None, true).await;
    let session = h.connect(&bytes).await;
    assert_eq!(session.login_step(), LoginStep::Online);

    session.logout().await.expect("logout");
    let after = session.profile().await;
    let update = session.next_update().await;
    session.disconnect().await;
    let again = h.connect(&bytes).await;

    assert_eq!(session.login_step(), LoginStep::LoggedOut);
    assert!(matches!(after, Err(TelegramError::Unauthorized)), "{after:?}");
    assert!(matches!(update, Err(TelegramError::Unauthorized)), "{update:?}");
    assert_eq!(again.login_step(), LoginStep::LoggedOut);
    assert!(matches!(again.profile().await, Err(TelegramError::Unauthorized)));
    again.disconnect().await;
}

pub async fn profile_and_contacts_describe_the_account_and_its_customers(h: &Harness) {
    let p = "+15550101006";
    let session = h.online(p).await;
    h.customer_writes(p, 4242, "hello").await;
    h.customer_writes(p, 4343, "hi").await;

    let profile = session.profile().await.expect("profile");
    let contacts = session.contacts().await.expect("contacts");

    assert_eq!(profile.phone.as_deref(), Some(p));
    assert!(!profile.first_name.is_empty());
    let ids: HashSet<i64> = contacts.iter().map(|c| c.user_id).collect();
    assert_eq!(ids, HashSet::from([4242, 4343]));
    assert!(contacts.iter().any(|c| c.first_name.contains("4242")), "{contacts:?}");
    session.disconnect().await;
}

pub async fn profile_photos_download_and_users_seen_in_updates_are_reported_once_per_change(h: &Harness) {
    let p = "+15550101019";
    let (own_photo, first, second) = (jpeg_of(1), jpeg_of(2), jpeg_of(3));
    h.post("/control/accounts", json!({ "phone": p })).await;
    let own_id = h.post("/control/photos", json!({ "user": p, "bytes_b64": STANDARD.encode(&own_photo) })).await
        ["photo_id"]
        .as_i64();
    let session = h.online(p).await;

    h.customer_writes(p, 4242, "hello").await;
    let seen = next_any_update(session.as_ref(), 10).await;
    let hello = next_any_update(session.as_ref(), 10).await;
    h.customer_writes(p, 4242, "again").await;
    let again = next_any_update(session.as_ref(), 10).await;
    let set = h.post("/control/photos", json!({ "user": 4242, "bytes_b64": STANDARD.encode(&first) })).await;
    let first_id = set["photo_id"].as_i64().expect("photo id");
    h.customer_writes(p, 4242, "new look").await;
    let changed = next_any_update(session.as_ref(), 10).await;
    let new_look = next_any_update(session.as_ref(), 10).await;
    let me = session.profile().await.expect("profile");
    let list = session.dialogs(10).await.expect("dialogs");
    let downloaded = read_all(session.download_profile_photo(4242, first_id).await).await.expect("customer's photo").0;
    let own = own_id.expect("own id");
    let own_downloaded = read_all(session.download_profile_photo(me.user_id, own).await).await.expect("own photo").0;
    h.post("/control/photos", json!({ "user": 4242, "bytes_b64": STANDARD.encode(&second) })).await;
    let outdated = read_all(session.download_profile_photo(4242, first_id).await).await;

    let TelegramUpdate::Users(seen) = seen else { panic!("users come before the message: {seen:?}") };
    let customer = seen.iter().find(|u| u.user_id == 4242).expect("the customer is reported");
    assert_eq!((customer.first_name.as_str(), customer.photo_id, customer.is_self), ("Customer 4242", None, false));
    assert!(matches!(hello, TelegramUpdate::NewMessage(ref m) if m.text == "hello"), "{hello:?}");
    assert!(matches!(again, TelegramUpdate::NewMessage(ref m) if m.text == "again"), "unchanged users: {again:?}");
    let TelegramUpdate::Users(changed) = changed else { panic!("a new photo is reported: {changed:?}") };
    assert_eq!(changed.iter().map(|u| (u.user_id, u.photo_id)).collect::<Vec<_>>(), vec![(4242, Some(first_id))]);
    assert!(matches!(new_look, TelegramUpdate::NewMessage(ref m) if m.text == "new look"), "{new_look:?}");
    assert_eq!(me.photo_id, own_id);
    assert_eq!(list.dialogs.iter().map(|d| d.peer).collect::<Vec<_>>(), vec![4242]);
    assert_eq!(list.users.iter().map(|u| (u.user_id, u.photo_id)).collect::<Vec<_>>(), vec![(4242, Some(first_id))]);
    assert_eq!(downloaded, first);
    assert_eq!(own_downloaded, own_photo);
    assert!(matches!(outdated, Err(TelegramError::Invalid(_))), "{outdated:?}");
    session.disconnect().await;
}

pub async fn dialogs_list_newest_first_and_history_pages_walk_everything_once(h: &Harness) {
    let p = "+15550101007";
    let session = h.online(p).await;
    let mut expected = Vec::new();
    for i in 0..25 {
        expected.push(h.customer_writes(p, 5001, &format!("old {i}")).await.1);
    }
    h.customer_writes(p, 5002, "newest").await;

    let dialogs = session.dialogs(10).await.expect("dialogs");
    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let page = session.history(5001, before, 10).await.expect("history page");
        if page.is_empty() {
            break;
        }
        before = page.last().map(|m| m.id);
        pages.push(page);
    }

    assert_eq!(dialogs.dialogs.iter().map(|d| d.peer).collect::<Vec<_>>(), vec![5002, 5001]);
    assert_eq!(dialogs.users.iter().map(|u| u.user_id).collect::<Vec<_>>(), vec![5002, 5001]);
    assert_eq!(dialogs.dialogs[0].preview, "newest");
    assert_eq!(dialogs.dialogs[1].last_message_id, expected.last().copied());
    assert_eq!(dialogs.dialogs[1].unread_count, 25);
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![10, 10, 5]);
    let ids: Vec<i64> = pages.iter().flatten().map(|m| m.id).collect();
    let mut newest_first = expected.clone();
    newest_first.reverse();
    assert_eq!(ids, newest_first);
    assert!(pages.iter().flatten().all(|m| m.peer == 5001 && !m.outgoing && m.sender_id == Some(5001)));
    assert_eq!(pages[2].last().map(|m| m.text.as_str()), Some("old 0"));
    session.disconnect().await;
}

pub async fn text_replies_photos_and_documents_reach_the_customer(h: &Harness) {
    let p = "+15550101008";
    let session = h.online(p).await;
    let (peer, asked) = h.customer_writes(p, 4242, "where is my order?").await;
    let photo_bytes = tiny_jpeg();
    let file = |kind: &str, name: &str, bytes: Vec<u8>| {
        let content = Box::new(MemoryBlob::new(bytes, "application/octet-stream"));
        Some(OutgoingFile { kind: kind.into(), name: name.into(), mime: None, content })
    };
    // Three blob chunks, two upload parts: the pieces must join up exactly.
    let archive: Vec<u8> = (0..700_000u32).map(|i| (i % 253) as u8).collect();

    let text = session.send(out(peer, "hello", None, None)).await.expect("text");
    let reply = session.send(out(peer, "on its way", Some(asked), None)).await.expect("reply");
    let photo = session.send(out(peer, "the parcel", None, file("photo", "p.jpg", photo_bytes.clone()))).await;
    let doc = session.send(out(peer, "invoice", None, file("document", "invoice.pdf", b"%PDF-1.4".to_vec()))).await;
    let big = session.send(out(peer, "", None, file("document", "logs.zip", archive.clone()))).await.expect("archive");
    let items = h.sent(p).await;

    let photo = photo.expect("photo");
    let doc = doc.expect("document");
    assert!(text.outgoing && text.text == "hello" && text.peer == peer);
    assert_eq!(reply.reply_to, Some(asked));
    assert_eq!(photo.media.as_ref().map(|m| m.kind.as_str()), Some("photo"));
    assert_eq!(doc.media.as_ref().and_then(|m| m.name.as_deref()), Some("invoice.pdf"));
    assert_eq!(items.len(), 5);
    let ids: Vec<i64> = items.iter().filter_map(|i| i["message_id"].as_i64()).collect();
    assert_eq!(ids, vec![text.id, reply.id, photo.id, doc.id, big.id]);
    assert_eq!(items[1]["reply_to"], asked);
    assert_eq!(items[2]["media"]["kind"], "photo");
    assert_eq!(items[2]["media"]["bytes_b64"], STANDARD.encode(&photo_bytes));
    assert_eq!(items[3]["media"]["name"], "invoice.pdf");
    assert_eq!(items[3]["text"], "invoice");
    assert_eq!(items[3]["media"]["bytes_b64"], STANDARD.encode(b"%PDF-1.4"));
    assert!(items[4]["media"]["bytes_b64"] == STANDARD.encode(&archive), "the 700 kB document arrived changed");
    session.disconnect().await;
}

pub async fn media_customers_sent_downloads_byte_for_byte(h: &Harness) {
    let p = "+15550101009";
    let session = h.online(p).await;
    // Larger than two of grammers' 512 KiB parts: it comes in three pieces.
    let doc: Vec<u8> = (0..1_200_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let photo = tiny_jpeg();
    let media = |kind: &str, name: &str, bytes: &[u8]| json!({ "kind": kind, "name": name, "bytes_b64": STANDARD.encode(bytes) });
    let from = json!({ "user_id": 4242, "name": "Ann" });
    let d = h
        .post(
            "/control/messages",
            json!({ "account_phone": p, "from": from, "text": "receipt", "media": media("document", "r.bin", &doc) }),
        )
        .await;
    let f = h
        .post(
            "/control/messages",
            json!({ "account_phone": p, "from": from, "text": "", "media": media("photo", "p.jpg", &photo) }),
        )
        .await;
    let t = h.customer_writes(p, 4242, "just text").await;

    let doc_id = d["message_id"].as_i64().expect("id");
    let photo_id = f["message_id"].as_i64().expect("id");
    let (got_doc, doc_chunks) = read_all(session.download_media(4242, doc_id).await).await.expect("document");
    let got_photo = read_all(session.download_media(4242, photo_id).await).await.expect("photo").0;
    let none = session.download_media(4242, t.1).await.map(drop);
    let history = session.history(4242, None, 10).await.expect("history");

    assert!(got_doc == doc, "document differs: {} of {} bytes", got_doc.len(), doc.len());
    assert_eq!(doc_chunks, vec![512 * 1024, 512 * 1024, 1_200_000 - 1024 * 1024]);
    assert_eq!(got_photo, photo);
    assert!(matches!(none, Err(TelegramError::Invalid(_))), "{none:?}");
    let described = history.iter().find(|m| m.id == doc_id).and_then(|m| m.media.clone()).expect("media ref");
    assert_eq!((described.kind.as_str(), described.name.as_deref()), ("document", Some("r.bin")));
    assert_eq!(described.size, Some(1_200_000));
    session.disconnect().await;
}

pub async fn edits_and_deletes_arrive_as_updates(h: &Harness) {
    let p = "+15550101010";
    h.account(p, None, true).await;
    let channel = h.channel(p, "Support").await;
    let session = h.online(p).await;
    let (peer, id) = h.customer_writes(p, 4242, "typo").await;
    let new = next_update(session.as_ref(), 10).await;
    h.post(&format!("/control/messages/{peer}/{id}/edit"), json!({ "account_phone": p, "text": "fixed" })).await;
    let edited = next_update(session.as_ref(), 10).await;
    h.post(&format!("/control/messages/{peer}/{id}/delete"), json!({ "account_phone": p })).await;
    let deleted = next_update(session.as_ref(), 10).await;
    let (_, post) = h.customer_posts(p, channel, 4242, "in the channel").await;
    let posted = next_update(session.as_ref(), 10).await;
    h.post(&format!("/control/messages/{channel}/{post}/delete"), json!({})).await;
    let channel_deleted = next_update(session.as_ref(), 10).await;

    assert!(matches!(new, TelegramUpdate::NewMessage(ref m) if m.id == id && m.text == "typo"), "{new:?}");
    assert!(
        matches!(edited, TelegramUpdate::Edited(ref m) if m.id == id && m.text == "fixed" && m.edited_at.is_some()),
        "{edited:?}"
    );
    assert_eq!(deleted, TelegramUpdate::Deleted { peer: None, ids: vec![id] });
    assert!(matches!(posted, TelegramUpdate::NewMessage(ref m) if m.peer == channel && m.sender_id == Some(4242)));
    assert_eq!(channel_deleted, TelegramUpdate::Deleted { peer: Some(channel), ids: vec![post] });
    session.disconnect().await;
}

pub async fn a_restarted_session_catches_up_on_every_missed_message_exactly_once(h: &Harness) {
    let p = "+15550101011";
    h.account(p, None, true).await;
    let channel = h.channel(p, "Support").await;
    let session = h.online(p).await;
    h.customer_posts(p, channel, 900, "before in channel").await;
    h.customer_writes(p, 901, "before").await;
    for _ in 0..2 {
        assert!(matches!(next_update(session.as_ref(), 10).await, TelegramUpdate::NewMessage(_)));
    }
    let saved = session.export().await.expect("export");
    session.disconnect().await;
    let mut expected = HashSet::new();
    for i in 0..1000 {
        let text = format!("missed {i}");
        if i % 10 < 3 {
            h.customer_posts(p, channel, 900, &text).await;
        } else {
            h.customer_writes(p, 6000 + (i % 30), &text).await;
        }
        expected.insert(text);
    }

    let session = h.connect(&saved).await;
    let mut got: HashMap<(i64, i64), String> = HashMap::new();
    let mut duplicates = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.len() < 1000 && Instant::now() < deadline {
        if let Some(TelegramUpdate::NewMessage(m)) = try_next_update(session.as_ref(), 5000).await {
            if got.insert((m.peer, m.id), m.text).is_some() {
                duplicates += 1;
            }
        }
    }
    let extra = try_next_update(session.as_ref(), 1500).await;

    assert_eq!(duplicates, 0);
    assert_eq!(got.len(), 1000);
    assert_eq!(got.values().cloned().collect::<HashSet<_>>(), expected);
    assert_eq!(got.keys().filter(|(peer, _)| *peer == channel).count(), 300);
    assert!(!matches!(extra, Some(TelegramUpdate::NewMessage(_))), "extra message after catch-up: {extra:?}");
    session.disconnect().await;
}

/// A session exported at once after its first connect (nothing consumed
/// yet) already holds an update state, so everything that arrives while it is
/// away comes when it reconnects, not just what a history sync would show.
pub async fn a_session_saved_right_after_its_first_connect_catches_up_later(h: &Harness) {
    let p = "+15550101031";
    let imported = h.account(p, None, true).await;
    let session = h.connect(&imported).await;
    let saved = session.export().await.expect("export");
    session.disconnect().await;
    let expected: Vec<String> = (0..30).map(|i| format!("while away {i}")).collect();
    for text in &expected {
        h.customer_writes(p, 7000, text).await;
    }
    let session = h.connect(&saved).await;
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while got.len() < expected.len() && Instant::now() < deadline {
        if let Some(TelegramUpdate::NewMessage(m)) = try_next_update(session.as_ref(), 2000).await {
            got.push(m.text);
        }
    }
    assert_eq!(got, expected);
    session.disconnect().await;
}

pub async fn a_forced_pts_gap_is_detected_and_filled(h: &Harness) {
    let p = "+15550101012";
    let session = h.online(p).await;
    h.customer_writes(p, 910, "first").await;
    assert!(matches!(next_update(session.as_ref(), 10).await, TelegramUpdate::NewMessage(_)));
    let diffs_before = h.calls("updates.getDifference").await;

    h.post("/control/gap", json!({ "account_phone": p })).await;
    h.customer_writes(p, 910, "after gap").await;
    let filled = next_update(session.as_ref(), 10).await;
    h.customer_writes(p, 910, "next").await;
    let next = next_update(session.as_ref(), 10).await;

    assert!(matches!(filled, TelegramUpdate::NewMessage(ref m) if m.text == "after gap"), "{filled:?}");
    assert!(matches!(next, TelegramUpdate::NewMessage(ref m) if m.text == "next"), "{next:?}");
    assert!(h.calls("updates.getDifference").await > diffs_before, "the gap must be filled by getDifference");
    session.disconnect().await;
}

pub async fn the_first_connect_stores_the_self_user_and_peer_cache(h: &Harness) {
    let p = "+15550101013";
    let imported = h.account(p, None, true).await;
    let channel = h.channel(p, "Support").await;
    h.customer_posts(p, channel, 4242, "hello channel").await;
    let first = h.connect(&imported).await;
    let exported = first.export().await.expect("export");
    first.disconnect().await;
    let dialogs_before = h.calls("messages.getDialogs").await;

    let second = h.connect(&exported).await;
    let history = second.history(channel, None, 10).await.expect("channel history from the stored peer cache");

    let text = String::from_utf8(exported.clone()).expect("json document");
    assert!(!String::from_utf8_lossy(&imported).contains("\"me\""));
    assert!(text.contains("\"me\""), "{text}");
    assert_eq!(h.calls("messages.getDialogs").await, dialogs_before, "no warm-up on later connects");
    assert_eq!(history.len(), 1);
    second.disconnect().await;
}

pub async fn malformed_session_strings_and_bytes_are_invalid_sessions(h: &Harness) {
    let string = h.port().import_session_string("1notasession");
    let bytes = h.port().connect(&AccountId::generate(), b"{\"v\":1}").await;

    assert!(matches!(string, Err(TelegramError::InvalidSession(_))), "{string:?}");
    assert!(matches!(bytes, Err(TelegramError::InvalidSession(_))));
}

pub async fn a_flooded_send_holds_the_account_back_without_calling_telegram_again(h: &Harness) {
    let p = "+15550101014";
    let session = h.online(p).await;
    h.customer_writes(p, 4242, "hello").await;
    h.post("/control/flood", json!({ "account_phone": p, "method": "messages.sendMessage", "seconds": 120 })).await;

    let flooded = session.send(out(4242, "first try", None, None)).await;
    let calls = h.calls("messages.sendMessage").await;
    let held = session.send(out(4242, "second try", None, None)).await;

    assert!(matches!(flooded, Err(TelegramError::FloodWait(d)) if d == Duration::from_secs(120)), "{flooded:?}");
    assert!(matches!(held, Err(TelegramError::FloodWait(d)) if d <= Duration::from_secs(120)), "{held:?}");
    assert_eq!(h.calls("messages.sendMessage").await, calls, "a held-back send must not reach Telegram");
    assert!(h.sent(p).await.is_empty());
    session.disconnect().await;
}

pub async fn a_peer_flood_on_send_surfaces_and_holds_the_account_back(h: &Harness) {
    let p = "+15550101015";
    let session = h.online(p).await;
    h.customer_writes(p, 4242, "hello").await;
    h.post("/control/flood", json!({ "account_phone": p, "method": "messages.sendMessage", "error": "PEER_FLOOD" }))
        .await;

    let flooded = session.send(out(4242, "first try", None, None)).await;
    let held = session.send(out(4242, "second try", None, None)).await;

    assert!(matches!(flooded, Err(TelegramError::PeerFlood)), "{flooded:?}");
    assert!(matches!(held, Err(TelegramError::FloodWait(_))), "{held:?}");
    session.disconnect().await;
}

pub async fn updates_not_yet_consumed_arrive_again_after_a_restart(h: &Harness) {
    let p = "+15550101016";
    let session = h.online(p).await;
    h.customer_writes(p, 4242, "taken").await;
    assert!(matches!(next_update(session.as_ref(), 10).await, TelegramUpdate::NewMessage(_)));
    for text in ["left 1", "left 2", "left 3"] {
        h.customer_writes(p, 4242, text).await;
    }
    // Give the pump time to fetch and buffer them; none is consumed.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let saved = session.export().await.expect("export");
    session.disconnect().await;

    let session = h.connect(&saved).await;
    let mut texts = Vec::new();
    while let Some(TelegramUpdate::NewMessage(m)) = try_next_update(session.as_ref(), 3000).await {
        texts.push(m.text);
    }

    assert_eq!(texts, vec!["left 1", "left 2", "left 3"]);
    session.disconnect().await;
}

pub async fn own_messages_can_be_edited_and_deleted_and_dialogs_marked_read(h: &Harness) {
    let p = "+15550101017";
    let session = h.online(p).await;
    h.customer_writes(p, 4242, "one").await;
    h.customer_writes(p, 4242, "two").await;
    let keep = session.send(out(4242, "teh answer", None, None)).await.expect("send");
    let gone = session.send(out(4242, "oops", None, None)).await.expect("send");
    let unread_before = session.dialogs(10).await.expect("dialogs").dialogs[0].unread_count;

    session.edit(4242, keep.id, "the answer").await.expect("edit");
    session.delete(4242, &[gone.id]).await.expect("delete");
    session.mark_read(4242).await.expect("mark read");
    let history = session.history(4242, None, 10).await.expect("history");
    let unread_after = session.dialogs(10).await.expect("dialogs").dialogs[0].unread_count;

    let edited = history.iter().find(|m| m.id == keep.id).expect("edited message kept");
    assert_eq!(edited.text, "the answer");
    assert!(edited.edited_at.is_some());
    assert!(history.iter().all(|m| m.id != gone.id), "deleted message still listed");
    assert_eq!(unread_before, 2);
    assert_eq!(unread_after, 0);
    session.disconnect().await;
}

pub async fn next_update_is_cancel_safe(h: &Harness) {
    let p = "+15550101018";
    let session = h.online(p).await;
    for i in 0..20 {
        h.customer_writes(p, 4242, &format!("m{i}")).await;
    }

    let mut texts = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while texts.len() < 20 && Instant::now() < deadline {
        // A 1 ms timeout drops many next_update futures mid-wait.
        if let Ok(Ok(TelegramUpdate::NewMessage(m))) =
            tokio::time::timeout(Duration::from_millis(1), session.next_update()).await
        {
            texts.push(m.text);
        }
    }

    assert_eq!(texts, (0..20).map(|i| format!("m{i}")).collect::<Vec<_>>());
    session.disconnect().await;
}

pub async fn an_unreachable_server_is_a_transport_error(h: &Harness) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let std::net::SocketAddr::V4(addr) = closed else { panic!("ipv4 expected") };
    let string = tg_sim::SessionString { dc_id: 2, addr, auth_key: [1; 256] }.encode();
    let bytes = h.port().import_session_string(&string).expect("imports");

    let result = h.port().connect(&AccountId::generate(), &bytes).await;

    assert!(matches!(result, Err(TelegramError::Transport(_))), "{:?}", result.as_ref().err());
}

pub async fn start_login_asks_for_a_code_on_a_fresh_key(h: &Harness) {
    let session = h.port().start_login(&AccountId::generate(), &phone("+15550101019")).await.expect("code sent");

    assert_eq!(session.login_step(), LoginStep::CodeSent);
    session.disconnect().await;
}

/// A message with a fresh random_id (a repeat is refused by Telegram).
fn out(peer: i64, text: &str, reply_to: Option<i64>, file: Option<OutgoingFile>) -> OutgoingMessage {
    static NEXT: AtomicI64 = AtomicI64::new(1);
    OutgoingMessage { peer, text: text.into(), reply_to, file, random_id: NEXT.fetch_add(1, Ordering::Relaxed) }
}

pub async fn a_send_repeated_with_its_random_id_posts_once(h: &Harness) {
    let p = "+15550101021";
    let session = h.online(p).await;
    let (peer, _) = h.customer_writes(p, 4242, "hello?").await;
    let with_id = |text: &str, random_id: i64, file: bool| {
        let file = file.then(|| OutgoingFile {
            kind: "document".into(),
            name: "a.txt".into(),
            mime: Some("text/plain".into()),
            content: Box::new(MemoryBlob::new(b"abc".to_vec(), "text/plain")),
        });
        OutgoingMessage { peer, text: text.into(), reply_to: None, file, random_id }
    };

    let first = session.send(with_id("only once", -5, false)).await.expect("first attempt");
    let again = session.send(with_id("only once", -5, false)).await;
    let with_file = session.send(with_id("the file", -6, true)).await.expect("file");
    let file_again = session.send(with_id("the file", -6, true)).await;

    assert!(matches!(again, Err(TelegramError::AlreadySent)), "{again:?}");
    assert!(matches!(file_again, Err(TelegramError::AlreadySent)), "{file_again:?}");
    let ids: Vec<i64> = h.sent(p).await.iter().filter_map(|i| i["message_id"].as_i64()).collect();
    assert_eq!(ids, vec![first.id, with_file.id], "each posted once");
    session.disconnect().await;
}

/// Reads a download to its end; returns the bytes and the size of each piece.
async fn read_all(
    download: Result<Box<dyn TelegramDownload>, TelegramError>,
) -> Result<(Vec<u8>, Vec<usize>), TelegramError> {
    let mut download = download?;
    let (mut bytes, mut pieces) = (Vec::new(), Vec::new());
    while let Some(piece) = download.next_chunk().await? {
        pieces.push(piece.len());
        bytes.extend(piece);
    }
    Ok((bytes, pieces))
}

/// A JPEG-looking payload told apart by `seed`.
fn jpeg_of(seed: u8) -> Vec<u8> {
    let mut bytes = tiny_jpeg();
    bytes[4] = seed;
    bytes
}

/// The smallest JPEG-looking payload: the simulator stores photos as given.
fn tiny_jpeg() -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend((0..2000u32).map(|i| (i % 256) as u8));
    bytes.extend([0xFF, 0xD9]);
    bytes
}
