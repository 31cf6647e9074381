//! Reading conversations, dialog pins, message tags, the audit log and the
//! archive's size.

use super::{Done, DONE};
use crate::extract::{Authed, Json, Path, Query};
use crate::{ApiError, ApiState};
use axum::extract::State;
use serde::Deserialize;
use tgdesk_core::domain::{AccountId, AuditEntry, GroupId, Message, TagId};
use tgdesk_core::usecases::{ArchiveView, AuditFilter, DialogView, InboxQuery, Page};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(inbox))
        .routes(routes!(account_dialogs))
        .routes(routes!(dialog_messages))
        .routes(routes!(pin_dialog, unpin_dialog))
        .routes(routes!(tag_message))
        .routes(routes!(read_audit))
        .routes(routes!(archive_view))
}

/// Paging parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size (1 to 500, default 50).
    limit: Option<usize>,
}

/// The inbox's filters and paging; every filter that is set must match.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxParams {
    /// `next_cursor` of the previous page (of the same filters).
    cursor: Option<String>,
    /// Page size (1 to 500, default 50).
    limit: Option<usize>,
    /// Only this account's dialogs.
    account: Option<AccountId>,
    /// Only dialogs of accounts in this group.
    group: Option<GroupId>,
    /// Only dialogs of accounts with this tag.
    tag: Option<TagId>,
    /// Only dialogs with unread messages.
    unread: Option<bool>,
}

/// Every dialog the caller may see, or those the filters keep: their pinned
/// dialogs first, then newest message first.
#[utoipa::path(get, path = "/api/inbox", tag = "inbox", params(InboxParams), responses((status = 200, body = Page<DialogView>)))]
async fn inbox(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Query(p): Query<InboxParams>,
) -> Result<Json<Page<DialogView>>, ApiError> {
    let query = InboxQuery { account: p.account, group: p.group, tag: p.tag, unread_only: p.unread.unwrap_or(false) };
    Ok(Json(s.desk.filtered_inbox(&actor, &query, p.cursor.as_deref(), p.limit).await?))
}

/// One account's dialogs, pinned first, then newest first.
#[utoipa::path(get, path = "/api/accounts/{id}/dialogs", tag = "inbox", params(("id" = String, Path), PageParams),
    responses((status = 200, body = Page<DialogView>)))]
async fn account_dialogs(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<AccountId>,
    Query(p): Query<PageParams>,
) -> Result<Json<Page<DialogView>>, ApiError> {
    Ok(Json(s.desk.account_dialogs(&actor, &id, p.cursor.as_deref(), p.limit).await?))
}

/// A dialog's messages, newest first; `next_cursor` pages to older ones.
#[utoipa::path(get, path = "/api/accounts/{id}/dialogs/{peer}/messages", tag = "inbox",
    params(("id" = String, Path), ("peer" = i64, Path), PageParams), responses((status = 200, body = Page<Message>)))]
async fn dialog_messages(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path((id, peer)): Path<(AccountId, i64)>,
    Query(p): Query<PageParams>,
) -> Result<Json<Page<Message>>, ApiError> {
    Ok(Json(s.desk.dialog_messages(&actor, &id, peer, p.cursor.as_deref(), p.limit).await?))
}

/// Pins a dialog for the caller.
#[utoipa::path(put, path = "/api/accounts/{id}/dialogs/{peer}/pin", tag = "pins",
    params(("id" = String, Path), ("peer" = i64, Path)), responses((status = 200, body = Done)))]
async fn pin_dialog(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path((id, peer)): Path<(AccountId, i64)>,
) -> Result<Json<Done>, ApiError> {
    s.desk.pin_dialog(&actor, &id, peer, true).await?;
    Ok(Json(DONE))
}

/// Unpins a dialog for the caller.
#[utoipa::path(delete, path = "/api/accounts/{id}/dialogs/{peer}/pin", tag = "pins",
    params(("id" = String, Path), ("peer" = i64, Path)), responses((status = 200, body = Done)))]
async fn unpin_dialog(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path((id, peer)): Path<(AccountId, i64)>,
) -> Result<Json<Done>, ApiError> {
    s.desk.pin_dialog(&actor, &id, peer, false).await?;
    Ok(Json(DONE))
}

/// A message's new tags.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageTags {
    /// Tag ids (replacing the current set).
    tags: Vec<TagId>,
}

/// Replaces a message's tags.
#[utoipa::path(put, path = "/api/messages/{account}/{peer}/{id}/tags", tag = "inbox",
    params(("account" = String, Path), ("peer" = i64, Path), ("id" = i64, Path)), request_body = MessageTags,
    responses((status = 200, body = Message)))]
async fn tag_message(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path((account, peer, id)): Path<(AccountId, i64, i64)>,
    Json(req): Json<MessageTags>,
) -> Result<Json<Message>, ApiError> {
    Ok(Json(s.desk.tag_message(&actor, &account, peer, id, &req.tags).await?))
}

/// The audit log, newest first (admins; leaders for their team).
#[utoipa::path(get, path = "/api/audit", tag = "audit", params(AuditFilter), responses((status = 200, body = Page<AuditEntry>)))]
async fn read_audit(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Query(f): Query<AuditFilter>,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    Ok(Json(s.desk.read_audit(&actor, &f).await?))
}

/// The size of the tenant's cold archive and the windows in force: days in
/// the store, days until deletion (admins).
#[utoipa::path(get, path = "/api/admin/archive", tag = "audit", responses((status = 200, body = ArchiveView)))]
async fn archive_view(State(s): State<ApiState>, Authed(actor): Authed) -> Result<Json<ArchiveView>, ApiError> {
    Ok(Json(s.desk.archive_view(&actor).await?))
}
