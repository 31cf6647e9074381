//! The operator API: creating tenants, guarded by `TGDESK_OPERATOR_TOKEN`.

use crate::extract::{bearer, Json};
use crate::{ApiError, ApiState};
use axum::extract::State;
use axum::http::{request::Parts, StatusCode};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tgdesk_core::usecases::AgentView;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(create_tenant))
}

/// A new tenant and its first admin.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// Tenant name (2 to 40 of a-z, 0-9, '-').
    name: String,
    /// First admin's username.
    admin_username: String,
    /// First admin's password.
    admin_password: String,
}

/// Checks the operator token in constant time.
fn ensure_operator(state: &ApiState, parts: &Parts) -> Result<(), ApiError> {
    let Some(expected) = &state.operator_token else {
        return Err(ApiError::not_found("the operator API is off (TGDESK_OPERATOR_TOKEN is unset)"));
    };
    let given = bearer(parts).unwrap_or("").as_bytes();
    let expected = expected.expose_secret().as_bytes();
    // An empty configured token is refused at start; an empty one here never opens the API.
    let same = !expected.is_empty()
        && given.len() == expected.len()
        && given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if same {
        Ok(())
    } else {
        Err(ApiError::unauthorized("the operator token is wrong"))
    }
}

/// Creates a tenant with its first admin (operator token required).
#[utoipa::path(post, path = "/api/operator/tenants", tag = "operator", request_body = NewTenant,
    responses((status = 201, body = AgentView), (status = 401), (status = 409, description = "tenant exists")))]
async fn create_tenant(
    State(s): State<ApiState>,
    parts: Parts,
    Json(req): Json<NewTenant>,
) -> Result<(StatusCode, Json<AgentView>), ApiError> {
    ensure_operator(&s, &parts)?;
    let admin = s.desk.create_tenant(&req.name, &req.admin_username, &req.admin_password).await?;
    Ok((StatusCode::CREATED, Json(admin)))
}
