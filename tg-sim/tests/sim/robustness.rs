//! Hostile or broken input: garbage frames, unknown auth keys, tampered
//! ciphertext and unknown methods never take the simulator down.

use std::time::Duration;

use grammers_client::sender::InvocationError;
use grammers_client::tl;
use serde_json::json;
use tg_sim::mtproto::crypto::encrypt_client;
use tg_sim::mtproto::transport::FrameWriter;
use tg_sim::SessionString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{session_data, Sim, Tg};

/// Writes `bytes` and returns true when the server closed the connection.
async fn server_closes_after(addr: std::net::SocketAddr, bytes: &[u8]) -> bool {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(bytes).await.expect("write");
    let mut buf = [0u8; 64];
    matches!(tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await, Ok(Ok(0)) | Ok(Err(_)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_frames_bad_keys_and_unknown_methods_leave_other_clients_working() {
    let sim = Sim::start().await;
    let session = sim.account("+15550004001", None, true).await;
    let good = Tg::from_data(session_data(&session));
    good.client.get_me().await.expect("get_me");
    let addr = sim.handle.mtproto_addr();

    // A length field that is out of range, then a frame with a bad CRC.
    assert!(server_closes_after(addr, &[0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4]).await);
    let mut frame = FrameWriter::default().pack(&[0u8; 64]);
    frame[20] ^= 1;
    assert!(server_closes_after(addr, &frame).await);
    // An unencrypted (key exchange) message and an unknown auth key.
    assert!(server_closes_after(addr, &FrameWriter::default().pack(&[0u8; 40])).await);
    assert!(server_closes_after(addr, &FrameWriter::default().pack(&encrypt_client(&[3u8; 256], &[0u8; 48]))).await);
    // The right key with a tampered ciphertext.
    let key = SessionString::decode(&session).expect("session").auth_key;
    let mut forged = encrypt_client(&key, &[0u8; 48]);
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert!(server_closes_after(addr, &FrameWriter::default().pack(&forged)).await);

    // grammers with an unknown key gets an I/O error, not a hang.
    let mut stranger = SessionString::decode(&session).expect("session");
    stranger.auth_key = [5u8; 256];
    let bad = Tg::from_data(session_data(&stranger.encode()));
    let denied = tokio::time::timeout(Duration::from_secs(10), bad.client.get_me()).await.expect("no hang");
    assert!(denied.is_err());
    bad.stop().await;

    // An unknown method gets Telegram's error and the connection keeps serving.
    let unknown = good.client.invoke(&tl::functions::help::GetAppConfig { hash: 0 }).await;
    assert!(
        matches!(unknown, Err(InvocationError::Rpc(ref e)) if e.code == 400 && e.name == "INPUT_METHOD_INVALID"),
        "{unknown:?}"
    );
    assert_eq!(good.client.get_me().await.expect("still served").phone(), Some("15550004001"));
    good.stop().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_accounts_keys_and_history() {
    let dir = crate::common::fresh_dir();
    let sim = Sim::start_in(dir.clone(), None).await;
    let session = sim.account("+15550004002", None, true).await;
    sim.customer_writes("+15550004002", 920, "persist me").await;
    let before =
        sim.post("/control/chats", json!({ "kind": "channel", "title": "A", "members": [] })).await["peer"].clone();
    let mtproto = sim.handle.mtproto_addr();
    sim.handle.shutdown().await;

    let sim = Sim::start_in(dir, Some(mtproto)).await;
    let tg = Tg::from_data(session_data(&session));
    let me = tg.client.get_me().await.expect("key survives restart");
    let mut dialogs = tg.client.iter_dialogs();
    let d = dialogs.next().await.expect("dialogs").expect("one dialog");

    let after =
        sim.post("/control/chats", json!({ "kind": "channel", "title": "B", "members": [] })).await["peer"].clone();
    assert_ne!(before, after, "ids keep counting after a restart");
    assert_eq!(me.phone(), Some("15550004002"));
    assert_eq!(d.last_message.as_ref().map(|m| m.text().to_string()).as_deref(), Some("persist me"));
    assert_eq!(sim.account("+15550004002", None, true).await, session);
    tg.stop().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_and_logins_survive_without_a_snapshot_through_the_journal() {
    let sim = Sim::start().await;
    let session = sim.account("+15550004003", None, true).await;
    let tg = Tg::from_data(session_data(&session));
    tg.client.sign_out().await.expect("log out");
    tg.stop().await;
    let dir = sim.dir.clone();
    let mtproto = sim.handle.mtproto_addr();
    sim.handle.shutdown().await;
    // As if the process died before its first snapshot.
    std::fs::remove_file(dir.join("tg-sim-state.jsonl")).expect("snapshot exists");

    let sim = Sim::start_in(dir, Some(mtproto)).await;
    let again = sim.account("+15550004003", None, true).await;
    let tg = Tg::from_data(session_data(&session));
    let after = tg.client.get_me().await;

    assert_eq!(again, session);
    assert!(matches!(after, Err(InvocationError::Rpc(ref e)) if e.code == 401), "{after:?}");
    tg.stop().await;
    sim.stop().await;
}
