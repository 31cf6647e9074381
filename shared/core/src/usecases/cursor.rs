//! Opaque page cursors: base64url JSON that names its tenant, so a cursor
//! never reads across tenants even if a client hands over someone else's.

use super::AppError;
use crate::domain::TenantId;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct Outgoing<'a, T> {
    t: &'a str,
    k: &'a T,
}

#[derive(Deserialize)]
struct Incoming<T> {
    t: String,
    k: T,
}

/// Encodes a position for `tenant`.
pub(crate) fn encode<T: Serialize>(tenant: &TenantId, key: &T) -> String {
    let json = serde_json::to_vec(&Outgoing { t: tenant.as_str(), k: key })
        .unwrap_or_else(|e| unreachable!("cursor keys always serialise: {e}"));
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a cursor, refusing malformed ones and those of another tenant.
pub(crate) fn decode<T: DeserializeOwned>(tenant: &TenantId, raw: &str) -> Result<T, AppError> {
    let bad = || AppError::invalid("cursor is malformed; use next_cursor as returned");
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    let env: Incoming<T> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if env.t != tenant.as_str() {
        return Err(bad());
    }
    Ok(env.k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_in_its_tenant_only() {
        let a = TenantId::parse("acme").unwrap();
        let b = TenantId::parse("other").unwrap();
        let raw = encode(&a, &("x".to_owned(), 5_i64));
        assert_eq!(decode::<(String, i64)>(&a, &raw).unwrap(), ("x".to_owned(), 5));
        assert!(decode::<(String, i64)>(&b, &raw).is_err());
        assert!(decode::<(String, i64)>(&a, "%%%").is_err());
    }
}
