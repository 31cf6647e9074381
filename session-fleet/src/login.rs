//! Account login and logout on this node. A login holds the account's lease
//! while it waits for the agent's code or password, so the steps of one
//! login all reach the node that holds its half-logged-in session (other
//! nodes put the command back until it does). A finished login hands its
//! session straight to a runner; a login left waiting is dropped after
//! [`LOGIN_TTL`].

use crate::runner::{self, report};
use crate::{Fleet, Key, Stop};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tgdesk_core::domain::{Account, AccountId, AccountStatus, TenantId};
use tgdesk_core::ports::{Lease, LoginStep, PortErrorKind, TelegramError, TelegramSession};
use tgdesk_core::usecases::{open_password, CommandFailure, LoginInput};

/// How long a login may wait for its code or password.
pub(crate) const LOGIN_TTL: Duration = Duration::from_secs(600);

/// A login waiting for the agent's next step.
pub(crate) struct PendingLogin {
    session: Arc<dyn TelegramSession>,
    lease: Lease,
    since: Instant,
}

/// What a login or logout command leads to.
pub(crate) enum Answer {
    /// The account's status now.
    Status(AccountStatus),
    /// It failed for this reason.
    Failed(CommandFailure),
    /// Another node holds the account; put the command back.
    Elsewhere,
}

/// True when a login of `key` waits on this node.
pub(crate) fn pending(fleet: &Fleet, key: &Key) -> bool {
    logins(fleet).contains_key(key)
}

fn logins(fleet: &Fleet) -> std::sync::MutexGuard<'_, std::collections::HashMap<Key, PendingLogin>> {
    // Every change is one insert or remove: a poisoned lock still holds a consistent map.
    fleet.logins.lock().unwrap_or_else(|p| p.into_inner())
}

/// Maps a Telegram failure to what the waiting agent is told.
pub(crate) fn failure(e: &TelegramError) -> CommandFailure {
    match e {
        TelegramError::PhoneCodeInvalid => CommandFailure::PhoneCodeInvalid,
        TelegramError::PasswordInvalid => CommandFailure::PasswordInvalid,
        TelegramError::FloodWait(wait) => CommandFailure::FloodWait { seconds: wait.as_secs().max(1) },
        TelegramError::Unauthorized => CommandFailure::Conflict { message: "the account is not logged in".into() },
        TelegramError::Banned => CommandFailure::Conflict { message: "the account is banned by Telegram".into() },
        TelegramError::InvalidSession(m) => {
            CommandFailure::Conflict { message: format!("the stored session is unusable: {m}") }
        }
        TelegramError::Invalid(m) => CommandFailure::Refused { message: m.clone() },
        TelegramError::Rpc { code, name } => {
            CommandFailure::Refused { message: format!("Telegram refused: {code} {name}") }
        }
        TelegramError::AlreadySent => CommandFailure::Refused { message: e.to_string() },
        TelegramError::PeerFlood => {
            CommandFailure::Unavailable { message: "Telegram limits this account for now".into() }
        }
        TelegramError::Transport(m) => CommandFailure::Unavailable { message: format!("Telegram is unreachable: {m}") },
    }
}

/// Takes one login step for an account.
pub(crate) async fn step(fleet: &Arc<Fleet>, tenant: &TenantId, id: &AccountId, input: LoginInput) -> Answer {
    let key = (tenant.clone(), id.clone());
    if fleet.session(tenant, id).is_some() {
        return Answer::Status(AccountStatus::Online);
    }
    let account = match load(fleet, tenant, id).await {
        Ok(account) => account,
        Err(answer) => return answer,
    };
    let waiting = logins(fleet).get(&key).map(|p| p.session.clone());
    let session = match (waiting, &input) {
        (Some(session), _) => session,
        (None, LoginInput::Start) => match begin(fleet, &account).await {
            Ok(Some(begun)) => begun,
            Ok(None) => return Answer::Elsewhere,
            Err(answer) => return answer,
        },
        (None, _) => return no_login_here(fleet, &account).await,
    };
    let result = match &input {
        LoginInput::Start => session.request_login_code(&account.phone).await,
        LoginInput::Code { code } => session.submit_code(code).await,
        LoginInput::Password { password } => session.submit_password(password).await,
        LoginInput::SealedPassword { sealed } => match unseal(fleet, &account, sealed).await {
            Ok(password) => session.submit_password(&password).await,
            Err(message) => return Answer::Failed(CommandFailure::Conflict { message }),
        },
    };
    match result {
        Ok(LoginStep::Online) => finish(fleet, &account).await,
        Ok(LoginStep::CodeSent) => waiting_for(fleet, &account, AccountStatus::CodeSent).await,
        Ok(LoginStep::PasswordRequired) => waiting_for(fleet, &account, AccountStatus::PasswordRequired).await,
        Ok(LoginStep::LoggedOut) | Err(TelegramError::Unauthorized) => {
            abandon(fleet, &key).await;
            report(fleet, &account, AccountStatus::LoggedOut).await;
            Answer::Failed(CommandFailure::Conflict { message: "the login expired; start again".into() })
        }
        Err(e) => {
            if !matches!(
                e,
                TelegramError::PhoneCodeInvalid | TelegramError::PasswordInvalid | TelegramError::FloodWait(_)
            ) {
                tracing::warn!(account = %id, error = %e, "login step failed");
            }
            Answer::Failed(failure(&e))
        }
    }
}

