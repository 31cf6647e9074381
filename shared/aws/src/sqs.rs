//! [`SqsQueue`]: the queue port on Amazon SQS (standard queues).
//!
//! Bodies are arbitrary bytes and SQS carries text, so each body travels as
//! base64 (hence the port's body limit). A dead-letter reason rides in a
//! message attribute. Port queue names map to `<prefix>-<name>`, hashed where
//! that would pass SQS's 80 characters.

use crate::context::AwsContext;
use crate::error;
use async_trait::async_trait;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use base64::Engine;
use futures::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::Duration;
use tgdesk_core::ports::{
    dead_letter_queue, reason_within_limit, validate_queue_name, validate_receive, validate_send, Delivery, PortError,
    PortErrorKind, Queue, QueueDepth, MAX_QUEUE_NAME,
};
use tgdesk_core::usecases::COMMANDS_QUEUE;
use tokio::sync::RwLock;

/// Message attribute holding a dead-letter reason.
const REASON_ATTRIBUTE: &str = "tgdesk-reason";
/// SQS takes at most ten entries per batch call.
const BATCH_ENTRIES: usize = 10;
/// SQS takes at most 256 KiB of bodies per batch call.
const BATCH_BYTES: usize = 256 * 1024;
/// Longest long-poll SQS allows per call; longer waits loop.
const MAX_POLL: Duration = Duration::from_secs(20);
/// Longest visibility timeout SQS allows (12 hours).
const MAX_VISIBILITY_S: i32 = 43_200;
/// How long a delivery stays hidden while `dead_letter` moves it.
const MOVE_VISIBILITY_S: i32 = 60;
/// Batch calls in flight at once per `send_batch`.
const SEND_CONCURRENCY: usize = 8;

/// The queue port on SQS.
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    ctx: AwsContext,
    /// Queue URLs by port queue name, so a URL is looked up once per process.
    urls: RwLock<HashMap<String, String>>,
}

impl SqsQueue {
    /// Returns the adapter; queues are looked up (and, with
    /// `create_missing`, created) on first use.
    pub fn new(ctx: &AwsContext) -> Self {
        Self { client: ctx.sqs(), ctx: ctx.clone(), urls: RwLock::default() }
    }

    /// Returns the SQS name of port queue `name`.
    pub fn sqs_name(&self, name: &str) -> String {
        sqs_name(&self.ctx.settings.prefix, name)
    }

    /// Returns the URL of `name`; `None` when it does not exist and `create`
    /// is false. Creates it when `create` and the settings allow.
    async fn url(&self, name: &str, create: bool) -> Result<Option<String>, PortError> {
        if let Some(url) = self.urls.read().await.get(name) {
            return Ok(Some(url.clone()));
        }
        let sqs = self.sqs_name(name);
        let url = match self.client.get_queue_url().queue_name(&sqs).send().await {
            Ok(out) => out.queue_url().map(str::to_owned),
            Err(e) => {
                let e = error::sdk("sqs get_queue_url", e);
                if e.kind != PortErrorKind::NotFound {
                    return Err(e);
                }
                if !create {
                    return Ok(None);
                }
                if !self.may_create(name) {
                    return Err(PortError::not_found(format!("queue {sqs} does not exist (deploy the template)")));
                }
                let out = self
                    .client
                    .create_queue()
                    .queue_name(&sqs)
                    .attributes(QueueAttributeName::MessageRetentionPeriod, "1209600")
                    .send()
                    .await
                    .map_err(|e| error::sdk("sqs create_queue", e))?;
                out.queue_url().map(str::to_owned)
            }
        };
        let url = url.ok_or_else(|| PortError::new(PortErrorKind::Internal, format!("no URL for queue {sqs}")))?;
        self.urls.write().await.insert(name.to_owned(), url.clone());
        Ok(Some(url))
    }

    /// Whether this process may create queue `name`: any where the settings
    /// allow, and a fleet node's own commands queue (with its dead-letter
    /// queue) always, since nodes come and go with the service's tasks.
    fn may_create(&self, name: &str) -> bool {
        self.ctx.settings.create_missing || name.starts_with(&format!("{COMMANDS_QUEUE}-"))
    }

    /// Makes sure queue `name` exists, creating it where the settings allow
    /// (the template creates them on AWS).
    pub async fn ensure(&self, name: &str) -> Result<(), PortError> {
        self.url_or_create(name).await.map(drop)
    }

    /// Returns the URL of `name`, creating the queue where allowed.
    async fn url_or_create(&self, name: &str) -> Result<String, PortError> {
        self.url(name, true).await?.ok_or_else(|| PortError::not_found(format!("queue {name} does not exist")))
    }

