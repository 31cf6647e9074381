//! Flood control in one place: grammers' retry hook sleeps through short
//! FLOOD_WAITs, [`map_error`] turns every grammers failure into the port's
//! error once, and [`Pacer`] spaces an account's sends.

use grammers_client::SignInError;
use grammers_mtsender::{InvocationError, RetryContext, RetryPolicy};
use std::ops::ControlFlow;
use std::time::Duration;
use tgdesk_core::ports::TelegramError;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Sleeps through FLOOD_WAIT_X up to `cap` (at most `max_tries` times per
/// request) and retries I/O failures once after a second; anything else, and
/// longer waits, reach the caller as errors.
pub struct FloodPolicy {
    /// The longest FLOOD_WAIT slept through; longer ones surface as `FloodWait`.
    pub cap: Duration,
    /// How many times one request may be retried.
    pub max_tries: u32,
}

impl RetryPolicy for FloodPolicy {
    fn should_retry(&self, ctx: &RetryContext) -> ControlFlow<(), Duration> {
        if ctx.fail_count.get() > self.max_tries {
            return ControlFlow::Break(());
        }
        match &ctx.error {
            InvocationError::Rpc(e) if e.code == 420 => match e.value {
                Some(secs) if Duration::from_secs(u64::from(secs)) <= self.cap => {
                    tracing::info!(seconds = secs, method = %e.name, "sleeping through flood wait");
                    ControlFlow::Continue(Duration::from_secs(u64::from(secs)))
                }
                _ => ControlFlow::Break(()),
            },
            InvocationError::Io(_) if ctx.fail_count.get() == 1 => ControlFlow::Continue(Duration::from_secs(1)),
            _ => ControlFlow::Break(()),
        }
    }
}

/// Maps a grammers invocation failure to the port's error.
pub fn map_error(e: InvocationError) -> TelegramError {
    match e {
        InvocationError::Rpc(rpc) => {
            let name = rpc.name.as_str();
            match (rpc.code, name) {
                (420, _) => TelegramError::FloodWait(Duration::from_secs(u64::from(rpc.value.unwrap_or(0)))),
                (_, "PEER_FLOOD") => TelegramError::PeerFlood,
                (_, "RANDOM_ID_DUPLICATE") => TelegramError::AlreadySent,
                (_, "PHONE_CODE_INVALID" | "PHONE_CODE_EXPIRED" | "PHONE_CODE_EMPTY") => {
                    TelegramError::PhoneCodeInvalid
                }
                (_, "PASSWORD_HASH_INVALID") => TelegramError::PasswordInvalid,
                (_, "USER_DEACTIVATED_BAN" | "PHONE_NUMBER_BANNED" | "USER_DEACTIVATED") => TelegramError::Banned,
                (401, _) => TelegramError::Unauthorized,
                (_, "MESSAGE_ID_INVALID" | "PEER_ID_INVALID" | "MESSAGE_EMPTY" | "MESSAGE_NOT_MODIFIED") => {
                    TelegramError::Invalid(rpc.name.clone())
                }
                (code, _) => TelegramError::Rpc { code, name: rpc.name.clone() },
            }
        }
        InvocationError::Io(e) => TelegramError::Transport(format!("i/o: {e}")),
        InvocationError::Transport(e) => TelegramError::Transport(format!("transport: {e}")),
        InvocationError::Deserialize(e) => TelegramError::Transport(format!("bad response: {e}")),
        InvocationError::Dropped(why) => TelegramError::Transport(format!("connection closed: {why}")),
        InvocationError::Session(e) => TelegramError::Transport(format!("session store: {e}")),
        InvocationError::InvalidDc => TelegramError::Transport("the session points at an unknown data centre".into()),
        InvocationError::Authentication(e) => TelegramError::Transport(format!("key exchange: {e}")),
    }
}

/// Maps an upload failure: grammers wraps the RPC error in an `io::Error`.
pub fn map_upload_error(e: std::io::Error) -> TelegramError {
    match e.into_inner().map(|inner| inner.downcast::<InvocationError>()) {
        Some(Ok(invocation)) => map_error(*invocation),
        Some(Err(other)) => TelegramError::Transport(format!("upload: {other}")),
        None => TelegramError::Transport("upload failed".into()),
    }
}

/// Maps a sign-in failure (code or password step) to the port's error.
pub fn map_sign_in_error(e: SignInError) -> TelegramError {
    match e {
        SignInError::InvalidCode => TelegramError::PhoneCodeInvalid,
        SignInError::InvalidPassword(_) => TelegramError::PasswordInvalid,
        SignInError::SignUpRequired => {
            TelegramError::Invalid("the number has no Telegram account; sign up with an official app".into())
        }
        SignInError::PasswordRequired(_) => TelegramError::Invalid("a 2FA password is required".into()),
        SignInError::Other(e) => map_error(e),
    }
}

/// A token bucket spacing one account's sends: `burst` at once, then `rate`
/// per second. After Telegram answers a send with FLOOD_WAIT or PEER_FLOOD
/// the account is held back: sends fail fast until the wait is over instead
/// of hitting Telegram again (which lengthens the penalty).
#[derive(Debug)]
pub struct Pacer {
    rate: f64,
    burst: f64,
    peer_flood_pause: Duration,
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
    held_until: Option<Instant>,
}

impl Pacer {
    /// Returns a full bucket; PEER_FLOOD holds sends back for `peer_flood_pause`.
    pub fn new(rate_per_sec: f64, burst: u32, peer_flood_pause: Duration) -> Self {
        let burst = f64::from(burst.max(1));
        let bucket = Bucket { tokens: burst, last: Instant::now(), held_until: None };
        Self { rate: rate_per_sec.max(0.001), burst, peer_flood_pause, bucket: Mutex::new(bucket) }
    }

    /// Waits until a token is free and takes it (waiters are served in
    /// order); returns `FloodWait` with the time left while the account is held back.
    pub async fn acquire(&self) -> Result<(), TelegramError> {
        let mut bucket = self.bucket.lock().await;
        let now = Instant::now();
        if let Some(until) = bucket.held_until.filter(|until| *until > now) {
            return Err(TelegramError::FloodWait((until - now).max(Duration::from_secs(1))));
        }
        let tokens = (bucket.tokens + now.duration_since(bucket.last).as_secs_f64() * self.rate).min(self.burst);
        if tokens >= 1.0 {
            *bucket = Bucket { tokens: tokens - 1.0, last: now, held_until: None };
            return Ok(());
        }
        let wait = Duration::from_secs_f64((1.0 - tokens) / self.rate);
        tokio::time::sleep(wait).await;
        *bucket = Bucket { tokens: 0.0, last: now + wait, held_until: None };
        Ok(())
    }

    /// Passes a send's outcome through, holding the account back after a
    /// FLOOD_WAIT (for its duration) or a PEER_FLOOD (for the configured pause).
    pub async fn observe<T>(&self, outcome: Result<T, TelegramError>) -> Result<T, TelegramError> {
        let hold = match &outcome {
            Err(TelegramError::FloodWait(wait)) => Some(*wait),
            Err(TelegramError::PeerFlood) => Some(self.peer_flood_pause),
            _ => None,
        };
        if let Some(hold) = hold {
            tracing::warn!(?hold, "sends held back after a flood error");
            self.bucket.lock().await.held_until = Some(Instant::now() + hold);
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grammers_mtsender::RpcError;
    use std::num::NonZeroU32;

    fn ctx(code: i32, name: &str, value: Option<u32>, fail_count: u32) -> RetryContext {
        RetryContext {
            fail_count: NonZeroU32::new(fail_count).expect("non-zero"),
            slept_so_far: Duration::ZERO,
            error: InvocationError::Rpc(RpcError { code, name: name.into(), value, caused_by: None }),
        }
    }

    #[test]
    fn short_flood_waits_are_slept_through_and_long_ones_surface() {
        let policy = FloodPolicy { cap: Duration::from_secs(5), max_tries: 2 };

        assert_eq!(
            policy.should_retry(&ctx(420, "FLOOD_WAIT", Some(3), 1)),
            ControlFlow::Continue(Duration::from_secs(3))
        );
        assert_eq!(policy.should_retry(&ctx(420, "FLOOD_WAIT", Some(30), 1)), ControlFlow::Break(()));
        assert_eq!(policy.should_retry(&ctx(420, "FLOOD_WAIT", Some(3), 3)), ControlFlow::Break(()));
        assert_eq!(policy.should_retry(&ctx(400, "PEER_FLOOD", None, 1)), ControlFlow::Break(()));
    }

    #[test]
    fn errors_map_to_what_the_caller_should_do() {
        let rpc = |code, name: &str, value| {
            map_error(InvocationError::Rpc(RpcError { code, name: name.into(), value, caused_by: None }))
        };

        assert!(
            matches!(rpc(420, "FLOOD_WAIT", Some(30)), TelegramError::FloodWait(d) if d == Duration::from_secs(30))
        );
        assert!(matches!(rpc(400, "PEER_FLOOD", None), TelegramError::PeerFlood));
        assert!(matches!(rpc(400, "RANDOM_ID_DUPLICATE", None), TelegramError::AlreadySent));
        assert!(matches!(rpc(401, "AUTH_KEY_UNREGISTERED", None), TelegramError::Unauthorized));
        assert!(matches!(rpc(400, "PHONE_CODE_INVALID", None), TelegramError::PhoneCodeInvalid));
        assert!(matches!(rpc(400, "CHAT_WRITE_FORBIDDEN", None), TelegramError::Rpc { code: 400, .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn the_pacer_lets_a_burst_through_then_spaces_sends() {
        let pacer = Pacer::new(2.0, 3, Duration::from_secs(600));
        let start = Instant::now();

        for _ in 0..3 {
            pacer.acquire().await.expect("token");
        }
        let after_burst = start.elapsed();
        pacer.acquire().await.expect("token");
        pacer.acquire().await.expect("token");

        assert!(after_burst < Duration::from_millis(10));
        assert!(start.elapsed() >= Duration::from_millis(990), "{:?}", start.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn flood_errors_hold_sends_back_until_the_wait_is_over() {
        let pacer = Pacer::new(100.0, 10, Duration::from_secs(600));

        let flood = pacer.observe::<()>(Err(TelegramError::FloodWait(Duration::from_secs(30)))).await;
        let held = pacer.acquire().await;
        tokio::time::advance(Duration::from_secs(31)).await;
        let released = pacer.acquire().await;
        let _ = pacer.observe::<()>(Err(TelegramError::PeerFlood)).await;
        let peer_flood = pacer.acquire().await;

        assert!(matches!(flood, Err(TelegramError::FloodWait(_))));
        assert!(matches!(held, Err(TelegramError::FloodWait(d)) if d <= Duration::from_secs(30)));
        assert!(released.is_ok());
        assert!(matches!(peer_flood, Err(TelegramError::FloodWait(d)) if d > Duration::from_secs(500)));
    }
}
