//! [`BlobArchive`]: the [`Archive`] port over any [`BlobStore`]. Parts are
//! immutable and the manifest is the commit point: a write puts new parts,
//! then the manifest naming them, then deletes the parts it replaced. A
//! crash before the manifest leaves unreferenced parts (never read) and the
//! old manifest; the caller's replay then writes again, which is idempotent.
//!
//! Records several writers share (a dialog's manifest and overlay, a
//! tenant's usage) change by read-modify-write with a conditional put
//! ([`BlobStore::put_if`]): in one process writers of a dialog also take
//! turns, and across processes (API Lambdas tagging archived messages, the
//! archiver, retention) the loser of a race reads again and retries, so no
//! change is lost. Parts are put only where no blob is, so two writers can
//! never put different parts under one key.

use super::format::{
    decode_manifest, decode_overlay, decode_part, dialog_prefix, encode_manifest, encode_overlay, encode_part,
    manifest_key, month_mark_key, month_of, months_folder, overlay_key, parse_month_mark, split_parts, usage_key,
    Manifest, Overlay, Part, UsageRecord, FORMAT_VERSION, JSON_TYPE, OVERLAY_TYPE, PART_TYPE,
};
use crate::domain::{AccountId, Message, TenantId};
use crate::ports::{
    validate_month, Archive, ArchiveChange, ArchiveUsage, ArchiveWrite, BlobStore, BlobVersion, PortError,
    PortErrorKind, MAX_ARCHIVE_BATCH, MAX_ARCHIVE_PAGE, MAX_BLOB_LIST,
};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use tokio::sync::Mutex;

/// Most changed messages one dialog's overlay holds, so reading it stays
/// bounded; changes beyond are refused (`Conflict`) until compaction folds
/// the overlay into the parts (ARCHIVE.md, open points).
pub const MAX_OVERLAY_ENTRIES: usize = 20_000;

/// Lock stripes: writers of one dialog (or one tenant's usage) in this
/// process take turns; a fixed number keeps memory bounded.
const STRIPES: usize = 64;

/// How often a read starts over when a part named by the manifest it read
/// was replaced meanwhile.
const READ_ATTEMPTS: usize = 3;

/// How often a read-modify-write is tried when other writers keep winning
/// the race for its conditional put.
const WRITE_ATTEMPTS: u32 = 10;

/// Part numbers a write tries past the manifest's next one, when parts left
/// by crashed or concurrent writers hold them.
const PART_SEQ_TRIES: u64 = 32;

/// Maps a conditional put's `Conflict` (another writer won) to `None`.
fn won<T>(put: Result<T, PortError>) -> Result<Option<T>, PortError> {
    match put {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind == PortErrorKind::Conflict => Ok(None),
        Err(e) => Err(e),
    }
}

/// Runs a read-modify-write until its conditional put wins (`Some`), at most
/// [`WRITE_ATTEMPTS`] times, waiting a little longer after each loss.
async fn until_won<T, F>(mut attempt: impl FnMut() -> F) -> Result<T, PortError>
where
    F: std::future::Future<Output = Result<Option<T>, PortError>>,
{
    for n in 1..=WRITE_ATTEMPTS {
        if let Some(done) = attempt().await? {
            return Ok(done);
        }
        let jitter = rand::random::<u64>() % 10;
        tokio::time::sleep(std::time::Duration::from_millis(5 * u64::from(n) + jitter)).await;
    }
    Err(PortError::new(PortErrorKind::Unavailable, "archive record kept changing under other writers"))
}

/// The archive over a blob store (files locally, S3 on AWS).
pub struct BlobArchive {
    blobs: Arc<dyn BlobStore>,
    /// Serialise the read-modify-writes of one dialog's manifest or overlay.
    dialog_locks: Vec<Mutex<()>>,
    /// Serialise the read-modify-writes of one tenant's usage record.
    usage_locks: Vec<Mutex<()>>,
    /// Usage changes waiting for the next record write, by tenant (bounded
    /// by the writers in flight: each write takes them all).
    pending_usage: std::sync::Mutex<HashMap<TenantId, UsageDelta>>,
}

