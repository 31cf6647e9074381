//! Telethon StringSession strings: `'1' + urlsafe_base64(dc_id:u8 | ipv4:4 |
//! port:u16be | auth_key:256)`, the usual way sessions change hands.

use std::net::{Ipv4Addr, SocketAddrV4};

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine;

/// A decoded session string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionString {
    /// Data centre id.
    pub dc_id: u8,
    /// Server address.
    pub addr: SocketAddrV4,
    /// The 256-byte auth key.
    pub auth_key: [u8; 256],
}

impl SessionString {
    /// Returns the Telethon string form.
    pub fn encode(&self) -> String {
        let mut raw = Vec::with_capacity(263);
        raw.push(self.dc_id);
        raw.extend_from_slice(&self.addr.ip().octets());
        raw.extend_from_slice(&self.addr.port().to_be_bytes());
        raw.extend_from_slice(&self.auth_key);
        format!("1{}", URL_SAFE.encode(raw))
    }

    /// Parses a Telethon string (version 1, IPv4); returns None when malformed.
    pub fn decode(s: &str) -> Option<Self> {
        let body = s.strip_prefix('1')?;
        let raw = URL_SAFE.decode(body.trim()).ok()?;
        if raw.len() != 263 {
            return None;
        }
        let ip = Ipv4Addr::new(raw[1], raw[2], raw[3], raw[4]);
        let port = u16::from_be_bytes([raw[5], raw[6]]);
        let auth_key = raw[7..].try_into().ok()?;
        Some(Self { dc_id: raw[0], addr: SocketAddrV4::new(ip, port), auth_key })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_strings_round_trip() {
        let s = SessionString { dc_id: 2, addr: "127.0.0.1:4430".parse().expect("addr"), auth_key: [9; 256] };
        let text = s.encode();
        assert!(text.starts_with('1'));
        assert_eq!(SessionString::decode(&text), Some(s));
    }
}
