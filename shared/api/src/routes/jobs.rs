//! Jobs: imports and cascading deletes, read and watched by their starter;
//! and the two-step import (upload the file straight to the blob store,
//! then start the job), for files larger than a request may carry.

use super::DONE;
use crate::extract::{Authed, Json, Path, Query};
use crate::{ApiError, ApiState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tgdesk_core::domain::{ImportFormat, Job, JobId, JobState};
use tgdesk_core::usecases::{Actor, ImportUpload, JobView, Page};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_jobs))
        .routes(routes!(get_job))
        .routes(routes!(create_import))
        .routes(routes!(get_import))
        .routes(routes!(start_import))
}

/// Answers a request that started `job`: waits for it up to the desk's
/// job wait; 200 `Done` once done, 409 `job_failed` with its reason, or 202
/// with the job while it runs (watch `job.finished` or read `/api/jobs/{id}`).
pub(crate) async fn job_answer(s: &ApiState, actor: &Actor, job: Job) -> Result<Response, ApiError> {
    let job = s.desk.await_job(actor, job, s.desk.job_wait).await?;
    Ok(match job.state {
        JobState::Done => Json(DONE).into_response(),
        JobState::Failed => failed(&job).into_response(),
        _ => (StatusCode::ACCEPTED, Json(JobView::from(&job))).into_response(),
    })
}

/// The error of a failed job.
pub(crate) fn failed(job: &Job) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "job_failed", job.error.clone().unwrap_or_else(|| "the job failed".into()))
}

/// Paging of the job list.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct JobFilter {
    /// `next_cursor` of the page before.
    cursor: Option<JobId>,
    /// Page size (1 to 100, default 20).
    limit: Option<usize>,
}

/// Lists the caller's jobs (an admin's: the tenant's), newest first; jobs
/// are kept a week after their last change.
#[utoipa::path(get, path = "/api/jobs", tag = "jobs", params(JobFilter), responses((status = 200, body = Page<JobView>)))]
async fn list_jobs(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Query(f): Query<JobFilter>,
) -> Result<Json<Page<JobView>>, ApiError> {
    Ok(Json(s.desk.list_jobs(&actor, f.cursor.as_ref(), f.limit).await?))
}

/// Returns a job the caller started (admins: any of the tenant's).
#[utoipa::path(get, path = "/api/jobs/{id}", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, body = JobView), (status = 404, description = "no such job")))]
async fn get_job(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<JobId>,
) -> Result<Json<JobView>, ApiError> {
    Ok(Json(s.desk.job(&actor, &id).await?))
}

/// An import file about to be uploaded.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewImport {
    /// `csv` or `json_lines`.
    format: ImportFormat,
    /// The file's exact size in bytes.
    size: u64,
}

/// Prepares an import (admins and leaders): answers the job (waiting for its
/// file) and a presigned request that uploads the file straight to the blob
/// store — send it as given (method, URL, headers), then start the import.
#[utoipa::path(post, path = "/api/imports", tag = "jobs", request_body = NewImport,
    responses((status = 201, body = ImportUpload), (status = 413, description = "file too large")))]
async fn create_import(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Json(req): Json<NewImport>,
) -> Result<(StatusCode, Json<ImportUpload>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.desk.import_upload(&actor, req.format, req.size).await?)))
}

/// Returns an import job: its progress and the lines refused so far.
#[utoipa::path(get, path = "/api/imports/{id}", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, body = JobView), (status = 404, description = "no such import")))]
async fn get_import(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<JobId>,
) -> Result<Json<JobView>, ApiError> {
    let job = s.desk.job(&actor, &id).await?;
    match job.kind {
        tgdesk_core::domain::JobKind::ImportAccounts { .. } => Ok(Json(job)),
        _ => Err(ApiError::not_found("no such import")),
    }
}

/// Starts an import whose file is uploaded; answers 202 with the job
/// (`import.progress` events follow, then `job.finished`).
#[utoipa::path(post, path = "/api/imports/{id}/start", tag = "jobs", params(("id" = String, Path)),
    responses((status = 202, body = JobView), (status = 400, description = "the file is not uploaded"),
              (status = 409, description = "already started")))]
async fn start_import(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<JobId>,
) -> Result<(StatusCode, Json<JobView>), ApiError> {
    let job = s.desk.start_import(&actor, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(JobView::from(&job))))
}
