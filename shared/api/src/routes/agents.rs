//! Agents CRUD with roles and teams, and password resets.

use super::{Done, DONE};
use crate::extract::{Authed, Json, Path, Query};
use crate::{ApiError, ApiState};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use tgdesk_core::domain::{Role, UserId};
use tgdesk_core::usecases::JobView;
use tgdesk_core::usecases::{AgentView, NewAgent, Page, UpdateAgent};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_agents, create_agent))
        .routes(routes!(get_agent, update_agent, delete_agent))
        .routes(routes!(reset_password))
}

/// Filters of the agent list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgentFilter {
    /// Only this role.
    role: Option<Role>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size (1 to 500, default 50).
    limit: Option<usize>,
}

/// Lists the users the caller may see.
#[utoipa::path(get, path = "/api/agents", tag = "agents", params(AgentFilter),
    responses((status = 200, body = Page<AgentView>)))]
async fn list_agents(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Query(f): Query<AgentFilter>,
) -> Result<Json<Page<AgentView>>, ApiError> {
    Ok(Json(s.desk.list_agents(&actor, f.role, f.cursor.as_deref(), f.limit).await?))
}

/// Creates an admin, leader or agent (leaders: agents of their team only).
#[utoipa::path(post, path = "/api/agents", tag = "agents", request_body = NewAgent,
    responses((status = 201, body = AgentView), (status = 409, description = "username taken")))]
async fn create_agent(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Json(req): Json<NewAgent>,
) -> Result<(StatusCode, Json<AgentView>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.desk.create_agent(&actor, req).await?)))
}

/// Returns one user.
#[utoipa::path(get, path = "/api/agents/{id}", tag = "agents", params(("id" = String, Path)),
    responses((status = 200, body = AgentView), (status = 404)))]
async fn get_agent(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<UserId>,
) -> Result<Json<AgentView>, ApiError> {
    Ok(Json(s.desk.get_agent(&actor, &id).await?))
}

/// Updates name, role, team or disabled flag; disabling revokes tokens at once.
#[utoipa::path(patch, path = "/api/agents/{id}", tag = "agents", params(("id" = String, Path)), request_body = UpdateAgent,
    responses((status = 200, body = AgentView)))]
async fn update_agent(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<UserId>,
    Json(req): Json<UpdateAgent>,
) -> Result<Json<AgentView>, ApiError> {
    Ok(Json(s.desk.update_agent(&actor, &id, req).await?))
}

/// Deletes a user who owns no accounts and leads nobody.
#[utoipa::path(delete, path = "/api/agents/{id}", tag = "agents", params(("id" = String, Path)),
    responses((status = 200, body = Done, description = "deleted"), (status = 202, body = JobView, description = "still deleting: a job"),
              (status = 409, description = "still owns accounts or leads agents, or the job failed")))]
async fn delete_agent(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<UserId>,
) -> Result<axum::response::Response, ApiError> {
    let job = s.desk.delete_agent(&actor, &id).await?;
    super::jobs::job_answer(&s, &actor, job).await
}

/// A new password.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    /// The new password (8 to 256 characters).
    password: String,
}

/// Resets a user's password and revokes their tokens.
#[utoipa::path(post, path = "/api/agents/{id}/password", tag = "agents", params(("id" = String, Path)),
    request_body = ResetPassword, responses((status = 200, body = Done)))]
async fn reset_password(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<UserId>,
    Json(req): Json<ResetPassword>,
) -> Result<Json<Done>, ApiError> {
    s.desk.reset_password(&actor, &id, &req.password).await?;
    Ok(Json(DONE))
}
