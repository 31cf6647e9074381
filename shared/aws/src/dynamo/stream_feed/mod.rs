//! [`DynamoStreamFeed`]: the `ChangeFeed` port over the messages table's
//! DynamoDB stream, for an indexer that polls (the one-process AWS mode; a
//! Lambda indexer gets the same records from its event source mapping and
//! converts them with [`change_of_record`]). [`DynamoStreamFeed::read_expired`]
//! reads the same stream for the messages DynamoDB's TTL took out of the
//! table, which the archiver writes to the archive ([`expired_message`]).
//!
//! Each read lists the stream's shards, takes those whose parent is read to
//! its end (a child holds later writes of the same keys), and reads each
//! from the position with a fresh iterator: no iterator outlives a read, so
//! none expires between polls. Order holds per item, which is all the index
//! needs (every change is keyed).

mod position;
mod record;

pub use record::{change_of_record, expired_message, is_expiry, MessageRecord, TTL_IDENTITY};

use super::tables::{self, MESSAGES};
use crate::context::AwsContext;
use crate::error;
use async_trait::async_trait;
use aws_sdk_dynamodbstreams::types::{Shard, ShardIteratorType};
use chrono::{DateTime, Utc};
use position::StreamPosition;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;
use tgdesk_core::domain::{Message, TenantId};
use tgdesk_core::ports::{ChangeFeed, FeedBatch, MessageChange, PortError, PortErrorKind};
use tokio::sync::OnceCell;
use tokio::time::Instant;

/// Most records one `GetRecords` returns (the API's limit).
const RECORDS_PER_CALL: usize = 1000;
/// After a read that found nothing, reads from the same position within this
/// pause answer at once without asking AWS: an indexer polls every 100 ms, and DynamoDB Streams
/// throttles a shard read more than about five times a second.
const IDLE_PAUSE: Duration = Duration::from_millis(500);

/// The messages table's stream as a change feed.
pub struct DynamoStreamFeed {
    dynamodb: aws_sdk_dynamodb::Client,
    streams: aws_sdk_dynamodbstreams::Client,
    ctx: AwsContext,
    /// The stream's ARN, looked up once (a table keeps its stream).
    stream: OnceCell<String>,
    /// The position a read last found nothing after, and until when reads
    /// from it answer so without asking (see [`IDLE_PAUSE`]).
    idle: Mutex<Option<(String, Instant)>>,
}

/// One shard as a read needs it.
struct ShardInfo {
    id: String,
    parent: Option<String>,
}

/// What one read gathers: the items its rule made of the records, and when
/// the oldest of those records was written.
struct Gathered<T> {
    items: Vec<T>,
    oldest: Option<DateTime<Utc>>,
    limit: usize,
}

impl<T> Gathered<T> {
    fn full(&self) -> bool {
        self.items.len() >= self.limit
    }
}

/// What a record of the stream becomes for one reader (`None`: nothing).
type Rule<T> = fn(&aws_sdk_dynamodbstreams::types::Record) -> Result<Option<T>, PortError>;

/// Messages DynamoDB's TTL took out of the table, and the position after them.
#[derive(Debug, Default)]
pub struct ExpiredBatch {
    /// The expired messages, with their tenants.
    pub messages: Vec<(TenantId, Message)>,
    /// Where the next read starts.
    pub position: Option<String>,
}

impl DynamoStreamFeed {
    /// Returns the feed of table `<prefix>-messages` (created where the
    /// settings allow, as the store does).
    pub fn new(ctx: &AwsContext) -> Self {
        Self {
            dynamodb: ctx.dynamodb(),
            streams: ctx.dynamodb_streams(),
            ctx: ctx.clone(),
            stream: OnceCell::new(),
            idle: Mutex::new(None),
        }
    }

    async fn stream_arn(&self) -> Result<&str, PortError> {
        self.stream
            .get_or_try_init(|| async {
                let table = tables::ensure(&self.ctx, &self.dynamodb, MESSAGES).await?;
                let out = self
                    .dynamodb
                    .describe_table()
                    .table_name(&table)
                    .send()
                    .await
                    .map_err(|e| error::sdk("dynamodb describe_table", e))?;
                out.table()
                    .and_then(|t| t.latest_stream_arn())
                    .map(str::to_owned)
                    .ok_or_else(|| PortError::new(PortErrorKind::Internal, format!("table {table} has no stream")))
            })
            .await
            .map(String::as_str)
    }

