//! Encoding and decoding of MTProto service-level structures the server needs:
//! message containers, gzip_packed, rpc_result and the server message envelope.

use std::io::{Read, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use grammers_tl_types::Serializable;

/// `msg_container#73f1f8dc`.
pub const MSG_CONTAINER: u32 = 0x73f1_f8dc;
/// `gzip_packed#3072cfa1`.
pub const GZIP_PACKED: u32 = 0x3072_cfa1;
/// `rpc_result#f35c6d01`.
pub const RPC_RESULT: u32 = 0xf35c_6d01;
/// `msgs_ack#62d6b459`.
pub const MSGS_ACK: u32 = 0x62d6_b459;
/// `ping#7abe77ec`.
pub const PING: u32 = 0x7abe_77ec;
/// `ping_delay_disconnect#f3427b8c`.
pub const PING_DELAY_DISCONNECT: u32 = 0xf342_7b8c;
/// `get_future_salts#b921bd04`.
pub const GET_FUTURE_SALTS: u32 = 0xb921_bd04;
/// `destroy_session#e7512126`.
pub const DESTROY_SESSION: u32 = 0xe751_2126;
/// `http_wait#9299359f`.
pub const HTTP_WAIT: u32 = 0x9299_359f;
/// `msgs_state_req#da69fb52`.
pub const MSGS_STATE_REQ: u32 = 0xda69_fb52;
/// `msg_resend_req#7d861a08`.
pub const MSG_RESEND_REQ: u32 = 0x7d86_1a08;
/// Results at least this large go out gzip-packed, as Telegram does.
pub const GZIP_THRESHOLD: usize = 1024;
/// Largest decompressed body accepted from a client.
const MAX_UNPACKED: u64 = 16 * 1024 * 1024;

/// One message inside a container (or the top-level message).
#[derive(Debug, Clone)]
pub struct Inner {
    /// Client msg_id.
    pub msg_id: i64,
    /// Client seq_no.
    pub seq_no: i32,
    /// Body bytes.
    pub body: Vec<u8>,
}

fn read_i32(b: &[u8], at: usize) -> Option<i32> {
    b.get(at..at + 4).map(|s| i32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn read_i64(b: &[u8], at: usize) -> Option<i64> {
    let s = b.get(at..at + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(i64::from_le_bytes(a))
}

/// Returns the constructor id at the start of `body`.
pub fn constructor(body: &[u8]) -> Option<u32> {
    read_i32(body, 0).map(|v| v as u32)
}

/// Parses a `msg_container` body into its messages.
pub fn parse_container(body: &[u8]) -> Option<Vec<Inner>> {
    let count = read_i32(body, 4)?;
    if !(0..=1024).contains(&count) {
        return None;
    }
    let mut at = 8;
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let msg_id = read_i64(body, at)?;
        let seq_no = read_i32(body, at + 8)?;
        let len = usize::try_from(read_i32(body, at + 12)?).ok()?;
        let inner = body.get(at + 16..at + 16 + len)?;
        out.push(Inner { msg_id, seq_no, body: inner.to_vec() });
        at += 16 + len;
    }
    Some(out)
}

/// Decompresses a `gzip_packed` body.
pub fn gunzip_packed(body: &[u8]) -> Option<Vec<u8>> {
    let mut cursor = grammers_tl_types::Cursor::from_slice(body.get(4..)?);
    let packed = <Vec<u8> as grammers_tl_types::Deserializable>::deserialize(&mut cursor).ok()?;
    let mut out = Vec::new();
    GzDecoder::new(packed.as_slice()).take(MAX_UNPACKED).read_to_end(&mut out).ok()?;
    Some(out)
}

/// Returns `gzip_packed` wrapping `data`.
pub fn gzip_packed(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    let packed = enc.finish().unwrap_or_default();
    let mut out = GZIP_PACKED.to_le_bytes().to_vec();
    packed.serialize(&mut out);
    out
}

/// Returns an `rpc_result` answering `req_msg_id`, gzip-packing large results.
pub fn rpc_result(req_msg_id: i64, result: &[u8]) -> Vec<u8> {
    let mut out = RPC_RESULT.to_le_bytes().to_vec();
    out.extend_from_slice(&req_msg_id.to_le_bytes());
    if result.len() >= GZIP_THRESHOLD {
        out.extend(gzip_packed(result));
    } else {
        out.extend_from_slice(result);
    }
    out
}

/// Generates server msg_ids: time-based, strictly increasing, ≡ 1 (mod 4) for
/// replies and ≡ 3 (mod 4) for server-initiated messages.
#[derive(Debug, Default)]
pub struct MsgIds {
    last: i64,
    seq: i32,
}

impl MsgIds {
    /// Returns the next msg_id; `reply` selects residue 1, otherwise 3.
    pub fn next(&mut self, reply: bool) -> i64 {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let mut base = (((now.as_secs() << 32) | (u64::from(now.subsec_nanos()) << 2)) as i64) & !3;
        if base <= self.last {
            base = self.last + 4;
        }
        self.last = base;
        base | if reply { 1 } else { 3 }
    }

    /// Returns the next seq_no (odd for content-related messages).
    pub fn seq_no(&mut self, content_related: bool) -> i32 {
        if content_related {
            self.seq += 1;
            self.seq * 2 - 1
        } else {
            self.seq * 2
        }
    }
}

/// Builds the plaintext of one server message (salt, session, msg_id, seq, body).
pub fn envelope(salt: i64, session_id: i64, msg_id: i64, seq_no: i32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + body.len());
    out.extend_from_slice(&salt.to_le_bytes());
    out.extend_from_slice(&session_id.to_le_bytes());
    out.extend_from_slice(&msg_id.to_le_bytes());
    out.extend_from_slice(&seq_no.to_le_bytes());
    out.extend_from_slice(&(body.len() as i32).to_le_bytes());
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_msg_ids_increase_and_carry_the_right_residue() {
        let mut ids = MsgIds::default();
        let a = ids.next(true);
        let b = ids.next(false);
        let c = ids.next(true);
        assert_eq!(a.rem_euclid(4), 1);
        assert_eq!(b.rem_euclid(4), 3);
        assert!(a < b && b < c);
    }

    #[test]
    fn gzip_packed_round_trips() {
        let data = vec![42u8; 4000];
        assert_eq!(gunzip_packed(&gzip_packed(&data)), Some(data));
    }

    #[test]
    fn truncated_container_is_rejected() {
        let mut body = MSG_CONTAINER.to_le_bytes().to_vec();
        body.extend_from_slice(&2i32.to_le_bytes());
        body.extend_from_slice(&[0u8; 10]);
        assert!(parse_container(&body).is_none());
    }
}
