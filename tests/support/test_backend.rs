//! Which backend the black-box tests put the server on: the local one, or
//! the AWS one against the moto server `./test.sh` starts when
//! `TGDESK_TEST_BACKEND=aws`. Shared by the test binaries (`#[path]`); each
//! uses part of it.
#![allow(dead_code)]

use std::path::Path;
use tgdesk::config::{ENV_AWS_CREATE, ENV_AWS_ENDPOINT, ENV_AWS_PREFIX, ENV_BACKEND};

/// True when the tests run the server on the AWS backend.
pub fn on_aws() -> bool {
    std::env::var("TGDESK_TEST_BACKEND").as_deref() == Ok("aws")
}

/// Returns the moto server's URL.
pub fn moto_endpoint() -> String {
    std::env::var("TGDESK_TEST_AWS_ENDPOINT")
        .expect("TGDESK_TEST_AWS_ENDPOINT names the moto server (./test.sh starts one)")
}

/// Returns the resource prefix of a server on `dir`: its own, and the same
/// again for a restart on that dir, so the restarted server finds its data.
pub fn prefix_for(dir: &Path) -> String {
    let hash = dir
        .to_string_lossy()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    format!("t{hash:016x}")
}

/// Returns the environment that puts a `tgdesk` process on `dir` on the AWS
/// backend at `endpoint`.
pub fn aws_env(dir: &Path, endpoint: String) -> Vec<(&'static str, String)> {
    vec![
        (ENV_BACKEND, "aws".into()),
        (ENV_AWS_CREATE, "1".into()),
        (ENV_AWS_ENDPOINT, endpoint),
        (ENV_AWS_PREFIX, prefix_for(dir)),
    ]
}

/// Returns the environment that puts a `tgdesk` process on `dir` on the
/// backend the tests run on (nothing for the local one).
pub fn backend_env(dir: &Path) -> Vec<(&'static str, String)> {
    if on_aws() {
        aws_env(dir, moto_endpoint())
    } else {
        Vec::new()
    }
}
