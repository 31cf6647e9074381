//! DynamoDB adapters and the helpers they share: attribute reading and
//! writing, and the table definitions created where the settings allow; the
//! messages table's stream as a change feed.

mod attrs;
mod connections;
pub mod keys;
mod leases;
mod store;
pub mod stream_feed;
pub mod tables;
mod throttle;

pub use connections::{DynamoConnections, CONNECTIONS};
pub use leases::DynamoLeases;
pub use store::{Ahead, DynamoStore};
pub use stream_feed::{DynamoStreamFeed, ExpiredBatch};
pub use throttle::{DynamoThrottle, THROTTLE};
