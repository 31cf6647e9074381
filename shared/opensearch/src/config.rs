//! What an [`OpenSearchIndex`](crate::OpenSearchIndex) needs to know, typed
//! and checked once: where the cluster is, how its indices are named and
//! sized, how hard to retry, and how large a bulk request may grow.

use secrecy::SecretString;
use std::time::Duration;

/// Longest name prefix, so every derived name stays well under OpenSearch's
/// 255-byte index name limit.
const MAX_PREFIX: usize = 40;

/// How often and how patiently a request is retried when the cluster says
/// "later" (HTTP 429, 502, 503, 504, a refused or timed-out connection, a
/// bulk item rejected with 429 or 503).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// Pause before the second try; doubled for each further try.
    pub first_backoff: Duration,
    /// Longest pause between two tries.
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// The policy for indexing and search: five tries over about three
    /// seconds, which outlasts a busy bulk queue without holding the indexer
    /// (which starts over on failure) for long.
    pub fn indexing() -> Self {
        Self { attempts: 5, first_backoff: Duration::from_millis(200), max_backoff: Duration::from_secs(2) }
    }

    /// Returns the pause before try `attempt + 1` (`attempt` ≥ 1): the
    /// doubled backoff, half of it random so retrying writers spread out.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let doubled = self.first_backoff.saturating_mul(1 << attempt.saturating_sub(1).min(16));
        let full = doubled.min(self.max_backoff);
        full / 2 + full.mul_f64(rand::random::<f64>() / 2.0)
    }
}

/// How large one `_bulk` request may grow; a batch beyond either limit is
/// sent in several requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BulkLimits {
    /// Most actions in one request.
    pub max_actions: usize,
    /// Most bytes of NDJSON in one request (Amazon OpenSearch Service refuses
    /// bodies over 10 MiB on its smaller instance types; 5 MB is its advice).
    pub max_bytes: usize,
}

impl Default for BulkLimits {
    fn default() -> Self {
        Self { max_actions: 1_000, max_bytes: 5_000_000 }
    }
}

/// A user and password for HTTP basic authentication (a self-managed
/// cluster, or Amazon OpenSearch Service's fine-grained access control).
#[derive(Clone, Debug)]
pub struct BasicAuth {
    /// The user name.
    pub user: String,
    /// The password.
    pub password: SecretString,
}

/// Where the cluster is and how the index lives in it.
#[derive(Clone, Debug)]
pub struct OpenSearchConfig {
    /// The cluster's endpoint, `https://…` or `http://localhost:9200`.
    pub url: String,
    /// The start of every name this adapter owns: `<prefix>-messages-YYYY.MM`
    /// indices, the `<prefix>-messages` alias and template, `<prefix>-meta`.
    pub prefix: String,
    /// Primary shards of each monthly index (one month of a help desk's
    /// messages is far below the 10–50 GB a shard holds well).
    pub shards: u32,
    /// Replicas of each shard.
    pub replicas: u32,
    /// How often the cluster refreshes on its own.
    pub refresh_interval: String,
    /// True when `commit` refreshes, so what it applied is searchable when
    /// it returns (one indexer, as the server runs it). False where many
    /// writers commit at once (the `indexer` function's concurrent
    /// invocations): a refresh each would cost the cluster more than
    /// `refresh_interval`, which then bounds the index lag.
    pub refresh_on_commit: bool,
    /// Basic authentication, when the cluster asks for it.
    pub auth: Option<BasicAuth>,
    /// SigV4 signing for a domain that authorises by IAM (`None`: unsigned).
    pub sigv4: Option<crate::sigv4::SigV4>,
    /// Retries of requests and of rejected bulk items.
    pub retry: RetryPolicy,
    /// Size of one `_bulk` request.
    pub bulk: BulkLimits,
    /// Longest time one request may take (a `_delete_by_query` of a large
    /// account is the slowest).
    pub timeout: Duration,
}

/// The environment variable naming the OpenSearch endpoint (the server's
/// AWS mode and the `indexer` function).
pub const ENV_URL: &str = "TGDESK_OPENSEARCH_URL";

impl OpenSearchConfig {
    /// Returns the configuration for `url` with names under `prefix` and the
    /// defaults for the rest; refuses a prefix OpenSearch would refuse as an
    /// index name (upper case, punctuation, a leading `-` or `_`).
    pub fn new(url: impl Into<String>, prefix: impl Into<String>) -> Result<Self, String> {
        let (url, prefix) = (url.into(), prefix.into());
        let ok = (1..=MAX_PREFIX).contains(&prefix.len())
            && prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            && !prefix.starts_with(['-', '_']);
        if !ok {
            return Err(format!(
                "opensearch prefix {prefix:?} must be 1 to {MAX_PREFIX} characters of a-z, 0-9, '-' and '_'"
            ));
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!("opensearch url {url:?} must start with http:// or https://"));
        }
        Ok(Self {
            url: url.trim_end_matches('/').to_owned(),
            prefix,
            shards: 1,
            replicas: 1,
            refresh_interval: "30s".into(),
            refresh_on_commit: true,
            auth: None,
            sigv4: None,
            retry: RetryPolicy::indexing(),
            bulk: BulkLimits::default(),
            timeout: Duration::from_secs(60),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_opensearch_would_refuse_are_refused() {
        assert!(OpenSearchConfig::new("http://localhost:9200/", "tgdesk").is_ok());
        for bad in ["", "Tgdesk", "-x", "_x", "a b", "a*", &"a".repeat(41)] {
            assert!(OpenSearchConfig::new("http://localhost:9200", bad).is_err(), "{bad:?}");
        }
        assert!(OpenSearchConfig::new("localhost:9200", "tgdesk").is_err());
        assert_eq!(OpenSearchConfig::new("http://h:9200/", "p").unwrap().url, "http://h:9200");
    }

    #[test]
    fn backoff_doubles_up_to_the_limit_with_half_of_it_random() {
        let p = RetryPolicy {
            attempts: 9,
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1_000),
        };
        for (attempt, full) in [(1, 100), (2, 200), (3, 400), (4, 800), (5, 1_000), (30, 1_000)] {
            let pause = p.backoff(attempt).as_millis();
            assert!((full / 2..=full).contains(&pause), "try {attempt}: {pause} ms");
        }
    }
}
