//! The wire protocol checked byte by byte with a hand-rolled client: session
//! creation, bare future_salts, pong, gzip_packed requests inside a container,
//! server msg_id residues, and bad_msg_notification for a stale msg_id.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use grammers_crypto::{decrypt_data_v2, AuthKey};
use tg_sim::mtproto::crypto::encrypt_client;
use tg_sim::mtproto::service::{self, gzip_packed};
use tg_sim::mtproto::transport::{FrameReader, FrameWriter};
use tg_sim::SessionString;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::common::Sim;

fn msg_id(offset_secs: i64) -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    ((now.as_secs() as i64 + offset_secs) << 32) | (i64::from(now.subsec_nanos()) << 2) & !3
}

fn message(id: i64, seq: i32, body: &[u8]) -> Vec<u8> {
    let mut m = id.to_le_bytes().to_vec();
    m.extend(seq.to_le_bytes());
    m.extend((body.len() as i32).to_le_bytes());
    m.extend(body);
    m
}

/// Reads one server message: (msg_id, session_id, body).
async fn read_one(stream: &mut TcpStream, frames: &mut FrameReader, key: &AuthKey) -> (i64, i64, Vec<u8>) {
    let mut payload = tokio::time::timeout(Duration::from_secs(5), frames.read(stream))
        .await
        .expect("answer in time")
        .expect("frame");
    let plain = decrypt_data_v2(&mut payload, key).expect("server encryption matches grammers' x = 8 decryption");
    let session = i64::from_le_bytes(plain[8..16].try_into().expect("session"));
    let id = i64::from_le_bytes(plain[16..24].try_into().expect("msg_id"));
    let len = i32::from_le_bytes(plain[28..32].try_into().expect("len")) as usize;
    (id, session, plain[32..32 + len].to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_messages_follow_what_grammers_expects() {
    let sim = Sim::start().await;
    let session = sim.account("+15550007001", None, true).await;
    let raw_key = SessionString::decode(&session).expect("session").auth_key;
    let key = AuthKey::from_bytes(raw_key);
    let mut stream = TcpStream::connect(sim.handle.mtproto_addr()).await.expect("connect");
    let mut writer = FrameWriter::default();
    let mut frames = FrameReader::default();
    let session_id = 0x1234_5678_i64;

    let ping_id = 77i64;
    let mut ping = service::PING.to_le_bytes().to_vec();
    ping.extend(ping_id.to_le_bytes());
    let mut salts_req = service::GET_FUTURE_SALTS.to_le_bytes().to_vec();
    salts_req.extend(3i32.to_le_bytes());
    let (ping_msg, salts_msg) = (msg_id(0), msg_id(0) + 4);
    let mut container = service::MSG_CONTAINER.to_le_bytes().to_vec();
    container.extend(2i32.to_le_bytes());
    container.extend(message(ping_msg, 1, &gzip_packed(&ping)));
    container.extend(message(salts_msg, 3, &salts_req));
    let mut plain = 0i64.to_le_bytes().to_vec();
    plain.extend(session_id.to_le_bytes());
    plain.extend(message(salts_msg + 4, 4, &container));
    stream.write_all(&writer.pack(&encrypt_client(&raw_key, &plain))).await.expect("send");

    let (created_id, s1, created) = read_one(&mut stream, &mut frames, &key).await;
    let (pong_id, s2, pong) = read_one(&mut stream, &mut frames, &key).await;
    let (salts_id, _, salts) = read_one(&mut stream, &mut frames, &key).await;

    assert_eq!((s1, s2), (session_id, session_id));
    assert_eq!(service::constructor(&created), Some(0x9ec2_0908), "new_session_created first");
    assert_eq!(created_id.rem_euclid(4), 3, "server-initiated msg_id ≡ 3 (mod 4)");
    assert_eq!(service::constructor(&pong), Some(0x3477_73c5), "bare pong");
    assert_eq!(i64::from_le_bytes(pong[4..12].try_into().expect("msg_id")), ping_msg);
    assert_eq!(i64::from_le_bytes(pong[12..20].try_into().expect("ping_id")), ping_id);
    assert_eq!(pong_id.rem_euclid(4), 1, "reply msg_id ≡ 1 (mod 4)");
    assert_eq!(service::constructor(&salts), Some(0xae50_0895), "bare future_salts, not rpc_result");
    assert_eq!(i64::from_le_bytes(salts[4..12].try_into().expect("req")), salts_msg);
    assert!(created_id < pong_id && pong_id < salts_id);

    // A msg_id from ten minutes ago gets bad_msg_notification 16 (msg_id too low).
    let stale = msg_id(-600);
    let mut plain = 0i64.to_le_bytes().to_vec();
    plain.extend(session_id.to_le_bytes());
    plain.extend(message(stale, 5, &ping));
    stream.write_all(&writer.pack(&encrypt_client(&raw_key, &plain))).await.expect("send");
    let (_, _, bad) = read_one(&mut stream, &mut frames, &key).await;
    assert_eq!(service::constructor(&bad), Some(0xa7ef_f811), "bad_msg_notification");
    assert_eq!(i64::from_le_bytes(bad[4..12].try_into().expect("bad id")), stale);
    assert_eq!(i32::from_le_bytes(bad[16..20].try_into().expect("code")), 16);
    sim.stop().await;
}
