//! The `api` function on API Gateway REST proxy events, as `lambda_http`
//! turns them into requests: a recorded login event
//! (tests/events/api-rest-login.json) and events made from it, served by
//! the function's router on moto.

#[path = "../../shared/aws/tests/moto.rs"]
mod moto;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tgdesk_functions::api::{app, open_desk, ApiSettings};
use tgdesk_telegram::SessionCipher;
use tower::ServiceExt;

/// The recorded event: `POST /api/auth/login` for the fixture tenant's
/// admin, from 203.0.113.9 (with an `X-Forwarded-For` the client wrote).
const RECORDED: &str = include_str!("events/api-rest-login.json");

/// The function's router on tables of its own, with the fixture tenant.
async fn function() -> axum::Router {
    // As the template sets it for the function (every test sets the same value).
    std::env::set_var(tgdesk_functions::api::ENV_IGNORE_STAGE, "true");
    let ctx = moto::context_of_its_own().await;
    let settings = ApiSettings {
        jwt_secret: "a-test-secret-of-at-least-32-characters".to_owned().into(),
        token_ttl: Duration::from_secs(600),
        operator_token: None,
        sealer: Arc::new(SessionCipher::from_key(&[9; 32])),
        first_admin: Some(("fixture".to_owned(), "fixture-password-1".to_owned().into())),
    };
    let desk = open_desk(&ctx, &settings, None).await.expect("open the desk");
    app(desk, None)
}

/// The recorded event changed by `edit`, as `lambda_http` hands it over.
fn event(edit: impl FnOnce(&mut Value)) -> Request<Body> {
    let mut event: Value = serde_json::from_str(RECORDED).unwrap();
    edit(&mut event);
    let request = lambda_http::request::from_str(&event.to_string()).expect("an API Gateway event");
    let (parts, body) = request.into_parts();
    Request::from_parts(parts, Body::from(body.to_vec()))
}

/// An event for `method path` with `headers` and `body`, from `source_ip`.
fn call(method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>, source_ip: &str) -> Request<Body> {
    event(|e| {
        e["httpMethod"] = json!(method);
        e["path"] = json!(path);
        e["pathParameters"] = json!({ "proxy": path.trim_start_matches('/') });
        e["requestContext"]["httpMethod"] = json!(method);
        e["requestContext"]["path"] = json!(format!("/prod{path}"));
        e["requestContext"]["identity"]["sourceIp"] = json!(source_ip);
        for (name, value) in headers {
            e["headers"][name] = json!(value);
            e["multiValueHeaders"][name] = json!([value]);
        }
        e["body"] = body.map_or(Value::Null, |b| json!(b));
    })
}

async fn send(router: &axum::Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = router.clone().oneshot(request).await.expect("an answer");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn login(username: &str, password: &str) -> String {
    json!({ "tenant": "fixture", "username": username, "password": password }).to_string()
}

#[tokio::test]
async fn the_recorded_login_signs_in_and_its_token_opens_the_api() {
    let router = function().await;
    let (status, body) = send(&router, event(|_| {})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["token"].as_str().expect("a token").to_owned();
    let bearer = format!("Bearer {token}");
    let (status, me) = send(&router, call("GET", "/api/me", &[("Authorization", &bearer)], None, "203.0.113.9")).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["username"], "admin");
    assert_eq!(me["role"], "admin");
}

#[tokio::test]
async fn forged_tokens_bad_bodies_and_unknown_routes_get_their_errors() {
    let router = function().await;
    let forged = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    let (status, _) = send(&router, call("GET", "/api/me", &[("Authorization", forged)], None, "203.0.113.9")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = send(&router, call("POST", "/api/auth/login", &[], Some("{not json"), "203.0.113.9")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = send(&router, call("GET", "/api/no-such-thing", &[], None, "203.0.113.9")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_login_throttle_counts_the_address_api_gateway_saw_not_the_forwarded_one() {
    let router = function().await;
    // 50 attempts per address in 15 minutes; distinct usernames, so no user key fills.
    for n in 0..50 {
        let body = login(&format!("nobody{n}"), "wrong-password");
        let (status, _) = send(&router, call("POST", "/api/auth/login", &[], Some(&body), "198.51.100.7")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let body = login("nobody-else", "wrong-password");
    let (status, answer) = send(&router, call("POST", "/api/auth/login", &[], Some(&body), "198.51.100.7")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{answer}");
    // Another caller, with the same X-Forwarded-For text, is not held back.
    let body = login("admin", "fixture-password-1");
    let (status, answer) = send(&router, call("POST", "/api/auth/login", &[], Some(&body), "198.51.100.8")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}
