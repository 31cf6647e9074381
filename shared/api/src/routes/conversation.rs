//! Working a conversation beyond reading and sending: edit and delete sent
//! messages, mark the dialog read, open a customer's file, see who the
//! customer is (with their photo), and the account's own profile and contacts.

use super::files::media_response;
use super::{Done, DONE};
use crate::extract::{Authed, Json, Path, Query};
use crate::{ApiError, ApiState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use tgdesk_core::domain::{AccountId, Message, PeerProfile};
use tgdesk_core::usecases::{DialogView, EditMessage, Page, ProfileView};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(edit_message, delete_message))
        .routes(routes!(mark_read))
        .routes(routes!(message_media))
        .routes(routes!(dialog_profile))
        .routes(routes!(dialog_photo))
        .routes(routes!(account_profile))
        .routes(routes!(account_photo))
        .routes(routes!(account_contacts))
        .routes(routes!(sync_account))
        .routes(routes!(sync_history))
}

/// Replaces the text of a message the account sent (on Telegram, then here).
#[utoipa::path(patch, path = "/api/accounts/{id}/dialogs/{peer}/messages/{message}", tag = "sending",
    params(("id" = String, Path), ("peer" = i64, Path), ("message" = i64, Path)), request_body = EditMessage,
    responses((status = 200, body = Message), (status = 403, description = "not a message the account sent"),
        (status = 404), (status = 409, description = "account logged out, or message deleted"),
        (status = 504, description = "`fleet_timeout`")))]
async fn edit_message(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path((id, peer, message)): Path<(AccountId, i64, i64)>,
    Json(req): Json<EditMessage>,
) -> Result<Json<Message>, ApiError> {
    Ok(Json(s.desk.edit_message(&actor, &id, peer, message, req).await?))
}

/// Deletes a message the account sent, for everyone.
#[utoipa::path(delete, path = "/api/accounts/{id}/dialogs/{peer}/messages/{message}", tag = "sending",
    params(("id" = String, Path), ("peer" = i64, Path), ("message" = i64, Path)),
    responses((status = 200, body = Done), (status = 403, description = "not a message the account sent"),
        (status = 404), (status = 409), (status = 504, description = "`fleet_timeout`")))]
async fn delete_message(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path((id, peer, message)): Path<(AccountId, i64, i64)>,
) -> Result<Json<Done>, ApiError> {
    s.desk.delete_message(&actor, &id, peer, message).await?;
    Ok(Json(DONE))
}

/// Marks a dialog read up to its newest message, here at once and on Telegram.
#[utoipa::path(post, path = "/api/accounts/{id}/dialogs/{peer}/read", tag = "inbox",
    params(("id" = String, Path), ("peer" = i64, Path)), responses((status = 200, body = DialogView), (status = 404)))]
async fn mark_read(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path((id, peer)): Path<(AccountId, i64)>,
) -> Result<Json<DialogView>, ApiError> {
    Ok(Json(s.desk.mark_dialog_read(&actor, &id, peer).await?))
}

/// The file of a message: fetched from Telegram on first view, then kept.
#[utoipa::path(get, path = "/api/accounts/{id}/dialogs/{peer}/messages/{message}/media", tag = "inbox",
    params(("id" = String, Path), ("peer" = i64, Path), ("message" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream"),
        (status = 404, description = "no such message, or it has no file"), (status = 504, description = "`fleet_timeout`")))]
async fn message_media(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path((id, peer, message)): Path<(AccountId, i64, i64)>,
) -> Result<Response, ApiError> {
    Ok(media_response(s.desk.message_media(&actor, &id, peer, message).await?, "inline"))
}

/// Who the customer of a dialog is (or the group's title), as the account knows them.
#[utoipa::path(get, path = "/api/accounts/{id}/dialogs/{peer}/profile", tag = "inbox",
    params(("id" = String, Path), ("peer" = i64, Path)), responses((status = 200, body = ProfileView), (status = 404)))]
