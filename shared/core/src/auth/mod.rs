//! Credentials: argon2 password hashes, JWTs with expiry and revocation by
//! token version, and login throttling.

mod password;
mod throttle;
mod token;

pub use password::{hash_password, validate_new_password, verify_password};
pub use throttle::LoginThrottle;
pub use token::{Claims, TokenError, TokenService};
