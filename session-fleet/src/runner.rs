//! One account's session on this node: connect, sync dialogs and recent
//! history, then turn updates into batched envelopes until stopped, renewing
//! the lease and saving the session's state as it goes.

use crate::{Fleet, Running};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tgdesk_core::domain::{Account, AccountStatus};
use tgdesk_core::ports::{Lease, PortErrorKind, TelegramError, TelegramSession, TelegramUpdate};
use tgdesk_core::usecases::{encode_batch, AccountUpdate, UpdateEnvelope, UPDATES_QUEUE};
use tokio::sync::watch;

/// Runs the session of `account` under `lease` until stopped or failed.
pub(crate) async fn run(fleet: Arc<Fleet>, account: Account, lease: Lease) {
    let key = (account.tenant.clone(), account.id.clone());
    let outcome = serve(&fleet, &account, lease.clone()).await;
    fleet.lock().remove(&key);
    let status = match outcome {
        Ok(Ended::Stopped) => Some(AccountStatus::Offline),
        Ok(Ended::LeaseLost) => None,
        Err(TelegramError::Unauthorized) => Some(AccountStatus::LoggedOut),
        Err(TelegramError::Banned) => Some(AccountStatus::Banned),
        Err(e) => {
            tracing::warn!(account = %account.id, error = %e, "session ended; retried at the next scan");
            Some(AccountStatus::Offline)
        }
    };
    if let Some(status) = status {
        report(&fleet, &account, status).await;
        if let Err(e) = fleet.leases.release(&lease).await {
            tracing::warn!(account = %account.id, error = %e, "cannot release the lease; it expires by itself");
        }
    }
}

enum Ended {
    Stopped,
    LeaseLost,
}

async fn report(fleet: &Fleet, account: &Account, status: AccountStatus) {
    if let Err(e) = fleet.desk.report_account_status(&account.tenant, &account.id, status).await {
        tracing::warn!(account = %account.id, error = %e, "cannot record the account status");
    }
}

async fn serve(fleet: &Arc<Fleet>, account: &Account, mut lease: Lease) -> Result<Ended, TelegramError> {
    report(fleet, account, AccountStatus::Connecting).await;
    let sealed = account.session.as_deref().unwrap_or_default();
    let plain = fleet
        .sealer
        .open(&account.id, sealed)
        .map_err(|e| TelegramError::InvalidSession(format!("cannot decrypt the stored session: {e}")))?;
    let session: Arc<dyn TelegramSession> = Arc::from(fleet.connector.connect(&account.id, &plain).await?);
    let (stop, mut stopped) = watch::channel(false);
    fleet.lock().insert((account.tenant.clone(), account.id.clone()), Running { session: session.clone(), stop });
    fleet.metrics.sessions_online.fetch_add(1, Ordering::Relaxed);
    report(fleet, account, AccountStatus::Online).await;
    let result = pump_updates(fleet, account, &session, &mut lease, &mut stopped).await;
    fleet.metrics.sessions_online.fetch_sub(1, Ordering::Relaxed);
    if !matches!(result, Ok(Ended::LeaseLost)) {
        save(fleet, account, session.as_ref()).await;
    }
    session.disconnect().await;
    result
}