async fn dialog_profile(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path((id, peer)): Path<(AccountId, i64)>,
) -> Result<Json<ProfileView>, ApiError> {
    Ok(Json(s.desk.dialog_profile(&actor, &id, peer).await?))
}

/// The profile photo of a dialog's customer: fetched from Telegram on first view, then kept.
#[utoipa::path(get, path = "/api/accounts/{id}/dialogs/{peer}/profile/photo", tag = "inbox",
    params(("id" = String, Path), ("peer" = i64, Path)),
    responses((status = 200, content_type = "image/jpeg"),
        (status = 404, description = "no such dialog, or no photo as last synced"),
        (status = 504, description = "`fleet_timeout`")))]
async fn dialog_photo(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path((id, peer)): Path<(AccountId, i64)>,
) -> Result<Response, ApiError> {
    Ok(media_response(s.desk.dialog_photo(&actor, &id, peer).await?, "inline"))
}

/// The account's own profile photo: fetched from Telegram on first view, then kept.
#[utoipa::path(get, path = "/api/accounts/{id}/profile/photo", tag = "accounts", params(("id" = String, Path)),
    responses((status = 200, content_type = "image/jpeg"),
        (status = 404, description = "no such account, or no photo as last synced"),
        (status = 504, description = "`fleet_timeout`")))]
async fn account_photo(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<AccountId>,
) -> Result<Response, ApiError> {
    Ok(media_response(s.desk.account_photo(&actor, &id).await?, "inline"))
}

/// The account's own Telegram profile (404 until its session first synced).
#[utoipa::path(get, path = "/api/accounts/{id}/profile", tag = "accounts", params(("id" = String, Path)),
    responses((status = 200, body = PeerProfile), (status = 404)))]
async fn account_profile(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<AccountId>,
) -> Result<Json<PeerProfile>, ApiError> {
    Ok(Json(s.desk.account_profile(&actor, &id).await?))
}

/// Paging parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactPage {
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size (1 to 500, default 50).
    limit: Option<usize>,
}

/// The account's Telegram contacts, by user id.
#[utoipa::path(get, path = "/api/accounts/{id}/contacts", tag = "accounts", params(("id" = String, Path), ContactPage),
    responses((status = 200, body = Page<PeerProfile>), (status = 404)))]
async fn account_contacts(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<AccountId>,
    Query(p): Query<ContactPage>,
) -> Result<Json<Page<PeerProfile>>, ApiError> {
    Ok(Json(s.desk.account_contacts(&actor, &id, p.cursor.as_deref(), p.limit).await?))
}

/// Syncs the account's profile, contacts, dialogs and recent history now.
#[utoipa::path(post, path = "/api/accounts/{id}/sync", tag = "accounts", params(("id" = String, Path)),
    responses((status = 202, body = Done), (status = 404), (status = 409, description = "account logged out")))]
async fn sync_account(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<AccountId>,
) -> Result<(StatusCode, Json<Done>), ApiError> {
    s.desk.request_sync(&actor, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(DONE)))
}

/// Which older messages to fetch.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryRequest {
    /// Fetch messages older than this id (the oldest you have); none: from the newest.
    before: Option<i64>,
    /// How many at most (1 to 5,000; default 500).
    #[serde(default = "default_history")]
    limit: u32,
}

fn default_history() -> u32 {
    500
}

/// Fetches older messages of a dialog from Telegram; they arrive as `message.new` events and in the history.
#[utoipa::path(post, path = "/api/accounts/{id}/dialogs/{peer}/history", tag = "inbox",
    params(("id" = String, Path), ("peer" = i64, Path)), request_body = HistoryRequest,
    responses((status = 202, body = Done), (status = 400), (status = 404), (status = 409, description = "account logged out")))]
async fn sync_history(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path((id, peer)): Path<(AccountId, i64)>,
    Json(req): Json<HistoryRequest>,
) -> Result<(StatusCode, Json<Done>), ApiError> {
    s.desk.request_history(&actor, &id, peer, req.before, req.limit).await?;
    Ok((StatusCode::ACCEPTED, Json(DONE)))
}
