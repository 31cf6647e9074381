//! Import of session strings exported by Telethon and Pyrogram, the usual way
//! sessions change hands. Each carries a DC id and an auth key; Telethon's
//! also the server address, Pyrogram's only the DC id (mapped here to
//! Telegram's production addresses).

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use tgdesk_core::ports::TelegramError;

/// Which tool produced a session string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionStringFormat {
    /// Telethon `StringSession` (version `1`).
    Telethon,
    /// Pyrogram ≥ 2: `>BI?256sQ?` (dc, api id, test mode, key, user id, bot).
    Pyrogram,
    /// Pyrogram 1.x with 32-bit user ids: `>B?256sI?`.
    PyrogramOld,
    /// Pyrogram 1.x with 64-bit user ids: `>B?256sQ?`.
    PyrogramOld64,
}

/// What a session string carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedSession {
    /// The format it was read from.
    pub format: SessionStringFormat,
    /// Data centre id.
    pub dc_id: i32,
    /// Server address (Telethon's own, or the DC's production address).
    pub addr: SocketAddr,
    /// The 256-byte auth key.
    pub auth_key: [u8; 256],
    /// The logged-in user's id, when the format carries it (Pyrogram).
    pub user_id: Option<i64>,
}

/// Telegram's production data centres, as Pyrogram maps its DC ids.
const PRODUCTION_DCS: [(i32, [u8; 4]); 5] = [
    (1, [149, 154, 175, 53]),
    (2, [149, 154, 167, 51]),
    (3, [149, 154, 175, 100]),
    (4, [149, 154, 167, 91]),
    (5, [91, 108, 56, 130]),
];

/// Returns the production address of a DC id, port 443.
pub fn production_addr(dc_id: i32) -> Option<SocketAddr> {
    PRODUCTION_DCS
        .iter()
        .find(|(id, _)| *id == dc_id)
        .map(|(_, ip)| SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(*ip), 443)))
}

/// Telegram's published address ranges (core.telegram.org/resources/cidr.txt):
/// IPv4 as (network, prefix length).
const TELEGRAM_V4: [([u8; 4], u8); 9] = [
    ([91, 105, 192, 0], 23),
    ([91, 108, 4, 0], 22),
    ([91, 108, 8, 0], 22),
    ([91, 108, 12, 0], 22),
    ([91, 108, 16, 0], 22),
    ([91, 108, 20, 0], 22),
    ([91, 108, 56, 0], 22),
    ([149, 154, 160, 0], 20),
    ([185, 76, 151, 0], 24),
];

/// Telegram's IPv6 ranges, as (network, prefix length).
const TELEGRAM_V6: [(u128, u8); 5] = [
    (0x2001_0b28_f23c_0000_0000_0000_0000_0000, 48),
    (0x2001_0b28_f23d_0000_0000_0000_0000_0000, 48),
    (0x2001_0b28_f23f_0000_0000_0000_0000_0000, 48),
    (0x2001_067c_04e8_0000_0000_0000_0000_0000, 48),
    (0x2a0a_f280_0000_0000_0000_0000_0000_0000, 32),
];

/// True when `addr` is one of Telegram's production data centres: a DC id
/// of 1 to 5, an address in Telegram's published ranges, and a port
/// Telegram serves MTProto on (443, 80 or 5222).
pub fn is_telegram_dc(dc_id: i32, addr: SocketAddr) -> bool {
    let in_range = match addr.ip().to_canonical() {
        std::net::IpAddr::V4(ip) => TELEGRAM_V4.iter().any(|(net, len)| {
            let mask = u32::MAX << (32 - u32::from(*len));
            u32::from(ip) & mask == u32::from_be_bytes(*net) & mask
        }),
        std::net::IpAddr::V6(ip) => TELEGRAM_V6.iter().any(|(net, len)| {
            let mask = u128::MAX << (128 - u32::from(*len));
            u128::from(ip) & mask == net & mask
        }),
    };
    (1..=5).contains(&dc_id) && in_range && matches!(addr.port(), 443 | 80 | 5222)
}

