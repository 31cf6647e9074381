//! Records for contract cases: random keys so cases never collide, times
//! on whole milliseconds so every backend can keep them exactly.

use super::StoreHandles;
use crate::domain::{Account, AccountId, AccountStatus, Message, Phone, Role, TenantId, User, UserId, Username};
use crate::ports::{PortError, PortErrorKind};
use chrono::{DateTime, TimeZone, Utc};
use std::collections::BTreeSet;

/// Returns a fresh tenant id nobody else uses.
pub fn tenant() -> TenantId {
    TenantId::parse(&format!("t-{}", ulid::Ulid::new().to_string().to_lowercase())).expect("valid tenant")
}

/// Returns a fixed instant plus `offset_ms`, so cases control the order of times.
pub fn at(offset_ms: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::milliseconds(offset_ms)
}

/// Returns a random phone number.
pub fn phone() -> Phone {
    Phone::parse(&format!("+1{:010}", rand::random::<u64>() % 10_000_000_000)).expect("valid phone")
}

/// Returns a user with a random username.
pub fn user(tenant: &TenantId, role: Role, leader: Option<&UserId>) -> User {
    let id = UserId::generate();
    User {
        username: Username::parse(&format!("u-{}", &id.as_str()[4..])).expect("valid username"),
        id,
        tenant: tenant.clone(),
        display_name: "Some One".into(),
        role,
        leader_id: leader.cloned(),
        disabled: false,
        password_hash: "$argon2id$fake".into(),
        token_version: 1,
        created_at: at(0),
    }
}

/// Returns an unowned offline account with a random phone.
pub fn account(tenant: &TenantId) -> Account {
    Account {
        id: AccountId::generate(),
        tenant: tenant.clone(),
        phone: phone(),
        display_name: None,
        status: AccountStatus::Offline,
        owner_id: None,
        team_id: None,
        tags: BTreeSet::new(),
        groups: BTreeSet::new(),
        session: None,
        created_at: at(0),
        updated_at: at(1),
    }
}

/// Stores an account after `edit` shaped it, and returns it.
pub async fn seed_account(h: &StoreHandles, tenant: &TenantId, edit: impl FnOnce(&mut Account)) -> Account {
    let mut a = account(tenant);
    edit(&mut a);
    h.directory.put_accounts(tenant, std::slice::from_ref(&a)).await.expect("put account");
    a
}

/// Returns a plain text message sent at `at(offset_ms)`.
pub fn message(account: &AccountId, peer: i64, id: i64, offset_ms: i64, outgoing: bool) -> Message {
    Message {
        account_id: account.clone(),
        peer,
        id,
        sender_id: Some(if outgoing { 1 } else { peer }),
        sender_name: (!outgoing).then(|| format!("Customer {peer}")),
        outgoing,
        date: at(offset_ms),
        text: format!("message {id}"),
        entities: serde_json::json!([]),
        media: None,
        reply_to: None,
        edited_at: None,
        deleted: false,
        tags: BTreeSet::new(),
    }
}

/// A message at every bound of `domain::limits`, in the characters JSON
/// inflates most (a control character escapes to six bytes): the largest
/// record a store is ever given.
pub fn message_at_bounds(account: &AccountId, peer: i64, id: i64, offset_ms: i64) -> Message {
    use crate::domain::{MediaRef, MAX_NAME_BYTES, MAX_TEXT_BYTES};
    let escaped = |bytes: usize| "\u{1}".repeat(bytes);
    let mut m = message(account, peer, id, offset_ms, false);
    m.text = escaped(MAX_TEXT_BYTES);
    m.entities = serde_json::json!((0..1_000)
        .map(|i| serde_json::json!({"type": "text_url", "offset": i, "length": 1, "url": escaped(40)}))
        .collect::<Vec<_>>());
    m.sender_name = Some(escaped(MAX_NAME_BYTES));
    m.media = Some(MediaRef {
        kind: "document".into(),
        name: Some(escaped(MAX_NAME_BYTES)),
        mime: Some(escaped(MAX_NAME_BYTES)),
        size: Some(u64::MAX),
        blob_key: None,
    });
    m.fit();
    m
}

/// Asserts that `result` failed with `kind`.
#[track_caller]
pub fn assert_kind<T: std::fmt::Debug>(result: Result<T, PortError>, kind: PortErrorKind) {
    match result {
        Err(e) => assert_eq!(e.kind, kind, "expected {kind:?}, got {e}"),
        Ok(v) => panic!("expected {kind:?}, got Ok({v:?})"),
    }
}

/// Bounds every paging loop, so a cursor that never advances fails the case
/// (with duplicates) instead of hanging it.
pub const MAX_PAGES: usize = 1_000;
