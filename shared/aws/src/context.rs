//! What every AWS adapter shares: the SDK configuration (endpoint, region,
//! credentials from the standard chain) and the names of the resources,
//! built from a prefix so several deployments share one account.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::tls;
use std::time::Duration;

/// Names of the environment variables that configure the AWS backend, one
/// place for every binary (and `template.yaml`).
pub mod env {
    /// Prefix of the AWS resource names (`<prefix>-main`, `<prefix>-updates`, …).
    pub const PREFIX: &str = "TGDESK_AWS_PREFIX";
    /// `1` creates missing tables, queues and buckets at start.
    pub const CREATE: &str = "TGDESK_AWS_CREATE";
    /// Another endpoint for every service (moto, LocalStack): the SDK's own variable.
    pub const ENDPOINT: &str = "AWS_ENDPOINT_URL";
    /// Days a message stays in the hot store after its date.
    pub const HOT_DAYS: &str = "TGDESK_HOT_DAYS";
}

/// Region when neither the settings nor the environment name one.
pub const DEFAULT_REGION: &str = "us-east-1";
/// Prefix of every table, queue and bucket name unless configured.
pub const DEFAULT_PREFIX: &str = "tgdesk";

/// How to reach AWS, read once at start (see `src/config.rs` for the
/// `TGDESK_*` and `AWS_*` variables behind each field).
#[derive(Clone, Debug)]
pub struct AwsSettings {
    /// Another endpoint for every service (moto, LocalStack); `None`: AWS itself.
    pub endpoint: Option<String>,
    /// The region; `None`: the standard chain's, else [`DEFAULT_REGION`].
    pub region: Option<String>,
    /// Prefix of the resource names (`<prefix>-leases`, `<prefix>-files`, …).
    pub prefix: String,
    /// Creates missing tables, queues and buckets on first use (local runs and
    /// tests); a deployment gets them from the SAM template instead.
    pub create_missing: bool,
    /// Fixed credentials (tests against moto); `None`: the standard chain
    /// (environment, profile, ECS task role, Lambda role).
    pub static_credentials: Option<(String, String)>,
    /// How long a message stays in the table after its date (its TTL).
    pub hot_window: Duration,
}

/// Hot window when none is configured.
pub const DEFAULT_HOT_DAYS: u32 = 30;

/// Returns `days` as a duration.
pub fn days(days: u32) -> Duration {
    Duration::from_secs(u64::from(days) * 24 * 3600)
}

impl AwsSettings {
    /// Reads the settings from the [`env`] variables (defaults: prefix
    /// [`DEFAULT_PREFIX`], nothing created, AWS's own endpoints).
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            endpoint: var(env::ENDPOINT),
            region: None,
            prefix: var(env::PREFIX).unwrap_or_else(|| DEFAULT_PREFIX.to_owned()),
            create_missing: var(env::CREATE).is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes" | "on")),
            static_credentials: None,
            hot_window: days(var(env::HOT_DAYS).and_then(|d| d.parse().ok()).unwrap_or(DEFAULT_HOT_DAYS)),
        }
    }

    /// Returns settings for a moto or LocalStack server at `endpoint`, with
    /// its dummy credentials, creating what is missing.
    pub fn for_endpoint(endpoint: &str, prefix: &str) -> Self {
        Self {
            endpoint: Some(endpoint.to_owned()),
            region: Some(DEFAULT_REGION.to_owned()),
            prefix: prefix.to_owned(),
            create_missing: true,
            static_credentials: Some(("test".to_owned(), "test".to_owned())),
            hot_window: days(DEFAULT_HOT_DAYS),
        }
    }
}

/// The SDK configuration and naming shared by the adapters. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AwsContext {
    /// Configuration every service client is built from.
    pub sdk: SdkConfig,
    /// The settings it was built from.
    pub settings: AwsSettings,
}

impl AwsContext {
    /// Loads the SDK configuration for `settings`. The HTTP client uses rustls
    /// with ring and short connect timeouts, so an unreachable endpoint fails
    /// a request within seconds (and is retried by the caller) instead of hanging.
    pub async fn load(settings: AwsSettings) -> Self {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
            .build_https();
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(3))
            .operation_attempt_timeout(Duration::from_secs(30))
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http).timeout_config(timeouts);
        if let Some(endpoint) = &settings.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some((key, secret)) = &settings.static_credentials {
            let creds = aws_credential_types::Credentials::from_keys(key, secret, None);
            loader = loader.credentials_provider(creds);
        }
        let mut sdk = loader.load().await;
        if sdk.region().is_none() {
            sdk = sdk.into_builder().region(Region::new(DEFAULT_REGION)).build();
        }
        Self { sdk, settings }
    }

    /// Returns a DynamoDB client that counts what it asks ([`crate::usage`]).
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::config::Builder::from(&self.sdk).interceptor(crate::usage::CountUsage).build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }

    /// Returns a DynamoDB Streams client that counts what it asks.
    pub fn dynamodb_streams(&self) -> aws_sdk_dynamodbstreams::Client {
        let config =
            aws_sdk_dynamodbstreams::config::Builder::from(&self.sdk).interceptor(crate::usage::CountUsage).build();
        aws_sdk_dynamodbstreams::Client::from_conf(config)
    }

    /// Returns a KMS client that counts what it asks.
    pub fn kms(&self) -> aws_sdk_kms::Client {
        let config = aws_sdk_kms::config::Builder::from(&self.sdk).interceptor(crate::usage::CountUsage).build();
        aws_sdk_kms::Client::from_conf(config)
    }

    /// Returns an SQS client that counts what it asks.
    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        let config = aws_sdk_sqs::config::Builder::from(&self.sdk).interceptor(crate::usage::CountUsage).build();
        aws_sdk_sqs::Client::from_conf(config)
    }

    /// Returns an S3 client that counts what it asks, with path-style
    /// addressing on a custom endpoint (moto and LocalStack have no
    /// per-bucket host names; AWS itself serves both styles).
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk)
            .force_path_style(self.settings.endpoint.is_some())
            .interceptor(crate::usage::CountUsage)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// Returns the full name of resource `name` (`<prefix>-<name>`).
    pub fn name(&self, name: &str) -> String {
        format!("{}-{}", self.settings.prefix, name)
    }

    /// Names the endpoint for error messages: the configured one or "AWS".
    pub fn endpoint_label(&self) -> &str {
        self.settings.endpoint.as_deref().unwrap_or("AWS")
    }
}
