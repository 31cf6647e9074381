//! Logging accounts in and out of Telegram. Each call waits for the session
//! fleet's answer (up to 30 s, then 504 `fleet_timeout`).

use crate::extract::{Authed, Json, Path};
use crate::{ApiError, ApiState};
use axum::extract::State;
use serde::Deserialize;
use tgdesk_core::domain::AccountId;
use tgdesk_core::usecases::{LoginInput, LoginState};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(login_start))
        .routes(routes!(login_code))
        .routes(routes!(login_password))
        .routes(routes!(logout))
}

/// The login code the account's phone received.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginCode {
    /// The code.
    code: String,
}

/// The account's 2FA password.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginPassword {
    /// The password.
    password: String,
}

/// Asks Telegram to send a login code to the account's phone.
#[utoipa::path(post, path = "/api/accounts/{id}/login/start", tag = "accounts", params(("id" = String, Path)),
    responses((status = 200, body = LoginState, description = "`code_sent`, or `online` when already logged in"),
        (status = 404), (status = 429, description = "`flood_wait` with `retry_after_s`"),
        (status = 504, description = "`fleet_timeout`")))]
async fn login_start(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<AccountId>,
) -> Result<Json<LoginState>, ApiError> {
    Ok(Json(s.desk.account_login(&actor, &id, LoginInput::Start).await?))
}

/// Submits the login code.
#[utoipa::path(post, path = "/api/accounts/{id}/login/code", tag = "accounts", params(("id" = String, Path)),
    request_body = LoginCode,
    responses((status = 200, body = LoginState, description = "`online` or `password_required`"),
        (status = 400, description = "`phone_code_invalid`"), (status = 409, description = "no login in progress"),
        (status = 429, description = "`flood_wait`"), (status = 504, description = "`fleet_timeout`")))]
async fn login_code(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<AccountId>,
    Json(req): Json<LoginCode>,
) -> Result<Json<LoginState>, ApiError> {
    Ok(Json(s.desk.account_login(&actor, &id, LoginInput::Code { code: req.code }).await?))
}

/// Submits the 2FA password.
#[utoipa::path(post, path = "/api/accounts/{id}/login/password", tag = "accounts", params(("id" = String, Path)),
    request_body = LoginPassword,
    responses((status = 200, body = LoginState, description = "`online`"),
        (status = 400, description = "`password_invalid`"), (status = 409, description = "no login in progress"),
        (status = 429, description = "`flood_wait`"), (status = 504, description = "`fleet_timeout`")))]
async fn login_password(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<AccountId>,
    Json(req): Json<LoginPassword>,
) -> Result<Json<LoginState>, ApiError> {
    Ok(Json(s.desk.account_login(&actor, &id, LoginInput::Password { password: req.password }).await?))
}

/// Logs the account out of Telegram and forgets its session.
#[utoipa::path(post, path = "/api/accounts/{id}/logout", tag = "accounts", params(("id" = String, Path)),
    responses((status = 200, body = LoginState, description = "`logged_out`"), (status = 404),
        (status = 504, description = "`fleet_timeout`")))]
async fn logout(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<AccountId>,
) -> Result<Json<LoginState>, ApiError> {
    Ok(Json(s.desk.account_logout(&actor, &id).await?))
}
