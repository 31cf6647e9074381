//! Extractors: the caller's actor from the bearer token, the client address,
//! and JSON/query/path extractors whose rejections use the error format.

use crate::{ApiError, ApiState};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use std::net::{IpAddr, SocketAddr};
use tgdesk_core::usecases::Actor;

/// A JSON body; malformed bodies get 400 `invalid_input`.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// Query parameters; malformed ones get 400 `invalid_input`.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// Path parameters; malformed ones get 400 `invalid_input`.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// The authenticated caller; missing, forged, expired or revoked tokens get 401.
pub struct Authed(pub Actor);

impl FromRequestParts<ApiState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        let token =
            bearer(parts).ok_or_else(|| ApiError::unauthorized("an Authorization: Bearer token is required"))?;
        Ok(Authed(state.desk.authenticate(token).await?))
    }
}

impl OptionalFromRequestParts<ApiState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Option<Self>, Self::Rejection> {
        match bearer(parts) {
            None => Ok(None),
            Some(token) => Ok(Some(Authed(state.desk.authenticate(token).await?))),
        }
    }
}

/// Returns the bearer token of the request, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    parts.headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// The client's address when the server records it, else `unknown`. When
/// the peer is one of the [`TrustedProxies`] (a request extension the
/// server adds), the client is the right-most `X-Forwarded-For` entry that is
/// not itself a trusted proxy: entries left of it are the client's own word.
pub struct ClientAddr(pub String);

/// Reverse proxies whose `X-Forwarded-For` is believed (none by default).
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(pub std::sync::Arc<Vec<IpAddr>>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_canonical()) else {
            return Ok(ClientAddr("unknown".to_owned()));
        };
        let trusted = parts.extensions.get::<TrustedProxies>().map(|t| t.0.clone()).unwrap_or_default();
        Ok(ClientAddr(client_of(peer, &trusted, &parts.headers).to_string()))
    }
}

/// Walks `X-Forwarded-For` from the right while the hop is a trusted proxy.
fn client_of(peer: IpAddr, trusted: &[IpAddr], headers: &axum::http::HeaderMap) -> IpAddr {
    let mut client = peer;
    if !trusted.contains(&client) {
        return client;
    }
    let hops = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
    for hop in hops.iter().rev().flat_map(|v| v.rsplit(',')) {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => client = ip.to_canonical(),
            // A hop that is not an address ends what can be believed.
            Err(_) => return client,
        }
        if !trusted.contains(&client) {
            return client;
        }
    }
    client
}
