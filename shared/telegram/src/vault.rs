//! The session store grammers runs on, persisted as bytes by the fleet.
//!
//! grammers-session 0.11 without its `sqlite-storage` feature offers only
//! `MemorySession`, which neither persists nor answers `PeerId::self_user()`
//! (so `updates.getState` would never run). [`Vault`] implements grammers'
//! `Session` trait instead and serialises to a versioned JSON document: DC
//! options with auth keys, the self user, the peer cache (access hashes needed
//! to fill gaps) and the update state *consumed* by the product, which may lag
//! what grammers has fetched so that nothing buffered is lost on a crash.

use grammers_session::types::{
    ChannelKind, ChannelState, DcOption, PeerAuth, PeerId, PeerInfo, UpdateState, UpdatesState,
};
use grammers_session::{BoxFuture, Session};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::{Mutex, MutexGuard};
use tgdesk_core::ports::TelegramError;

use crate::session_string::ImportedSession;

/// The current document version.
const VERSION: u8 = 1;

/// The serialised form; field names are short because 300k of these are stored.
#[derive(Serialize, Deserialize, Default)]
struct Document {
    v: u8,
    home_dc: i32,
    dcs: Vec<StoredDc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    me: Option<StoredUser>,
    #[serde(default)]
    peers: Vec<StoredPeer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state: Option<StoredState>,
}

#[derive(Serialize, Deserialize)]
struct StoredDc {
    id: i32,
    v4: SocketAddrV4,
    v6: SocketAddrV6,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy)]
struct StoredUser {
    id: i64,
    hash: Option<i64>,
    bot: bool,
}

#[derive(Serialize, Deserialize)]
struct StoredPeer {
    /// `u` user, `g` basic group, `c` channel, `m` megagroup, `x` gigagroup.
    k: char,
    id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    h: Option<i64>,
}

#[derive(Serialize, Deserialize, Default, Clone)]
struct StoredState {
    pts: i32,
    qts: i32,
    date: i32,
    seq: i32,
    channels: Vec<(i64, i32)>,
}

/// Mutable contents, behind one lock.
#[derive(Default)]
struct Inner {
    home_dc: i32,
    dcs: HashMap<i32, DcOption>,
    peers: HashMap<PeerId, PeerInfo>,
    me: Option<PeerInfo>,
    /// What grammers last wrote (its message box, ahead of the consumer).
    fetched: UpdatesState,
    /// What the consumer has taken; loaded at start and saved.
    consumed: UpdatesState,
}

/// A grammers session kept in memory and exported as bytes.
#[derive(Default)]
pub struct Vault(Mutex<Inner>);

/// The vault's lock was poisoned by a panic elsewhere.
#[derive(Debug, thiserror::Error)]
#[error("the session vault lock is poisoned")]
pub struct VaultPoisoned;

/// Returns Telegram's statically known DCs, so a migration (`*_MIGRATE`) or a
/// file on another DC finds an address even when the session named one DC.
fn known_dcs() -> HashMap<i32, DcOption> {
    grammers_session::SessionData::default().dc_options
}

fn is_empty(state: &UpdatesState) -> bool {
    state.pts == 0 && state.date == 0 && state.qts == 0
}