impl BlobArchive {
    /// Returns an archive keeping its objects in `blobs`, under `{tenant}/archive/`.
    pub fn new(blobs: Arc<dyn BlobStore>) -> Self {
        let stripes = || (0..STRIPES).map(|_| Mutex::new(())).collect();
        Self { blobs, dialog_locks: stripes(), usage_locks: stripes(), pending_usage: Default::default() }
    }

    fn stripe<'a>(locks: &'a [Mutex<()>], key: &str) -> &'a Mutex<()> {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        &locks[(h.finish() % locks.len() as u64) as usize]
    }

    async fn get_opt(&self, key: &str) -> Result<Option<Vec<u8>>, PortError> {
        match self.blobs.get(key).await {
            Ok((bytes, _)) => Ok(Some(bytes)),
            Err(e) if e.kind == PortErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn manifest(&self, key: &str) -> Result<Manifest, PortError> {
        Ok(self.manifest_versioned(key).await?.0)
    }

    /// The manifest with its version (`None`: there is none yet).
    async fn manifest_versioned(&self, key: &str) -> Result<(Manifest, Option<BlobVersion>), PortError> {
        match self.blobs.get_versioned(key).await? {
            Some((bytes, version)) => Ok((decode_manifest(&bytes)?, Some(version))),
            None => Ok((Manifest { v: FORMAT_VERSION, ..Manifest::default() }, None)),
        }
    }

    async fn overlay(&self, tenant: &TenantId, account: &AccountId, peer: i64) -> Result<Overlay, PortError> {
        Ok(self.overlay_versioned(&overlay_key(tenant, account, peer)).await?.0)
    }

    /// The overlay with its version (`None`: there is none yet).
    async fn overlay_versioned(&self, key: &str) -> Result<(Overlay, Option<BlobVersion>), PortError> {
        match self.blobs.get_versioned(key).await? {
            Some((bytes, version)) => Ok((decode_overlay(&bytes)?, Some(version))),
            None => Ok((Overlay { v: FORMAT_VERSION, ..Overlay::default() }, None)),
        }
    }

    /// Reads parts chosen from the manifest by `pick`, newest range first,
    /// until `enough` says the rest cannot change the answer; starts over
    /// (a bounded number of times) when a writer replaced a part meanwhile.
    async fn read_parts(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        pick: impl Fn(&Part) -> bool,
        enough: impl Fn(&BTreeMap<i64, Message>, &Part) -> bool,
    ) -> Result<BTreeMap<i64, Message>, PortError> {
        let prefix = dialog_prefix(tenant, account, peer);
        let mut attempt = 0;
        'again: loop {
            attempt += 1;
            let manifest = self.manifest(&manifest_key(tenant, account, peer)).await?;
            let mut parts: Vec<&Part> = manifest.parts.iter().filter(|p| pick(p)).collect();
            parts.sort_by_key(|p| std::cmp::Reverse(p.max_id));
            let mut found = BTreeMap::new();
            for part in parts {
                if enough(&found, part) {
                    break;
                }
                let bytes = match self.get_opt(&part.key(&prefix)).await? {
                    Some(bytes) => bytes,
                    None if attempt < READ_ATTEMPTS => continue 'again,
                    None => return Err(PortError::new(PortErrorKind::Unavailable, "archive parts keep changing")),
                };
                found.extend(decode_part(&bytes)?.into_iter().map(|m| (m.id, m)));
            }
            return Ok(found);
        }
    }

    /// One attempt of [`Archive::write`]: merges `messages` into the parts of
    /// the manifest read, and commits; `None` when another writer changed
    /// the manifest first.
    async fn write_once(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        key: &str,
        messages: &[Message],
    ) -> Result<Option<(ArchiveWrite, Vec<Part>, Vec<Part>)>, PortError> {
        let (manifest, version) = self.manifest_versioned(key).await?;
        // Each message goes to a part of its month; untouched parts stay as they are.
        let mut by_part: BTreeMap<Option<u64>, BTreeMap<i64, Message>> = BTreeMap::new();
        for m in messages {
            let month = month_of(m.date);
            let parts: Vec<&Part> = manifest.parts.iter().filter(|p| p.month == month).collect();
            by_part.entry(part_for(&parts, m.id)).or_default().insert(m.id, m.clone());
        }
        let prefix = dialog_prefix(tenant, account, peer);
        let (mut outcome, mut runs, mut touched) = (ArchiveWrite::default(), Vec::new(), BTreeSet::new());
        for (seq, fresh) in by_part {
            let mut merged: BTreeMap<i64, Message> = BTreeMap::new();
            if let Some(part) = seq.and_then(|s| manifest.parts.iter().find(|p| p.seq == s)) {
                let Some(bytes) = self.get_opt(&part.key(&prefix)).await? else {
                    // Replaced since the manifest was read: read it again.
                    return Ok(None);
                };
                merged.extend(decode_part(&bytes)?.into_iter().map(|m| (m.id, m)));
                touched.insert(part.seq);
            }
            for (id, m) in fresh {
                if merged.insert(id, m).is_some() {
                    outcome.replaced += 1;
                } else {
                    outcome.added += 1;
                }
            }
            // Messages of months with no part yet share the `None` group: keep months apart.
            let mut by_month: BTreeMap<String, Vec<Message>> = BTreeMap::new();
            for m in merged.into_values() {
                by_month.entry(month_of(m.date)).or_default().push(m);
            }
            runs.extend(by_month.into_values().flat_map(split_parts));
        }
        let committed = self.commit(tenant, account, peer, (manifest, version), &touched, runs).await?;
        Ok(committed.map(|(written, gone)| (outcome, written, gone)))
    }

    /// Replaces `touched` parts of the manifest read (with its version) by `runs`,
    /// committing with the manifest; returns the parts written and the parts
    /// now unreferenced, or `None` when another writer changed the manifest
    /// first (what this one put is deleted again).
    async fn commit(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        (mut manifest, version): (Manifest, Option<BlobVersion>),
        touched: &BTreeSet<u64>,
        runs: Vec<Vec<Message>>,
    ) -> Result<Option<(Vec<Part>, Vec<Part>)>, PortError> {
        let prefix = dialog_prefix(tenant, account, peer);
        let mut written = Vec::with_capacity(runs.len());
        for run in runs {
            let (first, last) = match (run.first(), run.last()) {
                (Some(f), Some(l)) => (f, l),
                _ => continue,
            };
            let bytes = encode_part(&run)?;
            let mut part = Part {
                month: month_of(first.date),
                seq: manifest.next_seq,
                min_id: first.id,
                max_id: last.id,
                count: run.len() as u64,
                bytes: bytes.len() as u64,
            };
            // Only where no part is: one left by a crash, or put by a
            // concurrent writer, keeps its number and this one takes the next.
            let mut placed = false;
            for _ in 0..PART_SEQ_TRIES {
                if won(self.blobs.put_if(&part.key(&prefix), bytes.clone(), PART_TYPE, None).await)?.is_some() {
                    placed = true;
                    break;
                }
                part.seq += 1;
            }
            if !placed {
                return Err(PortError::new(PortErrorKind::Unavailable, "no free archive part number"));
            }
            manifest.next_seq = part.seq + 1;
            written.push(part);
        }
        // The month ledger learns a new month before the manifest names it,
        // so retention never misses a committed part.
        let held: BTreeSet<&str> = manifest.parts.iter().map(|p| p.month.as_str()).collect();
        let new_months: BTreeSet<&str> =
            written.iter().map(|p| p.month.as_str()).filter(|m| !held.contains(m)).collect();
        for month in new_months {
            self.blobs.put(&month_mark_key(tenant, month, account, peer), Vec::new(), JSON_TYPE).await?;
        }
        let (gone, mut kept): (Vec<Part>, Vec<Part>) =
            manifest.parts.into_iter().partition(|p| touched.contains(&p.seq));
        kept.extend(written.iter().cloned());
        kept.sort_by_key(|p| p.min_id);
        manifest.parts = kept;
        let key = manifest_key(tenant, account, peer);
        let (unreferenced, outcome) =
            match won(self.blobs.put_if(&key, encode_manifest(&manifest), JSON_TYPE, version.as_ref()).await)? {
                Some(_) => (&gone, Some(())),
                None => (&written, None),
            };
        for part in unreferenced {
            // Best effort: an unreferenced part is never read again, only stored.
            if let Err(e) = self.blobs.delete(&part.key(&prefix)).await {
                tracing::warn!(error = %e, "unreferenced archive part not deleted");
            }
        }
        Ok(outcome.map(|()| (written, gone)))
    }

    /// Drops a dialog's parts of `month` (manifest first, then the parts,
    /// then the ledger's mark, all in the dialog's turn so no write of that
    /// month slips between); returns them. A crash on the way leaves the mark,
    /// and the next run finishes.
    async fn drop_month(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        month: &str,
        mark: &str,
    ) -> Result<Vec<Part>, PortError> {
        let key = manifest_key(tenant, account, peer);
        let _turn = Self::stripe(&self.dialog_locks, &key).lock().await;
        let gone = until_won(|| async {
            let (mut manifest, version) = self.manifest_versioned(&key).await?;
            let (gone, kept): (Vec<Part>, Vec<Part>) = manifest.parts.into_iter().partition(|p| p.month == month);
            if gone.is_empty() {
                return Ok(Some(gone));
            }
            manifest.parts = kept;
            let put = self.blobs.put_if(&key, encode_manifest(&manifest), JSON_TYPE, version.as_ref()).await;
            Ok(won(put)?.map(|_| gone))
        })
        .await?;
        let prefix = dialog_prefix(tenant, account, peer);
        for part in &gone {
            self.blobs.delete(&part.key(&prefix)).await?;
        }
        self.blobs.delete(mark).await?;
        Ok(gone)
    }

    /// Adds the parts written and removes the parts gone from the tenant's
    /// usage record. Group commit: the change joins the tenant's pending
    /// total, and whoever takes the tenant's turn next writes every pending
    /// change in one put, so concurrent dialog writes share one record write.
    async fn add_usage(&self, tenant: &TenantId, written: &[Part], gone: &[Part]) -> Result<(), PortError> {
        let sum = |parts: &[Part]| parts.iter().fold((0, 0, 0), |(m, o, b), p| (m + p.count, o + 1, b + p.bytes));
        let (plus, minus) = (sum(written), sum(gone));
        {
            let mut pending = self.pending_usage.lock().unwrap_or_else(|p| p.into_inner());
            let delta = pending.entry(tenant.clone()).or_default();
            delta.add(plus, minus);
        }
        let key = usage_key(tenant);
        let _turn = Self::stripe(&self.usage_locks, &key).lock().await;
        let taken = self.pending_usage.lock().unwrap_or_else(|p| p.into_inner()).remove(tenant);
        let Some(delta) = taken else { return Ok(()) }; // another writer wrote ours
        let written = self.write_usage(&key, &delta).await;
        if written.is_err() {
            // Back to pending: the next writer of this tenant writes it.
            let mut pending = self.pending_usage.lock().unwrap_or_else(|p| p.into_inner());
            pending.entry(tenant.clone()).or_default().merge(&delta);
        }
        written
    }

    async fn write_usage(&self, key: &str, delta: &UsageDelta) -> Result<(), PortError> {
        until_won(|| async {
            let (mut usage, version): (UsageRecord, _) = match self.blobs.get_versioned(key).await? {
                Some((bytes, version)) => (
                    serde_json::from_slice(&bytes)
                        .map_err(|e| PortError::with_source(PortErrorKind::Internal, "archive usage unreadable", e))?,
                    Some(version),
                ),
                None => (UsageRecord::default(), None),
            };
            usage.messages = (usage.messages + delta.plus.0).saturating_sub(delta.minus.0);
            usage.objects = (usage.objects + delta.plus.1).saturating_sub(delta.minus.1);
            usage.bytes = (usage.bytes + delta.plus.2).saturating_sub(delta.minus.2);
            let json = serde_json::to_vec(&usage).unwrap_or_else(|e| unreachable!("usage always serialises: {e}"));
            won(self.blobs.put_if(key, json, JSON_TYPE, version.as_ref()).await)
        })
        .await
        .map(|_| ())
    }
}