    /// Sends base64 bodies in one batch call, with `attribute` on each.
    async fn send_chunk(&self, url: &str, bodies: Vec<String>, reason: Option<&str>) -> Result<(), PortError> {
        let mut entries = Vec::with_capacity(bodies.len());
        for (i, body) in bodies.into_iter().enumerate() {
            let mut entry = SendMessageBatchRequestEntry::builder().id(i.to_string()).message_body(body);
            if let Some(reason) = reason {
                let value = MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(reason)
                    .build()
                    .map_err(|e| error::build("sqs attribute", e))?;
                entry = entry.message_attributes(REASON_ATTRIBUTE, value);
            }
            entries.push(entry.build().map_err(|e| error::build("sqs entry", e))?);
        }
        let out = self
            .client
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| error::sdk("sqs send_message_batch", e))?;
        match out.failed().first() {
            None => Ok(()),
            // Entries fail alone (throttled, or refused); the caller retries the
            // whole call, and consumers are idempotent, so a resend is harmless.
            Some(f) => {
                let kind = if f.sender_fault() { PortErrorKind::Invalid } else { PortErrorKind::Unavailable };
                Err(PortError::new(kind, format!("sqs send_message_batch: entry failed: {}", f.code())))
            }
        }
    }
}

/// Returns the SQS name of port queue `name` under `prefix`: `<prefix>-<name>`,
/// or, past SQS's limit, its head and a hash of the whole (stable, so every
/// process maps a name alike).
pub fn sqs_name(prefix: &str, name: &str) -> String {
    let full = format!("{prefix}-{name}");
    if full.len() <= MAX_QUEUE_NAME {
        return full;
    }
    let hash = Sha256::digest(full.as_bytes());
    let tag: String = hash.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{}-{tag}", &full[..MAX_QUEUE_NAME - tag.len() - 1])
}

/// Splits encoded bodies into batch calls within SQS's count and size limits.
fn chunks(bodies: Vec<String>) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut size = 0;
    for body in bodies {
        let fits = out.last().is_some_and(|c| c.len() < BATCH_ENTRIES && size + body.len() <= BATCH_BYTES);
        if !fits {
            out.push(Vec::new());
            size = 0;
        }
        size += body.len();
        out.last_mut().expect("a chunk was just pushed").push(body);
    }
    out
}

/// Returns whole seconds of `d`, rounded up and capped.
fn ceil_secs(d: Duration, cap: i32) -> i32 {
    let s = d.as_millis().div_ceil(1000);
    i32::try_from(s).unwrap_or(cap).min(cap)
}

/// Decodes a body; one not written by this adapter is handed over as its raw
/// text, so the consumer sees it and dead-letters it instead of looping.
pub fn decode_body(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(text).unwrap_or_else(|_| text.as_bytes().to_vec())
}

/// Turns an SQS message into a delivery.
fn delivery(m: &aws_sdk_sqs::types::Message) -> Option<Delivery> {
    let receipt = m.receipt_handle()?.to_owned();
    let attempts = m
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let reason = m.message_attributes().and_then(|a| a.get(REASON_ATTRIBUTE)).and_then(|v| v.string_value());
    Some(Delivery {
        receipt,
        body: decode_body(m.body().unwrap_or_default()),
        attempts,
        reason: reason.map(str::to_owned),
    })
}

fn invalid_receipt(queue: &str) -> PortError {
    PortError::new(PortErrorKind::Invalid, format!("invalid receipt for queue {queue}"))
}

