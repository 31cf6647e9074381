//! The commands consumer: carries out sends, login steps, logouts, edits,
//! deletes, read marks, media downloads and syncs for accounts running on
//! this node. It reads this node's own queue (commands the desk routed here
//! by the account's lease) and the shared one. A command for an account
//! another node holds is passed to that node's queue; one for an account no
//! node holds, read from this node's queue, goes to the shared queue; one
//! for an account starting here is put back for a moment. FLOOD_WAIT puts a send back for the time Telegram asks;
//! a send that cannot succeed is recorded as failed with its reason; commands
//! a caller waits on are answered through the replies port.

use crate::login::{self, Answer};
use crate::runner::{self, publish};
use crate::Fleet;
use chrono::Utc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tgdesk_core::domain::{plan_messages, AccountId, FileRef, RequestId, SendId, TenantId};
use tgdesk_core::ports::{
    BlobStore, Delivery, OutgoingFile, OutgoingMessage, PortError, TelegramDownload, TelegramError, TelegramSession,
};
use tgdesk_core::usecases::{
    media_key, node_commands_queue, photo_key, AccountUpdate, Call, CommandFailure, CommandReply, FleetCommand,
    SendOutcome, COMMANDS_QUEUE,
};
use tokio::sync::watch;

/// Deliveries of a send whose account is not running anywhere before it fails.
const MAX_WAITS: u32 = 60;
/// Deliveries of a command someone waits on before it fails (within their timeout).
const MAX_REQUEST_WAITS: u32 = 25;

/// Commands carried out at once on a node; a slow one (a file download, a
/// login waiting on Telegram) never holds up the others.
const IN_FLIGHT: usize = 256;

/// Consumes commands queue `queue` until `shutdown` turns true, then lets
/// the commands in hand finish.
pub(crate) async fn consume(fleet: Arc<Fleet>, queue: String, shutdown: watch::Receiver<bool>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut handling = tokio::task::JoinSet::new();
    while !*shutdown.borrow() {
        while handling.try_join_next().is_some() {}
        let free = slots.available_permits().clamp(1, 32);
        // Not raced against the shutdown: a receive dropped midway may have
        // claimed commands already, which would then wait out their
        // visibility on a queue this node no longer reads. It waits a second
        // at most, so stopping waits at most that.
        let visibility = fleet.config.command_visibility;
        let received = fleet.desk.ports().queue.receive(&queue, free, Duration::from_secs(1), visibility).await;
        let deliveries = match received {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "commands queue unavailable; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        for delivery in deliveries {
            let Ok(slot) = slots.clone().acquire_owned().await else { break };
            let (fleet, queue) = (fleet.clone(), queue.clone());
            handling.spawn(async move {
                handle(fleet, &queue, delivery).await;
                drop(slot);
            });
        }
    }
    while handling.join_next().await.is_some() {}
}

/// What to do with a delivery once handled.
enum Settle {
    Ack,
    Retry(Duration),
    Poison(String),
}

async fn handle(fleet: Arc<Fleet>, from: &str, delivery: Delivery) {
    let settle = match serde_json::from_slice::<FleetCommand>(&delivery.body) {
        Err(e) => Settle::Poison(format!("not a command: {e}")),
        Ok(command) => match elsewhere(&fleet, &command, from).await {
            Some(to) => pass_on(&fleet, &to, &delivery).await,
            None => execute(&fleet, command, delivery.attempts).await,
        },
    };
    let queue = &fleet.desk.ports().queue;
    let result = match settle {
        Settle::Ack => queue.ack(from, std::slice::from_ref(&delivery.receipt)).await,
        Settle::Retry(delay) => queue.nack(from, &delivery.receipt, delay).await,
        Settle::Poison(reason) => queue.dead_letter(from, &delivery, &reason).await,
    };
    if let Err(e) = result {
        // The delivery comes back after its visibility timeout; sends are recorded idempotently.
        tracing::warn!(error = %e, "cannot settle a command");
    }
}

