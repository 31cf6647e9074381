//! Amazon OpenSearch Service domains authorise by IAM: every request is
//! signed with SigV4 (service `es`; `aoss` for a serverless collection)
//! with the credentials of the process's role, which the composition root
//! hands over from its AWS SDK configuration.

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use reqwest::header::{HeaderName, HeaderValue};
use std::time::SystemTime;
use tgdesk_core::ports::{PortError, PortErrorKind};

/// Variable naming the service to sign for (`es` or `aoss`); unset or
/// empty: requests go unsigned (a cluster with basic or no authentication).
pub const ENV_SIGV4: &str = "TGDESK_OPENSEARCH_SIGV4";

/// How requests are signed.
#[derive(Clone, Debug)]
pub struct SigV4 {
    /// Where credentials come from (refreshed by the provider as they expire).
    pub credentials: SharedCredentialsProvider,
    /// The domain's region.
    pub region: String,
    /// `es` for a domain, `aoss` for a serverless collection.
    pub service: String,
}

impl SigV4 {
    /// The signing [`ENV_SIGV4`] asks for, with `credentials` and `region`
    /// (the process's AWS configuration); `Err` names what is missing.
    pub fn from_env(
        credentials: Option<SharedCredentialsProvider>,
        region: Option<String>,
    ) -> Result<Option<Self>, String> {
        let service = match std::env::var(ENV_SIGV4).ok().filter(|s| !s.is_empty()) {
            None => return Ok(None),
            Some(s) if s == "es" || s == "aoss" => s,
            Some(other) => return Err(format!("{ENV_SIGV4} must be es or aoss, not {other:?}")),
        };
        let credentials = credentials.ok_or_else(|| format!("{ENV_SIGV4} is set but no AWS credentials are"))?;
        let region = region.ok_or_else(|| format!("{ENV_SIGV4} is set but no AWS region is"))?;
        Ok(Some(Self { credentials, region, service }))
    }

    /// Adds the signature headers to `request`, signed now.
    pub(crate) async fn sign(&self, request: &mut reqwest::Request) -> Result<(), PortError> {
        let credentials = self.credentials.provide_credentials().await.map_err(|e| {
            PortError::with_source(PortErrorKind::Unavailable, "opensearch: no AWS credentials to sign with", e)
        })?;
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| PortError::with_source(PortErrorKind::Internal, "opensearch: signing parameters", e))?
            .into();
        let body = request.body().and_then(reqwest::Body::as_bytes).unwrap_or_default();
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
            .collect();
        let signable = SignableRequest::new(
            request.method().as_str(),
            request.url().as_str(),
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body),
        )
        .map_err(|e| PortError::with_source(PortErrorKind::Internal, "opensearch: request cannot be signed", e))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| PortError::with_source(PortErrorKind::Internal, "opensearch: signing failed", e))?
            .into_parts();
        for (name, value) in instructions.headers() {
            let name = HeaderName::from_bytes(name.as_bytes());
            let value = HeaderValue::from_str(value);
            let (Ok(name), Ok(value)) = (name, value) else {
                return Err(PortError::new(PortErrorKind::Internal, "opensearch: a signature header is not valid"));
            };
            request.headers_mut().insert(name, value);
        }
        Ok(())
    }
}