/// Parses a Telethon or Pyrogram session string; returns `InvalidSession`
/// (never the string itself: it is a credential) when it is neither.
pub fn parse_session_string(raw: &str) -> Result<ImportedSession, TelegramError> {
    let s = raw.trim();
    if let Some(body) = s.strip_prefix('1') {
        if let Some(imported) = parse_telethon(body) {
            return Ok(imported);
        }
    }
    parse_pyrogram(s).ok_or_else(|| {
        TelegramError::InvalidSession(format!(
            "a session string of {} characters is neither Telethon's nor Pyrogram's",
            s.len()
        ))
    })
}

fn decode_b64(body: &str) -> Option<Vec<u8>> {
    URL_SAFE.decode(body).ok().or_else(|| URL_SAFE_NO_PAD.decode(body.trim_end_matches('=')).ok())
}

fn key(bytes: &[u8]) -> Option<[u8; 256]> {
    bytes.try_into().ok()
}

/// `dc_id:u8 | ipv4:4 or ipv6:16 | port:u16be | auth_key:256`.
fn parse_telethon(body: &str) -> Option<ImportedSession> {
    let raw = decode_b64(body)?;
    let (addr, rest) = match raw.len() {
        263 => {
            let ip = Ipv4Addr::new(raw[1], raw[2], raw[3], raw[4]);
            (SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be_bytes([raw[5], raw[6]]))), &raw[7..])
        }
        275 => {
            let octets: [u8; 16] = raw[1..17].try_into().ok()?;
            let port = u16::from_be_bytes([raw[17], raw[18]]);
            (SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(octets), port, 0, 0)), &raw[19..])
        }
        _ => return None,
    };
    Some(ImportedSession {
        format: SessionStringFormat::Telethon,
        dc_id: i32::from(raw[0]),
        addr,
        auth_key: key(rest)?,
        user_id: None,
    })
}

