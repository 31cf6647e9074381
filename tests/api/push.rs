//! Real-time push over `GET /ws`: who gets which events, sequence numbers,
//! resuming after a reconnect, and ingest idempotency as seen by clients.

use crate::helpers::*;
use chrono::Utc;
use futures::StreamExt;
use serde_json::Value;
use std::time::Duration;
use tgdesk_core::domain::{AccountId, TenantId};
use tgdesk_core::usecases::{AccountUpdate, UpdateEnvelope};
use tokio_tungstenite::tungstenite;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(app: &TestApp, token: &str, since: Option<u64>) -> Ws {
    let mut url = format!("{}/ws?token={token}", app.base.replace("http://", "ws://"));
    if let Some(s) = since {
        url.push_str(&format!("&since={s}"));
    }
    tokio_tungstenite::connect_async(url).await.expect("websocket connects").0
}

async fn next(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("an event within 5 s");
        match msg.expect("stream open").expect("frame") {
            tungstenite::Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            tungstenite::Message::Close(c) => panic!("closed: {c:?}"),
            _ => {}
        }
    }
}

fn message(account: &str, peer: i64, id: i64, text: &str) -> AccountUpdate {
    AccountUpdate::Message { message: customer_message(account, peer, id, text) }
}

fn envelope(account: &str, updates: Vec<AccountUpdate>) -> UpdateEnvelope {
    UpdateEnvelope { tenant: TenantId::parse("demo").unwrap(), account_id: AccountId::parse(account).unwrap(), updates }
}

struct Team {
    app: TestApp,
    tokens: [String; 5],
    mine: String,
    theirs: String,
}

/// admin; leader with an owner agent (account `mine`); other leader with an agent (account `theirs`).
async fn team() -> Team {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let l1 = app.create_user(&admin, "pl1", "leader", None).await;
    let l2 = app.create_user(&admin, "pl2", "leader", None).await;
    let owner = app.create_user(&admin, "powner", "agent", Some(&l1)).await;
    let other = app.create_user(&admin, "pother", "agent", Some(&l2)).await;
    let mine = app.create_account(&admin, "+15556660001", Some(&owner)).await;
    let theirs = app.create_account(&admin, "+15556660002", Some(&other)).await;
    let tokens = [
        admin,
        app.login("demo", "pl1", PASSWORD).await,
        app.login("demo", "powner", PASSWORD).await,
        app.login("demo", "pl2", PASSWORD).await,
        app.login("demo", "pother", PASSWORD).await,
    ];
    Team { app, tokens, mine, theirs }
}

#[tokio::test]
async fn new_messages_reach_exactly_the_users_allowed_to_see_the_account() {
    let t = team().await;
    let mut sockets = Vec::new();
    for token in &t.tokens {
        sockets.push(connect(&t.app, token, None).await);
    }
    let report = t
        .app
        .desk
        .ingest(&envelope(&t.mine, vec![message(&t.mine, 500, 1, "hi"), message(&t.mine, 500, 2, "there")]))
        .await
        .unwrap();
    assert_eq!((report.new_messages, report.pushed), (2, 3));
    t.app.desk.ingest(&envelope(&t.theirs, vec![message(&t.theirs, 600, 1, "other")])).await.unwrap();
    // admin, leader and owner of `mine` see its events in order, numbered
    // one after another (from the process's epoch).
    for ws in &mut sockets[..3] {
        let first = next(ws).await;
        assert_eq!(first["type"].as_str(), Some("message.new"));
        let base = first["seq"].as_u64().unwrap();
        assert_eq!(first["data"]["text"], "hi");
        assert_eq!(next(ws).await["data"]["text"], "there");
        let dialog = next(ws).await;
        assert_eq!((dialog["type"].as_str(), dialog["seq"].as_u64()), (Some("dialog.update"), Some(base + 2)));
        assert_eq!(dialog["data"]["unread_count"], 2);
    }
    // The admin then sees `theirs`; the other team sees only `theirs`.
    assert_eq!(next(&mut sockets[0]).await["data"]["text"], "other");
    for ws in &mut sockets[3..] {
        let first = next(ws).await;
        assert_eq!(first["data"]["text"].as_str(), Some("other"), "their first event: {first}");
    }
}

