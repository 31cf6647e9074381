//! DynamoDB adapters and the helpers they share: attribute reading and
//! writing, and the table definitions created where the settings allow.

mod attrs;
pub mod keys;
mod leases;
mod store;
pub mod tables;
mod throttle;

pub use leases::DynamoLeases;
pub use store::DynamoStore;
pub use throttle::{DynamoThrottle, THROTTLE};