/// Opens a password the desk sealed for the account.
async fn unseal(fleet: &Fleet, account: &Account, sealed: &str) -> Result<String, String> {
    use base64::Engine;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(sealed)
        .map_err(|e| format!("the sealed password is not base64: {e}"))?;
    open_password(fleet.sealer.as_ref(), &account.id, &blob).await
}

/// Takes the lease and opens a session to log in on: the stored key when
/// there is one, else a fresh key. `None` when another node holds the account.
async fn begin(fleet: &Arc<Fleet>, account: &Account) -> Result<Option<Arc<dyn TelegramSession>>, Answer> {
    let lease = match fleet.leases.acquire(&account.tenant, &account.id, &fleet.config.node_id, LOGIN_TTL).await {
        Ok(lease) => lease,
        Err(e) if e.kind == PortErrorKind::Conflict => return Ok(None),
        Err(e) => return Err(Answer::Failed(CommandFailure::Unavailable { message: e.to_string() })),
    };
    let opened = match &account.session {
        Some(_) => runner::connect(fleet, account).await,
        None => fleet.connector.start_login(&account.id, &account.phone).await.map(Arc::from),
    };
    let session = match opened {
        Ok(session) => session,
        Err(e) => {
            release(fleet, &lease).await;
            return Err(Answer::Failed(failure(&e)));
        }
    };
    let key = (account.tenant.clone(), account.id.clone());
    logins(fleet).insert(key, PendingLogin { session: session.clone(), lease, since: Instant::now() });
    Ok(Some(session))
}

