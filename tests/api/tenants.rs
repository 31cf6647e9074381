//! Tenants: the operator API, the CLI, and isolation between tenants.

use crate::helpers::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn the_operator_api_needs_its_token_and_refuses_duplicates() {
    let app = spawn_app().await;
    let body = json!({"name": "acme", "admin_username": "root", "admin_password": ADMIN_PASSWORD});
    app.call(Method::POST, "/api/operator/tenants", None, Some(body.clone())).await.expect(401);
    let admin = app.admin().await;
    app.call(Method::POST, "/api/operator/tenants", Some(&admin), Some(body.clone())).await.expect(401);
    app.call(Method::POST, "/api/operator/tenants", Some(OPERATOR_TOKEN), Some(body.clone())).await.expect(201);
    app.call(Method::POST, "/api/operator/tenants", Some(OPERATOR_TOKEN), Some(body)).await.expect(409);
    let bad = json!({"name": "Not Valid!", "admin_username": "root", "admin_password": ADMIN_PASSWORD});
    app.call(Method::POST, "/api/operator/tenants", Some(OPERATOR_TOKEN), Some(bad)).await.expect(400);
    app.login("acme", "root", ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn the_cli_creates_a_tenant_the_server_then_serves() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tgdesk"))
        .args(["--data-dir", dir.path().to_str().unwrap(), "tenant", "create", "clitenant"])
        .args(["--admin-username", "chief", "--admin-password", "cli-password-1"])
        .env("TGDESK_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("TGDESK_JWT_SECRET", JWT_SECRET)
        .envs(crate::helpers::backend_env(dir.path()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("created tenant clitenant"));
    let app = spawn_in(dir).await;
    app.login("clitenant", "chief", "cli-password-1").await;
}

#[tokio::test]
async fn one_tenant_never_sees_anothers_data() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let agent = app.create_user(&admin, "demoagent", "agent", None).await;
    let account = app.create_account(&admin, "+15558880001", Some(&agent)).await;
    seed_dialog(&app, "demo", &account, 4242, 3, chrono::Utc::now()).await;
    app.post("/api/tags", &admin, json!({"name": "secret"})).await.expect(201);
    app.create_account(&admin, "+15558880002", None).await;
    let other = app.create_tenant("rival").await;
    // The same phone and username are free in another tenant.
    app.create_account(&other, "+15558880001", None).await;
    app.create_user(&other, "demoagent", "agent", None).await;
    assert_eq!(field_list(&app.get("/api/accounts", &other).await.expect(200), "id").len(), 1);
    app.get(&format!("/api/accounts/{account}"), &other).await.expect(404);
    app.get(&format!("/api/accounts/{account}/dialogs/4242/messages"), &other).await.expect(404);
    app.get(&format!("/api/agents/{agent}"), &other).await.expect(404);
    assert!(field_list(&app.get("/api/inbox", &other).await.expect(200), "peer").is_empty());
    assert!(field_list(&app.get("/api/tags", &other).await.expect(200), "name").is_empty());
    let audit = app.get("/api/audit?limit=500", &other).await.expect(200);
    assert!(!audit.to_string().contains(&account));
    app.login("rival", "demoagent", PASSWORD).await;
    let demo_page = app.get("/api/accounts?limit=1", &admin).await.expect(200);
    let cursor = demo_page["next_cursor"].as_str().expect("demo has a second page");
    app.get(&format!("/api/accounts?cursor={cursor}"), &other).await.expect(400);
    let body = json!({"tenant": "rival", "username": "admin", "password": ADMIN_PASSWORD});
    app.call(Method::POST, "/api/auth/login", None, Some(body)).await.expect(401);
}