/// The queue a command read from `from` belongs on instead, if any: the
/// node holding its account, or the shared queue when no node holds it and
/// it came to this node's own queue. `None`: it is this node's to carry out
/// (its account runs or logs in here, or starts here, or no node holds it).
async fn elsewhere(fleet: &Fleet, command: &FleetCommand, from: &str) -> Option<String> {
    let (tenant, account) = command.account();
    let key = (tenant.clone(), account.clone());
    if fleet.session(tenant, account).is_some() || crate::login::pending(fleet, &key) {
        return None;
    }
    match fleet.leases.holder(tenant, account).await {
        Ok(Some(lease)) if lease.node != fleet.config.node_id => Some(node_commands_queue(&lease.node)),
        Ok(Some(_)) => None,
        Ok(None) if from != COMMANDS_QUEUE => Some(COMMANDS_QUEUE.to_owned()),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(%account, error = %e, "cannot read the account's lease; handling the command here");
            None
        }
    }
}

/// Moves a delivery to queue `to` (acked here once it is there).
async fn pass_on(fleet: &Fleet, to: &str, delivery: &Delivery) -> Settle {
    match fleet.desk.ports().queue.send_batch(to, vec![delivery.body.clone()]).await {
        Ok(()) => {
            fleet.metrics.commands_passed_on.fetch_add(1, Ordering::Relaxed);
            Settle::Ack
        }
        Err(e) => {
            tracing::warn!(queue = to, error = %e, "cannot pass a command on; put back");
            Settle::Retry(Duration::from_secs(1))
        }
    }
}

/// Moves every command waiting in `queue` to the shared queue, where the
/// nodes pass each to its account's holder: this node's own queue as it
/// stops, a dead node's when its accounts were taken over. Returns how many.
pub(crate) async fn drain(fleet: &Fleet, queue: &str) -> Result<usize, PortError> {
    let mut moved = 0;
    loop {
        // Waiting a moment: an immediate receive (SQS short polling) may
        // answer nothing from a small queue that is not empty.
        let batch = fleet
            .desk
            .ports()
            .queue
            .receive(queue, 10, Duration::from_secs(1), fleet.config.command_visibility)
            .await?;
        if batch.is_empty() {
            return Ok(moved);
        }
        let bodies = batch.iter().map(|d| d.body.clone()).collect();
        fleet.desk.ports().queue.send_batch(COMMANDS_QUEUE, bodies).await?;
        let receipts: Vec<String> = batch.iter().map(|d| d.receipt.clone()).collect();
        fleet.desk.ports().queue.ack(queue, &receipts).await?;
        moved += batch.len();
    }
}

