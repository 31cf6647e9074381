//! One account's session on this node: connect, sync the profile, contacts,
//! dialogs and recent history, then turn updates into batched envelopes until
//! stopped, saving the session's state as it goes (the node renews the lease).

use crate::{Fleet, Running, Stop};
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tgdesk_core::domain::{Account, AccountId, AccountStatus, PeerProfile, TenantId};
use tgdesk_core::ports::{
    Lease, LoginStep, PortErrorKind, TelegramContact, TelegramError, TelegramSession, TelegramUpdate,
};
use tgdesk_core::usecases::{AccountUpdate, UpdateEnvelope};
use tokio::sync::watch;

/// Runs the session of `account` under `lease` until stopped or failed;
/// `connected` is a session a finished login hands over.
pub(crate) async fn run(
    fleet: Arc<Fleet>,
    account: Account,
    lease: Lease,
    connected: Option<Arc<dyn TelegramSession>>,
) {
    let key = (account.tenant.clone(), account.id.clone());
    let outcome = serve(&fleet, &account, &lease, connected).await;
    let lost = matches!(outcome, Ok(Ended::LeaseLost));
    match outcome {
        Ok(Ended::Stopped) => report(&fleet, &account, AccountStatus::Offline).await,
        Ok(Ended::LoggedOut) => forget_session(&fleet, &account, &lease).await,
        Ok(Ended::LeaseLost) => {}
        Err(TelegramError::Unauthorized) => report(&fleet, &account, AccountStatus::LoggedOut).await,
        Err(TelegramError::Banned) => report(&fleet, &account, AccountStatus::Banned).await,
        Err(e) => {
            tracing::warn!(account = %account.id, error = %e, "session ended; retried at the next scan");
            report(&fleet, &account, AccountStatus::Offline).await;
        }
    }
    // Only now may the scan (or a logout waiting for this session to end) see the account as not running.
    fleet.lock().remove(&key);
    fleet.runners().remove(&key);
    if !lost {
        if let Err(e) = fleet.leases.release(&lease).await {
            tracing::warn!(account = %account.id, error = %e, "cannot release the lease; it expires by itself");
        }
    }
}

/// Forgets a logged-out account's session (its key is dead) and records the
/// status, under `lease` (refused once another node took the account over).
pub(crate) async fn forget_session(fleet: &Fleet, account: &Account, lease: &Lease) {
    let directory = &fleet.desk.ports().directory;
    if let Err(e) = directory.set_account_session(&account.tenant, &account.id, None, Some(lease.fencing)).await {
        tracing::warn!(account = %account.id, error = %e, "cannot forget the logged-out session");
    }
    report(fleet, account, AccountStatus::LoggedOut).await;
}

enum Ended {
    Stopped,
    LoggedOut,
    LeaseLost,
}

pub(crate) async fn report(fleet: &Fleet, account: &Account, status: AccountStatus) {
    if let Err(e) = fleet.desk.report_account_status(&account.tenant, &account.id, status).await {
        tracing::warn!(account = %account.id, error = %e, "cannot record the account status");
    }
}

async fn serve(
    fleet: &Arc<Fleet>,
    account: &Account,
    lease: &Lease,
    connected: Option<Arc<dyn TelegramSession>>,
) -> Result<Ended, TelegramError> {
    let session = match connected {
        Some(session) => session,
        None => {
            report(fleet, account, AccountStatus::Connecting).await;
            fleet.metrics.sessions_connecting.fetch_add(1, Ordering::Relaxed);
            let connected = connect(fleet, account).await;
            fleet.metrics.sessions_connecting.fetch_sub(1, Ordering::Relaxed);
            connected?
        }
    };
    if session.login_step() != LoginStep::Online {
        // An imported key that is not logged in: the agent logs it in from the desk.
        session.disconnect().await;
        return Err(TelegramError::Unauthorized);
    }
    let (stop, mut stopped) = watch::channel(None);
    let key = (account.tenant.clone(), account.id.clone());
    fleet.lock().insert(key.clone(), Running { session: session.clone(), stop, lease: lease.clone() });
    crate::login::handed_over(fleet, &key);
    fleet.metrics.sessions_online.fetch_add(1, Ordering::Relaxed);
    report(fleet, account, AccountStatus::Online).await;
    let mut saved = Saved { fingerprint: None, fencing: lease.fencing };
    let result = match pump_updates(fleet, account, &session, &mut stopped, &mut saved).await {
        // The key was logged in, so Telegram refusing it now means it was
        // revoked: logged out here (the connection can die of it before the
        // stop arrives) or from another device. It is dead either way.
        Err(TelegramError::Unauthorized) => Ok(Ended::LoggedOut),
        other => other,
    };
    fleet.metrics.sessions_online.fetch_sub(1, Ordering::Relaxed);
    // A lost lease's account is another node's now, and a logged-out or
    // banned key is dead: neither is saved.
    if !matches!(result, Ok(Ended::LeaseLost | Ended::LoggedOut) | Err(TelegramError::Banned)) {
        saved.save(fleet, account, session.as_ref()).await;
    }
    session.disconnect().await;
    result
}

