//! The tgdesk REST API: an axum router over the core use cases. Handlers only
//! translate HTTP to use-case calls and errors back; every rule lives in
//! `tgdesk-core`. The same router runs in the local server and in Lambda.

mod error;
mod extract;
mod routes;

pub use error::ApiError;
pub use extract::TrustedProxies;
pub use routes::blob_response;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use secrecy::SecretString;
use tgdesk_core::usecases::Desk;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// Largest JSON body accepted (imports have their own, larger limit).
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;
/// Largest import file accepted.
pub const IMPORT_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct ApiState {
    /// The use cases.
    pub desk: Desk,
    /// Bearer token of the operator API; the operator API is off when unset.
    pub operator_token: Option<SecretString>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "tgdesk API", description = "Help desk over many Telegram user accounts."),
    // What `/ws` pushes: `{"type", "seq", "data"}`, `data` as each variant says.
    components(schemas(tgdesk_core::usecases::DeskEvent)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build();
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// Returns the router with every `/api` route and `GET /api/openapi.json`.
pub fn router(state: ApiState) -> Router {
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::all())
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .split_for_parts();
    let openapi = std::sync::Arc::new(openapi);
    router
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let doc = openapi.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .fallback(|| async { ApiError::not_found("no such route") })
        .with_state(state)
}