    /// Lists every shard of the stream, parents before their children.
    async fn shards(&self, arn: &str) -> Result<Vec<ShardInfo>, PortError> {
        let mut listed: Vec<Shard> = Vec::new();
        let mut start: Option<String> = None;
        loop {
            let out = self
                .streams
                .describe_stream()
                .stream_arn(arn)
                .set_exclusive_start_shard_id(start.take())
                .send()
                .await
                .map_err(|e| error::sdk("dynamodb describe_stream", e))?;
            let description = out.stream_description();
            listed.extend(description.map(|d| d.shards().to_vec()).unwrap_or_default());
            match description.and_then(|d| d.last_evaluated_shard_id()) {
                Some(last) => start = Some(last.to_owned()),
                None => break,
            }
        }
        let shards: Vec<ShardInfo> = listed
            .into_iter()
            .filter_map(|s| {
                Some(ShardInfo { id: s.shard_id()?.to_owned(), parent: s.parent_shard_id().map(str::to_owned) })
            })
            .collect();
        Ok(parents_first(shards))
    }

    /// Reads `shard` from `position` into `out` until it has nothing more
    /// now, `out` is full, or (closed) it ends.
    async fn read_shard<T>(
        &self,
        arn: &str,
        shard: &str,
        position: &mut StreamPosition,
        out: &mut Gathered<T>,
        rule: Rule<T>,
    ) -> Result<(), PortError> {
        let mut iterator = self.iterator(arn, shard, position.after.get(shard).map(String::as_str)).await?;
        while !out.full() {
            let wanted = (out.limit - out.items.len()).min(RECORDS_PER_CALL);
            let page = self
                .streams
                .get_records()
                .shard_iterator(&iterator)
                .limit(i32::try_from(wanted).unwrap_or(i32::MAX))
                .send()
                .await
                .map_err(|e| error::sdk("dynamodb get_records", e))?;
            for r in page.records() {
                let data = r.dynamodb();
                if let Some(item) = rule(r)? {
                    let written = data
                        .and_then(|d| d.approximate_creation_date_time())
                        .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos()));
                    if let Some(at) = written {
                        out.oldest = Some(out.oldest.map_or(at, |o| o.min(at)));
                    }
                    out.items.push(item);
                }
                if let Some(seq) = data.and_then(|d| d.sequence_number()) {
                    position.advance(shard, seq);
                }
            }
            match page.next_shard_iterator() {
                // A closed shard read to its end.
                None => {
                    position.finish(shard);
                    return Ok(());
                }
                // An open shard's iterator never ends: an empty page is "nothing more now".
                Some(_) if page.records().is_empty() => return Ok(()),
                Some(next) => iterator = next.to_owned(),
            }
        }
        Ok(())
    }

    /// Returns an iterator of `shard` after `after` (`None`: from its oldest
    /// record kept). A sequence number older than the stream keeps (24 h:
    /// the reader was stopped that long) restarts the shard at its oldest
    /// record, saying so: what expired meanwhile is lost to the index.
    async fn iterator(&self, arn: &str, shard: &str, after: Option<&str>) -> Result<String, PortError> {
        let mut after = after;
        loop {
            let request = self.streams.get_shard_iterator().stream_arn(arn).shard_id(shard);
            let sent = match after {
                Some(seq) => request.shard_iterator_type(ShardIteratorType::AfterSequenceNumber).sequence_number(seq),
                None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
            }
            .send()
            .await;
            match sent {
                Ok(out) => {
                    return out.shard_iterator().map(str::to_owned).ok_or_else(|| {
                        PortError::new(PortErrorKind::Internal, format!("no iterator for shard {shard}"))
                    })
                }
                Err(e)
                    if after.is_some()
                        && e.as_service_error().is_some_and(|s| s.is_trimmed_data_access_exception()) =>
                {
                    tracing::warn!(shard, "stream records expired before they were read; reindex to recover them");
                    after = None;
                }
                Err(e) => return Err(error::sdk("dynamodb get_shard_iterator", e)),
            }
        }
    }
}

impl DynamoStreamFeed {
    /// True when a read from `after` found nothing less than [`IDLE_PAUSE`] ago.
    fn is_idle(&self, after: Option<&str>) -> bool {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.as_ref().is_some_and(|(at, until)| Some(at.as_str()) == after && Instant::now() < *until)
    }
}

