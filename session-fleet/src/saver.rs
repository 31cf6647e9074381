//! The node's one session saver: every session hands its sealed state here,
//! and the saver stores what waits in one `set_account_sessions` call per
//! tenant. When traffic starts, thousands of sessions save their first state
//! with their first update at once; one store write each queued thousands of
//! transactions (and as many blocking threads) in front of ingest, which
//! stored nothing for seconds.

use std::collections::BTreeMap;
use std::sync::Arc;
use tgdesk_core::domain::{AccountId, TenantId};
use tgdesk_core::ports::{Directory, SessionSave};
use tokio::sync::{mpsc, oneshot, watch};

/// Most sessions stored in one call.
const MAX_SESSIONS: usize = 1_000;

struct Job {
    tenant: TenantId,
    account: AccountId,
    sealed: Vec<u8>,
    /// The fencing number of the node's lease on the account.
    fencing: u64,
    /// Told whether the session was stored.
    stored: oneshot::Sender<bool>,
}

/// Hands sealed sessions to the saving task.
pub(crate) struct Saver {
    jobs: mpsc::Sender<Job>,
    inbox: std::sync::Mutex<Option<mpsc::Receiver<Job>>>,
}

impl Saver {
    pub(crate) fn new() -> Self {
        let (jobs, inbox) = mpsc::channel(MAX_SESSIONS);
        Self { jobs, inbox: std::sync::Mutex::new(Some(inbox)) }
    }

    /// Stores an account's sealed session under the node's lease (its
    /// `fencing` number); true once it is stored, false when it could not be
    /// or a later lease holder wrote the account's session.
    pub(crate) async fn save(&self, tenant: &TenantId, account: &AccountId, sealed: Vec<u8>, fencing: u64) -> bool {
        let (stored, outcome) = oneshot::channel();
        let job = Job { tenant: tenant.clone(), account: account.clone(), sealed, fencing, stored };
        if self.jobs.send(job).await.is_err() {
            return false;
        }
        outcome.await.unwrap_or(false)
    }

    /// Runs the saving task until `stop` turns true and no session waits.
    /// Sessions that arrive while a write runs go in the next one together.
    pub(crate) async fn run(&self, directory: Arc<dyn Directory>, mut stop: watch::Receiver<bool>) {
        let Some(mut inbox) = self.inbox.lock().ok().and_then(|mut i| i.take()) else {
            tracing::error!("the session saver runs once per node");
            return;
        };
        while let Some(first) = crate::next_job(&mut inbox, &mut stop).await {
            let mut jobs = vec![first];
            while jobs.len() < MAX_SESSIONS {
                match inbox.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            store(directory.as_ref(), jobs).await;
        }
    }
}

/// A session waiting to hear whether its state was stored.
type Waiter = (AccountId, oneshot::Sender<bool>);

/// Stores the sessions, one call per tenant, and tells each waiter.
async fn store(directory: &dyn Directory, jobs: Vec<Job>) {
    let mut by_tenant: BTreeMap<TenantId, Vec<Job>> = BTreeMap::new();
    for job in jobs {
        by_tenant.entry(job.tenant.clone()).or_default().push(job);
    }
    for (tenant, jobs) in by_tenant {
        let (sessions, waiters): (Vec<_>, Vec<Waiter>) = jobs
            .into_iter()
            .map(|j| {
                (SessionSave { id: j.account.clone(), sealed: j.sealed, fencing: j.fencing }, (j.account, j.stored))
            })
            .unzip();
        let outcome = match directory.set_account_sessions(&tenant, &sessions).await {
            Ok(outcome) => outcome,
            Err(e) => {
                // Each session tries again at its next save; Telegram keeps what it has not confirmed.
                tracing::warn!(%tenant, sessions = sessions.len(), error = %e, "cannot save sessions");
                for (_, waiter) in waiters {
                    // A session that stopped waiting has nothing to record.
                    let _ = waiter.send(false);
                }
                continue;
            }
        };
        for (account, waiter) in waiters {
            let unknown = outcome.unknown.contains(&account);
            let fenced = outcome.fenced.contains(&account);
            if unknown {
                tracing::warn!(%account, "session not saved: the account no longer exists");
            } else if fenced {
                // The lease was taken over: the new holder's session stands.
                tracing::warn!(%account, "session not saved: another node took the account over");
            }
            let stored = !unknown && !fenced;
            // A session that stopped waiting has nothing to record.
            let _ = waiter.send(stored);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tgdesk_core::testkit::fixtures;
    use tgdesk_local::SqliteStore;

    #[tokio::test]
    async fn sessions_saved_at_once_are_all_stored_and_an_unknown_or_taken_over_account_is_told_so() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("tgdesk.db")).unwrap());
        let (t, other) = (fixtures::tenant(), fixtures::tenant());
        let mut accounts = Vec::new();
        for i in 0..300 {
            let tenant = if i % 3 == 0 { &other } else { &t };
            let account = fixtures::account(tenant);
            store.put_accounts(tenant, std::slice::from_ref(&account)).await.unwrap();
            accounts.push(account);
        }
        let saver = Arc::new(Saver::new());
        let (stop, stopped) = watch::channel(false);
        let running = tokio::spawn({
            let (saver, store) = (saver.clone(), store.clone());
            async move { saver.run(store, stopped).await }
        });

        let mut saves = tokio::task::JoinSet::new();
        for (i, a) in accounts.iter().enumerate() {
            let saver = saver.clone();
            let (tenant, id) = (a.tenant.clone(), a.id.clone());
            saves.spawn(async move { saver.save(&tenant, &id, vec![i as u8; 64], 1).await });
        }
        let stored = saves.join_all().await;
        let unknown = saver.save(&t, &AccountId::generate(), vec![1], 1).await;
        // Another node took the first account over and saved under its lease.
        let taken = &accounts[1];
        store.set_account_session(&taken.tenant, &taken.id, Some(vec![9]), Some(2)).await.unwrap();
        let stale = saver.save(&taken.tenant, &taken.id, vec![1], 1).await;
        stop.send(true).unwrap();
        running.await.unwrap();

        assert!(stored.iter().all(|s| *s), "every known account's session is stored");
        assert!(!unknown, "an unknown account's session is not");
        assert!(!stale, "nor one saved under a lease taken over");
        let kept = store.get_account(&taken.tenant, &taken.id).await.unwrap().unwrap();
        assert_eq!(kept.session, Some(vec![9]), "the new holder's session stands");
        for (i, a) in accounts.iter().enumerate().filter(|(i, _)| *i != 1) {
            let now = store.get_account(&a.tenant, &a.id).await.unwrap().unwrap();
            assert_eq!(now.session, Some(vec![i as u8; 64]), "account {i}");
        }
    }
}
