//! The `ws-connect`, `ws-disconnect` and `ws-default` functions: API
//! Gateway's WebSocket routes. `$connect` checks the token (`?token=` or
//! `Authorization: Bearer`) with the same use case as the server's `/ws`,
//! refuses a user at the socket cap, and records the connection with the
//! token's version and expiry and the `since=` it resumes after;
//! `$disconnect` forgets it. API Gateway refuses the socket when `$connect`
//! answers anything but 2xx.

use aws_lambda_events::encodings::Body;
use aws_lambda_events::event::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use tgdesk_api::ApiError;
use tgdesk_core::ports::{Connection, Connections, MAX_CONNECTIONS_PER_USER};
use tgdesk_core::usecases::{AppError, Desk};

/// API Gateway closes every WebSocket after two hours; a connection is
/// forgotten then even if its token lives longer.
pub const MAX_CONNECTION_LIFE: Duration = Duration::hours(2);
/// Longest client message `$default` takes (the server's `/ws` cap).
pub const MAX_CLIENT_MESSAGE: usize = 16 * 1024;

/// API Gateway's answer to a route: 200, or the REST API's error with its
/// status and `{"error":{"code","message"}}` body.
fn answer(result: Result<(), ApiError>) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    match result {
        Ok(()) => response.status_code = 200,
        Err(e) => {
            response.status_code = i64::from(e.status().as_u16());
            response.body = Some(Body::Text(e.body().to_string()));
        }
    }
    response
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
    answer(record(desk, connections, event, now).await)
}

async fn record(
    desk: &Desk,
    connections: &dyn Connections,
    event: &ApiGatewayWebsocketProxyRequest,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let id = event
        .request_context
        .connection_id
        .clone()
        .ok_or_else(|| ApiError::invalid("the event names no connection"))?;
    let token =
        token_of(event).ok_or_else(|| ApiError::unauthorized("pass the token as ?token= or Authorization: Bearer"))?;
    let since = match event.query_string_parameters.first("since").map(str::parse::<u64>) {
        None => None,
        Some(Ok(since)) => Some(since),
        Some(Err(_)) => return Err(ApiError::invalid("since= must be the last seq applied")),
    };
    let actor = desk.authenticate(token).await?;
    let claims = desk.tokens.verify(token).map_err(|_| ApiError::unauthorized("the token is invalid"))?;
    let open = connections.of_user(&actor.tenant, &actor.user_id, now).await.map_err(AppError::from)?;
    if open.len() >= MAX_CONNECTIONS_PER_USER {
        let message = format!("at most {MAX_CONNECTIONS_PER_USER} open sockets per user; close one first");
        return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_sockets", message));
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
    connections.register(&connection).await.map_err(AppError::from)?;
    tracing::info!(connection = %connection.id, user = %connection.user, "connected");
    Ok(())
}

/// `$disconnect`: forgets the connection (API Gateway ignores the answer;
/// a failure leaves the item to its TTL, and posts to it find it gone).
pub async fn disconnect(
    connections: &dyn Connections,
    event: &ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    let Some(id) = event.request_context.connection_id.as_deref() else {
        return answer(Err(ApiError::invalid("the event names no connection")));
    };
    if let Err(e) = connections.unregister(id).await {
        tracing::warn!(connection = id, error = %e, "cannot forget a connection; its TTL will");
        return answer(Err(AppError::from(e).into()));
    }
    answer(Ok(()))
}

/// `$default`: clients send nothing the desk acts on (replies and reads go
/// over REST); a message is acknowledged, one over the cap refused.
pub async fn default(event: &ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
    let size = event.body.as_deref().map_or(0, str::len);
    if size > MAX_CLIENT_MESSAGE {
        let message = "client messages are at most 16 KiB";
        return answer(Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)));
    }
    answer(Ok(()))
}
