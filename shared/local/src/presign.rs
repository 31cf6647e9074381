//! Presigned blob requests for [`crate::FsBlobStore`]: the local server
//! plays S3's part. A request's URL is `/api/blobs/<token>` on the server's
//! own origin, the token a JWT (HS256, a key made at start and never
//! written down, so a restart voids every URL handed out) naming the
//! method, the key, and for an upload its type and length. The server's
//! route redeems it ([`crate::FsBlobStore::redeem`]) before touching a blob.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use tgdesk_core::ports::{PortError, PortErrorKind, PresignedRequest};

/// Where the local server serves presigned requests.
pub const PRESIGNED_PATH: &str = "/api/blobs";

/// What a redeemed token allows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// `PUT` or `GET`.
    #[serde(rename = "m")]
    pub method: String,
    /// The blob.
    #[serde(rename = "k")]
    pub key: String,
    /// An upload's content type.
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// An upload's exact length.
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct Claims {
    #[serde(flatten)]
    grant: Grant,
    exp: i64,
}

/// Signs and checks tokens with a key of its own.
pub(crate) struct Presigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl Presigner {
    /// A presigner with a fresh random key.
    pub fn new() -> Self {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        Self { encoding: EncodingKey::from_secret(&key), decoding: DecodingKey::from_secret(&key) }
    }

    /// The request that carries `grant` until `expires_in` passes.
    pub fn sign(&self, grant: Grant, expires_in: Duration) -> Result<PresignedRequest, PortError> {
        let expires_at = chrono::Utc::now() + expires_in;
        let mut headers = BTreeMap::new();
        if let (Some(t), Some(n)) = (&grant.content_type, grant.size) {
            headers.insert("content-type".to_owned(), t.clone());
            headers.insert("content-length".to_owned(), n.to_string());
        }
        let method = grant.method.clone();
        let claims = Claims { grant, exp: expires_at.timestamp() };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| PortError::with_source(PortErrorKind::Internal, "presign", e))?;
        Ok(PresignedRequest { method, url: format!("{PRESIGNED_PATH}/{token}"), headers, expires_at })
    }

    /// The grant of a token this presigner signed for `method`, unexpired;
    /// `Invalid` for any other.
    pub fn redeem(&self, token: &str, method: &str) -> Result<Grant, PortError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.required_spec_claims = ["exp".to_owned()].into();
        let refused = || PortError::new(PortErrorKind::Invalid, "the presigned request is invalid or expired");
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(|_| refused())?.claims;
        if claims.grant.method != method {
            return Err(refused());
        }
        Ok(claims.grant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload() -> Grant {
        Grant { method: "PUT".into(), key: "t/a/b".into(), content_type: Some("text/csv".into()), size: Some(3) }
    }

    #[test]
    fn a_token_is_redeemed_for_its_method_by_its_signer_only() {
        let presigner = Presigner::new();
        let request = presigner.sign(upload(), Duration::from_secs(60)).unwrap();
        let token = request.url.strip_prefix("/api/blobs/").unwrap();
        assert_eq!(presigner.redeem(token, "PUT").unwrap(), upload());
        assert_eq!(request.headers["content-length"], "3");
        assert_eq!(presigner.redeem(token, "GET").unwrap_err().kind, PortErrorKind::Invalid);
        assert_eq!(Presigner::new().redeem(token, "PUT").unwrap_err().kind, PortErrorKind::Invalid);
        let mut forged = token.to_owned();
        forged.replace_range(forged.len() - 4.., "AAAA");
        assert_eq!(presigner.redeem(&forged, "PUT").unwrap_err().kind, PortErrorKind::Invalid);
    }

    #[test]
    fn an_expired_token_is_refused() {
        let presigner = Presigner::new();
        let claims = Claims { grant: upload(), exp: chrono::Utc::now().timestamp() - 1 };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &presigner.encoding).unwrap();
        assert_eq!(presigner.redeem(&token, "PUT").unwrap_err().kind, PortErrorKind::Invalid);
    }
}
