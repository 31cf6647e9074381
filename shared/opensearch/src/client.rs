//! The HTTP side: one reqwest client, whole requests retried under the
//! [`RetryPolicy`] when the cluster says "later", and OpenSearch's error JSON
//! (`{"error": {"type", "reason"}, "status"}`) mapped once onto port error
//! kinds.

use crate::config::{OpenSearchConfig, RetryPolicy};
use crate::sigv4::SigV4;
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::Value;
use tgdesk_core::ports::{PortError, PortErrorKind};

/// A request body.
pub(crate) enum Body {
    /// No body.
    Empty,
    /// A JSON document.
    Json(Value),
    /// Newline-delimited JSON (`_bulk`).
    NdJson(String),
}

/// What the cluster answered, once it answered something other than "later"
/// (or kept saying "later" until the tries ran out).
#[derive(Debug)]
pub(crate) struct Reply {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body as JSON (`Null` when empty or not JSON).
    pub json: Value,
}

impl Reply {
    /// The error `type` OpenSearch named, when it names one.
    pub fn error_type(&self) -> Option<&str> {
        self.json.pointer("/error/type").and_then(Value::as_str)
    }

    /// Returns the body of a 2xx reply, or the port error of any other.
    pub fn ok(self, what: &str) -> Result<Value, PortError> {
        if self.status.is_success() {
            return Ok(self.json);
        }
        let reason = self.json.pointer("/error/reason").and_then(Value::as_str).unwrap_or("no reason given");
        let message =
            format!("opensearch {what}: {} {}: {reason}", self.status.as_u16(), self.error_type().unwrap_or("error"));
        Err(PortError::new(kind_of_status(self.status.as_u16()), message))
    }
}

/// Returns the port error kind of an HTTP status (also a bulk item's).
pub(crate) fn kind_of_status(status: u16) -> PortErrorKind {
    match status {
        400 => PortErrorKind::Invalid,
        404 => PortErrorKind::NotFound,
        409 => PortErrorKind::Conflict,
        429 => PortErrorKind::Throttled,
        500..=599 => PortErrorKind::Unavailable,
        _ => PortErrorKind::Internal,
    }
}

/// Why one try got no reply.
enum Failure {
    /// The request did not reach the cluster, or its answer was cut.
    Http(reqwest::Error),
    /// The request could not be signed (no credentials): not retried here.
    Signing(PortError),
}

/// True for the statuses that mean "try again later".
fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// A client of one cluster.
pub(crate) struct Client {
    /// The HTTP client (its pool is shared by every request).
    http: reqwest::Client,
    /// The endpoint, without a trailing `/`.
    base: String,
    /// Basic authentication, when configured.
    auth: Option<(String, secrecy::SecretString)>,
    /// SigV4 signing, for a domain that authorises by IAM.
    sigv4: Option<SigV4>,
    /// Retries of whole requests.
    retry: RetryPolicy,
}

impl Client {
    /// Returns a client of the cluster `config` names.
    pub fn new(config: &OpenSearchConfig) -> Result<Self, PortError> {
        let http = reqwest::Client::builder().timeout(config.timeout).build().map_err(|e| {
            PortError::with_source(PortErrorKind::Internal, "opensearch: cannot build the http client", e)
        })?;
        let auth = config.auth.as_ref().map(|a| (a.user.clone(), a.password.clone()));
        Ok(Self { http, base: config.url.clone(), auth, sigv4: config.sigv4.clone(), retry: config.retry.clone() })
    }

    /// The retry policy, for retries of bulk items.
    pub fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Sends a request, retrying while the cluster answers 429 or 5xx-busy
    /// or cannot be reached; returns the reply it ended with. Errs only when
    /// no reply came at all.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Body,
    ) -> Result<Reply, PortError> {
        let mut attempt = 1;
        loop {
            let outcome = match self.send_once(method.clone(), path, query, &body).await {
                Ok(reply) => Ok(reply),
                Err(Failure::Http(e)) => Err(e),
                Err(Failure::Signing(e)) => return Err(e),
            };
            let last = attempt >= self.retry.attempts;
            match outcome {
                Ok(reply) if last || !is_retryable(reply.status) => return Ok(reply),
                Ok(reply) => {
                    tracing::debug!(path, status = reply.status.as_u16(), attempt, "opensearch busy; retrying")
                }
                Err(e) if last => {
                    let kind = if e.is_builder() { PortErrorKind::Internal } else { PortErrorKind::Unavailable };
                    return Err(PortError::with_source(kind, format!("opensearch {method} {path}: no reply"), e));
                }
                Err(e) => tracing::debug!(path, error = %e, attempt, "opensearch unreachable; retrying"),
            }
            tokio::time::sleep(self.retry.backoff(attempt)).await;
            attempt += 1;
        }
    }

    async fn send_once(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: &Body,
    ) -> Result<Reply, Failure> {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).query(query);
        if let Some((user, password)) = &self.auth {
            request = request.basic_auth(user, Some(password.expose_secret()));
        }
        request = match body {
            Body::Empty => request,
            Body::Json(json) => request.json(json),
            Body::NdJson(text) => request.header("content-type", "application/x-ndjson").body(text.clone()),
        };
        let mut request = request.build().map_err(Failure::Http)?;
        if let Some(sigv4) = &self.sigv4 {
            sigv4.sign(&mut request).await.map_err(Failure::Signing)?;
        }
        let response = self.http.execute(request).await.map_err(Failure::Http)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(Failure::Http)?;
        Ok(Reply { status, json: serde_json::from_slice(&bytes).unwrap_or(Value::Null) })
    }
}
