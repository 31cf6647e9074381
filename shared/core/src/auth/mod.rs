//! Credentials: argon2 password hashes (on a bounded blocking pool), JWTs
//! with expiry and revocation by token version, and login throttling.

mod memory_throttle;
mod password;
mod secret_rules;
mod throttle;
mod token;

pub use memory_throttle::{MemoryThrottle, DEFAULT_THROTTLE_KEYS};
pub use password::{hash_password, validate_new_password, verify_password, PasswordPool, PoolBusy};
pub use secret_rules::{ensure_min_len, ENV_JWT_SECRET, ENV_OPERATOR_TOKEN, MIN_JWT_SECRET, MIN_OPERATOR_TOKEN};
pub use throttle::LoginThrottle;
pub use token::{Claims, TokenError, TokenService};
