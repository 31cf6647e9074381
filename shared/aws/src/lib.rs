//! tgdesk AWS adapters: each one a translation of a core port onto an AWS
//! service, with no rules of its own. [`SqsQueue`] (queue port),
//! [`S3Blobs`] (blob store port), [`DynamoLeases`] (leases port),
//! [`DynamoStore`] (store ports), [`DynamoStreamFeed`] (change feed) and
//! [`KmsSealer`] (session sealer) pass the
//! same contract suites in `tgdesk_core::testkit` as their local twins; the
//! tests run them through the real AWS SDK against a moto server.
//!
//! Every adapter takes an [`AwsContext`]: the SDK configuration and the
//! resource names, read once from [`AwsSettings`].

mod context;
pub mod dynamo;
mod error;
mod expiry_archiver;
mod kms;
mod ports;
mod s3;
mod sqs;
mod stream_archiver;
pub mod usage;

pub use context::{days, env, AwsContext, AwsSettings, DEFAULT_HOT_DAYS, DEFAULT_PREFIX, DEFAULT_REGION};
pub use dynamo::{DynamoConnections, DynamoLeases, DynamoStore, DynamoStreamFeed, DynamoThrottle, ExpiredBatch};
pub use error::{THROTTLED, UNAVAILABLE};
pub use expiry_archiver::{ExpiryArchiver, AHEAD};
pub use kms::{session_sealer, KmsSealer, ENV_KMS_KEY};
pub use ports::AwsPorts;
pub use s3::S3Blobs;
pub use sqs::{decode_body as sqs_body, SqsQueue};
pub use stream_archiver::StreamArchiver;