async fn execute(fleet: &Arc<Fleet>, command: FleetCommand, attempts: u32) -> Settle {
    if command.expired(Utc::now()) {
        let (_, account) = command.account();
        tracing::info!(%account, request = ?command.call().map(|c| &c.request_id), "command dropped: its caller stopped waiting");
        return Settle::Ack;
    }
    match command {
        FleetCommand::Send { tenant, account_id, send_id, peer, text, reply_to, files } => {
            let message = Draft { peer, text, reply_to, files };
            send(fleet, &tenant, &account_id, &send_id, message, attempts).await
        }
        FleetCommand::Login { call: Call { tenant, account_id, request_id, .. }, input } => {
            let answer = login::step(fleet, &tenant, &account_id, input).await;
            answered(fleet, &tenant, &request_id, answer, attempts).await
        }
        FleetCommand::Logout { call: Call { tenant, account_id, request_id, .. } } => {
            let answer = login::logout(fleet, &tenant, &account_id).await;
            answered(fleet, &tenant, &request_id, answer, attempts).await
        }
        FleetCommand::Edit { call: Call { tenant, account_id, request_id, .. }, peer, id, text } => {
            let session = match request_session(fleet, &tenant, &account_id, &request_id, attempts).await {
                Ok(session) => session,
                Err(settle) => return settle,
            };
            let edited_at = Utc::now();
            match session.edit(peer, id, &text).await {
                Ok(()) => {
                    let mut updates = vec![AccountUpdate::Edit { peer, id, text, edited_at }];
                    publish(fleet, &tenant, &account_id, &mut updates).await;
                    done(fleet, &tenant, &request_id, serde_json::json!({"edited_at": edited_at})).await
                }
                Err(e) => telegram_failed(fleet, &tenant, &request_id, e, attempts).await,
            }
        }
        FleetCommand::Delete { call: Call { tenant, account_id, request_id, .. }, peer, ids } => {
            let session = match request_session(fleet, &tenant, &account_id, &request_id, attempts).await {
                Ok(session) => session,
                Err(settle) => return settle,
            };
            match session.delete(peer, &ids).await {
                Ok(()) => {
                    let mut updates = vec![AccountUpdate::Delete { peer, ids }];
                    publish(fleet, &tenant, &account_id, &mut updates).await;
                    done(fleet, &tenant, &request_id, serde_json::Value::Null).await
                }
                Err(e) => telegram_failed(fleet, &tenant, &request_id, e, attempts).await,
            }
        }
        FleetCommand::FetchMedia { call: Call { tenant, account_id, request_id, .. }, peer, message_id } => {
            let session = match request_session(fleet, &tenant, &account_id, &request_id, attempts).await {
                Ok(session) => session,
                Err(settle) => return settle,
            };
            let fetched = fetch_media(fleet, session.as_ref(), &tenant, &account_id, peer, message_id).await;
            fetch_settled(fleet, &tenant, &request_id, fetched, attempts).await
        }
        FleetCommand::FetchPhoto { call: Call { tenant, account_id, request_id, .. }, peer, photo_id } => {
            let session = match request_session(fleet, &tenant, &account_id, &request_id, attempts).await {
                Ok(session) => session,
                Err(settle) => return settle,
            };
            let fetched = fetch_photo(fleet, session.as_ref(), &tenant, &account_id, peer, photo_id).await;
            fetch_settled(fleet, &tenant, &request_id, fetched, attempts).await
        }
        FleetCommand::MarkRead { tenant, account_id, peer } => {
            let session = match find_session(fleet, &tenant, &account_id, attempts, MAX_WAITS).await {
                Found::Here(session) => session,
                Found::Wait => return Settle::Retry(Duration::from_secs(1)),
                Found::Gone(why) => {
                    tracing::info!(account = %account_id, peer, why, "read mark not synced to Telegram");
                    return Settle::Ack;
                }
            };
            match session.mark_read(peer).await {
                Ok(()) => Settle::Ack,
                Err(e) if e.is_retryable() && attempts < 5 => Settle::Retry(backoff(attempts, &e.to_string())),
                Err(e) => {
                    tracing::warn!(account = %account_id, peer, error = %e, "read mark not synced to Telegram");
                    Settle::Ack
                }
            }
        }
        FleetCommand::SyncHistory { tenant, account_id, peer, before, limit } => {
            let session = match find_session(fleet, &tenant, &account_id, attempts, MAX_WAITS).await {
                Found::Here(session) => session,
                Found::Wait => return Settle::Retry(Duration::from_secs(1)),
                Found::Gone(why) => {
                    tracing::info!(account = %account_id, peer, why, "history sync skipped");
                    return Settle::Ack;
                }
            };
            match backfill(fleet, session.as_ref(), &tenant, &account_id, peer, before, limit).await {
                Ok(()) => Settle::Ack,
                Err(e) if e.is_retryable() && attempts < 5 => Settle::Retry(backoff(attempts, &e.to_string())),
                Err(e) => {
                    tracing::warn!(account = %account_id, peer, error = %e, "history sync failed");
                    Settle::Ack
                }
            }
        }
        FleetCommand::Sync { tenant, account_id } => {
            let session = match find_session(fleet, &tenant, &account_id, attempts, MAX_WAITS).await {
                Found::Here(session) => session,
                Found::Wait => return Settle::Retry(Duration::from_secs(1)),
                Found::Gone(why) => {
                    tracing::info!(account = %account_id, why, "sync skipped");
                    return Settle::Ack;
                }
            };
            let account = match fleet.desk.ports().directory.get_account(&tenant, &account_id).await {
                Ok(Some(account)) => account,
                Ok(None) => return Settle::Ack,
                Err(e) => return Settle::Retry(backoff(attempts, &e.to_string())),
            };
            match runner::sync(fleet, &account, session.as_ref()).await {
                Ok(mut updates) => {
                    publish(fleet, &tenant, &account_id, &mut updates).await;
                    Settle::Ack
                }
                Err(e) if e.is_retryable() && attempts < 5 => Settle::Retry(backoff(attempts, &e.to_string())),
                Err(e) => {
                    tracing::warn!(account = %account_id, error = %e, "sync failed");
                    Settle::Ack
                }
            }
        }
    }
}

/// A message to send, as the command carries it.
struct Draft {
    peer: i64,
    text: String,
    reply_to: Option<i64>,
    files: Vec<FileRef>,
}

