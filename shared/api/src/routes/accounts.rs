//! Accounts: import, add, list, update, delete, assign, reclaim, pin.

use super::{Done, DONE};
use crate::extract::{Authed, Json, Path, Query};
use crate::{ApiError, ApiState, IMPORT_BODY_LIMIT};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tgdesk_core::domain::JobState;
use tgdesk_core::domain::{AccountId, UserId};
use tgdesk_core::usecases::{
    AccountFilter, AccountView, AssignOutcome, ImportFormat, ImportReport, JobView, NewAccount, Page, UpdateAccount,
};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn routes() -> OpenApiRouter<ApiState> {
    let import = OpenApiRouter::new().routes(routes!(import_accounts)).layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT));
    OpenApiRouter::new()
        .merge(import)
        .routes(routes!(list_accounts, create_account))
        .routes(routes!(assign_accounts))
        .routes(routes!(get_account, update_account, delete_account))
        .routes(routes!(assign_owner, reclaim_owner))
        .routes(routes!(pin_account, unpin_account))
}

/// Imports accounts from CSV (`text/csv`, header `phone,name,tags,group,owner`,
/// tags separated by `;`) or JSON Lines (`application/x-ndjson`). Bad lines are
/// reported with their number; good lines are imported; re-importing changes
/// nothing. The import runs as a job: the answer is its report once it ends
/// within the server's wait, else 202 with the job to follow
/// (`/api/imports/{id}`, `import.progress` events). Files larger than a
/// request may carry (API Gateway: 10 MB) go through `POST /api/imports`.
#[utoipa::path(post, path = "/api/accounts/import", tag = "accounts",
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReport), (status = 202, body = JobView, description = "still importing: a job"),
              (status = 413, description = "file too large"), (status = 415, description = "not CSV or JSON Lines")))]
async fn import_accounts(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let format = match mime.as_str() {
        "text/csv" => ImportFormat::Csv,
        "application/x-ndjson" | "application/jsonl" | "application/x-jsonlines" | "application/jsonlines" => {
            ImportFormat::JsonLines
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send text/csv or application/x-ndjson",
            ))
        }
    };
    let body = body.map_err(|r| match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("import files are limited to {} MiB", IMPORT_BODY_LIMIT / (1024 * 1024)),
        ),
        _ => ApiError::invalid(r.body_text()),
    })?;
    let job = s.desk.import_file(&actor, format, body.to_vec()).await?;
    let job = s.desk.await_job(&actor, job, s.desk.job_wait).await?;
    Ok(match (job.state, job.report.clone()) {
        (JobState::Done, Some(report)) => Json(report).into_response(),
        (JobState::Failed, _) => super::jobs::failed(&job).into_response(),
        _ => (StatusCode::ACCEPTED, Json(JobView::from(&job))).into_response(),
    })
}

/// Lists visible accounts with filters, ordered by id.
#[utoipa::path(get, path = "/api/accounts", tag = "accounts", params(AccountFilter),
    responses((status = 200, body = Page<AccountView>)))]
async fn list_accounts(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Query(f): Query<AccountFilter>,
) -> Result<Json<Page<AccountView>>, ApiError> {
    Ok(Json(s.desk.list_accounts(&actor, &f).await?))
}

/// Adds one account (admins and leaders).
#[utoipa::path(post, path = "/api/accounts", tag = "accounts", request_body = NewAccount,
    responses((status = 201, body = AccountView), (status = 409, description = "phone exists")))]
async fn create_account(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Json(req): Json<NewAccount>,
) -> Result<(StatusCode, Json<AccountView>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.desk.create_account(&actor, req).await?)))
}

/// A bulk assignment.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkAssign {
    /// Accounts to assign.
    account_ids: Vec<String>,
    /// The new owner.
    agent_id: UserId,
}

/// Assigns many accounts to one agent, all or nothing; failures are listed.
#[utoipa::path(post, path = "/api/accounts/assign", tag = "accounts", request_body = BulkAssign,
    responses((status = 200, body = AssignOutcome, description = "all assigned"),
              (status = 409, body = AssignOutcome, description = "nothing assigned; see failed")))]
async fn assign_accounts(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Json(req): Json<BulkAssign>,
) -> Result<(StatusCode, Json<AssignOutcome>), ApiError> {
    let out = s.desk.assign_accounts(&actor, &req.account_ids, &req.agent_id).await?;
    let status = if out.failed.is_empty() { StatusCode::OK } else { StatusCode::CONFLICT };
    Ok((status, Json(out)))
}

/// Returns one account.
#[utoipa::path(get, path = "/api/accounts/{id}", tag = "accounts", params(("id" = String, Path)),
    responses((status = 200, body = AccountView), (status = 404)))]
async fn get_account(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<AccountId>,
) -> Result<Json<AccountView>, ApiError> {
    Ok(Json(s.desk.get_account(&actor, &id).await?))
}

/// Renames an account or replaces its tags.
#[utoipa::path(patch, path = "/api/accounts/{id}", tag = "accounts", params(("id" = String, Path)),
    request_body = UpdateAccount, responses((status = 200, body = AccountView)))]
async fn update_account(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<AccountId>,
    Json(req): Json<UpdateAccount>,
) -> Result<Json<AccountView>, ApiError> {
    Ok(Json(s.desk.update_account(&actor, &id, req).await?))
}

/// Deletes an account with its dialogs and messages.
#[utoipa::path(delete, path = "/api/accounts/{id}", tag = "accounts", params(("id" = String, Path)),
    responses((status = 200, body = Done, description = "deleted"), (status = 202, body = JobView, description = "still deleting: a job"),
              (status = 409, description = "the job failed")))]
async fn delete_account(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<AccountId>,
) -> Result<axum::response::Response, ApiError> {
    let job = s.desk.delete_account(&actor, &id).await?;
    super::jobs::job_answer(&s, &actor, job).await
}

/// A new owner.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetOwner {
    /// The agent who will own the account.
    agent_id: UserId,
}

/// Assigns or reassigns an account.
#[utoipa::path(put, path = "/api/accounts/{id}/owner", tag = "accounts", params(("id" = String, Path)),
    request_body = SetOwner, responses((status = 200, body = AccountView), (status = 403)))]
async fn assign_owner(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<AccountId>,
    Json(req): Json<SetOwner>,
) -> Result<Json<AccountView>, ApiError> {
    Ok(Json(s.desk.assign_account(&actor, &id, &req.agent_id).await?))
}

/// Reclaims an account: it has no owner afterwards and stays in its team.
#[utoipa::path(delete, path = "/api/accounts/{id}/owner", tag = "accounts", params(("id" = String, Path)),
    responses((status = 200, body = AccountView), (status = 403)))]
async fn reclaim_owner(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<AccountId>,
) -> Result<Json<AccountView>, ApiError> {
    Ok(Json(s.desk.reclaim_account(&actor, &id).await?))
}

/// Pins an account for the caller.
#[utoipa::path(put, path = "/api/accounts/{id}/pin", tag = "pins", params(("id" = String, Path)),
    responses((status = 200, body = Done)))]
async fn pin_account(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<AccountId>,
) -> Result<Json<Done>, ApiError> {
    s.desk.pin_account(&actor, &id, true).await?;
    Ok(Json(DONE))
}

/// Unpins an account for the caller.
#[utoipa::path(delete, path = "/api/accounts/{id}/pin", tag = "pins", params(("id" = String, Path)),
    responses((status = 200, body = Done)))]
async fn unpin_account(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<AccountId>,
) -> Result<Json<Done>, ApiError> {
    s.desk.pin_account(&actor, &id, false).await?;
    Ok(Json(DONE))
}