impl Vault {
    fn lock(&self) -> Result<MutexGuard<'_, Inner>, VaultPoisoned> {
        self.0.lock().map_err(|_| VaultPoisoned)
    }

    /// Returns a vault for an imported session string: home DC, its address and key.
    pub fn from_imported(imported: &ImportedSession) -> Self {
        let (v4, v6) = match imported.addr {
            SocketAddr::V4(v4) => (v4, SocketAddrV6::new(v4.ip().to_ipv6_mapped(), v4.port(), 0, 0)),
            SocketAddr::V6(v6) => (SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, v6.port()), v6),
        };
        let dc = DcOption { id: imported.dc_id, ipv4: v4, ipv6: v6, auth_key: Some(imported.auth_key) };
        let mut dcs = known_dcs();
        dcs.insert(dc.id, dc);
        Self(Mutex::new(Inner { home_dc: imported.dc_id, dcs, ..Inner::default() }))
    }

    /// Returns a vault without keys whose home is `dc_id` at `addr` (a fresh login).
    pub fn fresh(dc_id: i32, addr: SocketAddrV4) -> Self {
        let v6 = SocketAddrV6::new(addr.ip().to_ipv6_mapped(), addr.port(), 0, 0);
        let mut dcs = known_dcs();
        dcs.insert(dc_id, DcOption { id: dc_id, ipv4: addr, ipv6: v6, auth_key: None });
        Self(Mutex::new(Inner { home_dc: dc_id, dcs, ..Inner::default() }))
    }

    /// Returns the auth key of the home DC, if the vault has one.
    pub fn home_key(&self) -> Option<[u8; 256]> {
        let inner = self.lock().ok()?;
        inner.dcs.get(&inner.home_dc).and_then(|dc| dc.auth_key)
    }

    /// Parses exported bytes; `InvalidSession` when they are not a vault document.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TelegramError> {
        let doc: Document = serde_json::from_slice(bytes)
            .map_err(|e| TelegramError::InvalidSession(format!("stored session is malformed: {e}")))?;
        if doc.v != VERSION {
            return Err(TelegramError::InvalidSession(format!("stored session version {} is unknown", doc.v)));
        }
        let mut dcs = known_dcs();
        for dc in doc.dcs {
            let auth_key = match dc.key {
                Some(hex) => Some(decode_key(&hex)?),
                None => None,
            };
            dcs.insert(dc.id, DcOption { id: dc.id, ipv4: dc.v4, ipv6: dc.v6, auth_key });
        }
        let me = doc.me.map(|u| PeerInfo::User {
            id: u.id,
            auth: u.hash.map(PeerAuth::from_hash),
            bot: Some(u.bot),
            is_self: Some(true),
        });
        let mut peers: HashMap<PeerId, PeerInfo> =
            doc.peers.into_iter().filter_map(peer_from_stored).map(|p| (p.id(), p)).collect();
        if let Some(me) = &me {
            peers.insert(me.id(), me.clone());
        }
        let consumed = doc.state.map(state_from_stored).unwrap_or_default();
        let inner = Inner { home_dc: doc.home_dc, dcs, peers, me, fetched: consumed.clone(), consumed };
        Ok(Self(Mutex::new(inner)))
    }

    /// Returns the bytes to store: keys, self user, peer cache and consumed state.
    pub fn to_bytes(&self) -> Result<Vec<u8>, TelegramError> {
        let inner = self.lock().map_err(internal)?;
        let mut dcs: Vec<StoredDc> = inner
            .dcs
            .values()
            .filter(|dc| dc.auth_key.is_some() || dc.id == inner.home_dc)
            .map(|dc| StoredDc { id: dc.id, v4: dc.ipv4, v6: dc.ipv6, key: dc.auth_key.map(|k| encode_key(&k)) })
            .collect();
        dcs.sort_by_key(|d| d.id);
        let me = inner.me.as_ref().and_then(|me| match me {
            PeerInfo::User { id, auth, bot, .. } => {
                Some(StoredUser { id: *id, hash: auth.map(|a| a.hash()), bot: bot.unwrap_or(false) })
            }
            _ => None,
        });
        let mut peers: Vec<StoredPeer> = inner.peers.values().filter_map(peer_to_stored).collect();
        peers.sort_by_key(|p| (p.k, p.id));
        let state = (!is_empty(&inner.consumed)).then(|| state_to_stored(&inner.consumed));
        let doc = Document { v: VERSION, home_dc: inner.home_dc, dcs, me, peers, state };
        serde_json::to_vec(&doc).map_err(|e| TelegramError::Transport(format!("session export failed: {e}")))
    }

    /// Returns the logged-in user's id, when known.
    pub fn self_id(&self) -> Option<i64> {
        self.lock().ok()?.me.as_ref().map(|p| match p {
            PeerInfo::User { id, .. } => *id,
            other => other.id().bot_api_dialog_id_unchecked(),
        })
    }

    /// Returns the state grammers last wrote (ahead of the consumer).
    pub fn fetched_state(&self) -> Option<UpdatesState> {
        self.lock().ok().map(|i| i.fetched.clone())
    }

    /// True once an update state was consumed (or fetched fresh): a session
    /// saved from here on catches up from it instead of starting anew.
    pub fn has_consumed_state(&self) -> bool {
        self.lock().map(|i| !is_empty(&i.consumed)).unwrap_or(false)
    }

    /// Records that everything up to `state` was consumed.
    pub fn set_consumed(&self, state: UpdatesState) {
        if let Ok(mut inner) = self.lock() {
            inner.consumed = state;
        }
    }

    /// Forgets the login (after logout): self user, peers and update state.
    pub fn forget_login(&self) {
        if let Ok(mut inner) = self.lock() {
            inner.me = None;
            inner.peers.clear();
            inner.fetched = UpdatesState::default();
            inner.consumed = UpdatesState::default();
        }
    }
}

