//! End-to-end tests of the local server over real HTTP: each test spawns the
//! server on port 0 with a fresh data dir (see `helpers::spawn_app`).

mod account_login;
mod accounts;
mod agents;
mod archive;
mod auth;
mod conversation;
mod e2e;
mod helpers;
mod import;
mod inbox;
mod jobs;
mod permissions;
mod pipeline;
mod push;
mod search;
mod security_limits;
mod security_login;
mod security_ws;
mod sending;
mod sim_desk;
mod tenants;
#[path = "../support/test_backend.rs"]
mod test_backend;
mod uploads;