async fn send(
    fleet: &Fleet,
    tenant: &TenantId,
    account_id: &AccountId,
    send_id: &SendId,
    draft: Draft,
    attempts: u32,
) -> Settle {
    let desk = &fleet.desk;
    match desk.ports().sends.get_send(tenant, send_id).await {
        Ok(Some(send)) if !send.is_due() => return Settle::Ack,
        Ok(Some(_)) => {}
        Ok(None) => return Settle::Poison(format!("send {send_id} is not recorded")),
        Err(e) => return Settle::Retry(backoff(attempts, &e.to_string())),
    }
    let session = match find_session(fleet, tenant, account_id, attempts, MAX_WAITS).await {
        Found::Here(session) => session,
        Found::Wait => return Settle::Retry(Duration::from_secs(1)),
        Found::Gone(reason) => return fail(fleet, tenant, send_id, reason).await,
    };
    let outgoing = match outgoing(fleet, tenant, send_id, draft).await {
        Ok(m) => m,
        Err(reason) => return fail(fleet, tenant, send_id, reason).await,
    };
    match send_all(session.as_ref(), outgoing).await {
        Ok((sent, repeats)) => {
            if repeats > 0 {
                fleet.metrics.sends_repeated.fetch_add(repeats as u64, Ordering::Relaxed);
                tracing::info!(%send_id, repeats, "telegram already had messages of this send; not sent again");
            }
            // 0 when an earlier attempt sent the first message: Telegram does
            // not say which id it got (the message itself arrives as an update).
            let first_id = sent.first().filter(|_| repeats == 0).map(|m| m.id);
            let mut updates: Vec<AccountUpdate> =
                sent.into_iter().map(|message| AccountUpdate::Message { message }).collect();
            publish(fleet, tenant, account_id, &mut updates).await;
            fleet.metrics.sends_ok.fetch_add(1, Ordering::Relaxed);
            let outcome = SendOutcome::Sent { message_id: first_id.unwrap_or_default() };
            // Telegram has it: never send again. Recording is retried here, not by redelivery.
            let mut delay = Duration::from_millis(100);
            for _ in 0..5 {
                match desk.record_send_outcome(tenant, send_id, outcome.clone()).await {
                    Ok(()) => return Settle::Ack,
                    Err(e) => tracing::warn!(%send_id, error = %e, "cannot record a successful send; retrying"),
                }
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            tracing::error!(%send_id, "a sent message stays recorded as queued");
            Settle::Ack
        }
        Err(TelegramError::FloodWait(wait)) => {
            fleet.metrics.flood_waits.fetch_add(1, Ordering::Relaxed);
            Settle::Retry(wait)
        }
        Err(e) if e.is_retryable() && attempts < 10 => Settle::Retry(backoff(attempts, &e.to_string())),
        Err(e) => fail(fleet, tenant, send_id, e.to_string()).await,
    }
}

/// Where an account's session is, seen from this node.
enum Found {
    /// Running here.
    Here(Arc<dyn TelegramSession>),
    /// Running elsewhere or starting: put the command back for a moment.
    Wait,
    /// Not running anywhere and not about to: why, for the agent.
    Gone(String),
}

async fn find_session(fleet: &Fleet, tenant: &TenantId, id: &AccountId, attempts: u32, max_waits: u32) -> Found {
    if let Some(session) = fleet.session(tenant, id) {
        return Found::Here(session);
    }
    let account = match fleet.desk.ports().directory.get_account(tenant, id).await {
        Ok(a) => a,
        Err(e) if attempts < max_waits => {
            tracing::warn!(account = %id, error = %e, "cannot read the account; command put back");
            return Found::Wait;
        }
        Err(e) => return Found::Gone(format!("the account cannot be read: {e}")),
    };
    match &account {
        None => Found::Gone("the account no longer exists".to_owned()),
        Some(a) if !a.is_runnable() => Found::Gone(format!("the account is {}; log it in first", a.status.as_str())),
        Some(_) if attempts >= max_waits => Found::Gone("the account's session did not come online".to_owned()),
        Some(_) => Found::Wait,
    }
}

/// Returns the session for a command someone waits on, or how to settle the
/// command when it is not here (put back, or answered as impossible).
async fn request_session(
    fleet: &Fleet,
    tenant: &TenantId,
    account: &AccountId,
    request: &RequestId,
    attempts: u32,
) -> Result<Arc<dyn TelegramSession>, Settle> {
    match find_session(fleet, tenant, account, attempts, MAX_REQUEST_WAITS).await {
        Found::Here(session) => Ok(session),
        Found::Wait => Err(Settle::Retry(Duration::from_secs(1))),
        Found::Gone(message) => Err(refuse(fleet, tenant, request, message).await),
    }
}

/// Pages a dialog's history back from `before`, publishing each page, until
/// `limit` messages or the dialog's start. A retried command starts over;
/// ingest skips what it stored already.
async fn backfill(
    fleet: &Fleet,
    session: &dyn TelegramSession,
    tenant: &TenantId,
    account: &AccountId,
    peer: i64,
    mut before: Option<i64>,
    limit: u32,
) -> Result<(), TelegramError> {
    const PAGE: usize = 100;
    let mut left = limit as usize;
    while left > 0 {
        let page = session.history(peer, before, PAGE.min(left)).await?;
        let Some(oldest) = page.last().map(|m| m.id) else { break };
        let full = page.len() == PAGE.min(left);
        left -= page.len();
        before = Some(oldest);
        let mut updates: Vec<AccountUpdate> =
            page.into_iter().map(|message| AccountUpdate::Message { message }).collect();
        publish(fleet, tenant, account, &mut updates).await;
        if !full {
            break;
        }
    }
    tracing::info!(%account, peer, fetched = limit as usize - left, "history synced");
    Ok(())
}

/// Why a file could not be fetched.
enum Fetch {
    Telegram(TelegramError),
    Store(String),
}

/// Answers a download into the blob store: its size, or why it failed
/// (the store is retried a few times first).
async fn fetch_settled(
    fleet: &Fleet,
    tenant: &TenantId,
    request: &RequestId,
    fetched: Result<u64, Fetch>,
    attempts: u32,
) -> Settle {
    match fetched {
        Ok(size) => done(fleet, tenant, request, serde_json::json!({"size": size})).await,
        Err(Fetch::Telegram(e)) => telegram_failed(fleet, tenant, request, e, attempts).await,
        Err(Fetch::Store(e)) if attempts < 5 => Settle::Retry(backoff(attempts, &e)),
        Err(Fetch::Store(e)) => {
            let failure = CommandFailure::Unavailable { message: format!("cannot keep the file: {e}") };
            reply(fleet, tenant, request, CommandReply::Failed { failure }).await
        }
    }
}

/// Downloads a message's file into the blob store; returns its size.
async fn fetch_media(
    fleet: &Fleet,
    session: &dyn TelegramSession,
    tenant: &TenantId,
    account: &AccountId,
    peer: i64,
    message_id: i64,
) -> Result<u64, Fetch> {
    let desk = &fleet.desk;
    let message = desk
        .ports()
        .reader
        .get_message(tenant, account, peer, message_id)
        .await
        .map_err(|e| Fetch::Store(e.to_string()))?;
    let mime = message.and_then(|m| m.media).and_then(|m| m.mime).filter(|m| !m.is_empty());
    let download = session.download_media(peer, message_id).await.map_err(Fetch::Telegram)?;
    let content_type = mime.unwrap_or_else(|| "application/octet-stream".to_owned());
    let key = media_key(tenant, account, peer, message_id);
    keep(fleet.desk.ports().blobs.as_ref(), &key, &content_type, download).await
}

/// Downloads a user's profile photo into the blob store; returns its size.
async fn fetch_photo(
    fleet: &Fleet,
    session: &dyn TelegramSession,
    tenant: &TenantId,
    account: &AccountId,
    peer: i64,
    photo_id: i64,
) -> Result<u64, Fetch> {
    let download = session.download_profile_photo(peer, photo_id).await.map_err(Fetch::Telegram)?;
    let key = photo_key(tenant, account, peer, photo_id);
    // Telegram keeps profile photos as JPEG.
    keep(fleet.desk.ports().blobs.as_ref(), &key, "image/jpeg", download).await
}

/// Copies a download into a new blob piece by piece, so a file is never
/// whole in memory; a failed copy leaves no blob. Returns its size.
async fn keep(
    blobs: &dyn BlobStore,
    key: &str,
    content_type: &str,
    mut download: Box<dyn TelegramDownload>,
) -> Result<u64, Fetch> {
    let store = |e: PortError| Fetch::Store(e.to_string());
    let mut blob = blobs.create(key, content_type).await.map_err(store)?;
    while let Some(chunk) = download.next_chunk().await.map_err(Fetch::Telegram)? {
        blob.write(&chunk).await.map_err(store)?;
    }
    Ok(blob.finish().await.map_err(store)?.size)
}

/// Settles a login or logout according to its answer.
async fn answered(fleet: &Fleet, tenant: &TenantId, request: &RequestId, answer: Answer, attempts: u32) -> Settle {
    match answer {
        Answer::Status(status) => done(fleet, tenant, request, serde_json::json!({"status": status})).await,
        Answer::Failed(failure) => reply(fleet, tenant, request, CommandReply::Failed { failure }).await,
        Answer::Elsewhere if attempts < MAX_REQUEST_WAITS => Settle::Retry(Duration::from_millis(500)),
        Answer::Elsewhere => {
            let failure = CommandFailure::Unavailable { message: "the node running the account did not answer".into() };
            reply(fleet, tenant, request, CommandReply::Failed { failure }).await
        }
    }
}

/// Answers a Telegram failure: transport hiccups are retried a few times, the rest told to the caller.
async fn telegram_failed(
    fleet: &Fleet,
    tenant: &TenantId,
    request: &RequestId,
    e: TelegramError,
    attempts: u32,
) -> Settle {
    if matches!(e, TelegramError::Transport(_)) && attempts < 3 {
        return Settle::Retry(backoff(attempts, &e.to_string()));
    }
    if let TelegramError::FloodWait(_) = e {
        fleet.metrics.flood_waits.fetch_add(1, Ordering::Relaxed);
    }
    reply(fleet, tenant, request, CommandReply::Failed { failure: login::failure(&e) }).await
}

async fn done(fleet: &Fleet, tenant: &TenantId, request: &RequestId, data: serde_json::Value) -> Settle {
    reply(fleet, tenant, request, CommandReply::Done { data }).await
}

async fn refuse(fleet: &Fleet, tenant: &TenantId, request: &RequestId, message: String) -> Settle {
    reply(fleet, tenant, request, CommandReply::Failed { failure: CommandFailure::Conflict { message } }).await
}

/// Puts the reply for the waiting caller. The command is done whatever
/// happens here (doing it again could do it twice), so a reply that cannot
/// be stored after a few tries is logged and the caller times out.
async fn reply(fleet: &Fleet, tenant: &TenantId, request: &RequestId, reply: CommandReply) -> Settle {
    let body = reply.to_body();
    let mut delay = Duration::from_millis(50);
    for _ in 0..5 {
        match fleet.desk.ports().replies.put_reply(tenant, request, &body).await {
            Ok(()) => return Settle::Ack,
            Err(e) => {
                tracing::warn!(%request, error = %e, "cannot store a command reply; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
    }
    tracing::error!(%request, "command reply lost; its caller times out");
    Settle::Ack
}

/// Builds the messages to send as the send's plan lays them out
/// (`domain::plan_messages`), each file opened to stream from the blob store.
async fn outgoing(
    fleet: &Fleet,
    tenant: &TenantId,
    send: &SendId,
    draft: Draft,
) -> Result<Vec<OutgoingMessage>, String> {
    let Draft { peer, text, reply_to, files } = draft;
    let mut messages = Vec::with_capacity(files.len().max(1));
    for planned in plan_messages(send, &text, reply_to, &files) {
        let file = match planned.file {
            None => None,
            Some((file, kind)) => {
                let key = format!("{tenant}/files/{}", file.id);
                // Opened, not read: the bytes stream from the blob store as they are uploaded.
                let content = fleet
                    .desk
                    .ports()
                    .blobs
                    .open(&key)
                    .await
                    .map_err(|e| format!("file {} is unreadable: {e}", file.id))?;
                Some(OutgoingFile {
                    kind: kind.into(),
                    name: file.name.clone(),
                    mime: Some(file.content_type.clone()),
                    content,
                })
            }
        };
        let (text, reply_to, random_id) = (planned.text.to_owned(), planned.reply_to, planned.random_id);
        messages.push(OutgoingMessage { peer, text, reply_to, file, random_id });
    }
    Ok(messages)
}

/// Sends a send's messages in order; returns those sent now, and how many
/// an earlier attempt had sent (Telegram refused them as repeats: a node
/// killed before recording the send, or an answer lost on the way).
async fn send_all(
    session: &dyn TelegramSession,
    messages: Vec<OutgoingMessage>,
) -> Result<(Vec<tgdesk_core::domain::Message>, usize), TelegramError> {
    let (mut sent, mut repeats) = (Vec::with_capacity(messages.len()), 0);
    for message in messages {
        match session.send(message).await {
            Ok(message) => sent.push(message),
            // Telegram has it; the account's update stream brings it to the store.
            Err(TelegramError::AlreadySent) => repeats += 1,
            Err(e) => return Err(e),
        }
    }
    Ok((sent, repeats))
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
