//! JWT access tokens (HS256). A token names its tenant, user and the user's
//! token version; bumping the version revokes every older token at once.

use crate::domain::{TenantId, UserId};
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What a token says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Tenant.
    pub tid: String,
    /// The user's token version when issued.
    pub tv: u32,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Expiry (unix seconds).
    pub exp: i64,
}

/// Why a token was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Past its expiry.
    #[error("the token has expired")]
    Expired,
    /// Bad signature, bad shape or bad claims.
    #[error("the token is invalid")]
    Invalid,
}

/// Issues and checks tokens with one secret.
#[derive(Clone)]
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

impl TokenService {
    /// Builds a service; `secret` should be at least 32 random bytes.
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), ttl }
    }

    /// A service for a process that issues and checks no tokens (a fleet
    /// node, the `ingest` function) but runs use cases that need one: it
    /// signs with a random key nobody else holds.
    pub fn issuing_none() -> Self {
        use rand::RngCore;
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        Self::new(&secret, Duration::from_secs(60))
    }

    /// Returns how long issued tokens live.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Returns a signed token for the user.
    pub fn issue(&self, tenant: &TenantId, user: &UserId, token_version: u32) -> String {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user.to_string(),
            tid: tenant.to_string(),
            tv: token_version,
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .unwrap_or_else(|e| unreachable!("HS256 encoding cannot fail: {e}"))
    }

    /// Checks signature and expiry (no leeway) and returns the claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map(|data| data.claims).map_err(|e| match e
            .kind()
        {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
            _ => TokenError::Invalid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (TenantId, UserId) {
        (TenantId::parse("acme").unwrap(), UserId::generate())
    }

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let svc = TokenService::new(b"0123456789abcdef0123456789abcdef", Duration::from_secs(60));
        let (t, u) = ids();
        let claims = svc.verify(&svc.issue(&t, &u, 3)).unwrap();
        assert_eq!((claims.sub, claims.tid, claims.tv), (u.to_string(), "acme".to_owned(), 3));
    }

    #[test]
    fn a_token_signed_with_another_secret_is_invalid() {
        let a = TokenService::new(b"0123456789abcdef0123456789abcdef", Duration::from_secs(60));
        let b = TokenService::new(b"fedcba9876543210fedcba9876543210", Duration::from_secs(60));
        let (t, u) = ids();
        assert_eq!(b.verify(&a.issue(&t, &u, 0)), Err(TokenError::Invalid));
        assert_eq!(a.verify("not.a.token"), Err(TokenError::Invalid));
    }

    #[test]
    fn an_expired_token_is_refused_as_expired() {
        let svc = TokenService::new(b"0123456789abcdef0123456789abcdef", Duration::from_secs(0));
        let (t, u) = ids();
        let token = svc.issue(&t, &u, 0);
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(svc.verify(&token), Err(TokenError::Expired));
    }
}
