//! The archiver's promise, checked on random histories: whatever the
//! interleaving of ingest, edits, deletes, tag changes and archiver runs
//! (some crashing between the archive write and the store removal, some
//! failing halfway through the archive write, some with changes arriving
//! while a slice is written), a dialog's history read
//! through the desk (hot store, then archive) holds every message ingested
//! exactly once, newest first, with its latest text, delete mark and tags.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use tgdesk_core::archive::BlobArchive;
use tgdesk_core::auth::TokenService;
use tgdesk_core::domain::{AccountId, Message, Role, Tag, TagId, TenantId, UserId};
use tgdesk_core::ports::{
    BlobMeta, BlobReader, BlobStore, BlobVersion, BlobWriter, ChangeFeed, MessageExpiry, PortError, PortErrorKind,
};
use tgdesk_core::testkit::fixtures;
use tgdesk_core::usecases::{archive_messages, AccountUpdate, Actor, Archiver, Desk, UpdateEnvelope};
use tgdesk_local::{FsBlobStore, LocalPorts, SqliteStore};

const SEEDS: u64 = 12;
const STEPS: usize = 160;
const PEERS: [i64; 3] = [11, 12, -1_000_013];
const HOT_DAYS: i64 = 30;

/// A blob store whose puts fail one time in `fail_one_in` (0: never), as a
/// process dying in the middle of an archive write would leave it.
struct FlakyBlobs {
    inner: FsBlobStore,
    fail_one_in: AtomicU32,
    rng: std::sync::Mutex<StdRng>,
}

impl FlakyBlobs {
    fn crash(&self) -> Result<(), PortError> {
        let n = self.fail_one_in.load(Ordering::Relaxed);
        if n > 0 && self.rng.lock().unwrap().gen_range(0..n) == 0 {
            return Err(PortError::new(PortErrorKind::Unavailable, "injected crash"));
        }
        Ok(())
    }
}

#[async_trait]
impl BlobStore for FlakyBlobs {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), PortError> {
        self.crash()?;
        self.inner.put(key, bytes, content_type).await
    }
    async fn get(&self, key: &str) -> Result<(Vec<u8>, BlobMeta), PortError> {
        self.inner.get(key).await
    }
    async fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, BlobVersion)>, PortError> {
        self.inner.get_versioned(key).await
    }
    async fn put_if(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
        expected: Option<&BlobVersion>,
    ) -> Result<BlobVersion, PortError> {
        self.crash()?;
        self.inner.put_if(key, bytes, content_type, expected).await
    }
    async fn delete(&self, key: &str) -> Result<(), PortError> {
        self.inner.delete(key).await
    }
    async fn create(&self, key: &str, content_type: &str) -> Result<Box<dyn BlobWriter>, PortError> {
        self.inner.create(key, content_type).await
    }
    async fn open(&self, key: &str) -> Result<Box<dyn BlobReader>, PortError> {
        self.inner.open(key).await
    }
    async fn list(&self, folder: &str, after: Option<&str>, limit: usize) -> Result<Vec<String>, PortError> {
        self.inner.list(folder, after, limit).await
    }
    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        expires_in: std::time::Duration,
    ) -> Result<tgdesk_core::ports::PresignedRequest, PortError> {
        self.inner.presign_upload(key, content_type, size, expires_in).await
    }
    async fn presign_download(
        &self,
        key: &str,
        expires_in: std::time::Duration,
    ) -> Result<tgdesk_core::ports::PresignedRequest, PortError> {
        self.inner.presign_download(key, expires_in).await
    }
}

/// What a message should read back as.
#[derive(Clone, Debug, PartialEq)]
struct Expected {
    text: String,
    deleted: bool,
    tags: BTreeSet<TagId>,
}

struct World {
    desk: Desk,
    store: Arc<SqliteStore>,
    blobs: Arc<FlakyBlobs>,
    archiver: Archiver,
    actor: Actor,
    account: AccountId,
    tags: Vec<TagId>,
    model: BTreeMap<(i64, i64), Expected>,
    next_id: i64,
    now: DateTime<Utc>,
    /// Archive writes that failed halfway (the injected crash did strike).
    failed_writes: usize,
    /// Checks that found messages in both the store and the archive.
    overlaps: usize,
    /// Messages a finish handed back, changed while their slice was written.
    noted: usize,
    _dir: tempfile::TempDir,
}

