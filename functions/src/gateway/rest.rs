//! The REST API: an HTTP request as the API Gateway REST proxy event the
//! `api` function receives, and its answer back.

use super::Shared;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{json, Map, Value};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tower::ServiceExt;

/// API Gateway refuses larger request bodies.
const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;
/// Lambda refuses larger responses (6 MB, less the event's envelope).
const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024 - 64 * 1024;

/// Returns `(single, multi)` value maps of `headers`, as API Gateway fills
/// `headers` (the last value) and `multiValueHeaders` (all of them).
pub(super) fn header_maps(headers: &HeaderMap) -> (Value, Value) {
    let (mut single, mut multi) = (Map::new(), Map::new());
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        single.insert(name.as_str().to_owned(), json!(value));
        let list = multi.entry(name.as_str().to_owned()).or_insert_with(|| json!([]));
        if let Value::Array(list) = list {
            list.push(json!(value));
        }
    }
    (Value::Object(single), Value::Object(multi))
}

/// Returns `(single, multi)` value maps of a query string, or nulls for none.
pub(super) fn query_maps(query: Option<&str>) -> (Value, Value) {
    let Some(query) = query.filter(|q| !q.is_empty()) else { return (Value::Null, Value::Null) };
    let (mut single, mut multi) = (Map::new(), Map::new());
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        single.insert(name.to_string(), json!(value));
        let list = multi.entry(name.to_string()).or_insert_with(|| json!([]));
        if let Value::Array(list) = list {
            list.push(json!(value));
        }
    }
    (Value::Object(single), Value::Object(multi))
}

/// The REST proxy event of a request from `source`.
fn event(parts: &Parts, body: &Bytes, source: IpAddr, stage: &str) -> Value {
    let path = parts.uri.path();
    let (headers, multi_headers) = header_maps(&parts.headers);
    let (query, multi_query) = query_maps(parts.uri.query());
    let now = chrono::Utc::now();
    // Bodies that are not UTF-8 arrive base64-encoded (binary media types).
    let (body, base64) = match std::str::from_utf8(body) {
        _ if body.is_empty() => (Value::Null, false),
        Ok(text) => (json!(text), false),
        Err(_) => (json!(base64::engine::general_purpose::STANDARD.encode(body)), true),
    };
    json!({
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": parts.method.as_str(),
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": { "proxy": path.trim_start_matches('/') },
        "stageVariables": null,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": parts.method.as_str(),
            "path": format!("/{stage}{path}"),
            "accountId": "000000000000",
            "protocol": "HTTP/1.1",
            "stage": stage,
            "requestTimeEpoch": now.timestamp_millis(),
            "requestId": uuid_like(),
            "identity": { "sourceIp": source.to_string() },
            "apiId": "local",
        },
        "body": body,
        "isBase64Encoded": base64,
    })
}

/// A request id in the shape API Gateway gives.
fn uuid_like() -> String {
    let bytes: [u8; 16] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

fn refused(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}

/// Serves one REST request through the `api` function.
pub(super) async fn proxy(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_REQUEST_BYTES).await else {
        return refused(StatusCode::PAYLOAD_TOO_LARGE, "Request Too Long");
    };
    let event = event(&parts, &body, peer.ip(), &shared.stage);
    let request = match lambda_http::request::from_str(&event.to_string()) {
        Ok(request) => request,
        Err(e) => {
            tracing::error!(error = %e, "the gateway built an event lambda_http cannot read");
            return refused(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error");
        }
    };
    let (parts, body) = request.into_parts();
    let request = axum::http::Request::from_parts(parts, Body::from(body.to_vec()));
    let response = match shared.api.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, MAX_RESPONSE_BYTES).await {
        Ok(body) => Response::from_parts(parts, Body::from(body)),
        Err(_) => {
            tracing::warn!(path = %event["path"], "a response over Lambda's 6 MB limit");
            refused(StatusCode::BAD_GATEWAY, "Internal server error")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_becomes_the_event_lambda_http_reads_back() {
        let request = axum::http::Request::builder()
            .method("POST")
            .uri("/api/accounts/import?dry_run=1&x=a%20b&x=c")
            .header("content-type", "text/csv")
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        let event = event(&parts, &Bytes::from_static(b"phone\n+1555"), "203.0.113.9".parse().unwrap(), "prod");
        assert_eq!(event["requestContext"]["path"], "/prod/api/accounts/import");
        assert_eq!(event["multiValueQueryStringParameters"]["x"], json!(["a b", "c"]));
        std::env::set_var(crate::api::ENV_IGNORE_STAGE, "true");
        let back = lambda_http::request::from_str(&event.to_string()).unwrap();
        assert_eq!(back.uri().path(), "/api/accounts/import");
        assert_eq!(back.method(), "POST");
        assert_eq!(&back.body()[..], b"phone\n+1555");
    }

    #[test]
    fn a_binary_body_travels_as_base64() {
        let (parts, ()) = axum::http::Request::builder().uri("/api/files").body(()).unwrap().into_parts();
        let event = event(&parts, &Bytes::from_static(&[0xff, 0x00, 0x80]), "127.0.0.1".parse().unwrap(), "prod");
        assert_eq!(event["isBase64Encoded"], true);
        let back = lambda_http::request::from_str(&event.to_string()).unwrap();
        assert_eq!(&back.body()[..], &[0xff, 0x00, 0x80]);
    }
}
