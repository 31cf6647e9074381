//! The ingest pump against a store that fails: the batch is put back, tried
//! again, and every message ends up stored once (nothing is dropped).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tgdesk_core::auth::TokenService;
use tgdesk_core::domain::{AccountId, Dialog, Message, PeerProfile, TagId, TenantId, UserId};
use tgdesk_core::ports::{IngestOutcome, MessageWriter, PortError, PortErrorKind};
use tgdesk_core::testkit::fixtures::message;
use tgdesk_core::usecases::{encode_batch, AccountUpdate, Actor, Desk, NewAccount, UpdateEnvelope, UPDATES_QUEUE};
use tgdesk_fleet::pump::{self, PumpMetrics};
use tgdesk_local::LocalPorts;
use tokio::sync::watch;

/// The real SQLite writer, except that the first `failures` message writes
/// fail as a store that is down would.
struct FlakyWriter {
    inner: Arc<dyn MessageWriter>,
    failures: AtomicU32,
}

#[async_trait]
impl MessageWriter for FlakyWriter {
    async fn upsert_dialogs(&self, tenant: &TenantId, dialogs: &[Dialog]) -> Result<(), PortError> {
        self.inner.upsert_dialogs(tenant, dialogs).await
    }
    async fn ingest_messages(&self, tenant: &TenantId, messages: &[Message]) -> Result<IngestOutcome, PortError> {
        if self.failures.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
            return Err(PortError::new(PortErrorKind::Unavailable, "store down (test)"));
        }
        self.inner.ingest_messages(tenant, messages).await
    }
    async fn edit_message(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        id: i64,
        text: &str,
        edited_at: DateTime<Utc>,
    ) -> Result<(), PortError> {
        self.inner.edit_message(tenant, account, peer, id, text, edited_at).await
    }
    async fn delete_messages(&self, t: &TenantId, a: &AccountId, peer: i64, ids: &[i64]) -> Result<(), PortError> {
        self.inner.delete_messages(t, a, peer, ids).await
    }
    async fn delete_unplaced_messages(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        ids: &[i64],
    ) -> Result<Vec<(i64, i64)>, PortError> {
        self.inner.delete_unplaced_messages(tenant, account, ids).await
    }
    async fn mark_read(&self, tenant: &TenantId, account: &AccountId, peer: i64, up_to: i64) -> Result<(), PortError> {
        self.inner.mark_read(tenant, account, peer, up_to).await
    }
    async fn set_message_tags(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        id: i64,
        tags: &BTreeSet<TagId>,
    ) -> Result<(), PortError> {
        self.inner.set_message_tags(tenant, account, peer, id, tags).await
    }
    async fn upsert_profiles(&self, tenant: &TenantId, profiles: &[PeerProfile]) -> Result<(), PortError> {
        self.inner.upsert_profiles(tenant, profiles).await
    }
}

#[tokio::test]
async fn batches_the_store_failed_are_retried_until_every_message_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut ports = LocalPorts::open(dir.path()).unwrap().ports;
    ports.writer = Arc::new(FlakyWriter { inner: ports.writer.clone(), failures: AtomicU32::new(2) });
    let desk = Desk::new(ports, TokenService::new(b"pump-test-secret-pump-test-secre", Duration::from_secs(600)));
    let view = desk.create_tenant("acme", "admin", "admin-password").await.unwrap();
    let tenant = TenantId::parse("acme").unwrap();
    let admin = Actor {
        tenant: tenant.clone(),
        user_id: UserId::parse(view.id.as_str()).unwrap(),
        role: tgdesk_core::domain::Role::Admin,
    };
    let input = NewAccount { phone: "+15550001111".into(), name: None, tags: vec![], owner_id: None };
    let account = AccountId::parse(desk.create_account(&admin, input).await.unwrap().id.as_str()).unwrap();
    let bodies: Vec<Vec<u8>> = (0..3)
        .map(|b| {
            let updates = (1..=10)
                .map(|i| AccountUpdate::Message { message: message(&account, 7, b * 10 + i, 0, false) })
                .collect();
            encode_batch(&[UpdateEnvelope { tenant: tenant.clone(), account_id: account.clone(), updates }])
        })
        .collect();
    desk.ports().queue.send_batch(UPDATES_QUEUE, bodies).await.unwrap();

    let metrics = Arc::new(PumpMetrics::default());
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(pump::run_ingest(desk.clone(), metrics.clone(), stopped));
    let mut stored = Vec::new();
    for _ in 0..200 {
        stored = desk.ports().reader.list_messages(&tenant, &account, 7, None, 100).await.unwrap();
        if stored.len() == 30 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(true).unwrap();
    running.await.unwrap();
    let depth = desk.ports().queue.depth(UPDATES_QUEUE).await.unwrap();

    let mut ids: Vec<i64> = stored.iter().map(|m| m.id).collect();
    ids.sort();
    assert_eq!(ids, (1..=30).collect::<Vec<_>>(), "every message stored once");
    assert!(metrics.retries.load(Ordering::Relaxed) >= 1, "the failed batches were put back");
    assert_eq!(metrics.dead_lettered.load(Ordering::Relaxed), 0);
    assert_eq!(metrics.new_messages.load(Ordering::Relaxed), 30);
    assert_eq!((depth.visible, depth.in_flight), (0, 0), "every batch acknowledged in the end");
}
