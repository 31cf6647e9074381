//! The commands consumer: carries out sends for accounts running on this
//! node. A command for an account running elsewhere (or starting) is put back
//! for a moment; FLOOD_WAIT puts it back for the time Telegram asks; a send
//! that cannot succeed is recorded as failed with its reason.

use crate::runner::publish;
use crate::Fleet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tgdesk_core::domain::{AccountStatus, FileRef, SendStatus, TenantId};
use tgdesk_core::ports::{Delivery, OutgoingFile, OutgoingMessage, TelegramError, TelegramSession};
use tgdesk_core::usecases::{AccountUpdate, FleetCommand, SendOutcome, COMMANDS_QUEUE};
use tokio::sync::watch;

/// How long a command stays invisible while it is carried out.
const VISIBILITY: Duration = Duration::from_secs(120);
/// Deliveries of a send whose account is not running anywhere before it fails.
const MAX_WAITS: u32 = 60;

/// Consumes the commands queue until `shutdown` turns true.
pub(crate) async fn consume(fleet: Arc<Fleet>, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        let received = tokio::select! {
            r = fleet.desk.queue.receive(COMMANDS_QUEUE, 32, Duration::from_secs(1), VISIBILITY) => r,
            _ = shutdown.changed() => break,
        };
        let deliveries = match received {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "commands queue unavailable; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut handling = tokio::task::JoinSet::new();
        for delivery in deliveries {
            handling.spawn(handle(fleet.clone(), delivery));
        }
        while handling.join_next().await.is_some() {}
    }
}

/// What to do with a delivery once handled.
enum Settle {
    Ack,
    Retry(Duration),
    Poison(String),
}

async fn handle(fleet: Arc<Fleet>, delivery: Delivery) {
    let settle = match serde_json::from_slice::<FleetCommand>(&delivery.body) {
        Err(e) => Settle::Poison(format!("not a command: {e}")),
        Ok(command) => execute(&fleet, command, delivery.attempts).await,
    };
    let queue = &fleet.desk.queue;
    let result = match settle {
        Settle::Ack => queue.ack(COMMANDS_QUEUE, std::slice::from_ref(&delivery.receipt)).await,
        Settle::Retry(delay) => queue.nack(COMMANDS_QUEUE, &delivery.receipt, delay).await,
        Settle::Poison(reason) => queue.dead_letter(COMMANDS_QUEUE, &delivery, &reason).await,
    };
    if let Err(e) = result {
        // The delivery comes back after its visibility timeout; sends are recorded idempotently.
        tracing::warn!(error = %e, "cannot settle a command");
    }
}