async fn pump_updates(
    fleet: &Arc<Fleet>,
    account: &Account,
    session: &Arc<dyn TelegramSession>,
    lease: &mut Lease,
    stopped: &mut watch::Receiver<bool>,
) -> Result<Ended, TelegramError> {
    let config = &fleet.config;
    let mut buffer = initial_sync(fleet, session.as_ref()).await?;
    let mut flush = tokio::time::interval(config.batch_window);
    let mut heartbeat = tokio::time::interval(config.heartbeat);
    let mut saving = tokio::time::interval(config.save_every);
    heartbeat.tick().await;
    saving.tick().await;
    loop {
        tokio::select! {
            update = session.next_update() => match update {
                Ok(update) => buffer.extend(convert(update)),
                Err(e) if e.is_retryable() => {
                    tracing::debug!(account = %account.id, error = %e, "update stream hiccup");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => {
                    publish(fleet, account, &mut buffer).await;
                    return Err(e);
                }
            },
            _ = flush.tick() => publish(fleet, account, &mut buffer).await,
            _ = heartbeat.tick() => match fleet.leases.renew(lease, config.lease_ttl).await {
                Ok(renewed) => *lease = renewed,
                Err(e) if e.kind == PortErrorKind::Conflict => {
                    tracing::warn!(account = %account.id, "lease taken over; stopping this session");
                    return Ok(Ended::LeaseLost);
                }
                Err(e) => tracing::warn!(account = %account.id, error = %e, "cannot renew the lease"),
            },
            _ = saving.tick() => {
                publish(fleet, account, &mut buffer).await;
                if buffer.is_empty() {
                    save(fleet, account, session.as_ref()).await;
                }
            }
            _ = stopped.changed() => {
                publish(fleet, account, &mut buffer).await;
                return Ok(Ended::Stopped);
            }
        }
        if buffer.len() >= config.batch_max {
            publish(fleet, account, &mut buffer).await;
        }
    }
}

/// Returns the account's dialogs and their recent messages as updates.
async fn initial_sync(fleet: &Fleet, session: &dyn TelegramSession) -> Result<Vec<AccountUpdate>, TelegramError> {
    let mut updates = Vec::new();
    for dialog in session.dialogs(fleet.config.dialogs_on_connect).await? {
        let peer = dialog.peer;
        updates.push(AccountUpdate::Dialog { dialog });
        for message in session.history(peer, None, fleet.config.history_on_connect).await? {
            updates.push(AccountUpdate::Message { message });
        }
    }
    Ok(updates)
}

/// Maps a Telegram update to what ingest understands.
fn convert(update: TelegramUpdate) -> Option<AccountUpdate> {
    match update {
        TelegramUpdate::NewMessage(message) => Some(AccountUpdate::Message { message }),
        TelegramUpdate::Edited(m) => {
            Some(AccountUpdate::Edit { peer: m.peer, id: m.id, text: m.text, edited_at: m.edited_at.unwrap_or(m.date) })
        }
        TelegramUpdate::Deleted { peer: Some(peer), ids } => Some(AccountUpdate::Delete { peer, ids }),
        // Private-chat and group deletes do not name their dialog; they are
        // applied when the dialog's history is next synced.
        TelegramUpdate::Deleted { peer: None, .. } => None,
    }
}

/// Publishes the buffered updates as one envelope, retrying until the queue
/// takes them: the session's state is saved only after, so nothing is lost.
pub(crate) async fn publish(fleet: &Fleet, account: &Account, buffer: &mut Vec<AccountUpdate>) {
    if buffer.is_empty() {
        return;
    }
    let envelope = UpdateEnvelope {
        tenant: account.tenant.clone(),
        account_id: account.id.clone(),
        updates: std::mem::take(buffer),
    };
    let count = envelope.updates.len() as u64;
    let body = encode_batch(std::slice::from_ref(&envelope));
    let mut delay = Duration::from_millis(100);
    while let Err(e) = fleet.desk.queue.send_batch(UPDATES_QUEUE, vec![body.clone()]).await {
        tracing::warn!(account = %account.id, error = %e, "cannot publish updates; retrying");
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
    fleet.metrics.updates_published.fetch_add(count, Ordering::Relaxed);
}

/// Saves the session (key, peers, update state) encrypted.
async fn save(fleet: &Fleet, account: &Account, session: &dyn TelegramSession) {
    let sealed = match session.export().await {
        Ok(plain) => fleet.sealer.seal(&account.id, &plain),
        Err(e) => {
            tracing::warn!(account = %account.id, error = %e, "cannot export the session");
            return;
        }
    };
    if let Err(e) = fleet.desk.directory.set_account_session(&account.tenant, &account.id, Some(sealed)).await {
        tracing::warn!(account = %account.id, error = %e, "cannot save the session");
    }
}
