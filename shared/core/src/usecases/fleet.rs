//! What the session fleet reports about accounts: status changes, written
//! to the store and pushed as `account.status` to whoever may see the account.

use super::events::{AccountStatusChanged, DeskEvent};
use super::{AppError, Desk};
use crate::domain::{AccountId, AccountStatus, TenantId};

impl Desk {
    /// Records an account's session status and pushes it; unchanged statuses push nothing.
    pub async fn report_account_status(
        &self,
        tenant: &TenantId,
        id: &AccountId,
        status: AccountStatus,
    ) -> Result<(), AppError> {
        let account = self
            .ports
            .directory
            .get_account(tenant, id)
            .await?
            .ok_or_else(|| AppError::not_found("no such account"))?;
        if account.status == status {
            return Ok(());
        }
        self.ports.directory.set_account_status(tenant, id, status).await?;
        let audience = self.audience(&account).await?;
        let event = DeskEvent::AccountStatus(AccountStatusChanged { account_id: id.clone(), status });
        Ok(self.ports.push.publish(tenant, &audience, event.into_push()?).await?)
    }
}
