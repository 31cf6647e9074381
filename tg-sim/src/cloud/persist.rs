//! Durable state in the data dir: a JSON-lines snapshot written piece by piece
//! (one account, channel or chunk of users per line), so the cloud lock is only
//! held for one piece at a time even when histories are large.

use std::collections::BTreeMap;
use std::io::{BufRead, BufWriter, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::model::{AccountRec, AuthKeyRec, ChannelRec, ChatRec, CloudData, FileRec, UserRec};
use super::Cloud;
use crate::error::SimError;

/// Users or files per snapshot line.
const CHUNK: usize = 5_000;

/// One snapshot line, as written (borrowing from the state).
#[derive(Serialize)]
enum LineRef<'a> {
    Account(&'a AccountRec),
    Channel(&'a ChannelRec),
    Users(Vec<&'a UserRec>),
    Files(Vec<&'a FileRec>),
    Chats(Vec<&'a ChatRec>),
    Keys(Vec<(i64, &'a AuthKeyRec)>),
    LastId(i64),
}

/// One snapshot line, as read back.
#[derive(Deserialize)]
enum Line {
    Account(Box<AccountRec>),
    Channel(ChannelRec),
    Users(Vec<UserRec>),
    Files(Vec<FileRec>),
    Chats(Vec<ChatRec>),
    Keys(Vec<(i64, AuthKeyRec)>),
    LastId(i64),
}

/// Reads a snapshot; a missing file is an empty cloud.
pub fn load(path: &Path) -> Result<CloudData, SimError> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(CloudData::default()),
        Err(e) => return Err(e.into()),
    };
    let mut data = CloudData::default();
    for line in std::io::BufReader::new(file).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Line>(&line)? {
            Line::Account(a) => {
                data.accounts.insert(a.phone.clone(), *a);
            }
            Line::Channel(c) => {
                data.channels.insert(c.id, c);
            }
            Line::Users(us) => data.users.extend(us.into_iter().map(|u| (u.id, u))),
            Line::Files(fs) => data.files.extend(fs.into_iter().map(|f| (f.id, f))),
            Line::Chats(cs) => data.chats.extend(cs.into_iter().map(|c| (c.id, c))),
            Line::Keys(ks) => data.keys.extend(ks),
            Line::LastId(id) => data.last_id = data.last_id.max(id),
        }
    }
    Ok(data)
}

/// One journal entry: what must survive even a crash right after it happened.
#[derive(Serialize, Deserialize)]
enum Journal {
    /// A new account with its self user and control key.
    Account { account: Box<AccountRec>, user: UserRec, key_id: i64, key: AuthKeyRec },
    /// A key logged in or out (latest entry wins).
    KeyState { key_id: i64, key: AuthKeyRec },
}

/// Applies the journal on top of a loaded snapshot: accounts missing from the
/// snapshot are added, key states are set in journal order.
pub fn replay(path: &Path, data: &mut CloudData) -> Result<(), SimError> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for line in std::io::BufReader::new(file).lines() {
        let line = line?;
        // A torn last line (crash mid-write) is skipped.
        let Ok(entry) = serde_json::from_str::<Journal>(&line) else {
            continue;
        };
        match entry {
            Journal::Account { account, user, key_id, key } => {
                if !data.accounts.contains_key(&account.phone) {
                    data.users.entry(user.id).or_insert(user);
                    data.keys.entry(key_id).or_insert(key);
                    data.accounts.insert(account.phone.clone(), *account);
                }
            }
            Journal::KeyState { key_id, key } => {
                data.keys.insert(key_id, key);
            }
        }
    }
    Ok(())
}

fn chunks<K: Ord + Clone, V>(map: &BTreeMap<K, V>) -> Vec<K> {
    map.keys().step_by(CHUNK).cloned().collect()
}

impl Cloud {
    /// Writes a snapshot if anything changed since the last one. Messages are
    /// written before the users and files they refer to, so a piece changed
    /// mid-save never points at something missing from the file.
    pub fn save_if_dirty(&self) -> Result<(), SimError> {
        let (phones, channels, user_starts, file_starts) = {
            let mut st = self.lock();
            if !st.dirty {
                return Ok(());
            }
            st.dirty = false;
            let d = &st.data;
            (
                d.accounts.keys().cloned().collect::<Vec<_>>(),
                d.channels.keys().copied().collect::<Vec<_>>(),
                chunks(&d.users),
                chunks(&d.files),
            )
        };
        let tmp = self.data_file.with_extension("jsonl.tmp");
        let mut out = BufWriter::new(std::fs::File::create(&tmp)?);
        let mut put = |line: Option<Vec<u8>>| -> Result<(), SimError> {
            if let Some(mut l) = line {
                l.push(b'\n');
                out.write_all(&l)?;
            }
            Ok(())
        };
        for phone in &phones {
            put(self.piece(|d| d.accounts.get(phone).map(LineRef::Account))?)?;
        }
        for id in &channels {
            put(self.piece(|d| d.channels.get(id).map(LineRef::Channel))?)?;
        }
        for start in &user_starts {
            put(self.piece(|d| Some(LineRef::Users(d.users.range(start..).take(CHUNK).map(|(_, u)| u).collect())))?)?;
        }
        for start in &file_starts {
            put(self.piece(|d| Some(LineRef::Files(d.files.range(start..).take(CHUNK).map(|(_, f)| f).collect())))?)?;
        }
        put(self.piece(|d| Some(LineRef::Chats(d.chats.values().collect())))?)?;
        put(self.piece(|d| Some(LineRef::Keys(d.keys.iter().map(|(k, v)| (*k, v)).collect())))?)?;
        put(self.piece(|d| Some(LineRef::LastId(d.last_id)))?)?;
        out.into_inner().map_err(|e| SimError::Io(e.into_error()))?.sync_all()?;
        std::fs::rename(&tmp, &self.data_file)?;
        Ok(())
    }

    /// Journals account `phone` (with its user and control key) durably.
    pub fn journal_account(&self, phone: &str) {
        let entry = {
            let st = self.lock();
            let Some(account) = st.data.accounts.get(phone) else {
                return;
            };
            let (Some(user), Some(key)) = (st.data.users.get(&account.user_id), st.data.keys.get(&account.control_key))
            else {
                return;
            };
            serde_json::to_vec(&Journal::Account {
                account: Box::new(account.clone()),
                user: user.clone(),
                key_id: account.control_key,
                key: key.clone(),
            })
        };
        self.append(entry);
    }

    /// Journals the login state of key `key_id` durably.
    pub fn journal_key(&self, key_id: i64) {
        let entry = {
            let st = self.lock();
            let Some(key) = st.data.keys.get(&key_id) else {
                return;
            };
            serde_json::to_vec(&Journal::KeyState { key_id, key: key.clone() })
        };
        self.append(entry);
    }

    fn append(&self, entry: Result<Vec<u8>, serde_json::Error>) {
        let result = entry.map_err(SimError::from).and_then(|mut line| {
            line.push(b'\n');
            let mut guard = self.journal.lock().unwrap_or_else(|p| p.into_inner());
            match guard.as_mut() {
                // One write syscall per entry: durable across a killed process
                // without an fsync per account (10,000 accounts are created in bulk).
                Some(f) => Ok(f.write_all(&line)?),
                None => Ok(()),
            }
        });
        if let Err(e) = result {
            tracing::warn!(error = %e, "journal write failed");
        }
    }

    /// Serializes one piece under the lock.
    fn piece(&self, f: impl FnOnce(&CloudData) -> Option<LineRef<'_>>) -> Result<Option<Vec<u8>>, SimError> {
        let st = self.lock();
        Ok(match f(&st.data) {
            Some(line) => Some(serde_json::to_vec(&line)?),
            None => None,
        })
    }
}
