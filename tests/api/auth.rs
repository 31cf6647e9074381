//! Login, tokens, throttling, and the error format of bad requests.

use crate::helpers::*;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;
use tgdesk_core::auth::TokenService;
use tgdesk_core::domain::{TenantId, UserId};

#[tokio::test]
async fn login_returns_a_token_and_the_user() {
    let app = spawn_app().await;
    let body = json!({"tenant": "demo", "username": "admin", "password": ADMIN_PASSWORD});
    let reply = app.call(Method::POST, "/api/auth/login", None, Some(body)).await.expect(200);
    assert!(reply["token"].as_str().unwrap().len() > 20);
    assert_eq!(reply["user"]["username"], "admin");
    assert_eq!(reply["user"]["role"], "admin");
    let me = app.get("/api/me", reply["token"].as_str().unwrap()).await.expect(200);
    assert_eq!(me["id"], reply["user"]["id"]);
}

#[tokio::test]
async fn wrong_credentials_get_401_in_the_error_format() {
    let app = spawn_app().await;
    for (tenant, user, pw) in
        [("demo", "admin", "nope-nope"), ("demo", "ghost", ADMIN_PASSWORD), ("nosuch", "admin", ADMIN_PASSWORD)]
    {
        let body = json!({"tenant": tenant, "username": user, "password": pw});
        let reply = app.call(Method::POST, "/api/auth/login", None, Some(body)).await.expect(401);
        assert_eq!(reply["error"]["code"], "unauthorized");
        assert!(reply["error"]["message"].as_str().unwrap().contains("wrong"));
    }
}

#[tokio::test]
async fn missing_forged_and_expired_tokens_get_401() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let me = app.get("/api/me", &admin).await.expect(200);
    assert_eq!(app.call(Method::GET, "/api/me", None, None).await.expect(401)["error"]["code"], "unauthorized");
    assert_eq!(app.get("/api/me", "garbage").await.expect(401)["error"]["code"], "unauthorized");
    let tenant = TenantId::parse("demo").unwrap();
    let user = UserId::parse(me["id"].as_str().unwrap()).unwrap();
    let forged =
        TokenService::new(b"another-secret-another-secret-xx", Duration::from_secs(3600)).issue(&tenant, &user, 0);
    app.get("/api/me", &forged).await.expect(401);
    let expired = TokenService::new(JWT_SECRET.as_bytes(), Duration::ZERO).issue(&tenant, &user, 0);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let reply = app.get("/api/me", &expired).await.expect(401);
    assert!(reply["error"]["message"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn repeated_failures_are_throttled_even_with_the_right_password_afterwards() {
    let app = spawn_app().await;
    let bad = json!({"tenant": "demo", "username": "admin", "password": "wrong-password"});
    for _ in 0..10 {
        app.call(Method::POST, "/api/auth/login", None, Some(bad.clone())).await.expect(401);
    }
    let good = json!({"tenant": "demo", "username": "admin", "password": ADMIN_PASSWORD});
    let resp = app.http.post(format!("{}/api/auth/login", app.base)).json(&good).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert!(resp.headers().get("retry-after").is_some());
}

#[tokio::test]
async fn changing_my_password_revokes_my_older_tokens() {
    let app = spawn_app().await;
    let old = app.admin().await;
    let body = json!({"current_password": ADMIN_PASSWORD, "new_password": "brand-new-password"});
    let fresh = app.post("/api/me/password", &old, body).await.expect(200)["token"].as_str().unwrap().to_owned();
    app.get("/api/me", &old).await.expect(401);
    app.get("/api/me", &fresh).await.expect(200);
    app.login("demo", "admin", "brand-new-password").await;
    let wrong = json!({"current_password": "not-it-at-all", "new_password": "another-password"});
    app.post("/api/me/password", &fresh, wrong).await.expect(403);
}

#[tokio::test]
async fn disabling_an_agent_revokes_its_token_at_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = app.create_user(&admin, "dora", "agent", None).await;
    let token = app.login("demo", "dora", PASSWORD).await;
    app.get("/api/me", &token).await.expect(200);
    app.patch(&format!("/api/agents/{id}"), &admin, json!({"disabled": true})).await.expect(200);
    app.get("/api/me", &token).await.expect(401);
    let body = json!({"tenant": "demo", "username": "dora", "password": PASSWORD});
    app.call(Method::POST, "/api/auth/login", None, Some(body)).await.expect(401);
}

#[tokio::test]
async fn malformed_bodies_get_clear_400s_and_oversized_ones_413() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let raw = app.post_raw("/api/agents", &admin, "application/json", b"{not json".to_vec()).await;
    assert_eq!(raw.expect(400)["error"]["code"], "invalid_input");
    let unknown = app
        .post("/api/agents", &admin, json!({"username": "x1", "password": PASSWORD, "role": "agent", "colour": 1}))
        .await;
    assert!(unknown.expect(400)["error"]["message"].as_str().unwrap().contains("colour"));
    let wrong_type =
        app.post("/api/agents", &admin, json!({"username": 5, "password": PASSWORD, "role": "agent"})).await;
    assert_eq!(wrong_type.expect(400)["error"]["code"], "invalid_input");
    let bad_role =
        app.post("/api/agents", &admin, json!({"username": "zed", "password": PASSWORD, "role": "king"})).await;
    bad_role.expect(400);
    let huge = app.post("/api/tags", &admin, json!({"name": "x".repeat(2 * 1024 * 1024)})).await;
    assert_eq!(huge.expect(413)["error"]["code"], "payload_too_large");
    let bad_path = app.get("/api/accounts/DROP%20TABLE", &admin).await;
    bad_path.expect(400);
    app.get("/api/no/such/route", &admin).await.expect(404);
}

#[tokio::test]
async fn health_and_openapi_are_served() {
    let app = spawn_app().await;
    let health = app.call(Method::GET, "/api/health", None, None).await.expect(200);
    assert_eq!(health["status"], "ok");
    let doc = app.call(Method::GET, "/api/openapi.json", None, None).await.expect(200);
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/auth/login",
        "/api/accounts/import",
        "/api/inbox",
        "/api/accounts/{id}/owner",
        "/api/audit",
        "/api/operator/tenants",
    ] {
        assert!(paths.contains_key(path), "{path} is documented");
    }
    // Every event `/ws` pushes is documented, with its payload.
    let events = serde_json::to_string(&doc["components"]["schemas"]["DeskEvent"]).unwrap();
    for kind in tgdesk_core::ports::EVENT_KINDS {
        assert!(events.contains(&format!("\"{kind}\"")), "{kind} is documented: {events}");
    }
    for payload in ["MessageEdited", "MessagesDeleted", "MessageTagged", "BatchProgress", "DialogView"] {
        assert!(doc["components"]["schemas"].get(payload).is_some(), "{payload} is documented");
    }
}
