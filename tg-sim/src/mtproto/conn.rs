//! One MTProto connection: identifies the auth key from the first frame, then
//! runs a reader (decrypt, unwrap containers/gzip, answer service messages,
//! dispatch RPCs) and a writer (encrypt replies and pushed updates).

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use grammers_tl_types::{self as tl, Serializable};
use rand::Rng;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use super::crypto::{decrypt_client, encrypt_server};
use super::service::{self, Inner, MsgIds};
use super::transport::{FrameReader, FrameWriter};
use crate::cloud::{now, Cloud};
use crate::rpc::{self, RpcCtx};

/// The single server salt; clients learn it from new_session_created and future_salts.
pub const SERVER_SALT: i64 = 0x5115_7a17_0000_0001;

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// A message for the writer: a reply (msg_id ≡ 1 mod 4) or a server-initiated one.
#[derive(Debug)]
struct Out {
    session_id: i64,
    body: Vec<u8>,
    reply: bool,
    content_related: bool,
}

/// Accepts MTProto connections until `shutdown` flips to true.
pub async fn serve(listener: TcpListener, cloud: Arc<Cloud>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let conn = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
                    debug!(conn, %peer, "mtproto connection accepted");
                    tokio::spawn(handle(stream, cloud.clone(), conn, shutdown.clone()));
                }
                Err(e) => {
                    warn!(error = %e, "mtproto accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
}

async fn handle(stream: TcpStream, cloud: Arc<Cloud>, conn: u64, mut shutdown: watch::Receiver<bool>) {
    let (rd, wr) = stream.into_split();
    let mut rd = BufReader::with_capacity(8 * 1024, rd);
    let mut frames = FrameReader::default();
    let first = match frames.read(&mut rd).await {
        Ok(p) => p,
        Err(e) => {
            debug!(conn, error = %e, "connection closed before a valid frame");
            return;
        }
    };
    let Some(kid) = first.get(..8).map(|b| i64::from_le_bytes(b.try_into().unwrap_or([0; 8]))) else {
        return;
    };
    if kid == 0 {
        // Plain messages are the DH key exchange, which only Telegram can answer.
        info!(conn, "refusing unencrypted message: keys are issued by tg-sim, import a session");
        return;
    }
    let Some(key) = cloud.lock().auth_key(kid) else {
        info!(conn, "unknown auth key; closing connection");
        return;
    };
    let (out_tx, out_rx) = mpsc::unbounded_channel::<Out>();
    let (push_tx, push_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let session = Arc::new(AtomicI64::new(0));
    let writer = tokio::spawn(write_loop(wr, key, kid, out_rx, push_rx, session.clone()));
    let mut reader = Reader {
        cloud: cloud.clone(),
        conn,
        kid,
        key,
        out: out_tx,
        push_tx,
        session,
        sessions: HashSet::new(),
        registered: None,
    };
    let mut payload = first;
    loop {
        if let Err(reason) = reader.on_payload(&payload) {
            info!(conn, reason, "closing mtproto connection");
            break;
        }
        // Only once a session id is known may pushes flow: grammers panics on a
        // message for a session it does not have.
        reader.sync_registration();
        // Shutdown drops the connection mid-read: a half-read frame is lost with it.
        let next = tokio::select! {
            r = frames.read(&mut rd) => r,
            _ = shutdown.changed() => break,
        };
        payload = match next {
            Ok(p) => p,
            Err(e) => {
                debug!(conn, error = %e, "mtproto connection ended");
                break;
            }
        };
    }
    if let Some(phone) = reader.registered.take() {
        cloud.hub.unregister(&phone, conn);
    }
    drop(reader);
    let _ = writer.await;
}

struct Reader {
    cloud: Arc<Cloud>,
    conn: u64,
    kid: i64,
    key: [u8; 256],
    out: mpsc::UnboundedSender<Out>,
    push_tx: mpsc::UnboundedSender<Vec<u8>>,
    session: Arc<AtomicI64>,
    sessions: HashSet<i64>,
    registered: Option<String>,
}

impl Reader {
    /// Registers the connection for pushes under the account its key is logged into.
    fn sync_registration(&mut self) {
        let account = self.cloud.lock().key_account(self.kid);
        if account == self.registered {
            return;
        }
        if let Some(old) = self.registered.take() {
            self.cloud.hub.unregister(&old, self.conn);
        }
        if let Some(phone) = &account {
            self.cloud.hub.register(phone, self.conn, self.push_tx.clone());
        }
        self.registered = account;
    }

    fn send(&self, session_id: i64, body: Vec<u8>, reply: bool, content_related: bool) -> Result<(), &'static str> {
        self.out.send(Out { session_id, body, reply, content_related }).map_err(|_| "writer gone")
    }

    fn on_payload(&mut self, payload: &[u8]) -> Result<(), &'static str> {
        if payload.get(..8) != Some(&self.kid.to_le_bytes()[..]) {
            return Err("auth key changed mid-connection");
        }
        let plain = decrypt_client(&self.key, &payload[8..]).map_err(|_| "undecryptable message")?;
        let session_id = i64::from_le_bytes(plain[8..16].try_into().map_err(|_| "short")?);
        let msg_id = i64::from_le_bytes(plain[16..24].try_into().map_err(|_| "short")?);
        let seq_no = i32::from_le_bytes(plain[24..28].try_into().map_err(|_| "short")?);
        let len = usize::try_from(i32::from_le_bytes(plain[28..32].try_into().map_err(|_| "short")?))
            .map_err(|_| "negative length")?;
        let body = plain.get(32..32 + len).ok_or("message length beyond payload")?.to_vec();
        if self.sessions.len() > 64 {
            // Bounded: a client cycling session ids must not grow this forever.
            self.sessions.clear();
        }
        if self.sessions.insert(session_id) {
            let created = tl::enums::NewSession::Created(tl::types::NewSessionCreated {
                first_msg_id: msg_id,
                unique_id: rand::thread_rng().gen(),
                server_salt: SERVER_SALT,
            });
            self.send(session_id, created.to_bytes(), false, true)?;
        }
        self.session.store(session_id, Ordering::Relaxed);
        if let Some(code) = msg_id_problem(msg_id) {
            let bad = tl::enums::BadMsgNotification::Notification(tl::types::BadMsgNotification {
                bad_msg_id: msg_id,
                bad_msg_seqno: seq_no,
                error_code: code,
            });
            return self.send(session_id, bad.to_bytes(), false, false);
        }
        self.on_message(session_id, Inner { msg_id, seq_no, body }, 0)
    }

    fn on_message(&mut self, session_id: i64, msg: Inner, depth: u8) -> Result<(), &'static str> {
        let Some(cid) = service::constructor(&msg.body) else {
            return Ok(());
        };
        match cid {
            service::MSG_CONTAINER if depth == 0 => {
                for inner in service::parse_container(&msg.body).ok_or("malformed container")? {
                    self.on_message(session_id, inner, 1)?;
                }
                Ok(())
            }
            service::GZIP_PACKED if depth < 2 => {
                let body = service::gunzip_packed(&msg.body).ok_or("malformed gzip_packed")?;
                self.on_message(session_id, Inner { body, ..msg }, depth + 1)
            }
            service::MSGS_ACK => Ok(()),
            service::PING | service::PING_DELAY_DISCONNECT => {
                let ping_id =
                    msg.body.get(4..12).map(|b| i64::from_le_bytes(b.try_into().unwrap_or([0; 8]))).unwrap_or(0);
                let pong = tl::enums::Pong::Pong(tl::types::Pong { msg_id: msg.msg_id, ping_id });
                self.send(session_id, pong.to_bytes(), true, true)
            }
            service::GET_FUTURE_SALTS => {
                let now = now();
                let salts = (0..8)
                    .map(|i| tl::types::FutureSalt {
                        valid_since: now - 60 + i * 3600,
                        valid_until: now + (i + 1) * 3600,
                        salt: SERVER_SALT,
                    })
                    .collect();
                let body = tl::enums::FutureSalts::Salts(tl::types::FutureSalts {
                    req_msg_id: msg.msg_id,
                    now,
                    salts: tl::RawVec(salts),
                })
                .to_bytes();
                self.send(session_id, body, true, true)
            }
            service::DESTROY_SESSION | service::HTTP_WAIT | service::MSGS_STATE_REQ | service::MSG_RESEND_REQ => Ok(()),
            _ => {
                let mut ctx = RpcCtx { cloud: &self.cloud, kid: self.kid, conn: self.conn };
                let result = rpc::dispatch(&mut ctx, &msg.body);
                let body = match result {
                    Ok(bytes) => bytes,
                    Err(err) => err.to_bytes(),
                };
                let answer = service::rpc_result(msg.msg_id, &body);
                self.sync_registration();
                self.send(session_id, answer, true, true)
            }
        }
    }
}

