//! Route handlers, one module per area. Each handler is documented for the
//! OpenAPI document with `#[utoipa::path]`.

mod account_login;
mod accounts;
mod agents;
mod auth;
mod conversation;
mod files;
pub use files::blob_response;
mod inbox;
mod jobs;
mod operator;
mod organise;
mod search;
mod sending;

use crate::ApiState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `{"ok": true}`, the body of actions that return nothing else.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Done {
    /// Always true.
    pub ok: bool,
}

pub(crate) const DONE: Done = Done { ok: true };

/// Returns every documented route.
pub fn all() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .merge(auth::routes())
        .merge(agents::routes())
        .merge(accounts::routes())
        .merge(organise::routes())
        .merge(inbox::routes())
        .merge(operator::routes())
        .merge(sending::routes())
        .merge(files::routes())
        .merge(account_login::routes())
        .merge(conversation::routes())
        .merge(search::routes())
        .merge(jobs::routes())
}

/// Answers 200 once the server is ready.
#[utoipa::path(get, path = "/api/health", tag = "operations", security(()),
    responses((status = 200, description = "ready")))]
async fn health() -> crate::extract::Json<serde_json::Value> {
    crate::extract::Json(serde_json::json!({"status": "ok"}))
}
