//! Where the AWS adapters' tests find their server: a moto server that
//! `./test.sh` starts on a free loopback port and names in
//! `TGDESK_TEST_AWS_ENDPOINT`. moto speaks the real wire protocols, so the
//! adapters are exercised through the real AWS SDK over real HTTP.

use tgdesk_aws::{AwsContext, AwsSettings};

/// Environment variable naming the moto server's URL.
pub const ENDPOINT_VAR: &str = "TGDESK_TEST_AWS_ENDPOINT";

/// Returns a context on the test server, creating resources as needed.
/// Panics with the way out when no server is configured: these tests never
/// pass by skipping.
pub async fn context() -> AwsContext {
    let endpoint = std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!("{ENDPOINT_VAR} is not set: the AWS adapter tests need a moto server; run ./test.sh, which starts one")
    });
    AwsContext::load(AwsSettings::for_endpoint(&endpoint, "tgtest")).await
}

/// Returns a context whose tables, queues and bucket are its own (a random
/// prefix). moto copies a whole table for every `TransactWriteItems`, so
/// store cases sharing one table slow each other down as it grows.
#[allow(dead_code)]
pub async fn context_of_its_own() -> AwsContext {
    let shared = context().await;
    let prefix = tgdesk_core::testkit::fixtures::tenant().as_str().to_owned();
    AwsContext::load(AwsSettings { prefix, ..shared.settings }).await
}
