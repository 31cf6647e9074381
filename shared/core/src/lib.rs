//! tgdesk core: the domain (validated newtypes), the ports every adapter
//! implements, and the use cases that hold every business rule, including
//! permissions. Nothing here performs I/O; adapters live in sibling crates.

pub mod archive;
pub mod auth;
pub mod domain;
pub mod ports;
pub mod push_queue;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod usecases;
