//! Minimum lengths of the secrets a deployment is given, checked by every
//! process that takes them (the server, the API function).

/// Variable holding the key that signs agents' tokens.
pub const ENV_JWT_SECRET: &str = "TGDESK_JWT_SECRET";
/// Variable holding the operator API's bearer token.
pub const ENV_OPERATOR_TOKEN: &str = "TGDESK_OPERATOR_TOKEN";
/// Shortest `TGDESK_JWT_SECRET`: HS256 keys shorter than its 256-bit hash are guessable offline.
pub const MIN_JWT_SECRET: usize = 32;
/// Shortest `TGDESK_OPERATOR_TOKEN`: 24 random characters are beyond guessing online.
pub const MIN_OPERATOR_TOKEN: usize = 24;

/// Refuses a secret `name` shorter than `min` characters, saying how to make one.
pub fn ensure_min_len(name: &str, secret: &str, min: usize) -> Result<(), String> {
    if secret.len() < min {
        return Err(format!(
            "{name} must be at least {min} characters (it has {}); generate one with `openssl rand -hex 32`",
            secret.len()
        ));
    }
    Ok(())
}