/// Returns the bad_msg_notification code for a client msg_id, if it is unacceptable.
fn msg_id_problem(msg_id: i64) -> Option<i32> {
    let secs = (msg_id >> 32) as i32;
    if msg_id % 4 != 0 {
        Some(18)
    } else if secs < now() - 300 {
        Some(16)
    } else if secs > now() + 30 {
        Some(17)
    } else {
        None
    }
}

async fn write_loop(
    mut wr: OwnedWriteHalf,
    key: [u8; 256],
    kid: i64,
    mut out_rx: mpsc::UnboundedReceiver<Out>,
    mut push_rx: mpsc::UnboundedReceiver<Vec<u8>>,
    session: Arc<AtomicI64>,
) {
    let mut frames = FrameWriter::default();
    let mut ids = MsgIds::default();
    let mut buf = Vec::new();
    loop {
        let first = tokio::select! {
            biased;
            out = out_rx.recv() => match out { Some(o) => o, None => break },
            push = push_rx.recv() => match push {
                Some(body) => Out { session_id: session.load(Ordering::Relaxed), body, reply: false, content_related: true },
                None => break,
            },
        };
        buf.clear();
        let mut next = Some(first);
        // Drain what is already queued so bursts go out in one write.
        while let Some(o) = next.take() {
            let msg_id = ids.next(o.reply);
            let seq_no = ids.seq_no(o.content_related);
            let plain = service::envelope(SERVER_SALT, o.session_id, msg_id, seq_no, &o.body);
            buf.extend(frames.pack(&encrypt_server(&key, kid, &plain)));
            if buf.len() < 256 * 1024 {
                next = out_rx.try_recv().ok().or_else(|| {
                    push_rx.try_recv().ok().map(|body| Out {
                        session_id: session.load(Ordering::Relaxed),
                        body,
                        reply: false,
                        content_related: true,
                    })
                });
            }
        }
        if let Err(e) = wr.write_all(&buf).await {
            debug!(error = %e, "mtproto write failed");
            break;
        }
        // 10,000 idle sessions must not each keep a burst-sized buffer.
        buf.shrink_to(16 * 1024);
    }
    let _ = wr.shutdown().await;
}
