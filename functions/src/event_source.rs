//! What Lambda's SQS event source does around a function, for the places
//! that stand in for it here (the tests, the cost bench): receive up to a
//! batch of messages as the `SqsEvent` Lambda delivers, and delete the
//! records the function did not name as failures.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName};
use serde_json::{json, Value};
use tgdesk_aws::AwsContext;

/// One queue as an event source sees it.
pub struct EventSource {
    sqs: aws_sdk_sqs::Client,
    url: String,
    arn: String,
    /// How long received messages stay invisible (`None`: the queue's setting, as Lambda uses).
    visibility: Option<i32>,
}

impl EventSource {
    /// The source of queue `name` (the port's name, as `SqsQueue` names it).
    pub async fn of(ctx: &AwsContext, name: &str) -> Result<Self, String> {
        let sqs = ctx.sqs();
        let full = tgdesk_aws::SqsQueue::new(ctx).sqs_name(name);
        let url = sqs.get_queue_url().queue_name(full).send().await.map_err(|e| format!("queue {name}: {e:?}"))?;
        let url = url.queue_url().unwrap_or_default().to_owned();
        let attributes = sqs.get_queue_attributes().queue_url(&url).attribute_names(QueueAttributeName::QueueArn);
        let attributes = attributes.send().await.map_err(|e| format!("queue {name}: {e:?}"))?;
        let arn = attributes.attributes().and_then(|a| a.get(&QueueAttributeName::QueueArn)).cloned();
        Ok(Self { sqs, url, arn: arn.unwrap_or_default(), visibility: None })
    }

    /// Keeps received messages invisible for `visibility` instead of the
    /// queue's setting (a test that kills its consumer gets them back sooner).
    pub fn with_visibility(mut self, visibility: std::time::Duration) -> Self {
        self.visibility = Some(i32::try_from(visibility.as_secs()).unwrap_or(i32::MAX));
        self
    }

    /// Receives up to `max` messages (in receives of 10, waiting at most a
    /// second for the first) as one event, with the fields Lambda fills.
    pub async fn receive(&self, max: usize) -> Result<SqsEvent, String> {
        self.receive_waiting(max, 1).await
    }

    /// Receives as [`Self::receive`] does, waiting at most `wait_seconds` for the first.
    pub async fn receive_waiting(&self, max: usize, wait_seconds: i32) -> Result<SqsEvent, String> {
        let mut records = Vec::new();
        while records.len() < max {
            let wait = if records.is_empty() { wait_seconds } else { 0 };
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages((max - records.len()).min(10) as i32)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .wait_time_seconds(wait)
                .set_visibility_timeout(self.visibility)
                .send()
                .await
                .map_err(|e| format!("receive: {e:?}"))?;
            if received.messages().is_empty() {
                break;
            }
            records.extend(received.messages().iter().map(|m| self.record(m)));
        }
        serde_json::from_value(json!({ "Records": records })).map_err(|e| format!("not an SQS event: {e}"))
    }

    fn record(&self, m: &aws_sdk_sqs::types::Message) -> Value {
        let attributes: serde_json::Map<String, Value> = m
            .attributes()
            .map(|a| a.iter().map(|(k, v)| (k.as_str().to_owned(), json!(v))).collect())
            .unwrap_or_default();
        json!({
            "messageId": m.message_id(),
            "receiptHandle": m.receipt_handle(),
            "body": m.body(),
            "attributes": attributes,
            "messageAttributes": {},
            "md5OfBody": m.md5_of_body(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.arn,
            "awsRegion": "us-east-1",
        })
    }

    /// Deletes the records of `event` that `answer` did not name as failed.
    pub async fn delete_done(&self, event: &SqsEvent, answer: &SqsBatchResponse) -> Result<(), String> {
        let failed: Vec<&str> = answer.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        let done: Vec<_> =
            event.records.iter().filter(|r| !failed.contains(&r.message_id.as_deref().unwrap_or_default())).collect();
        for chunk in done.chunks(10) {
            let mut batch = self.sqs.delete_message_batch().queue_url(&self.url);
            for (i, r) in chunk.iter().enumerate() {
                let entry = DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(r.receipt_handle.clone().unwrap_or_default())
                    .build()
                    .map_err(|e| format!("delete entry: {e}"))?;
                batch = batch.entries(entry);
            }
            batch.send().await.map_err(|e| format!("delete: {e:?}"))?;
        }
        Ok(())
    }
}