async fn execute(fleet: &Fleet, command: FleetCommand, attempts: u32) -> Settle {
    let FleetCommand::Send { tenant, account_id, send_id, peer, text, reply_to, files } = command;
    let desk = &fleet.desk;
    match desk.sends.get_send(&tenant, &send_id).await {
        Ok(Some(send)) if send.status != SendStatus::Queued => return Settle::Ack,
        Ok(Some(_)) => {}
        Ok(None) => return Settle::Poison(format!("send {send_id} is not recorded")),
        Err(e) => return Settle::Retry(backoff(attempts, &e.to_string())),
    }
    let Some(session) = fleet.session(&tenant, &account_id) else {
        let account = match desk.directory.get_account(&tenant, &account_id).await {
            Ok(a) => a,
            Err(e) => return Settle::Retry(backoff(attempts, &e.to_string())),
        };
        let offline = match &account {
            None => Some("the account no longer exists".to_owned()),
            Some(a) if a.session.is_none() || matches!(a.status, AccountStatus::LoggedOut | AccountStatus::Banned) => {
                Some(format!("the account is {}; log it in first", a.status.as_str()))
            }
            Some(_) if attempts >= MAX_WAITS => Some("the account's session did not come online".to_owned()),
            Some(_) => None,
        };
        return match offline {
            Some(reason) => fail(fleet, &tenant, &send_id, reason).await,
            // Running on another node, or starting here: try again shortly.
            None => Settle::Retry(Duration::from_secs(1)),
        };
    };
    let outgoing = match outgoing(fleet, &tenant, peer, text, reply_to, &files).await {
        Ok(m) => m,
        Err(reason) => return fail(fleet, &tenant, &send_id, reason).await,
    };
    match send_all(session.as_ref(), outgoing).await {
        Ok(sent) => {
            let first_id = sent.first().map(|m| m.id);
            let account = desk.directory.get_account(&tenant, &account_id).await.ok().flatten();
            if let Some(account) = account {
                let mut updates: Vec<AccountUpdate> =
                    sent.into_iter().map(|message| AccountUpdate::Message { message }).collect();
                publish(fleet, &account, &mut updates).await;
            }
            fleet.metrics.sends_ok.fetch_add(1, Ordering::Relaxed);
            let outcome = SendOutcome::Sent { message_id: first_id.unwrap_or_default() };
            match desk.record_send_outcome(&tenant, &send_id, outcome).await {
                Ok(()) => Settle::Ack,
                Err(e) => {
                    // Telegram has it; recording will be retried, and the sent check above stops a resend.
                    tracing::warn!(error = %e, "cannot record a successful send");
                    Settle::Ack
                }
            }
        }
        Err(TelegramError::FloodWait(wait)) => {
            fleet.metrics.flood_waits.fetch_add(1, Ordering::Relaxed);
            Settle::Retry(wait)
        }
        Err(e) if e.is_retryable() && attempts < 10 => Settle::Retry(backoff(attempts, &e.to_string())),
        Err(e) => fail(fleet, &tenant, &send_id, e.to_string()).await,
    }
}

/// Builds the messages to send: the first carries the text and the first file,
/// each further file goes in a message of its own.
async fn outgoing(
    fleet: &Fleet,
    tenant: &TenantId,
    peer: i64,
    text: String,
    reply_to: Option<i64>,
    files: &[FileRef],
) -> Result<Vec<OutgoingMessage>, String> {
    let mut messages = Vec::with_capacity(files.len().max(1));
    if files.is_empty() {
        messages.push(OutgoingMessage { peer, text, reply_to, file: None });
        return Ok(messages);
    }
    for (i, file) in files.iter().enumerate() {
        let key = format!("{tenant}/files/{}", file.id);
        let (bytes, _) =
            fleet.desk.blobs.get(&key).await.map_err(|e| format!("file {} is unreadable: {e}", file.id))?;
        let kind = if file.content_type.starts_with("image/") { "photo" } else { "document" };
        let upload =
            OutgoingFile { kind: kind.into(), name: file.name.clone(), mime: Some(file.content_type.clone()), bytes };
        let caption = if i == 0 { text.clone() } else { String::new() };
        messages.push(OutgoingMessage {
            peer,
            text: caption,
            reply_to: reply_to.filter(|_| i == 0),
            file: Some(upload),
        });
    }
    Ok(messages)
}

async fn send_all(
    session: &dyn TelegramSession,
    messages: Vec<OutgoingMessage>,
) -> Result<Vec<tgdesk_core::domain::Message>, TelegramError> {
    let mut sent = Vec::with_capacity(messages.len());
    for message in messages {
        sent.push(session.send(message).await?);
    }
    Ok(sent)
}

async fn fail(fleet: &Fleet, tenant: &TenantId, send: &tgdesk_core::domain::SendId, reason: String) -> Settle {
    fleet.metrics.sends_failed.fetch_add(1, Ordering::Relaxed);
    match fleet.desk.record_send_outcome(tenant, send, SendOutcome::Failed { reason }).await {
        Ok(()) => Settle::Ack,
        Err(e) => Settle::Retry(backoff(1, &e.to_string())),
    }
}

fn backoff(attempts: u32, why: &str) -> Duration {
    tracing::debug!(attempts, why, "command put back");
    Duration::from_millis(250 * 2u64.pow(attempts.min(7)))
}
