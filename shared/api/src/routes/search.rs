//! Searching messages.

use crate::extract::{Authed, Json, Query};
use crate::{ApiError, ApiState};
use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use tgdesk_core::domain::{AccountId, TagId};
use tgdesk_core::ports::SearchOrder;
use tgdesk_core::usecases::{AppError, SearchRequest, SearchResults};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(search))
}

/// What to search for.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words (all must match), `"phrases"` and `-excluded` words; Chinese,
    /// Russian and English are matched by word (stemmed where it applies).
    q: Option<String>,
    /// Comma-separated tag ids every hit must carry.
    tags: Option<String>,
    /// Only this account.
    account: Option<AccountId>,
    /// Only this dialog (marked peer id).
    peer: Option<i64>,
    /// Only messages from this sender (marked id).
    sender: Option<i64>,
    /// Only messages from this day (`YYYY-MM-DD`, UTC) or instant (RFC 3339) on.
    from: Option<String>,
    /// Only messages up to this day, inclusive (`YYYY-MM-DD`, UTC), or before this instant (RFC 3339).
    to: Option<String>,
    /// `newest` (default) or `relevance`.
    #[param(inline)]
    order: Option<SearchOrder>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size (1 to 100, default 20).
    limit: Option<usize>,
}

/// Parses a day (its start, or the next day's start for an inclusive end) or an instant.
fn instant(name: &str, raw: &str, end_of_day: bool) -> Result<DateTime<Utc>, AppError> {
    if let Ok(day) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        let day = if end_of_day { day.succ_opt().unwrap_or(day) } else { day };
        return Ok(day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| AppError::invalid(format!("{name} is not a date (YYYY-MM-DD) or an RFC 3339 time: {raw:?}")))
}

fn tag_list(raw: &str) -> Result<Vec<TagId>, AppError> {
    raw.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| TagId::parse(t).map_err(|_| AppError::invalid(format!("tag {t:?} is not a tag id"))))
        .collect()
}

/// Searches the messages of every account the caller may see, hot and archived.
#[utoipa::path(get, path = "/api/search", tag = "search", params(SearchParams),
    responses((status = 200, body = SearchResults), (status = 400, description = "empty or malformed query")))]
async fn search(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Query(p): Query<SearchParams>,
) -> Result<Json<SearchResults>, ApiError> {
    let req = SearchRequest {
        q: p.q,
        tags: p.tags.as_deref().map(tag_list).transpose()?.unwrap_or_default(),
        account: p.account,
        peer: p.peer,
        sender: p.sender,
        from: p.from.as_deref().map(|raw| instant("from", raw, false)).transpose()?,
        to: p.to.as_deref().map(|raw| instant("to", raw, true)).transpose()?,
        order: p.order.unwrap_or_default(),
        cursor: p.cursor,
        limit: p.limit,
    };
    Ok(Json(s.desk.search(&actor, req).await?))
}