/// Opens the account's stored session (not yet registered as running).
pub(crate) async fn connect(fleet: &Fleet, account: &Account) -> Result<Arc<dyn TelegramSession>, TelegramError> {
    let sealed = account.session.as_deref().unwrap_or_default();
    let plain = fleet.sealer.open(&account.id, sealed).await.map_err(|e| match e.kind {
        PortErrorKind::Invalid => TelegramError::InvalidSession(format!("cannot decrypt the stored session: {e}")),
        // The key service is away: the next scan tries again.
        _ => TelegramError::Transport(format!("cannot open the stored session now: {e}")),
    })?;
    Ok(Arc::from(fleet.connector.connect(&account.id, &plain).await?))
}

async fn pump_updates(
    fleet: &Arc<Fleet>,
    account: &Account,
    session: &Arc<dyn TelegramSession>,
    stopped: &mut watch::Receiver<Option<Stop>>,
    saved: &mut Saved,
) -> Result<Ended, TelegramError> {
    let config = &fleet.config;
    let mut buffer = sync(fleet, account, session.as_ref()).await?;
    // A session stored without its update state cannot catch up on what
    // arrives while its node is down, so the first save comes at once rather
    // than save_every later, and again with the first update, by which time
    // the update stream surely holds its state.
    hand_over(fleet, &account.tenant, &account.id, &mut buffer).await;
    saved.save(fleet, account, session.as_ref()).await;
    let mut saved_with_state = false;
    // A flush is due only while something waits: an idle session never wakes
    // for it (thousands of sessions per node each on a timer would keep the
    // node busy doing nothing).
    let mut flush_at: Option<tokio::time::Instant> = None;
    let first_save = tokio::time::Instant::now() + phase(&account.id, config.save_every);
    let mut saving = tokio::time::interval_at(first_save, config.save_every);
    loop {
        tokio::select! {
            // In this order: a stop, the periodic save, then every update that
            // is ready before the flush, so they all go in one envelope.
            biased;
            _ = stopped.changed() => {
                hand_over(fleet, &account.tenant, &account.id, &mut buffer).await;
                let why = *stopped.borrow();
                return Ok(match why {
                    Some(Stop::LoggedOut) => Ended::LoggedOut,
                    Some(Stop::LeaseLost) => Ended::LeaseLost,
                    Some(Stop::Shutdown | Stop::LeaseLapsing) | None => Ended::Stopped,
                });
            }
            _ = saving.tick() => {
                hand_over(fleet, &account.tenant, &account.id, &mut buffer).await;
                if buffer.is_empty() {
                    saved.save(fleet, account, session.as_ref()).await;
                }
            }
            update = session.next_update() => match update {
                Ok(update) => {
                    buffer.extend(convert(&account.id, update));
                    if flush_at.is_none() && !buffer.is_empty() {
                        flush_at = Some(tokio::time::Instant::now() + config.batch_window);
                    }
                    if !saved_with_state {
                        hand_over(fleet, &account.tenant, &account.id, &mut buffer).await;
                        saved.save(fleet, account, session.as_ref()).await;
                        saved_with_state = true;
                    }
                }
                Err(e) if e.is_retryable() => {
                    tracing::debug!(account = %account.id, error = %e, "update stream hiccup");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => {
                    hand_over(fleet, &account.tenant, &account.id, &mut buffer).await;
                    return Err(e);
                }
            },
            () = until(flush_at), if flush_at.is_some() => {
                hand_over(fleet, &account.tenant, &account.id, &mut buffer).await;
            }
        }
        if buffer.len() >= config.batch_max {
            hand_over(fleet, &account.tenant, &account.id, &mut buffer).await;
        }
        if buffer.is_empty() {
            flush_at = None;
        }
    }
}

/// Completes at `at`: at once, without a timer, when it has passed (a zero
/// batch window) or is `None`.
async fn until(at: Option<tokio::time::Instant>) {
    if let Some(at) = at.filter(|at| *at > tokio::time::Instant::now()) {
        tokio::time::sleep_until(at).await;
    }
}

/// Returns when, within `period`, this account's periodic work first runs
/// (a tenth to all of a period, by a hash of its id). A node starts thousands
/// of sessions at once; on one shared phase they saved sessions in bursts of
/// thousands of writes that stalled ingest every period.
fn phase(account: &AccountId, period: Duration) -> Duration {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    account.hash(&mut hasher);
    period.mul_f64(0.1 + 0.9 * (hasher.finish() % 1024) as f64 / 1024.0)
}

/// Returns the account's own profile, its contacts, its dialogs and their
/// recent messages as updates (when a session comes online, and on demand).
pub(crate) async fn sync(
    fleet: &Fleet,
    account: &Account,
    session: &dyn TelegramSession,
) -> Result<Vec<AccountUpdate>, TelegramError> {
    let now = Utc::now();
    let me = session.profile().await?;
    let mut profiles = vec![PeerProfile {
        account_id: account.id.clone(),
        peer: me.user_id,
        first_name: me.first_name,
        last_name: me.last_name,
        username: me.username,
        phone: me.phone,
        is_contact: false,
        is_self: true,
        photo_id: me.photo_id,
        synced_at: now,
    }];
    let contacts = session.contacts().await?;
    let list = session.dialogs(fleet.config.dialogs_on_connect).await?;
    let known: HashSet<i64> = contacts.iter().map(|c| c.user_id).collect();
    let customers = list.users.into_iter().filter(|u| !u.is_self && !known.contains(&u.user_id));
    profiles.extend(contacts.into_iter().chain(customers).map(|c| profile_of(&account.id, c, now)));
    let mut updates = vec![AccountUpdate::Profiles { profiles }];
    for dialog in list.dialogs {
        let peer = dialog.peer;
        updates.push(AccountUpdate::Dialog { dialog });
        for message in session.history(peer, None, fleet.config.history_on_connect).await? {
            updates.push(AccountUpdate::Message { message });
        }
    }
    Ok(updates)
}

/// Returns a user as the account sees them, synced `at`.
fn profile_of(account: &AccountId, user: TelegramContact, at: DateTime<Utc>) -> PeerProfile {
    PeerProfile {
        account_id: account.clone(),
        peer: user.user_id,
        first_name: user.first_name,
        last_name: user.last_name,
        username: user.username,
        phone: user.phone,
        is_contact: user.is_contact,
        is_self: user.is_self,
        photo_id: user.photo_id,
        synced_at: at,
    }
}

/// Maps a Telegram update to what ingest understands.
fn convert(account: &AccountId, update: TelegramUpdate) -> Option<AccountUpdate> {
    match update {
        TelegramUpdate::Users(users) => {
            let now = Utc::now();
            Some(AccountUpdate::Profiles { profiles: users.into_iter().map(|u| profile_of(account, u, now)).collect() })
        }
        TelegramUpdate::NewMessage(message) => Some(AccountUpdate::Message { message }),
        TelegramUpdate::Edited(m) => {
            Some(AccountUpdate::Edit { peer: m.peer, id: m.id, text: m.text, edited_at: m.edited_at.unwrap_or(m.date) })
        }
        TelegramUpdate::Deleted { peer: Some(peer), ids } => Some(AccountUpdate::Delete { peer, ids }),
        // Private-chat and group deletes do not name their dialog; their ids are unique per account.
        TelegramUpdate::Deleted { peer: None, ids } => Some(AccountUpdate::DeleteUnplaced { ids }),
    }
}

/// Publishes the buffered updates as one envelope through the node's
/// publisher, returning once they are on the queue.
pub(crate) async fn publish(fleet: &Fleet, tenant: &TenantId, account: &AccountId, buffer: &mut Vec<AccountUpdate>) {
    if let Some(envelope) = envelope_of(tenant, account, buffer) {
        fleet.publisher.publish(envelope).await;
    }
}

/// Hands the buffered updates to the node's publisher as one envelope,
/// without waiting for the queue: the session goes on with its next update,
/// and [`Saved::save`] waits for the queue before it saves, so a saved state
/// never runs ahead of what is on the queue.
async fn hand_over(fleet: &Fleet, tenant: &TenantId, account: &AccountId, buffer: &mut Vec<AccountUpdate>) {
    if let Some(envelope) = envelope_of(tenant, account, buffer) {
        fleet.publisher.hand_over(envelope).await;
    }
}

/// Takes the buffered updates as one envelope, its records cut to their
/// bounds so it fits the queue; none when the buffer is empty.
fn envelope_of(tenant: &TenantId, account: &AccountId, buffer: &mut Vec<AccountUpdate>) -> Option<UpdateEnvelope> {
    if buffer.is_empty() {
        return None;
    }
    let mut envelope =
        UpdateEnvelope { tenant: tenant.clone(), account_id: account.clone(), updates: std::mem::take(buffer) };
    let cut = envelope.fit();
    if cut > 0 {
        tracing::warn!(%account, records = cut, "records from Telegram over their bounds were cut to fit");
    }
    Some(envelope)
}

/// What a session last saved (its key, peers and update state, sealed), so
/// an unchanged session (an idle account's, every `save_every`) costs an
/// export and a hash, not a sealed write.
struct Saved {
    /// Hash of the exported bytes last written.
    fingerprint: Option<u64>,
    /// The fencing number of the lease the session runs under: the store
    /// refuses its saves once another node took the account over.
    fencing: u64,
}

impl Saved {
    /// Saves the session's state unless it is what was saved last, once
    /// every update the session handed over (all the state covers) is on the queue.
    async fn save(&mut self, fleet: &Fleet, account: &Account, session: &dyn TelegramSession) {
        let plain = match session.export().await {
            Ok(plain) => plain,
            Err(e) => {
                tracing::warn!(account = %account.id, error = %e, "cannot export the session");
                return;
            }
        };
        let fingerprint = fingerprint(&plain);
        if self.fingerprint == Some(fingerprint) {
            return;
        }
        if !fleet.publisher.flushed().await || fleet.publisher.lost_updates() {
            tracing::warn!(account = %account.id, "session state not saved: updates did not reach the queue");
            return;
        }
        let sealed = match fleet.sealer.seal(&account.id, &plain).await {
            Ok(sealed) => sealed,
            Err(e) => {
                tracing::warn!(account = %account.id, error = %e, "cannot seal the session; the next save tries again");
                return;
            }
        };
        // The saver logs a failure; the next save tries again.
        if fleet.saver.save(&account.tenant, &account.id, sealed, self.fencing).await {
            self.fingerprint = Some(fingerprint);
        }
    }
}

fn fingerprint(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_started_together_spread_their_periodic_work_over_the_period() {
        let period = Duration::from_secs(30);
        let phases: Vec<Duration> = (0..1000).map(|_| phase(&AccountId::generate(), period)).collect();
        assert!(phases.iter().all(|p| *p >= period / 10 && *p < period), "within the period, never at once");
        let mut per_second = [0u32; 30];
        for p in &phases {
            per_second[p.as_secs() as usize] += 1;
        }
        let busiest = per_second.iter().max().copied().unwrap_or_default();
        assert!(busiest < 100, "no second takes a tenth of the sessions: {per_second:?}");
        let id = AccountId::generate();
        assert_eq!(phase(&id, period), phase(&id, period), "an account keeps its phase");
    }
}