/// A change of a tenant's usage not yet written: messages, objects and
/// bytes added, and removed.
#[derive(Clone, Debug, Default)]
struct UsageDelta {
    plus: (u64, u64, u64),
    minus: (u64, u64, u64),
}

impl UsageDelta {
    fn add(&mut self, plus: (u64, u64, u64), minus: (u64, u64, u64)) {
        self.plus = (self.plus.0 + plus.0, self.plus.1 + plus.1, self.plus.2 + plus.2);
        self.minus = (self.minus.0 + minus.0, self.minus.1 + minus.1, self.minus.2 + minus.2);
    }

    fn merge(&mut self, other: &UsageDelta) {
        self.add(other.plus, other.minus);
    }
}

/// Returns the dialog of a batch, refusing an empty, oversized or mixed one.
fn one_dialog(messages: &[Message]) -> Result<(&AccountId, i64), PortError> {
    let invalid = |why: &str| PortError::new(PortErrorKind::Invalid, format!("archive write refused: {why}"));
    let first = messages.first().ok_or_else(|| invalid("no messages"))?;
    if messages.len() > MAX_ARCHIVE_BATCH {
        return Err(invalid("more than MAX_ARCHIVE_BATCH messages"));
    }
    if messages.iter().any(|m| m.account_id != first.account_id || m.peer != first.peer) {
        return Err(invalid("messages of several dialogs"));
    }
    Ok((&first.account_id, first.peer))
}