fn internal(e: VaultPoisoned) -> TelegramError {
    TelegramError::Transport(e.to_string())
}

fn encode_key(key: &[u8; 256]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_key(hex: &str) -> Result<[u8; 256], TelegramError> {
    let bad = || TelegramError::InvalidSession("stored auth key is malformed".into());
    if hex.len() != 512 {
        return Err(bad());
    }
    let mut key = [0u8; 256];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(i * 2..i * 2 + 2).ok_or_else(bad)?, 16).map_err(|_| bad())?;
    }
    Ok(key)
}

fn peer_to_stored(peer: &PeerInfo) -> Option<StoredPeer> {
    Some(match peer {
        PeerInfo::User { id, auth, .. } => StoredPeer { k: 'u', id: *id, h: auth.map(|a| a.hash()) },
        PeerInfo::Chat { id } => StoredPeer { k: 'g', id: *id, h: None },
        PeerInfo::Channel { id, auth, kind } => {
            let k = match kind {
                Some(ChannelKind::Megagroup) => 'm',
                Some(ChannelKind::Gigagroup) => 'x',
                _ => 'c',
            };
            StoredPeer { k, id: *id, h: auth.map(|a| a.hash()) }
        }
    })
}

fn peer_from_stored(p: StoredPeer) -> Option<PeerInfo> {
    let auth = p.h.map(PeerAuth::from_hash);
    Some(match p.k {
        'u' => PeerInfo::User { id: p.id, auth, bot: None, is_self: None },
        'g' => PeerInfo::Chat { id: p.id },
        'c' => PeerInfo::Channel { id: p.id, auth, kind: Some(ChannelKind::Broadcast) },
        'm' => PeerInfo::Channel { id: p.id, auth, kind: Some(ChannelKind::Megagroup) },
        'x' => PeerInfo::Channel { id: p.id, auth, kind: Some(ChannelKind::Gigagroup) },
        _ => return None,
    })
}

fn state_to_stored(s: &UpdatesState) -> StoredState {
    StoredState {
        pts: s.pts,
        qts: s.qts,
        date: s.date,
        seq: s.seq,
        channels: s.channels.iter().map(|c| (c.id, c.pts)).collect(),
    }
}

fn state_from_stored(s: StoredState) -> UpdatesState {
    UpdatesState {
        pts: s.pts,
        qts: s.qts,
        date: s.date,
        seq: s.seq,
        channels: s.channels.into_iter().map(|(id, pts)| ChannelState { id, pts }).collect(),
    }
}

impl Session for Vault {
    type Error = VaultPoisoned;

    fn home_dc_id(&self) -> Result<i32, VaultPoisoned> {
        Ok(self.lock()?.home_dc)
    }

