//! DynamoDB adapters and the helpers they share: attribute reading and
//! writing, and the table definitions created where the settings allow.

mod attrs;
mod leases;
pub mod tables;

pub use leases::DynamoLeases;