/// Returns the part of `parts` (one month's, by `min_id`) a message with
/// `id` merges into: the last starting at or below it, else the first.
fn part_for(parts: &[&Part], id: i64) -> Option<u64> {
    parts.iter().rev().find(|p| p.min_id <= id).or(parts.first()).map(|p| p.seq)
}

#[async_trait]
impl Archive for BlobArchive {
    async fn write(&self, tenant: &TenantId, messages: &[Message]) -> Result<ArchiveWrite, PortError> {
        let (account, peer) = one_dialog(messages)?;
        let key = manifest_key(tenant, account, peer);
        let _turn = Self::stripe(&self.dialog_locks, &key).lock().await;
        let (outcome, written, gone) =
            until_won(|| async { self.write_once(tenant, account, peer, &key, messages).await }).await?;
        self.add_usage(tenant, &written, &gone).await?;
        Ok(outcome)
    }

    async fn list(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Message>, PortError> {
        let limit = limit.clamp(1, MAX_ARCHIVE_PAGE);
        let before = before.unwrap_or(i64::MAX);
        let below = |found: &BTreeMap<i64, Message>| found.range(..before).rev().nth(limit - 1).map(|(id, _)| *id);
        let found = self
            .read_parts(
                tenant,
                account,
                peer,
                |p| p.min_id < before,
                |found, next| below(found).is_some_and(|lowest| next.max_id < lowest),
            )
            .await?;
        if found.is_empty() {
            return Ok(Vec::new());
        }
        let overlay = self.overlay(tenant, account, peer).await?;
        Ok(found.range(..before).rev().take(limit).map(|(_, m)| overlay.applied(m.clone())).collect())
    }

    async fn get(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        id: i64,
    ) -> Result<Option<Message>, PortError> {
        let mut found = self
            .read_parts(tenant, account, peer, |p| p.min_id <= id && id <= p.max_id, |f, _| f.contains_key(&id))
            .await?;
        match found.remove(&id) {
            Some(m) => Ok(Some(self.overlay(tenant, account, peer).await?.applied(m))),
            None => Ok(None),
        }
    }

    async fn apply(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        change: &ArchiveChange,
    ) -> Result<Vec<Message>, PortError> {
        let ids: Vec<i64> = match change {
            ArchiveChange::Edit { id, .. } | ArchiveChange::Tags { id, .. } => vec![*id],
            ArchiveChange::Delete { ids } => ids.clone(),
        };
        let wanted: BTreeSet<i64> = ids.iter().copied().collect();
        let held = self
            .read_parts(tenant, account, peer, |p| wanted.range(p.min_id..=p.max_id).next().is_some(), |_, _| false)
            .await?;
        let present: Vec<i64> = wanted.into_iter().filter(|id| held.contains_key(id)).collect();
        if present.is_empty() {
            return match change {
                ArchiveChange::Delete { .. } => Ok(Vec::new()),
                _ => Err(PortError::not_found("no such archived message")),
            };
        }
        let key = overlay_key(tenant, account, peer);
        let _turn = Self::stripe(&self.dialog_locks, &key).lock().await;
        let overlay = until_won(|| async {
            let (mut overlay, version) = self.overlay_versioned(&key).await?;
            let new = present.iter().filter(|id| !overlay.entries.contains_key(id)).count();
            if overlay.entries.len() + new > MAX_OVERLAY_ENTRIES {
                return Err(PortError::conflict("the dialog's archive overlay is full"));
            }
            for id in &present {
                let entry = overlay.entries.entry(*id).or_default();
                match change {
                    ArchiveChange::Edit { text, edited_at, .. } => {
                        if entry.edit.as_ref().is_none_or(|(_, at)| at <= edited_at) {
                            entry.edit = Some((text.clone(), *edited_at));
                        }
                    }
                    ArchiveChange::Delete { .. } => entry.deleted = true,
                    ArchiveChange::Tags { tags, .. } => entry.tags = Some(tags.clone()),
                }
            }
            let put = self.blobs.put_if(&key, encode_overlay(&overlay)?, OVERLAY_TYPE, version.as_ref()).await;
            Ok(won(put)?.map(|_| overlay))
        })
        .await?;
        Ok(present.iter().filter_map(|id| held.get(id)).map(|m| overlay.applied(m.clone())).collect())
    }

    async fn usage(&self, tenant: &TenantId) -> Result<ArchiveUsage, PortError> {
        let usage: UsageRecord = match self.get_opt(&usage_key(tenant)).await? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| PortError::with_source(PortErrorKind::Internal, "archive usage unreadable", e))?,
            None => UsageRecord::default(),
        };
        Ok(ArchiveUsage { messages: usage.messages, objects: usage.objects, bytes: usage.bytes })
    }

    async fn purge_before(&self, tenant: &TenantId, month: &str) -> Result<ArchiveUsage, PortError> {
        validate_month(month)?;
        let folder = months_folder(tenant);
        let mut purged = ArchiveUsage::default();
        let mut after: Option<String> = None;
        loop {
            let marks = self.blobs.list(&folder, after.as_deref(), MAX_BLOB_LIST).await?;
            let Some(last) = marks.last().cloned() else { return Ok(purged) };
            for mark in marks {
                let Some((marked, account, peer)) = parse_month_mark(&folder, &mark) else {
                    tracing::warn!(key = %mark, "foreign key in the archive's month ledger left alone");
                    continue;
                };
                // Listed in month order: the rest is kept.
                if marked.as_str() >= month {
                    return Ok(purged);
                }
                let gone = self.drop_month(tenant, &account, peer, &marked, &mark).await?;
                self.add_usage(tenant, &[], &gone).await?;
                for part in &gone {
                    purged.messages += part.count;
                    purged.objects += 1;
                    purged.bytes += part.bytes;
                }
            }
            after = Some(last);
        }
    }
}