    fn set_home_dc_id(&self, dc_id: i32) -> BoxFuture<'_, Result<(), VaultPoisoned>> {
        Box::pin(async move {
            self.lock()?.home_dc = dc_id;
            Ok(())
        })
    }

    fn dc_option(&self, dc_id: i32) -> Result<Option<DcOption>, VaultPoisoned> {
        Ok(self.lock()?.dcs.get(&dc_id).cloned())
    }

    fn set_dc_option(&self, dc_option: &DcOption) -> BoxFuture<'_, Result<(), VaultPoisoned>> {
        let dc_option = dc_option.clone();
        Box::pin(async move {
            self.lock()?.dcs.insert(dc_option.id, dc_option);
            Ok(())
        })
    }

    fn peer(&self, peer: PeerId) -> BoxFuture<'_, Result<Option<PeerInfo>, VaultPoisoned>> {
        Box::pin(async move {
            let inner = self.lock()?;
            if peer == PeerId::self_user() {
                return Ok(inner.me.clone());
            }
            Ok(inner.peers.get(&peer).cloned())
        })
    }

    fn cache_peer(&self, peer: PeerInfo) -> BoxFuture<'_, Result<(), VaultPoisoned>> {
        Box::pin(async move {
            let mut inner = self.lock()?;
            if matches!(peer, PeerInfo::User { is_self: Some(true), .. }) {
                match inner.me.as_mut() {
                    Some(me) if me.id() == peer.id() => {
                        me.extend_info(&peer);
                    }
                    _ => inner.me = Some(peer.clone()),
                }
            }
            inner.peers.entry(peer.id()).or_insert_with(|| peer.clone()).extend_info(&peer);
            Ok(())
        })
    }

    fn updates_state(&self) -> BoxFuture<'_, Result<UpdatesState, VaultPoisoned>> {
        Box::pin(async move { Ok(self.lock()?.consumed.clone()) })
    }

    fn set_update_state(&self, update: UpdateState) -> BoxFuture<'_, Result<(), VaultPoisoned>> {
        Box::pin(async move {
            let mut inner = self.lock()?;
            match update {
                UpdateState::All(state) => {
                    // A fresh state from updates.getState (login or first
                    // stream) precedes anything delivered, so it is consumed too.
                    if is_empty(&inner.consumed) {
                        inner.consumed = state.clone();
                    }
                    inner.fetched = state;
                }
                UpdateState::Primary { pts, date, seq } => {
                    inner.fetched.pts = pts;
                    inner.fetched.date = date;
                    inner.fetched.seq = seq;
                }
                UpdateState::Secondary { qts } => inner.fetched.qts = qts,
                UpdateState::Channel { id, pts } => {
                    inner.fetched.channels.retain(|c| c.id != id);
                    inner.fetched.channels.push(ChannelState { id, pts });
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session_string::SessionStringFormat;

    fn imported() -> ImportedSession {
        ImportedSession {
            format: SessionStringFormat::Telethon,
            dc_id: 2,
            addr: "127.0.0.1:4430".parse().expect("addr"),
            auth_key: [7; 256],
            user_id: None,
        }
    }

    #[tokio::test]
    async fn exported_bytes_round_trip_keys_self_user_peers_and_consumed_state() {
        let vault = Vault::from_imported(&imported());
        vault
            .cache_peer(PeerInfo::User {
                id: 42,
                auth: Some(PeerAuth::from_hash(9)),
                bot: Some(false),
                is_self: Some(true),
            })
            .await
            .expect("cache self");
        vault
            .cache_peer(PeerInfo::Channel {
                id: 77,
                auth: Some(PeerAuth::from_hash(-5)),
                kind: Some(ChannelKind::Megagroup),
            })
            .await
            .expect("cache channel");
        let state = UpdatesState {
            pts: 10,
            qts: 0,
            date: 1_700_000_000,
            seq: 0,
            channels: vec![ChannelState { id: 77, pts: 3 }],
        };
        vault.set_update_state(UpdateState::All(state.clone())).await.expect("state");

        let back = Vault::from_bytes(&vault.to_bytes().expect("export")).expect("import");

        assert_eq!(back.self_id(), Some(42));
        assert!(matches!(back.peer(PeerId::self_user()).await, Ok(Some(PeerInfo::User { id: 42, .. }))));
        assert_eq!(back.peer_ref(PeerId::channel_unchecked(77)).await.expect("ref").map(|r| r.auth.hash()), Some(-5));
        assert_eq!(back.updates_state().await.expect("state"), state);
        assert_eq!(back.dc_option(2).expect("dc").and_then(|d| d.auth_key), Some([7; 256]));
        assert_eq!(back.home_dc_id().expect("home"), 2);
        assert_eq!(back.dc_option(2).expect("dc").map(|d| d.ipv4), Some("127.0.0.1:4430".parse().expect("addr")));
        assert!(back.dc_option(4).expect("dc").is_some_and(|d| d.auth_key.is_none()), "known DCs stay reachable");
    }

    #[tokio::test]
    async fn later_fetched_state_is_not_saved_until_consumed() {
        let vault = Vault::from_imported(&imported());
        let first = UpdatesState { pts: 5, date: 1, ..UpdatesState::default() };
        let later = UpdatesState { pts: 9, date: 2, ..UpdatesState::default() };
        vault.set_update_state(UpdateState::All(first.clone())).await.expect("first");
        vault.set_update_state(UpdateState::All(later.clone())).await.expect("later");

        let saved = Vault::from_bytes(&vault.to_bytes().expect("export")).expect("import");
        vault.set_consumed(later.clone());
        let saved_after = Vault::from_bytes(&vault.to_bytes().expect("export")).expect("import");

        assert_eq!(saved.updates_state().await.expect("state"), first);
        assert_eq!(saved_after.updates_state().await.expect("state"), later);
    }

    #[test]
    fn malformed_bytes_are_an_invalid_session() {
        assert!(matches!(Vault::from_bytes(b"{\"v\":9}"), Err(TelegramError::InvalidSession(_))));
        assert!(matches!(Vault::from_bytes(b"\x00garbage"), Err(TelegramError::InvalidSession(_))));
    }
}
