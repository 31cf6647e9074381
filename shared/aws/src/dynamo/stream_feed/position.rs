//! Where a reader of the messages stream stands: per shard, the sequence
//! number of the last record read, and the closed shards read to their end.
//! Given out as base64url of its JSON, an opaque string to the consumer.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use tgdesk_core::ports::{PortError, PortErrorKind};

/// A position in one stream.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct StreamPosition {
    /// The stream's label (its creation time): a position of a stream since
    /// replaced (the table created again) means nothing in the new one.
    pub stream: String,
    /// Per shard being read, the sequence number of the last record read.
    pub after: BTreeMap<String, String>,
    /// Closed shards read to their end: their children may be read.
    pub done: BTreeSet<String>,
}

fn invalid(raw: &str, why: &str) -> PortError {
    PortError::new(PortErrorKind::Invalid, format!("feed position {raw:?} is not one this feed gave: {why}"))
}

impl StreamPosition {
    /// A position before every record of stream `stream`.
    pub fn start(stream: &str) -> Self {
        Self { stream: stream.to_owned(), ..Self::default() }
    }

    /// Decodes a position this feed gave; `Invalid` for anything else.
    pub fn decode(raw: &str) -> Result<Self, PortError> {
        let json = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid(raw, "not base64url"))?;
        let position: Self = serde_json::from_slice(&json).map_err(|_| invalid(raw, "not a stream position"))?;
        let sequence_numbers =
            position.after.values().all(|seq| !seq.is_empty() && seq.bytes().all(|b| b.is_ascii_digit()));
        if position.stream.is_empty() || !sequence_numbers {
            return Err(invalid(raw, "not a stream position"));
        }
        Ok(position)
    }

    /// Returns the position as the opaque string given to the consumer.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Forgets shards the stream no longer lists (their records expired),
    /// so the position stays as small as the stream's last day.
    pub fn keep_only(&mut self, listed: &HashSet<&str>) {
        self.after.retain(|shard, _| listed.contains(shard.as_str()));
        self.done.retain(|shard| listed.contains(shard.as_str()));
    }

    /// Notes the last record read from `shard`.
    pub fn advance(&mut self, shard: &str, sequence_number: &str) {
        self.after.insert(shard.to_owned(), sequence_number.to_owned());
    }

    /// Notes that closed shard `shard` was read to its end.
    pub fn finish(&mut self, shard: &str) {
        self.after.remove(shard);
        self.done.insert(shard.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tgdesk_core::testkit::fixtures::assert_kind;

    #[test]
    fn a_position_round_trips_through_its_opaque_string() {
        let mut p = StreamPosition::start("2026-12-06T09:05:41.361162");
        p.advance("shardId-1", "1100000000017454423009");
        p.advance("shardId-2", "1100000000017454423010");
        p.finish("shardId-2");
        let raw = p.encode();
        assert!(raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{raw}");
        assert_eq!(StreamPosition::decode(&raw).unwrap(), p);
    }

    #[test]
    fn strings_this_feed_never_gave_are_invalid() {
        let forged = |json: &str| URL_SAFE_NO_PAD.encode(json);
        for raw in [
            "not a position".to_owned(),
            "42".to_owned(),
            forged("{}"),
            forged(r#"{"stream":"","after":{},"done":[]}"#),
            forged(r#"{"stream":"s","after":{"shardId-1":"12x"},"done":[]}"#),
        ] {
            assert_kind(StreamPosition::decode(&raw), PortErrorKind::Invalid);
        }
    }

    #[test]
    fn shards_the_stream_no_longer_lists_are_forgotten() {
        let mut p = StreamPosition::start("s");
        p.advance("old", "1");
        p.finish("old-closed");
        p.advance("live", "2");
        p.keep_only(&["live"].into());
        assert_eq!(p.after.keys().collect::<Vec<_>>(), ["live"]);
        assert!(p.done.is_empty());
    }
}
