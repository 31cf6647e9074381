//! The MTProto 2.0 server side: transport framing, encryption, and the
//! per-connection loop that unwraps service messages and dispatches RPCs.

pub mod conn;
pub mod crypto;
pub mod service;
pub mod transport;