impl World {
    async fn open(seed: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let LocalPorts { mut ports, store, .. } = LocalPorts::open(dir.path()).unwrap();
        let blobs = Arc::new(FlakyBlobs {
            inner: FsBlobStore::open(dir.path().join("archive")).unwrap(),
            fail_one_in: AtomicU32::new(0),
            rng: std::sync::Mutex::new(StdRng::seed_from_u64(seed ^ 0x5eed)),
        });
        let archive = Arc::new(BlobArchive::new(blobs.clone()));
        ports.archive = Some(archive.clone());
        let desk = Desk::new(ports, TokenService::new(&[7; 32], std::time::Duration::from_secs(60)));
        let tenant: TenantId = fixtures::tenant();
        let account = fixtures::account(&tenant);
        desk.ports().directory.put_accounts(&tenant, std::slice::from_ref(&account)).await.unwrap();
        let mut tags = Vec::new();
        for name in ["vip", "refund"] {
            let tag = Tag { id: TagId::generate(), name: name.into(), color: None, created_at: fixtures::at(0) };
            desk.ports().directory.put_tag(&tenant, &tag).await.unwrap();
            tags.push(tag.id);
        }
        let window = std::time::Duration::from_secs(HOT_DAYS as u64 * 86_400);
        let archiver = Archiver::new(archive, store.clone(), window).with_batch(7);
        let actor = Actor { tenant, user_id: UserId::generate(), role: Role::Admin };
        let (model, now) = (BTreeMap::new(), fixtures::at(0));
        World {
            desk,
            store,
            blobs,
            archiver,
            actor,
            account: account.id,
            tags,
            model,
            next_id: 1,
            now,
            failed_writes: 0,
            overlaps: 0,
            noted: 0,
            _dir: dir,
        }
    }

    async fn ingest(&self, updates: Vec<AccountUpdate>) {
        let envelope = UpdateEnvelope { tenant: self.actor.tenant.clone(), account_id: self.account.clone(), updates };
        self.desk.ingest(&envelope).await.expect("ingest");
    }

    fn pick(&self, rng: &mut StdRng) -> Option<(i64, i64)> {
        let keys: Vec<&(i64, i64)> = self.model.keys().collect();
        (!keys.is_empty()).then(|| *keys[rng.gen_range(0..keys.len())])
    }

    async fn step(&mut self, rng: &mut StdRng) {
        self.now += Duration::hours(rng.gen_range(1..48));
        match rng.gen_range(0..10) {
            7..=9 => self.archive(rng).await,
            change => self.change(change, rng).await,
        }
    }

    /// Ingests new messages (0..=3), edits (4), deletes (5) or tags (6).
    async fn change(&mut self, kind: u32, rng: &mut StdRng) {
        match kind {
            0..=3 => {
                let peer = PEERS[rng.gen_range(0..PEERS.len())];
                let mut updates = Vec::new();
                for _ in 0..rng.gen_range(1..8) {
                    let mut m: Message = fixtures::message(&self.account, peer, self.next_id, 0, rng.gen_bool(0.3));
                    m.date = self.now;
                    self.model
                        .insert((peer, m.id), Expected { text: m.text.clone(), deleted: false, tags: BTreeSet::new() });
                    updates.push(AccountUpdate::Message { message: m });
                    self.next_id += 1;
                }
                self.ingest(updates).await;
            }
            4 => {
                if let Some((peer, id)) = self.pick(rng) {
                    let text = format!("edited {id} at {}", self.now.timestamp());
                    self.ingest(vec![AccountUpdate::Edit { peer, id, text: text.clone(), edited_at: self.now }]).await;
                    self.model.get_mut(&(peer, id)).unwrap().text = text;
                }
            }
            5 => {
                if let Some((peer, id)) = self.pick(rng) {
                    self.ingest(vec![AccountUpdate::Delete { peer, ids: vec![id, id + 100_000] }]).await;
                    self.model.get_mut(&(peer, id)).unwrap().deleted = true;
                }
            }
            6 => {
                if let Some((peer, id)) = self.pick(rng) {
                    let tags: Vec<TagId> = self.tags.iter().filter(|_| rng.gen_bool(0.5)).cloned().collect();
                    self.desk.tag_message(&self.actor, &self.account, peer, id, &tags).await.expect("tag");
                    self.model.get_mut(&(peer, id)).unwrap().tags = tags.into_iter().collect();
                }
            }
            _ => {}
        }
    }

    /// Plays the search indexer: reads the change feed to its end and trims
    /// it, after which the archiver may take the messages it reported.
    async fn catch_up_indexer(&self) {
        let mut position: Option<String> = None;
        loop {
            let batch = self.store.read(position.as_deref(), 1_000).await.unwrap();
            let done = batch.changes.is_empty();
            position = batch.position.or(position);
            if done {
                break;
            }
        }
        if let Some(position) = position {
            self.store.trim(&position).await.unwrap();
        }
    }

