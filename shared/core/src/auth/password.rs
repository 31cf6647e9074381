//! Password hashing with argon2id (the crate's default parameters), run on
//! a bounded blocking pool: each hash costs tens of milliseconds of CPU and
//! 19 MiB, so a login flood run inline on the async runtime would stall
//! ingest and push. Past the pool's queue, callers are refused at once.

use crate::domain::DomainError;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

/// Refuses passwords shorter than 8 or longer than 256 characters.
pub fn validate_new_password(password: &str) -> Result<(), DomainError> {
    let n = password.chars().count();
    if !(8..=256).contains(&n) {
        return Err(DomainError::new("password must be 8 to 256 characters"));
    }
    Ok(())
}

/// Returns the argon2id PHC string for `password` with a fresh salt.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        // Hashing fails only on parameter errors, which the defaults never have.
        .unwrap_or_else(|e| unreachable!("argon2 with default parameters failed: {e}"))
}

/// True when `password` matches `phc`; a malformed hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// The pool was full: retry after a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("password checks are busy; retry in a second")]
pub struct PoolBusy;

/// Work for a pool thread.
type Job = Box<dyn FnOnce() + Send>;

/// Runs argon2 on `threads` threads of its own, with at most `queue` more
/// callers waiting; the rest get [`PoolBusy`] without waiting. The threads
/// are the pool's alone (not tokio's blocking pool, shared with other
/// work), so the composition root may lower their scheduling priority.
#[derive(Clone)]
pub struct PasswordPool {
    admitted: Arc<Semaphore>,
    jobs: std::sync::mpsc::Sender<Job>,
}

impl Default for PasswordPool {
    /// One thread fewer than the cores (at least one), so ingest and push
    /// keep a core during a login flood, and 16 callers waiting.
    fn default() -> Self {
        Self::new(Self::default_threads(), 16)
    }
}

impl PasswordPool {
    /// Returns the default thread count: one fewer than the cores, at least one.
    pub fn default_threads() -> usize {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        cores.saturating_sub(1).max(1)
    }

    /// Builds a pool of `threads` running and `queue` waiting.
    pub fn new(threads: usize, queue: usize) -> Self {
        Self::with_thread_start(threads, queue, || {})
    }

    /// Builds a pool whose threads each run `on_start` first (e.g. to lower
    /// their priority below the threads that ingest and push). The threads
    /// end when the last clone of the pool is dropped.
    pub fn with_thread_start(threads: usize, queue: usize, on_start: fn()) -> Self {
        let threads = threads.max(1);
        let (jobs, inbox) = std::sync::mpsc::channel::<Job>();
        let inbox = Arc::new(std::sync::Mutex::new(inbox));
        for i in 0..threads {
            let inbox = inbox.clone();
            let spawned = std::thread::Builder::new().name(format!("argon2-{i}")).spawn(move || {
                on_start();
                loop {
                    // A poisoned lock only means another worker panicked while taking a job.
                    let next = inbox.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    match next {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password thread");
            }
        }
        Self { admitted: Arc::new(Semaphore::new(threads + queue)), jobs }
    }

    /// Returns the argon2id PHC string for `password` with a fresh salt.
    pub async fn hash(&self, password: &str) -> Result<String, PoolBusy> {
        let password = password.to_owned();
        self.run(move || hash_password(&password)).await
    }

    /// True when `password` matches `phc`. With no `phc` (an unknown user) a
    /// hash of a random password is checked instead, so unknown usernames
    /// cost as much as known ones and time tells nothing.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> Result<bool, PoolBusy> {
        let password = password.to_owned();
        let phc = phc.map(str::to_owned);
        self.run(move || match phc {
            Some(phc) => verify_password(&password, &phc),
            None => {
                let _ = verify_password(&password, decoy_hash());
                false
            }
        })
        .await
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, PoolBusy> {
        let admitted = self.admitted.clone().try_acquire_owned().map_err(|_| PoolBusy)?;
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _admitted = admitted;
            let _ = done.send(work());
        });
        self.jobs.send(job).map_err(|_| PoolBusy)?;
        // A job that panicked (argon2 never does on valid input) drops its sender: busy, not a match.
        result.await.map_err(|_| PoolBusy)
    }
}

/// A hash of a random password, made once, for unknown users' checks.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password(&ulid::Ulid::new().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash_password("correct horse");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong horse", &phc));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(validate_new_password("short").is_err());
        assert!(validate_new_password("long enough").is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_pool_verifies_off_the_runtime_and_refuses_past_its_queue() {
        let pool = PasswordPool::new(1, 1);
        let phc = pool.hash("correct horse").await.unwrap();

        let outcomes = futures_join(&pool, &phc).await;

        assert!(outcomes.contains(&Err(PoolBusy)), "{outcomes:?}");
        assert!(outcomes.contains(&Ok(true)));
        assert_eq!(pool.verify("wrong horse", Some(&phc)).await, Ok(false));
        assert_eq!(pool.verify("anything", None).await, Ok(false));
    }

    async fn futures_join(pool: &PasswordPool, phc: &str) -> Vec<Result<bool, PoolBusy>> {
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let (pool, phc) = (pool.clone(), phc.to_owned());
                tokio::spawn(async move { pool.verify("correct horse", Some(&phc)).await })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }
}
