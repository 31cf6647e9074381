//! The store contract: one case per sentence of the `Directory`,
//! `MessageWriter` and `MessageReader` doc comments.

mod account_queries;
mod accounts;
mod audit;
mod dialogs;
mod isolation;
mod messages;
mod organise;
mod users;

pub use account_queries::*;
pub use accounts::*;
pub use audit::*;
pub use dialogs::*;
pub use isolation::*;
pub use messages::*;
pub use organise::*;
pub use users::*;
