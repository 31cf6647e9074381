//! Groups (personal) and tags (tenant-wide).

use super::{Done, DONE};
use crate::extract::{Authed, Json, Path, Query};
use crate::{ApiError, ApiState};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tgdesk_core::domain::{AccountId, Group, GroupId, Tag, TagId, UserId};
use tgdesk_core::usecases::JobView;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(list_groups, create_group))
        .routes(routes!(rename_group, delete_group))
        .routes(routes!(add_members, remove_members))
        .routes(routes!(list_tags, create_tag))
        .routes(routes!(delete_tag))
}

/// A list without paging (small collections).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Items<T> {
    /// Every item.
    items: Vec<T>,
    /// Always null: the list is complete.
    next_cursor: Option<String>,
}

/// Whose groups to list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupFilter {
    /// Another user's id (admins; leaders for their agents). Default: the caller.
    owner: Option<UserId>,
}

/// Lists the caller's groups (or, for supervisors, another user's).
#[utoipa::path(get, path = "/api/groups", tag = "groups", params(GroupFilter), responses((status = 200, body = Items<Group>)))]
async fn list_groups(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Query(f): Query<GroupFilter>,
) -> Result<Json<Items<Group>>, ApiError> {
    Ok(Json(Items { items: s.desk.list_groups(&actor, f.owner.as_ref()).await?, next_cursor: None }))
}

/// A group name.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupName {
    /// Name (1 to 64 characters), unique per owner.
    name: String,
}

/// Creates a group owned by the caller.
#[utoipa::path(post, path = "/api/groups", tag = "groups", request_body = GroupName, responses((status = 201, body = Group)))]
async fn create_group(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Json(req): Json<GroupName>,
) -> Result<(StatusCode, Json<Group>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.desk.create_group(&actor, &req.name).await?)))
}

/// Renames one of the caller's groups.
#[utoipa::path(patch, path = "/api/groups/{id}", tag = "groups", params(("id" = String, Path)), request_body = GroupName,
    responses((status = 200, body = Group)))]
async fn rename_group(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<GroupId>,
    Json(req): Json<GroupName>,
) -> Result<Json<Group>, ApiError> {
    Ok(Json(s.desk.rename_group(&actor, &id, &req.name).await?))
}

/// Deletes one of the caller's groups; the accounts stay.
#[utoipa::path(delete, path = "/api/groups/{id}", tag = "groups", params(("id" = String, Path)), responses((status = 200, body = Done, description = "deleted"), (status = 202, body = JobView, description = "still deleting: a job"), (status = 409, description = "conflict, or the job failed")))]
async fn delete_group(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<GroupId>,
) -> Result<axum::response::Response, ApiError> {
    let job = s.desk.delete_group(&actor, &id).await?;
    super::jobs::job_answer(&s, &actor, job).await
}

/// Accounts to add to or remove from a group.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Members {
    /// Account ids the caller may see.
    account_ids: Vec<AccountId>,
}

/// Adds accounts to one of the caller's groups.
#[utoipa::path(put, path = "/api/groups/{id}/accounts", tag = "groups", params(("id" = String, Path)), request_body = Members,
    responses((status = 200, body = Done)))]
async fn add_members(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<GroupId>,
    Json(req): Json<Members>,
) -> Result<Json<Done>, ApiError> {
    s.desk.set_group_members(&actor, &id, &req.account_ids, true).await?;
    Ok(Json(DONE))
}

/// Removes accounts from one of the caller's groups.
#[utoipa::path(delete, path = "/api/groups/{id}/accounts", tag = "groups", params(("id" = String, Path)), request_body = Members,
    responses((status = 200, body = Done)))]
async fn remove_members(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<GroupId>,
    Json(req): Json<Members>,
) -> Result<Json<Done>, ApiError> {
    s.desk.set_group_members(&actor, &id, &req.account_ids, false).await?;
    Ok(Json(DONE))
}

/// Lists the tenant's tags.
#[utoipa::path(get, path = "/api/tags", tag = "tags", responses((status = 200, body = Items<Tag>)))]
async fn list_tags(State(s): State<ApiState>, Authed(actor): Authed) -> Result<Json<Items<Tag>>, ApiError> {
    Ok(Json(Items { items: s.desk.list_tags(&actor).await?, next_cursor: None }))
}

/// A new tag.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTag {
    /// Name (1 to 64 characters), unique in the tenant.
    name: String,
    /// Colour `#rrggbb`.
    color: Option<String>,
}

/// Creates a tenant-wide tag (admins and leaders).
#[utoipa::path(post, path = "/api/tags", tag = "tags", request_body = NewTag, responses((status = 201, body = Tag)))]
async fn create_tag(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Json(req): Json<NewTag>,
) -> Result<(StatusCode, Json<Tag>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.desk.create_tag(&actor, &req.name, req.color.as_deref()).await?)))
}

/// Deletes a tag everywhere (admins).
#[utoipa::path(delete, path = "/api/tags/{id}", tag = "tags", params(("id" = String, Path)), responses((status = 200, body = Done, description = "deleted"), (status = 202, body = JobView, description = "still deleting: a job"), (status = 409, description = "conflict, or the job failed")))]
async fn delete_tag(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<TagId>,
) -> Result<axum::response::Response, ApiError> {
    let job = s.desk.delete_tag(&actor, &id).await?;
    super::jobs::job_answer(&s, &actor, job).await
}