#[tokio::test]
async fn a_batch_whose_envelopes_came_out_of_order_announces_the_messages_in_order() {
    let t = team().await;
    let mut ws = connect(&t.app, &t.tokens[2], None).await;
    let dated = |id: i64, text: &str| {
        let mut m = customer_message(&t.mine, 900, id, text);
        m.date = chrono::Utc::now() + chrono::Duration::seconds(id);
        AccountUpdate::Message { message: m }
    };
    // As a queue without order may hand them over: the later envelope first.
    let batch =
        [envelope(&t.mine, vec![dated(3, "third")]), envelope(&t.mine, vec![dated(1, "first"), dated(2, "second")])];
    t.app.desk.ingest_batch(&batch).await.unwrap();
    let mut texts = Vec::new();
    while texts.len() < 3 {
        let e = next(&mut ws).await;
        if e["type"] == "message.new" {
            texts.push(e["data"]["text"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(texts, ["first", "second", "third"]);
}

#[tokio::test]
async fn a_redelivered_envelope_is_stored_once_and_pushed_once() {
    let t = team().await;
    let mut ws = connect(&t.app, &t.tokens[2], None).await;
    let batch = envelope(&t.mine, vec![message(&t.mine, 700, 1, "once")]);
    t.app.desk.ingest(&batch).await.unwrap();
    let again = t.app.desk.ingest(&batch).await.unwrap();
    assert_eq!((again.new_messages, again.duplicates, again.pushed), (0, 1, 0));
    t.app.desk.ingest(&envelope(&t.mine, vec![message(&t.mine, 700, 2, "twice?")])).await.unwrap();
    let seen: Vec<(u64, String)> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            let e = next(&mut ws).await;
            v.push((e["seq"].as_u64().unwrap(), e["type"].as_str().unwrap().to_owned()));
        }
        v
    };
    let types: Vec<&str> = seen.iter().map(|(_, k)| k.as_str()).collect();
    assert_eq!(types, vec!["message.new", "dialog.update", "message.new", "dialog.update"]);
    let first = seen[0].0;
    assert_eq!(
        seen.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        (first..first + 4).collect::<Vec<_>>(),
        "no gap, no repeat"
    );
    let page = t.app.get(&format!("/api/accounts/{}/dialogs/700/messages", t.mine), &t.tokens[2]).await.expect(200);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_client_reconnecting_with_since_gets_what_it_missed_in_order() {
    let t = team().await;
    let mut ws = connect(&t.app, &t.tokens[2], None).await;
    t.app.desk.ingest(&envelope(&t.mine, vec![message(&t.mine, 800, 1, "a")])).await.unwrap();
    next(&mut ws).await;
    let last = next(&mut ws).await["seq"].as_u64().unwrap();
    ws.close(None).await.unwrap();
    let edit = AccountUpdate::Edit { peer: 800, id: 1, text: "a (edited)".into(), edited_at: Utc::now() };
    let delete = AccountUpdate::Delete { peer: 800, ids: vec![1] };
    t.app.desk.ingest(&envelope(&t.mine, vec![edit, delete, message(&t.mine, 800, 2, "b")])).await.unwrap();
    let mut ws = connect(&t.app, &t.tokens[2], Some(last)).await;
    let kinds: Vec<(u64, String)> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            let e = next(&mut ws).await;
            v.push((e["seq"].as_u64().unwrap(), e["type"].as_str().unwrap().to_owned()));
        }
        v
    };
    assert_eq!(
        kinds,
        vec![
            // A batch stores its messages before its edits and deletes.
            (last + 1, "message.new".to_owned()),
            (last + 2, "message.edit".to_owned()),
            (last + 3, "message.delete".to_owned()),
            (last + 4, "dialog.update".to_owned()),
        ]
    );
    let mut ahead = connect(&t.app, &t.tokens[2], Some(last + 1000)).await;
    assert_eq!(next(&mut ahead).await["type"], "resync");
}

#[tokio::test]
async fn a_websocket_without_a_valid_token_is_refused_before_the_upgrade() {
    let t = team().await;
    for url in [format!("{}/ws", t.app.base), format!("{}/ws?token=forged", t.app.base)] {
        let err = tokio_tungstenite::connect_async(url.replace("http://", "ws://")).await.expect_err("refused");
        match err {
            tungstenite::Error::Http(resp) => assert_eq!(resp.status().as_u16(), 401),
            other => panic!("expected an HTTP 401, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn updates_for_an_unknown_account_are_refused_for_dead_lettering() {
    let t = team().await;
    let err = t.app.desk.ingest(&envelope("acc_missing", vec![message("acc_missing", 1, 1, "x")])).await.unwrap_err();
    assert_eq!(err.code(), "not_found");
}

#[tokio::test]
async fn an_envelope_mixing_accounts_is_refused_whole() {
    let t = team().await;
    let mixed = envelope(&t.mine, vec![message(&t.mine, 1, 1, "ok"), message(&t.theirs, 1, 1, "smuggled")]);
    assert_eq!(t.app.desk.ingest(&mixed).await.unwrap_err().code(), "invalid_input");
    let page = t.app.get(&format!("/api/accounts/{}/dialogs/1/messages", t.mine), &t.tokens[0]).await.expect(200);
    assert!(page["items"].as_array().unwrap().is_empty(), "nothing of the envelope was stored");
}

#[tokio::test]
async fn a_batch_of_many_accounts_envelopes_is_stored_in_one_pass_and_a_poison_one_set_aside() {
    let t = team().await;
    let edit = AccountUpdate::Edit { peer: 900, id: 1, text: "edited in the same batch".into(), edited_at: Utc::now() };
    let batch = vec![
        envelope(&t.mine, vec![message(&t.mine, 900, 1, "first"), edit]),
        envelope("acc_missing", vec![message("acc_missing", 1, 1, "nobody")]),
        envelope(&t.theirs, vec![message(&t.theirs, 901, 1, "theirs")]),
    ];
    let done = t.app.desk.ingest_batch(&batch).await.unwrap();
    assert_eq!((done.report.new_messages, done.report.changes), (2, 1));
    assert_eq!(done.poison.iter().map(|(i, e)| (*i, e.code())).collect::<Vec<_>>(), vec![(1, "not_found")]);
    let mine = t.app.get(&format!("/api/accounts/{}/dialogs/900/messages", t.mine), &t.tokens[0]).await.expect(200);
    assert_eq!(mine["items"][0]["text"], "edited in the same batch", "the edit found the message stored before it");
    let again = t.app.desk.ingest_batch(&batch).await.unwrap();
    assert_eq!((again.report.new_messages, again.report.duplicates), (0, 2));
}
