//! Sending messages and batch sends.

use crate::extract::{Authed, Json, Path, Query};
use crate::{ApiError, ApiState};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tgdesk_core::domain::{AccountId, BatchId, SendId, SendRecord, SendStatus};
use tgdesk_core::usecases::{BatchView, NewBatch, NewMessage};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(send_message))
        .routes(routes!(get_send))
        .routes(routes!(start_batch))
        .routes(routes!(get_batch))
        .routes(routes!(cancel_batch))
}

/// A queued send.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SendAccepted {
    /// Follow it with `GET /api/sends/{id}` or the `send.status` events.
    send_id: SendId,
    /// Always `queued`.
    status: SendStatus,
}

/// Queues a message; its outcome arrives as `send.status` events with this `send_id`.
#[utoipa::path(post, path = "/api/accounts/{id}/dialogs/{peer}/messages", tag = "sending",
    params(("id" = String, Path), ("peer" = i64, Path)), request_body = NewMessage,
    responses((status = 202, body = SendAccepted), (status = 404), (status = 409, description = "account logged out")))]
async fn send_message(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path((id, peer)): Path<(AccountId, i64)>,
    Json(req): Json<NewMessage>,
) -> Result<(StatusCode, Json<SendAccepted>), ApiError> {
    let record = s.desk.send_message(&actor, &id, peer, req).await?;
    Ok((StatusCode::ACCEPTED, Json(SendAccepted { send_id: record.id, status: record.status })))
}

/// Returns a send with its status.
#[utoipa::path(get, path = "/api/sends/{id}", tag = "sending", params(("id" = String, Path)),
    responses((status = 200, body = SendRecord), (status = 404)))]
async fn get_send(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<SendId>,
) -> Result<Json<SendRecord>, ApiError> {
    Ok(Json(s.desk.get_send(&actor, &id).await?))
}

/// Sends one text to many dialogs across accounts; every target is checked first.
#[utoipa::path(post, path = "/api/batch-sends", tag = "sending", request_body = NewBatch,
    responses((status = 202, body = BatchView), (status = 400, description = "a target is invalid")))]
async fn start_batch(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Json(req): Json<NewBatch>,
) -> Result<(StatusCode, Json<BatchView>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(s.desk.start_batch(&actor, req).await?)))
}

/// Paging through a batch's sends.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BatchPage {
    /// `next_cursor` of the previous page of sends.
    cursor: Option<String>,
    /// Page size (1 to 500, default 50).
    limit: Option<usize>,
}

/// Returns a batch's progress (counts per status) and a page of its sends.
#[utoipa::path(get, path = "/api/batch-sends/{id}", tag = "sending", params(("id" = String, Path), BatchPage),
    responses((status = 200, body = BatchView), (status = 404)))]
async fn get_batch(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<BatchId>,
    Query(p): Query<BatchPage>,
) -> Result<Json<BatchView>, ApiError> {
    Ok(Json(s.desk.get_batch(&actor, &id, p.cursor.as_deref(), p.limit).await?))
}

/// Cancels a batch: sends still queued are cancelled.
#[utoipa::path(post, path = "/api/batch-sends/{id}/cancel", tag = "sending", params(("id" = String, Path)),
    responses((status = 200, body = BatchView), (status = 404)))]
async fn cancel_batch(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<BatchId>,
) -> Result<Json<BatchView>, ApiError> {
    Ok(Json(s.desk.cancel_batch(&actor, &id).await?))
}