/// Maps the error of a call on one receipt: a refused receipt is `Invalid`.
fn receipt_error(queue: &str, e: PortError) -> PortError {
    if e.kind == PortErrorKind::Invalid {
        invalid_receipt(queue)
    } else {
        e
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send_batch(&self, queue: &str, bodies: Vec<Vec<u8>>) -> Result<(), PortError> {
        validate_send(queue, &bodies)?;
        if bodies.is_empty() {
            return Ok(());
        }
        let url = self.url_or_create(queue).await?;
        let encoded = bodies.iter().map(|b| base64::engine::general_purpose::STANDARD.encode(b)).collect();
        futures::stream::iter(chunks(encoded))
            .map(|chunk| self.send_chunk(&url, chunk, None))
            .buffer_unordered(SEND_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, PortError> {
        validate_receive(queue, max)?;
        let url = self.url_or_create(queue).await?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let out = self
                .client
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(max.min(BATCH_ENTRIES) as i32)
                .wait_time_seconds(ceil_secs(left.min(MAX_POLL), 20))
                .visibility_timeout(ceil_secs(visibility, MAX_VISIBILITY_S))
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .message_attribute_names(REASON_ATTRIBUTE)
                .send()
                .await
                .map_err(|e| error::sdk("sqs receive_message", e))?;
            let got: Vec<Delivery> = out.messages().iter().filter_map(delivery).collect();
            if !got.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(got);
            }
        }
    }

    async fn ack(&self, queue: &str, receipts: &[String]) -> Result<(), PortError> {
        validate_queue_name(queue)?;
        if receipts.is_empty() {
            return Ok(());
        }
        let url = self.url_or_create(queue).await?;
        for chunk in receipts.chunks(BATCH_ENTRIES) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, receipt) in chunk.iter().enumerate() {
                let entry = DeleteMessageBatchRequestEntry::builder().id(i.to_string()).receipt_handle(receipt);
                entries.push(entry.build().map_err(|e| error::build("sqs delete entry", e))?);
            }
            let out = self
                .client
                .delete_message_batch()
                .queue_url(&url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| error::sdk("sqs delete_message_batch", e))?;
            if let Some(f) = out.failed().first() {
                if error::kind_of_code(f.code()) == PortErrorKind::Invalid {
                    return Err(invalid_receipt(queue));
                }
                return Err(PortError::new(PortErrorKind::Unavailable, format!("sqs delete failed: {}", f.code())));
            }
        }
        Ok(())
    }

    async fn nack(&self, queue: &str, receipt: &str, delay: Duration) -> Result<(), PortError> {
        validate_queue_name(queue)?;
        let url = self.url_or_create(queue).await?;
        self.client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt)
            .visibility_timeout(ceil_secs(delay, MAX_VISIBILITY_S))
            .send()
            .await
            .map_err(|e| receipt_error(queue, error::sdk("sqs change_message_visibility", e)))?;
        Ok(())
    }

    async fn dead_letter(&self, queue: &str, delivery: &Delivery, reason: &str) -> Result<(), PortError> {
        validate_queue_name(queue)?;
        let dlq = dead_letter_queue(queue);
        validate_queue_name(&dlq)?;
        let url = self.url_or_create(queue).await?;
        // Holds the delivery while it moves, which also proves the receipt,
        // so a forged one copies nothing into the dead-letter queue.
        self.client
            .change_message_visibility()
            .queue_url(&url)
            .receipt_handle(&delivery.receipt)
            .visibility_timeout(MOVE_VISIBILITY_S)
            .send()
            .await
            .map_err(|e| receipt_error(queue, error::sdk("sqs change_message_visibility", e)))?;
        let dlq_url = self.url_or_create(&dlq).await?;
        let body = base64::engine::general_purpose::STANDARD.encode(&delivery.body);
        self.send_chunk(&dlq_url, vec![body], Some(reason_within_limit(reason))).await?;
        self.client
            .delete_message()
            .queue_url(&url)
            .receipt_handle(&delivery.receipt)
            .send()
            .await
            .map_err(|e| receipt_error(queue, error::sdk("sqs delete_message", e)))?;
        Ok(())
    }

    async fn depth(&self, queue: &str) -> Result<QueueDepth, PortError> {
        validate_queue_name(queue)?;
        let Some(url) = self.url(queue, false).await? else {
            return Ok(QueueDepth::default());
        };
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| error::sdk("sqs get_queue_attributes", e))?;
        let count = |name: QueueAttributeName| -> u64 {
            out.attributes().and_then(|a| a.get(&name)).and_then(|v| v.parse().ok()).unwrap_or(0)
        };
        Ok(QueueDepth {
            visible: count(QueueAttributeName::ApproximateNumberOfMessages),
            in_flight: count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        })
    }

    fn exact_depth(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_within_the_limit_keep_their_spelling_and_longer_ones_are_hashed_stably() {
        assert_eq!(sqs_name("tgdesk", "updates"), "tgdesk-updates");
        let long = "q".repeat(MAX_QUEUE_NAME);
        let (a, b) = (sqs_name("tgdesk", &long), sqs_name("tgdesk", &format!("{long}-dlq")));
        assert_eq!(a.len(), MAX_QUEUE_NAME);
        assert_ne!(a, b);
        assert_eq!(a, sqs_name("tgdesk", &long));
        assert!(validate_queue_name(&a).is_ok());
    }

    #[test]
    fn chunks_hold_at_most_ten_bodies_and_256_kib() {
        let small: Vec<String> = (0..25).map(|i| i.to_string()).collect();
        assert_eq!(chunks(small).iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
        let big: Vec<String> = (0..3).map(|_| "x".repeat(200 * 1024)).collect();
        assert_eq!(chunks(big).len(), 3);
    }

    #[test]
    fn a_body_not_in_base64_is_handed_over_as_its_text() {
        assert_eq!(decode_body("aGk="), b"hi");
        assert_eq!(decode_body("{not base64}"), b"{not base64}");
    }
}
