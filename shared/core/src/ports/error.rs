//! The error every port returns: a kind the caller can match and the source kept.

/// What went wrong, at the granularity a caller acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortErrorKind {
    /// The key does not exist.
    NotFound,
    /// A uniqueness rule or a condition failed (duplicate username, lease held…).
    Conflict,
    /// The backend asks to slow down; retry later.
    Throttled,
    /// The backend cannot be reached now; retry later.
    Unavailable,
    /// The request was refused as malformed.
    Invalid,
    /// A bug or a state the adapter cannot explain.
    Internal,
}

/// A port failure.
#[derive(Debug, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct PortError {
    /// The kind to match on.
    pub kind: PortErrorKind,
    /// What happened, for logs.
    pub message: String,
    /// The backend's own error.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl PortError {
    /// Builds an error without a source.
    pub fn new(kind: PortErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), source: None }
    }

    /// Builds an error that keeps the backend's error.
    pub fn with_source(
        kind: PortErrorKind,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self { kind, message: message.into(), source: Some(Box::new(source)) }
    }

    /// Shorthand for a missing key.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(PortErrorKind::NotFound, message)
    }

    /// Shorthand for a violated uniqueness rule.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(PortErrorKind::Conflict, message)
    }

    /// True when retrying later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, PortErrorKind::Throttled | PortErrorKind::Unavailable)
    }
}
