//! The `ws-connect`, `ws-disconnect` and `ws-default` functions: API
//! Gateway's WebSocket routes. `$connect` checks the token (`?token=` or
//! `Authorization: Bearer`) with the same use case as the server's `/ws`,
//! refuses a user at the socket cap, and records the connection with the
//! token's version and expiry and the `since=` it resumes after;
//! `$disconnect` forgets it. API Gateway refuses the socket when `$connect`
//! answers anything but 2xx.

use aws_lambda_events::encodings::Body;
use aws_lambda_events::event::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use chrono::{DateTime, Duration, Utc};
use tgdesk_core::ports::{Connection, Connections, MAX_CONNECTIONS_PER_USER};
use tgdesk_core::usecases::{AppError, Desk};

/// API Gateway closes every WebSocket after two hours; a connection is
/// forgotten then even if its token lives longer.
pub const MAX_CONNECTION_LIFE: Duration = Duration::hours(2);
/// Longest client message `$default` takes (the server's `/ws` cap).
pub const MAX_CLIENT_MESSAGE: usize = 16 * 1024;

/// An answer with `status` and a JSON error body (`code`, `message`), as
/// the REST API words its errors.
fn answer(status: u16, code: &str, message: &str) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = i64::from(status);
    if status >= 400 {
        let body = serde_json::json!({ "error": { "code": code, "message": message } });
        response.body = Some(Body::Text(body.to_string()));
    }
    response
}

fn refused(e: &AppError) -> ApiGatewayProxyResponse {
    match e {
        AppError::Unauthorized(m) => answer(401, "unauthorized", m),
        AppError::Forbidden(m) => answer(403, "forbidden", m),
        AppError::Invalid(m) => answer(400, "invalid", m),
        AppError::Unavailable(m) => answer(503, "unavailable", m),
        other => {
            tracing::error!(error = %other, "connect failed");
            answer(500, "internal", "the connection could not be recorded")
        }
    }
}

/// The token a connect request carries, from the query or the header.
fn token_of(event: &ApiGatewayWebsocketProxyRequest) -> Option<&str> {
    let from_query = event.query_string_parameters.first("token");
    let from_header = event
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    from_query.or(from_header).filter(|t| !t.is_empty())
}

/// `$connect`: records the connection of a valid token's user.
pub async fn connect(
    desk: &Desk,
    connections: &dyn Connections,
    event: &ApiGatewayWebsocketProxyRequest,
    now: DateTime<Utc>,
) -> ApiGatewayProxyResponse {
    let Some(id) = event.request_context.connection_id.clone() else {
        return answer(400, "invalid", "the event names no connection");
    };
    let Some(token) = token_of(event) else {
        return answer(401, "unauthorized", "pass the token as ?token= or Authorization: Bearer");
    };
    let since = match event.query_string_parameters.first("since").map(str::parse::<u64>) {
        None => None,
        Some(Ok(since)) => Some(since),
        Some(Err(_)) => return answer(400, "invalid", "since= must be the last seq applied"),
    };
    let actor = match desk.authenticate(token).await {
        Ok(actor) => actor,
        Err(e) => return refused(&e),
    };
    let Ok(claims) = desk.tokens.verify(token) else {
        return answer(401, "unauthorized", "the token is invalid");
    };
    match connections.of_user(&actor.tenant, &actor.user_id, now).await {
        Ok(open) if open.len() >= MAX_CONNECTIONS_PER_USER => {
            let message = format!("at most {MAX_CONNECTIONS_PER_USER} open sockets per user; close one first");
            return answer(429, "too_many_sockets", &message);
        }
        Ok(_) => {}
        Err(e) => return refused(&e.into()),
    }
    let token_end = DateTime::from_timestamp(claims.exp, 0).unwrap_or(now);
    let connection = Connection {
        id,
        tenant: actor.tenant,
        user: actor.user_id,
        token_version: claims.tv,
        expires_at: token_end.min(now + MAX_CONNECTION_LIFE),
        resumed_after: since,
    };
    match connections.register(&connection).await {
        Ok(()) => {
            tracing::info!(connection = %connection.id, user = %connection.user, "connected");
            answer(200, "", "")
        }
        Err(e) => refused(&e.into()),
    }
}

/// `$disconnect`: forgets the connection (API Gateway ignores the answer;
/// a failure leaves the item to its TTL, and posts to it find it gone).
pub async fn disconnect(
    connections: &dyn Connections,
    event: &ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    let Some(id) = event.request_context.connection_id.as_deref() else {
        return answer(400, "invalid", "the event names no connection");
    };
    match connections.unregister(id).await {
        Ok(()) => answer(200, "", ""),
        Err(e) => {
            tracing::warn!(connection = id, error = %e, "cannot forget a connection; its TTL will");
            answer(500, "internal", "the connection could not be forgotten")
        }
    }
}

/// `$default`: clients send nothing the desk acts on (replies and reads go
/// over REST); a message is acknowledged, one over the cap refused.
pub async fn default(event: &ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
    let size = event.body.as_deref().map_or(0, str::len);
    if size > MAX_CLIENT_MESSAGE {
        return answer(413, "too_large", "client messages are at most 16 KiB");
    }
    answer(200, "", "")
}