/// Orders shards so that each comes after its parent (when listed).
fn parents_first(shards: Vec<ShardInfo>) -> Vec<ShardInfo> {
    let depths: Vec<usize> = {
        let listed: HashSet<&str> = shards.iter().map(|s| s.id.as_str()).collect();
        let parent_of: HashMap<&str, &str> = shards
            .iter()
            .filter_map(|s| Some((s.id.as_str(), s.parent.as_deref().filter(|p| listed.contains(p))?)))
            .collect();
        let depth = |shard: &ShardInfo| {
            let (mut id, mut depth) = (shard.id.as_str(), 0usize);
            // Bounded: a listing is finite, and a cycle would be a service bug.
            while let Some(parent) = parent_of.get(id).filter(|_| depth <= shards.len()) {
                depth += 1;
                id = parent;
            }
            depth
        };
        shards.iter().map(depth).collect()
    };
    let mut ordered: Vec<(usize, ShardInfo)> = depths.into_iter().zip(shards).collect();
    ordered.sort_by(|a, b| (a.0, &a.1.id).cmp(&(b.0, &b.1.id)));
    ordered.into_iter().map(|(_, s)| s).collect()
}

impl DynamoStreamFeed {
    /// Reads the records after `after` (`None`: the oldest kept) into at most
    /// `limit` items of `rule`; returns them and the position after them.
    async fn read_with<T>(
        &self,
        after: Option<&str>,
        limit: usize,
        rule: Rule<T>,
    ) -> Result<(Gathered<T>, String), PortError> {
        let given = after.map(StreamPosition::decode).transpose()?;
        let arn = self.stream_arn().await?;
        let label = arn.rsplit('/').next().unwrap_or(arn);
        let mut position = match given {
            None => StreamPosition::start(label),
            Some(p) if p.stream == label => p,
            Some(p) => {
                let message = format!("feed position of stream {} given to stream {label}", p.stream);
                return Err(PortError::new(PortErrorKind::Invalid, message));
            }
        };
        let mut out = Gathered { items: Vec::new(), oldest: None, limit: limit.max(1) };
        if self.is_idle(after) {
            return Ok((out, after.unwrap_or_default().to_owned()));
        }
        let shards = self.shards(arn).await?;
        let listed: HashSet<&str> = shards.iter().map(|s| s.id.as_str()).collect();
        position.keep_only(&listed);
        for shard in &shards {
            if out.full() {
                break;
            }
            let parent_done =
                shard.parent.as_deref().is_none_or(|parent| !listed.contains(parent) || position.done.contains(parent));
            if parent_done && !position.done.contains(&shard.id) {
                self.read_shard(arn, &shard.id, &mut position, &mut out, rule).await?;
            }
        }
        let reached = position.encode();
        let found_nothing = out.items.is_empty() && Some(reached.as_str()) == after;
        *self.idle.lock().unwrap_or_else(|p| p.into_inner()) =
            found_nothing.then(|| (reached.clone(), Instant::now() + IDLE_PAUSE));
        Ok((out, reached))
    }

    /// Reads at most `limit` messages that DynamoDB's TTL took out of the
    /// table after `after` (`None`: from the oldest record the stream keeps,
    /// 24 hours). Reading them again is harmless: archive writes are idempotent.
    pub async fn read_expired(&self, after: Option<&str>, limit: usize) -> Result<ExpiredBatch, PortError> {
        let (out, reached) = self.read_with(after, limit, record::expired_of_stream_record).await?;
        Ok(ExpiredBatch { messages: out.items, position: Some(reached) })
    }
}

#[async_trait]
impl ChangeFeed for DynamoStreamFeed {
    async fn read(&self, after: Option<&str>, limit: usize) -> Result<FeedBatch, PortError> {
        let rule: Rule<MessageChange> = record::change_of_stream_record;
        let (out, reached) = self.read_with(after, limit, rule).await?;
        Ok(FeedBatch { changes: out.items, position: Some(reached), oldest: out.oldest })
    }

    /// Does nothing: a stream drops its records after 24 hours by itself.
    async fn trim(&self, upto: &str) -> Result<(), PortError> {
        StreamPosition::decode(upto).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(id: &str, parent: Option<&str>) -> ShardInfo {
        ShardInfo { id: id.to_owned(), parent: parent.map(str::to_owned) }
    }

    #[test]
    fn shards_are_read_parents_before_children() {
        let listed = vec![
            shard("c-grandchild", Some("b-child")),
            shard("b-child", Some("z-root")),
            shard("a-orphan", Some("expired")),
            shard("z-root", None),
        ];
        let order: Vec<String> = parents_first(listed).into_iter().map(|s| s.id).collect();
        assert_eq!(order, ["a-orphan", "z-root", "b-child", "c-grandchild"]);
    }
}
