//! Errors of the simulator's own operations (start-up, persistence, control API).

/// What went wrong inside the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Reading or writing the data dir or a socket failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The state snapshot could not be (de)serialized.
    #[error("state snapshot: {0}")]
    Json(#[from] serde_json::Error),
    /// A control request referred to something that does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A control request was malformed.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The MTProto listener must be IPv4 (session strings carry an IPv4 address).
    #[error("mtproto address must be IPv4: {0}")]
    NotIpv4(std::net::SocketAddr),
}
