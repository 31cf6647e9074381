//! The error a domain constructor returns for a value it refuses.

/// Why a value was refused; the message is meant for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DomainError(pub String);

impl DomainError {
    /// Builds an error from any message.
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}
