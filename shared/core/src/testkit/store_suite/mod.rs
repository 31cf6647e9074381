//! The store contract: one case per sentence of the `Directory`,
//! `MessageWriter`, `MessageReader`, `SendLog` and `Replies` doc comments.

mod account_queries;
mod accounts;
mod audit;
mod dialogs;
mod fleet_state;
mod isolation;
mod jobs;
mod messages;
mod organise;
mod replies_profiles;
mod sends;
mod users;

pub use account_queries::*;
pub use accounts::*;
pub use audit::*;
pub use dialogs::*;
pub use fleet_state::*;
pub use isolation::*;
pub use jobs::*;
pub use messages::*;
pub use organise::*;
pub use replies_profiles::*;
pub use sends::*;
pub use users::*;
