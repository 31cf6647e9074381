//! Login, the caller's own record and password.

use crate::extract::{Authed, ClientAddr, Json};
use crate::{ApiError, ApiState};
use axum::extract::State;
use serde::{Deserialize, Serialize};
use tgdesk_core::usecases::AgentView;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(login)).routes(routes!(me)).routes(routes!(change_password))
}

/// Credentials.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Tenant name.
    tenant: String,
    /// Username.
    username: String,
    /// Password.
    password: String,
}

/// A token and who it is for.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Bearer token for `Authorization: Bearer …`.
    token: String,
    /// Seconds until it expires.
    expires_in: u64,
    /// The user.
    user: AgentView,
}

/// Logs in and returns a JWT. Failed logins are throttled per username and address.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", security(()), request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, description = "wrong credentials"),
              (status = 429, description = "too many failed attempts")))]
async fn login(
    State(s): State<ApiState>,
    ClientAddr(addr): ClientAddr,
    Json(req): Json<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let out = s.desk.login(&req.tenant, &req.username, &req.password, &addr).await?;
    Ok(Json(LoginResponse { token: out.token, expires_in: out.expires_in, user: out.user }))
}

/// Returns the caller.
#[utoipa::path(get, path = "/api/me", tag = "auth", responses((status = 200, body = AgentView)))]
async fn me(State(s): State<ApiState>, Authed(actor): Authed) -> Result<Json<AgentView>, ApiError> {
    Ok(Json(s.desk.me(&actor).await?))
}

/// A password change.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The current password.
    current_password: String,
    /// The new password (8 to 256 characters).
    new_password: String,
}

/// A fresh token after a password change.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// The new bearer token; older tokens are revoked.
    token: String,
}

/// Changes the caller's password; every older token is revoked.
#[utoipa::path(post, path = "/api/me/password", tag = "auth", request_body = ChangePassword,
    responses((status = 200, body = TokenResponse), (status = 403, description = "current password wrong")))]
async fn change_password(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Json(req): Json<ChangePassword>,
) -> Result<Json<TokenResponse>, ApiError> {
    let token = s.desk.change_own_password(&actor, &req.current_password, &req.new_password).await?;
    Ok(Json(TokenResponse { token }))
}
