//! Accounts, customers and auth keys: creation through the control API, login
//! state per key, and the lookups every RPC starts with.

use rand::{Rng, RngCore};

use super::model::{AccountRec, AuthKeyRec, FileRec, PeerKey, UserRec};
use super::now;
use super::State;
use crate::error::SimError;
use crate::mtproto::crypto::key_id;
use crate::srp::PasswordRecord;

/// First user id handed to accounts (customers choose their own ids below it).
const ACCOUNT_USER_BASE: i64 = 7_000_000_000;

/// Returns Ok when `phone` looks like E.164 with a leading `+`.
pub fn check_phone(phone: &str) -> Result<(), SimError> {
    let digits = phone.strip_prefix('+').unwrap_or("");
    if digits.len() < 5 || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SimError::Invalid(format!("phone must be E.164 with +, got {phone:?}")));
    }
    Ok(())
}

/// Normalises a phone as clients send it (`+` optional, spaces allowed).
pub fn normalize_phone(raw: &str) -> String {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    format!("+{digits}")
}

impl State {
    /// Returns a fresh id for chats, channels and files.
    pub fn next_id(&mut self) -> i64 {
        self.data.last_id += 1;
        self.data.last_id
    }

    /// Stores a file (a message's photo or document, a profile photo) under a
    /// fresh id with its own access hash; returns the id.
    pub fn add_file(&mut self, kind: &str, name: String, mime: String, bytes: Vec<u8>) -> i64 {
        let id = self.next_id();
        let access_hash = rand::thread_rng().gen();
        self.data.files.insert(id, FileRec { id, access_hash, kind: kind.into(), name, mime, date: now(), bytes });
        self.dirty = true;
        id
    }

    /// Creates an account (or returns the existing one unchanged) and returns the
    /// auth key of its control session.
    pub fn create_account(
        &mut self,
        phone: &str,
        password: Option<PasswordRecord>,
        authorized: bool,
    ) -> Result<[u8; 256], SimError> {
        check_phone(phone)?;
        if let Some(acc) = self.data.accounts.get(phone) {
            return self
                .data
                .keys
                .get(&acc.control_key)
                .and_then(|k| <[u8; 256]>::try_from(k.key.as_slice()).ok())
                .ok_or_else(|| SimError::NotFound(format!("control key of {phone}")));
        }
        let mut rng = rand::thread_rng();
        let user_id = ACCOUNT_USER_BASE + self.data.accounts.len() as i64 + 1;
        let last4 = &phone[phone.len().saturating_sub(4)..];
        self.rt.user_phone.insert(user_id, phone.to_string());
        self.data.users.insert(
            user_id,
            UserRec {
                id: user_id,
                access_hash: rng.gen(),
                first_name: format!("Agent {last4}"),
                last_name: None,
                phone: Some(phone.to_string()),
                photo: None,
            },
        );
        let mut key = [0u8; 256];
        rng.fill_bytes(&mut key);
        let kid = key_id(&key);
        self.data.keys.insert(kid, AuthKeyRec { key: key.to_vec(), account: authorized.then(|| phone.to_string()) });
        self.data.accounts.insert(
            phone.to_string(),
            AccountRec {
                phone: phone.to_string(),
                user_id,
                password,
                pts: 1,
                msgs: Vec::new(),
                events: Vec::new(),
                dialogs: Default::default(),
                sent: Vec::new(),
                received: 0,
                contacts: Default::default(),
                control_key: kid,
                random_ids: Default::default(),
            },
        );
        self.dirty = true;
        Ok(key)
    }

    /// Creates customer `user_id` if new (renaming it when `name` is given) and
    /// refuses ids that belong to accounts.
    pub fn ensure_customer(&mut self, user_id: i64, name: Option<&str>) -> Result<(), SimError> {
        if user_id <= 0 {
            return Err(SimError::Invalid("user_id must be positive".into()));
        }
        let is_account = self.rt.user_phone.contains_key(&user_id);
        match self.data.users.get_mut(&user_id) {
            Some(u) => {
                if let (Some(n), false) = (name, is_account) {
                    if u.first_name != n {
                        u.first_name = n.to_string();
                        self.dirty = true;
                    }
                }
            }
            None => {
                self.data.users.insert(
                    user_id,
                    UserRec {
                        id: user_id,
                        access_hash: rand::thread_rng().gen(),
                        first_name: name.unwrap_or("Customer").to_string(),
                        last_name: None,
                        phone: None,
                        photo: None,
                    },
                );
                self.dirty = true;
            }
        }
        Ok(())
    }

    /// Returns the phone of the account `key_id` is logged into.
    pub fn key_account(&self, kid: i64) -> Option<String> {
        self.data.keys.get(&kid).and_then(|k| k.account.clone())
    }

    /// Returns the 256-byte auth key for `kid`, if the simulator issued it.
    pub fn auth_key(&self, kid: i64) -> Option<[u8; 256]> {
        self.data.keys.get(&kid).and_then(|k| <[u8; 256]>::try_from(k.key.as_slice()).ok())
    }

    /// Logs `kid` into `phone` (code or password flow completed).
    pub fn authorize_key(&mut self, kid: i64, phone: &str) {
        if let Some(k) = self.data.keys.get_mut(&kid) {
            k.account = Some(phone.to_string());
            self.dirty = true;
        }
        self.rt.password_pending.remove(&kid);
    }

    /// Logs `kid` out: the key keeps existing but every call gets AUTH_KEY_UNREGISTERED.
    pub fn logout_key(&mut self, kid: i64) {
        if let Some(k) = self.data.keys.get_mut(&kid) {
            k.account = None;
            self.dirty = true;
        }
    }

    /// Returns the phone of the account whose self user is `user_id`.
    pub fn phone_of_user(&self, user_id: i64) -> Option<String> {
        self.rt.user_phone.get(&user_id).cloned()
    }

    /// Resolves a control-API member (phone string or user id) to a user id.
    pub fn member_user_id(&self, member: &serde_json::Value) -> Result<i64, SimError> {
        match member {
            serde_json::Value::String(phone) => self
                .data
                .accounts
                .get(phone)
                .map(|a| a.user_id)
                .ok_or_else(|| SimError::NotFound(format!("account {phone}"))),
            serde_json::Value::Number(n) => {
                let id = n.as_i64().ok_or_else(|| SimError::Invalid("bad user id".into()))?;
                if !self.data.users.contains_key(&id) {
                    return Err(SimError::NotFound(format!("user {id}")));
                }
                Ok(id)
            }
            _ => Err(SimError::Invalid("members are phones or user ids".into())),
        }
    }

    /// Returns the marked peer of chat `marked` if it exists.
    pub fn chat_exists(&self, peer: PeerKey) -> bool {
        match peer {
            PeerKey::User(id) => self.data.users.contains_key(&id),
            PeerKey::Chat(id) => self.data.chats.contains_key(&id),
            PeerKey::Channel(id) => self.data.channels.contains_key(&id),
        }
    }
}
