//! The store ports `DynamoStore` implements beside `Directory`: each method
//! hands over to the module that holds its body.

use super::DynamoStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use tgdesk_core::domain::{
    AccountId, BatchId, BatchSend, Dialog, Message, PeerProfile, RequestId, SendId, SendRecord, SendStatus, TagId,
    TenantId,
};
use tgdesk_core::ports::{
    DialogCursor, DialogFilter, DialogScope, IngestOutcome, MessageReader, MessageWriter, PortError, Replies, SendLog,
};

#[async_trait]
impl MessageWriter for DynamoStore {
    async fn upsert_dialogs(&self, tenant: &TenantId, dialogs: &[Dialog]) -> Result<(), PortError> {
        self.upsert(tenant, dialogs).await
    }

    async fn ingest_messages(&self, tenant: &TenantId, messages: &[Message]) -> Result<IngestOutcome, PortError> {
        self.ingest(tenant, messages).await
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
        self.edit(tenant, (account, peer, id), text, edited_at).await
    }

    async fn delete_messages(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        ids: &[i64],
    ) -> Result<(), PortError> {
        self.delete_in_dialog(tenant, account, peer, ids).await
    }

    async fn delete_unplaced_messages(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        ids: &[i64],
    ) -> Result<Vec<(i64, i64)>, PortError> {
        self.delete_unplaced(tenant, account, ids).await
    }

    async fn mark_read(&self, tenant: &TenantId, account: &AccountId, peer: i64, up_to: i64) -> Result<(), PortError> {
        self.read_up_to(tenant, account, peer, up_to).await
    }

    async fn set_message_tags(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        id: i64,
        tags: &BTreeSet<TagId>,
    ) -> Result<(), PortError> {
        self.set_tags(tenant, (account, peer, id), tags).await
    }

    async fn upsert_profiles(&self, tenant: &TenantId, profiles: &[PeerProfile]) -> Result<(), PortError> {
        self.put_profiles(tenant, profiles).await
    }
}

#[async_trait]
impl MessageReader for DynamoStore {
    async fn list_dialogs(
        &self,
        tenant: &TenantId,
        scope: &DialogScope,
        filter: &DialogFilter,
        after: Option<&DialogCursor>,
        limit: usize,
    ) -> Result<Vec<Dialog>, PortError> {
        self.inbox(tenant, scope, filter, after, limit).await
    }

    async fn get_dialogs(&self, tenant: &TenantId, keys: &[(AccountId, i64)]) -> Result<Vec<Dialog>, PortError> {
        self.dialogs_by_key(tenant, keys).await
    }

    async fn list_messages(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Message>, PortError> {
        self.history(tenant, account, peer, before, limit).await
    }

    async fn get_message(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
        id: i64,
    ) -> Result<Option<Message>, PortError> {
        self.get_one(tenant, account, peer, id).await
    }

    async fn get_profile(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        peer: i64,
    ) -> Result<Option<PeerProfile>, PortError> {
        self.profile(tenant, account, peer).await
    }

    async fn get_self_profile(&self, tenant: &TenantId, account: &AccountId) -> Result<Option<PeerProfile>, PortError> {
        self.self_profile(tenant, account).await
    }

    async fn list_contacts(
        &self,
        tenant: &TenantId,
        account: &AccountId,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<PeerProfile>, PortError> {
        self.contacts(tenant, account, after, limit).await
    }
}

#[async_trait]
impl SendLog for DynamoStore {
    async fn put_sends(&self, tenant: &TenantId, sends: &[SendRecord]) -> Result<(), PortError> {
        self.put_send_records(tenant, sends).await
    }

    async fn get_send(&self, tenant: &TenantId, id: &SendId) -> Result<Option<SendRecord>, PortError> {
        self.send_record(tenant, id).await
    }

    async fn put_batch(&self, tenant: &TenantId, batch: &BatchSend) -> Result<(), PortError> {
        self.put_batch_record(tenant, batch).await
    }

    async fn get_batch(&self, tenant: &TenantId, id: &BatchId) -> Result<Option<BatchSend>, PortError> {
        self.batch_record(tenant, id).await
    }

    async fn list_batch_sends(
        &self,
        tenant: &TenantId,
        batch: &BatchId,
        after: Option<&SendId>,
        limit: usize,
    ) -> Result<Vec<SendRecord>, PortError> {
        self.batch_page(tenant, batch, after, limit).await
    }

    async fn count_batch_sends(
        &self,
        tenant: &TenantId,
        batch: &BatchId,
    ) -> Result<BTreeMap<SendStatus, u64>, PortError> {
        self.batch_tally(tenant, batch).await
    }
}

#[async_trait]
impl Replies for DynamoStore {
    async fn put_reply(&self, tenant: &TenantId, id: &RequestId, body: &[u8]) -> Result<(), PortError> {
        self.put_reply_item(tenant, id, body).await
    }

    async fn take_reply(&self, tenant: &TenantId, id: &RequestId) -> Result<Option<Vec<u8>>, PortError> {
        self.take_reply_item(tenant, id).await
    }
}