fn parse_pyrogram(s: &str) -> Option<ImportedSession> {
    let trimmed = s.trim_end_matches('=');
    let format = match trimmed.len() {
        351 => SessionStringFormat::PyrogramOld,
        356 => SessionStringFormat::PyrogramOld64,
        362 => SessionStringFormat::Pyrogram,
        _ => return None,
    };
    let raw = URL_SAFE_NO_PAD.decode(trimmed).ok()?;
    let dc_id = i32::from(raw[0]);
    let (test_mode, auth_key, user_id) = match format {
        SessionStringFormat::PyrogramOld => {
            (raw[1], &raw[2..258], i64::from(u32::from_be_bytes(raw[258..262].try_into().ok()?)))
        }
        SessionStringFormat::PyrogramOld64 => {
            (raw[1], &raw[2..258], i64::from_be_bytes(raw[258..266].try_into().ok()?))
        }
        _ => (raw[5], &raw[6..262], i64::from_be_bytes(raw[262..270].try_into().ok()?)),
    };
    if test_mode != 0 {
        // Test-server keys are useless against production DCs.
        return None;
    }
    Some(ImportedSession {
        format,
        dc_id,
        addr: production_addr(dc_id)?,
        auth_key: key(auth_key)?,
        user_id: Some(user_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack_telethon(dc: u8, ip: [u8; 4], port: u16, key: &[u8; 256]) -> String {
        let mut raw = vec![dc];
        raw.extend_from_slice(&ip);
        raw.extend_from_slice(&port.to_be_bytes());
        raw.extend_from_slice(key);
        format!("1{}", URL_SAFE.encode(raw))
    }

    fn test_key() -> [u8; 256] {
        std::array::from_fn(|i| (i * 7 + 3) as u8)
    }

    #[test]
    fn telethon_ipv4_strings_carry_dc_address_and_key() {
        let key = test_key();
        let s = pack_telethon(2, [127, 0, 0, 1], 4430, &key);

        let parsed = parse_session_string(&s).expect("parses");

        assert_eq!(parsed.format, SessionStringFormat::Telethon);
        assert_eq!(parsed.dc_id, 2);
        assert_eq!(parsed.addr, "127.0.0.1:4430".parse().expect("addr"));
        assert_eq!(parsed.auth_key, key);
    }

    #[test]
    fn telethon_ipv6_strings_are_read() {
        let key = test_key();
        let mut raw = vec![4];
        raw.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        raw.extend_from_slice(&443u16.to_be_bytes());
        raw.extend_from_slice(&key);
        let s = format!("1{}", URL_SAFE.encode(raw));

        let parsed = parse_session_string(&s).expect("parses");

        assert_eq!(parsed.dc_id, 4);
        assert_eq!(parsed.addr, "[::1]:443".parse().expect("addr"));
        assert_eq!(parsed.auth_key, key);
    }

    #[test]
    fn pyrogram_current_strings_map_the_dc_to_its_production_address() {
        let key = test_key();
        let mut raw = vec![4];
        raw.extend_from_slice(&12345u32.to_be_bytes());
        raw.push(0);
        raw.extend_from_slice(&key);
        raw.extend_from_slice(&5_000_000_001i64.to_be_bytes());
        raw.push(0);
        let s = URL_SAFE_NO_PAD.encode(raw);

        let parsed = parse_session_string(&s).expect("parses");

        assert_eq!(parsed.format, SessionStringFormat::Pyrogram);
        assert_eq!(parsed.dc_id, 4);
        assert_eq!(parsed.addr, "149.154.167.91:443".parse().expect("addr"));
        assert_eq!(parsed.auth_key, key);
        assert_eq!(parsed.user_id, Some(5_000_000_001));
    }

    #[test]
    fn pyrogram_old_strings_with_32_and_64_bit_user_ids_are_read() {
        let key = test_key();
        let mut old = vec![1, 0];
        old.extend_from_slice(&key);
        old.extend_from_slice(&777u32.to_be_bytes());
        old.push(0);
        let mut old64 = vec![5, 0];
        old64.extend_from_slice(&key);
        old64.extend_from_slice(&9_000_000_000i64.to_be_bytes());
        old64.push(1);

        let a = parse_session_string(&URL_SAFE_NO_PAD.encode(old)).expect("old parses");
        let b = parse_session_string(&URL_SAFE_NO_PAD.encode(old64)).expect("old64 parses");

        assert_eq!((a.format, a.dc_id, a.user_id), (SessionStringFormat::PyrogramOld, 1, Some(777)));
        assert_eq!((b.format, b.dc_id, b.user_id), (SessionStringFormat::PyrogramOld64, 5, Some(9_000_000_000)));
        assert_eq!(a.addr, "149.154.175.53:443".parse().expect("addr"));
        assert_eq!(b.auth_key, key);
    }

    #[test]
    fn only_telegrams_own_dc_addresses_count_as_telegram() {
        let ok = |dc, a: &str| is_telegram_dc(dc, a.parse().expect("addr"));
        assert!(ok(2, "149.154.167.51:443"));
        assert!(ok(5, "91.108.56.130:443"));
        assert!(ok(1, "[2001:b28:f23d:f001::a]:443"));
        for (dc, addr) in [
            (2, "127.0.0.1:4430"),
            (2, "10.0.0.5:443"),
            (2, "169.254.169.254:80"),
            (2, "149.154.167.51:22"),
            (9, "149.154.167.51:443"),
            (4, "[::1]:443"),
        ] {
            assert!(!ok(dc, addr), "{dc} {addr}");
        }
        for (dc, _) in PRODUCTION_DCS {
            assert!(is_telegram_dc(dc, production_addr(dc).expect("known")), "{dc}");
        }
    }

    #[test]
    fn garbage_and_test_mode_strings_are_refused() {
        let key = test_key();
        let mut test_mode = vec![2, 1];
        test_mode.extend_from_slice(&key);
        test_mode.extend_from_slice(&1u32.to_be_bytes());
        test_mode.push(0);

        for s in ["", "1abc", "not a session", &URL_SAFE_NO_PAD.encode(test_mode)] {
            assert!(matches!(parse_session_string(s), Err(TelegramError::InvalidSession(_))), "{s:?}");
        }
    }
}
