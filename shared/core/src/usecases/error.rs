//! The error use cases return. Each variant maps to one HTTP status and one
//! snake_case code at the edge; the message is safe to show to the caller.

use crate::domain::DomainError;
use crate::ports::{PortError, PortErrorKind};

/// A use-case failure.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No valid credentials (401 `unauthorized`).
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated but not allowed (403 `forbidden`).
    #[error("{0}")]
    Forbidden(String),
    /// Unknown or invisible to the caller (404 `not_found`).
    #[error("{0}")]
    NotFound(String),
    /// Malformed or invalid input (400 `invalid_input`).
    #[error("{0}")]
    Invalid(String),
    /// Clashes with what exists (409 `conflict`).
    #[error("{0}")]
    Conflict(String),
    /// A body over its size limit (413 `payload_too_large`).
    #[error("{0}")]
    TooLarge(String),
    /// Too many attempts (429 `too_many_requests`).
    #[error("too many attempts; retry in {retry_after_s} s")]
    TooManyRequests {
        /// Seconds to wait.
        retry_after_s: u64,
    },
    /// Telegram refused what the caller asked, with Telegram's reason as the
    /// code (400 `phone_code_invalid`, `password_invalid`, `telegram_refused`).
    #[error("{message}")]
    Refused {
        /// The snake_case code.
        code: &'static str,
        /// Why, for the caller.
        message: String,
    },
    /// Telegram asks this account to wait (429 `flood_wait`).
    #[error("Telegram asks to wait {retry_after_s} s before trying again")]
    FloodWait {
        /// Seconds to wait.
        retry_after_s: u64,
    },
    /// The session fleet did not answer in time (504 `fleet_timeout`).
    #[error("{0}")]
    Timeout(String),
    /// The server is at capacity for this kind of work (password checks);
    /// retry after the given seconds (503 `server_busy`).
    #[error("the server is busy; retry in {retry_after_s} s")]
    Busy {
        /// Seconds to wait.
        retry_after_s: u64,
    },
    /// A backend is down or throttling; retry later (503 `unavailable`).
    #[error("{0}")]
    Unavailable(String),
    /// A bug; details are logged, not shown (500 `internal`).
    #[error("internal error")]
    Internal(#[source] PortError),
}

impl AppError {
    /// Returns the snake_case code of the error body.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Invalid(_) => "invalid_input",
            AppError::Conflict(_) => "conflict",
            AppError::TooLarge(_) => "payload_too_large",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::Refused { code, .. } => code,
            AppError::FloodWait { .. } => "flood_wait",
            AppError::Timeout(_) => "fleet_timeout",
            AppError::Busy { .. } => "server_busy",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }

    /// Shorthand for a forbidden action.
    pub fn forbidden(msg: impl Into<String>) -> Self {
        AppError::Forbidden(msg.into())
    }

    /// Shorthand for a missing object.
    pub fn not_found(msg: impl Into<String>) -> Self {
        AppError::NotFound(msg.into())
    }

    /// Shorthand for invalid input.
    pub fn invalid(msg: impl Into<String>) -> Self {
        AppError::Invalid(msg.into())
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        AppError::Invalid(e.0)
    }
}

impl From<crate::auth::PoolBusy> for AppError {
    fn from(_: crate::auth::PoolBusy) -> Self {
        AppError::Busy { retry_after_s: 1 }
    }
}

impl From<PortError> for AppError {
    fn from(e: PortError) -> Self {
        match e.kind {
            PortErrorKind::NotFound => AppError::NotFound(e.message),
            PortErrorKind::Conflict => AppError::Conflict(e.message),
            PortErrorKind::Invalid => AppError::Invalid(e.message),
            PortErrorKind::Throttled | PortErrorKind::Unavailable => {
                AppError::Unavailable("the store is busy; retry shortly".into())
            }
            PortErrorKind::Internal => AppError::Internal(e),
        }
    }
}