    /// Runs the archiver once, cleanly or with one of the injected crashes,
    /// most times after the indexer caught up (else it finds less to take).
    async fn archive(&mut self, rng: &mut StdRng) {
        if rng.gen_bool(0.7) {
            self.catch_up_indexer().await;
        }
        let limit = rng.gen_range(1..40);
        let expiry = self.store.clone();
        match rng.gen_range(0..4) {
            0 => {
                self.archiver.run_once(self.now).await.expect("archiver run");
            }
            1 => {
                // Crash after writing part of a slice, before the store dropped it.
                let slice = expiry.begin_expiry(self.archiver.cutoff(self.now)).await.unwrap();
                let expired = expiry.expired_messages(&slice, None, limit).await.unwrap();
                if !expired.is_empty() {
                    archive_messages(&**self.desk.ports().archive.as_ref().unwrap(), &expired).await.unwrap();
                }
            }
            2 => {
                // Changes while a slice is written: they reach the archive
                // before the slice leaves the store.
                let slice = expiry.begin_expiry(self.archiver.cutoff(self.now)).await.unwrap();
                self.archiver.write_slice(&slice, |_| {}).await.expect("write");
                for _ in 0..rng.gen_range(1..4) {
                    let kind = rng.gen_range(0..7);
                    self.change(kind, rng).await;
                }
                let finish = self.archiver.finish_slice(&slice, |_| {}).await.expect("finish");
                self.noted += finish.archived;
            }
            _ => {
                // Crash in the middle of the archive write.
                self.blobs.fail_one_in.store(3, Ordering::Relaxed);
                if self.archiver.run_once(self.now).await.is_err() {
                    self.failed_writes += 1;
                }
                self.blobs.fail_one_in.store(0, Ordering::Relaxed);
            }
        }
    }

    /// Pages every dialog through the desk and compares with the model.
    async fn check(&mut self, seed: u64, step: usize) {
        for peer in PEERS {
            let mut seen: Vec<Message> = Vec::new();
            let mut cursor: Option<String> = None;
            for _ in 0..fixtures::MAX_PAGES {
                let page = self
                    .desk
                    .dialog_messages(&self.actor, &self.account, peer, cursor.as_deref(), Some(7))
                    .await
                    .expect("page");
                seen.extend(page.items);
                cursor = page.next_cursor;
                if cursor.is_none() {
                    break;
                }
            }
            let (t, a) = (&self.actor.tenant, &self.account);
            let hot = self.desk.ports().reader.list_messages(t, a, peer, None, 500).await.unwrap();
            let cold = self.desk.ports().archive.as_ref().unwrap().list(t, a, peer, None, 500).await.unwrap();
            let cold: BTreeSet<i64> = cold.iter().map(|m| m.id).collect();
            self.overlaps += usize::from(hot.iter().any(|m| cold.contains(&m.id)));
            let ids: Vec<i64> = seen.iter().map(|m| m.id).collect();
            let want: Vec<i64> =
                self.model.range((peer, i64::MIN)..=(peer, i64::MAX)).rev().map(|(k, _)| k.1).collect();
            assert_eq!(ids, want, "seed {seed} step {step} peer {peer}: ids newest first, each once");
            for m in &seen {
                let got = Expected { text: m.text.clone(), deleted: m.deleted, tags: m.tags.clone() };
                assert_eq!(got, self.model[&(peer, m.id)], "seed {seed} step {step} message {peer}/{}", m.id);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_reads_every_message_once_with_its_latest_state_whatever_the_archiver_does() {
    let (mut failed_writes, mut overlaps, mut noted) = (0, 0, 0);
    for seed in 0..SEEDS {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut world = World::open(seed).await;
        for step in 0..STEPS {
            world.step(&mut rng).await;
            if step % 40 == 39 {
                world.check(seed, step).await;
            }
        }
        // Everything expires: the whole history is cold and still reads the same.
        world.catch_up_indexer().await;
        let later = world.now + Duration::days(HOT_DAYS + 2);
        let run = world.archiver.run_once(later).await.unwrap();
        let expiry = world.store.clone();
        let slice = expiry.begin_expiry(world.archiver.cutoff(later)).await.unwrap();
        assert!(expiry.expired_messages(&slice, None, 10).await.unwrap().is_empty(), "seed {seed}: all moved");
        world.check(seed, STEPS).await;
        assert!(run.removed > 0 || world.model.is_empty(), "seed {seed}: the final run moved what was left");
        (failed_writes, overlaps) = (failed_writes + world.failed_writes, overlaps + world.overlaps);
        noted += world.noted;
    }
    // The crashes did happen: writes failed halfway, and messages sat in
    // both places; changes did arrive in slices being written.
    assert!(failed_writes > 0 && overlaps > 0, "failed writes {failed_writes}, overlaps {overlaps}");
    assert!(noted > 0, "no change arrived in a slice being written");
}
