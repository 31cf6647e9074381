//! What the directory's writes ask of the message side: dialogs that follow
//! their account's owner and team, and the removal of an account's or a
//! tag's traces among dialogs and messages. The message half of
//! `DynamoStore` owns those items; these are its entry points.

use crate::dynamo::store::DynamoStore;
use tgdesk_core::domain::{AccountId, TagId, TenantId, UserId};
use tgdesk_core::ports::PortError;

impl DynamoStore {
    /// Moves the account's dialogs into the inbox of `owner` and `team`.
    /// // lead implements
    pub(crate) async fn retarget_dialogs(
        &self,
        _tenant: &TenantId,
        _account: &AccountId,
        _owner: Option<&UserId>,
        _team: Option<&UserId>,
    ) -> Result<(), PortError> {
        Ok(())
    }

    /// Deletes the account's dialogs, messages and profiles.
    /// // lead implements
    pub(crate) async fn delete_account_messages(
        &self,
        _tenant: &TenantId,
        _account: &AccountId,
    ) -> Result<(), PortError> {
        Ok(())
    }

    /// Takes the tag off every message that carries it.
    /// // lead implements
    pub(crate) async fn remove_tag_from_messages(&self, _tenant: &TenantId, _tag: &TagId) -> Result<(), PortError> {
        Ok(())
    }
}
