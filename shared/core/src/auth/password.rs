//! Password hashing with argon2id (the crate's default parameters).

use crate::domain::DomainError;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

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
}
