//! TEMPORARY: replaced by the lead's implementation at merge.
//! `MessageWriter`, `MessageReader`, `SendLog` and `Replies` for
//! [`DynamoStore`] answer `Internal` "pending", so that the directory's
//! contract cases (which build `StoreHandles` from all five ports) compile.

// TEMPORARY: replaced by the lead's implementation at merge

use super::DynamoStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use tgdesk_core::domain::{
    AccountId, BatchId, BatchSend, Dialog, Message, PeerProfile, RequestId, SendId, SendRecord, SendStatus, TagId,
    TenantId,
};
use tgdesk_core::ports::{
    DialogCursor, DialogScope, IngestOutcome, MessageReader, MessageWriter, PortError, PortErrorKind, Replies, SendLog,
};

fn pending() -> PortError {
    PortError::new(PortErrorKind::Internal, "pending")
}

#[async_trait]
impl MessageWriter for DynamoStore {
    async fn upsert_dialogs(&self, _: &TenantId, _: &[Dialog]) -> Result<(), PortError> {
        Err(pending())
    }
    async fn ingest_messages(&self, _: &TenantId, _: &[Message]) -> Result<IngestOutcome, PortError> {
        Err(pending())
    }
    async fn edit_message(
        &self,
        _: &TenantId,
        _: &AccountId,
        _: i64,
        _: i64,
        _: &str,
        _: DateTime<Utc>,
    ) -> Result<(), PortError> {
        Err(pending())
    }
    async fn delete_messages(&self, _: &TenantId, _: &AccountId, _: i64, _: &[i64]) -> Result<(), PortError> {
        Err(pending())
    }
    async fn delete_unplaced_messages(
        &self,
        _: &TenantId,
        _: &AccountId,
        _: &[i64],
    ) -> Result<Vec<(i64, i64)>, PortError> {
        Err(pending())
    }
    async fn mark_read(&self, _: &TenantId, _: &AccountId, _: i64, _: i64) -> Result<(), PortError> {
        Err(pending())
    }
    async fn set_message_tags(
        &self,
        _: &TenantId,
        _: &AccountId,
        _: i64,
        _: i64,
        _: &BTreeSet<TagId>,
    ) -> Result<(), PortError> {
        Err(pending())
    }
    async fn upsert_profiles(&self, _: &TenantId, _: &[PeerProfile]) -> Result<(), PortError> {
        Err(pending())
    }
}

#[async_trait]
impl MessageReader for DynamoStore {
    async fn list_dialogs(
        &self,
        _: &TenantId,
        _: &DialogScope,
        _: Option<&DialogCursor>,
        _: usize,
    ) -> Result<Vec<Dialog>, PortError> {
        Err(pending())
    }
    async fn get_dialogs(&self, _: &TenantId, _: &[(AccountId, i64)]) -> Result<Vec<Dialog>, PortError> {
        Err(pending())
    }
    async fn list_messages(
        &self,
        _: &TenantId,
        _: &AccountId,
        _: i64,
        _: Option<i64>,
        _: usize,
    ) -> Result<Vec<Message>, PortError> {
        Err(pending())
    }
    async fn get_message(&self, _: &TenantId, _: &AccountId, _: i64, _: i64) -> Result<Option<Message>, PortError> {
        Err(pending())
    }
    async fn get_profile(&self, _: &TenantId, _: &AccountId, _: i64) -> Result<Option<PeerProfile>, PortError> {
        Err(pending())
    }
    async fn get_self_profile(&self, _: &TenantId, _: &AccountId) -> Result<Option<PeerProfile>, PortError> {
        Err(pending())
    }
    async fn list_contacts(
        &self,
        _: &TenantId,
        _: &AccountId,
        _: Option<i64>,
        _: usize,
    ) -> Result<Vec<PeerProfile>, PortError> {
        Err(pending())
    }
}

#[async_trait]
impl SendLog for DynamoStore {
    async fn put_sends(&self, _: &TenantId, _: &[SendRecord]) -> Result<(), PortError> {
        Err(pending())
    }
    async fn get_send(&self, _: &TenantId, _: &SendId) -> Result<Option<SendRecord>, PortError> {
        Err(pending())
    }
    async fn put_batch(&self, _: &TenantId, _: &BatchSend) -> Result<(), PortError> {
        Err(pending())
    }
    async fn get_batch(&self, _: &TenantId, _: &BatchId) -> Result<Option<BatchSend>, PortError> {
        Err(pending())
    }
    async fn list_batch_sends(
        &self,
        _: &TenantId,
        _: &BatchId,
        _: Option<&SendId>,
        _: usize,
    ) -> Result<Vec<SendRecord>, PortError> {
        Err(pending())
    }
    async fn count_batch_sends(&self, _: &TenantId, _: &BatchId) -> Result<BTreeMap<SendStatus, u64>, PortError> {
        Err(pending())
    }
}

#[async_trait]
impl Replies for DynamoStore {
    async fn put_reply(&self, _: &TenantId, _: &RequestId, _: &[u8]) -> Result<(), PortError> {
        Err(pending())
    }
    async fn take_reply(&self, _: &TenantId, _: &RequestId) -> Result<Option<Vec<u8>>, PortError> {
        Err(pending())
    }
}