/// The login finished: save the session, then run it under the login's lease.
async fn finish(fleet: &Arc<Fleet>, account: &Account) -> Answer {
    let key = (account.tenant.clone(), account.id.clone());
    // The login stays listed (so no scan starts the account) until the runner has it.
    let Some((session, lease)) = logins(fleet).get(&key).map(|p| (p.session.clone(), p.lease.clone())) else {
        return Answer::Status(AccountStatus::Online);
    };
    let saved = match session.export().await {
        Ok(plain) => match fleet.sealer.seal(&account.id, &plain).await {
            Ok(sealed) => fleet
                .desk
                .ports()
                .directory
                .set_account_session(&account.tenant, &account.id, Some(sealed), Some(lease.fencing))
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        },
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = saved {
        tracing::warn!(account = %account.id, error = %e, "cannot save the logged-in session");
        abandon(fleet, &key).await;
        return Answer::Failed(CommandFailure::Unavailable { message: format!("cannot save the session: {e}") });
    }
    report(fleet, account, AccountStatus::Online).await;
    let mut running = account.clone();
    running.status = AccountStatus::Online;
    fleet.spawn_runner(running, lease, Some(session)).await;
    Answer::Status(AccountStatus::Online)
}

/// Forgets a finished login once its runner has the session (which stays connected).
pub(crate) fn handed_over(fleet: &Fleet, key: &Key) {
    logins(fleet).remove(key);
}

async fn waiting_for(fleet: &Fleet, account: &Account, status: AccountStatus) -> Answer {
    report(fleet, account, status).await;
    Answer::Status(status)
}

/// A code or password arrived but no login waits here: either another node
/// has it, or there is none.
async fn no_login_here(fleet: &Fleet, account: &Account) -> Answer {
    match fleet.leases.acquire(&account.tenant, &account.id, &fleet.config.node_id, Duration::from_secs(5)).await {
        Err(e) if e.kind == PortErrorKind::Conflict => Answer::Elsewhere,
        Err(e) => Answer::Failed(CommandFailure::Unavailable { message: e.to_string() }),
        Ok(lease) => {
            release(fleet, &lease).await;
            Answer::Failed(CommandFailure::Conflict { message: "no login is in progress; start one first".into() })
        }
    }
}

/// Logs an account out of Telegram and forgets its session.
pub(crate) async fn logout(fleet: &Arc<Fleet>, tenant: &TenantId, id: &AccountId) -> Answer {
    let key = (tenant.clone(), id.clone());
    let account = match load(fleet, tenant, id).await {
        Ok(account) => account,
        Err(answer) => return answer,
    };
    if let Some(session) = fleet.session(tenant, id) {
        best_effort_logout(&account, session.as_ref()).await;
        if let Some(running) = fleet.lock().get(&key) {
            let _ = running.stop.send(Some(Stop::LoggedOut));
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while fleet.session(tenant, id).is_some() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The runner forgets the session and records the status before it lets go.
        return Answer::Status(AccountStatus::LoggedOut);
    }
    let waiting = logins(fleet).remove(&key);
    if let Some(pending) = waiting {
        best_effort_logout(&account, pending.session.as_ref()).await;
        pending.session.disconnect().await;
        runner::forget_session(fleet, &account, &pending.lease).await;
        release(fleet, &pending.lease).await;
        return Answer::Status(AccountStatus::LoggedOut);
    }
    let lease = match fleet.leases.acquire(tenant, id, &fleet.config.node_id, Duration::from_secs(60)).await {
        Ok(lease) => lease,
        Err(e) if e.kind == PortErrorKind::Conflict => return Answer::Elsewhere,
        Err(e) => return Answer::Failed(CommandFailure::Unavailable { message: e.to_string() }),
    };
    if account.session.is_some() {
        match runner::connect(fleet, &account).await {
            Ok(session) => {
                best_effort_logout(&account, session.as_ref()).await;
                session.disconnect().await;
            }
            Err(e) => tracing::info!(account = %id, error = %e, "stored session unusable; forgetting it"),
        }
    }
    runner::forget_session(fleet, &account, &lease).await;
    release(fleet, &lease).await;
    Answer::Status(AccountStatus::LoggedOut)
}

/// Logs a session out; a key that is not logged in is out already.
async fn best_effort_logout(account: &Account, session: &dyn TelegramSession) {
    if session.login_step() != LoginStep::Online {
        return;
    }
    if let Err(e) = session.logout().await {
        tracing::warn!(account = %account.id, error = %e, "Telegram logout failed; the session is forgotten anyway");
    }
}

/// Drops logins that waited longer than [`LOGIN_TTL`].
pub(crate) async fn expire(fleet: &Arc<Fleet>) {
    let stale: Vec<Key> =
        logins(fleet).iter().filter(|(_, p)| p.since.elapsed() >= LOGIN_TTL).map(|(k, _)| k.clone()).collect();
    for key in stale {
        if let Ok(account) = load(fleet, &key.0, &key.1).await {
            tracing::info!(account = %key.1, "login abandoned: no code or password in time");
            report(fleet, &account, AccountStatus::LoggedOut).await;
        }
        abandon(fleet, &key).await;
    }
}

/// Drops every waiting login (the node stops).
pub(crate) async fn abandon_all(fleet: &Arc<Fleet>) {
    let keys: Vec<Key> = logins(fleet).keys().cloned().collect();
    for key in keys {
        abandon(fleet, &key).await;
    }
}

async fn abandon(fleet: &Fleet, key: &Key) {
    let pending = logins(fleet).remove(key);
    if let Some(pending) = pending {
        pending.session.disconnect().await;
        release(fleet, &pending.lease).await;
    }
}

async fn release(fleet: &Fleet, lease: &Lease) {
    if let Err(e) = fleet.leases.release(lease).await {
        tracing::warn!(account = %lease.account_id, error = %e, "cannot release the lease; it expires by itself");
    }
}

async fn load(fleet: &Fleet, tenant: &TenantId, id: &AccountId) -> Result<Account, Answer> {
    match fleet.desk.ports().directory.get_account(tenant, id).await {
        Ok(Some(account)) => Ok(account),
        Ok(None) => Err(Answer::Failed(CommandFailure::Conflict { message: "the account no longer exists".into() })),
        Err(e) => Err(Answer::Failed(CommandFailure::Unavailable { message: format!("cannot read the account: {e}") })),
    }
}
