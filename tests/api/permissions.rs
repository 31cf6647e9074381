//! The permission matrix: every route × admin / leader / other-team leader /
//! owner agent / other agent / other tenant, plus no, forged and expired tokens.

use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use tgdesk_core::auth::TokenService;
use tgdesk_core::domain::{TenantId, UserId};

const ACTORS: [&str; 6] = ["admin", "leader", "other_leader", "owner", "other_agent", "other_tenant"];

struct World {
    app: TestApp,
    tokens: Vec<String>,
    admin: String,
    l1: String,
    owner: String,
    teammate: String,
    account: String,
    counter: std::sync::atomic::AtomicU32,
}

impl World {
    fn unique(&self) -> u32 {
        self.counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// A fresh account owned by the owner agent (for destructive rows).
    async fn fresh_account(&self) -> String {
        let phone = format!("+1999{:07}", self.unique());
        self.app.create_account(&self.admin, &phone, Some(&self.owner)).await
    }

    /// A fresh agent in the leader's team (for destructive rows).
    async fn fresh_agent(&self) -> String {
        self.app.create_user(&self.admin, &format!("victim{}", self.unique()), "agent", Some(&self.l1)).await
    }
}

async fn world() -> World {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let l1 = app.create_user(&admin, "l1", "leader", None).await;
    let l2 = app.create_user(&admin, "l2", "leader", None).await;
    let owner = app.create_user(&admin, "owner", "agent", Some(&l1)).await;
    let teammate = app.create_user(&admin, "teammate", "agent", Some(&l1)).await;
    app.create_user(&admin, "stranger", "agent", Some(&l2)).await;
    let account = app.create_account(&admin, "+15550009999", Some(&owner)).await;
    seed_dialog(&app, "demo", &account, 100, 3, chrono::Utc::now()).await;
    let other = app.create_tenant("elsewhere").await;
    let tokens = vec![
        admin.clone(),
        app.login("demo", "l1", PASSWORD).await,
        app.login("demo", "l2", PASSWORD).await,
        app.login("demo", "owner", PASSWORD).await,
        app.login("demo", "stranger", PASSWORD).await,
        other,
    ];
    World { app, tokens, admin, l1, owner, teammate, account, counter: Default::default() }
}

/// One route with its request per actor and the status each actor must get.
struct Row {
    name: &'static str,
    method: Method,
    requests: Vec<(String, Option<Value>)>,
    expect: [u16; 6],
}

fn same(path: String, body: Option<Value>) -> Vec<(String, Option<Value>)> {
    vec![(path, body); 6]
}

async fn rows(w: &World) -> Vec<Row> {
    let acc = &w.account;
    let owner = &w.owner;
    let mut rows = vec![
        Row { name: "get me", method: Method::GET, requests: same("/api/me".into(), None), expect: [200; 6] },
        Row { name: "list agents", method: Method::GET, requests: same("/api/agents".into(), None), expect: [200; 6] },
        Row {
            name: "get agent",
            method: Method::GET,
            requests: same(format!("/api/agents/{owner}"), None),
            expect: [200, 200, 404, 200, 404, 404],
        },
        Row {
            name: "update agent",
            method: Method::PATCH,
            requests: same(format!("/api/agents/{owner}"), Some(json!({"display_name": "Owner"}))),
            expect: [200, 200, 404, 200, 404, 404],
        },
        Row {
            name: "reset password",
            method: Method::POST,
            requests: same(format!("/api/agents/{}/password", w.teammate), Some(json!({"password": PASSWORD}))),
            expect: [200, 200, 404, 404, 404, 404],
        },
        Row {
            name: "list accounts",
            method: Method::GET,
            requests: same("/api/accounts".into(), None),
            expect: [200; 6],
        },
        Row {
            name: "get account",
            method: Method::GET,
            requests: same(format!("/api/accounts/{acc}"), None),
            expect: [200, 200, 404, 200, 404, 404],
        },
        Row {
            name: "update account",
            method: Method::PATCH,
            requests: same(format!("/api/accounts/{acc}"), Some(json!({"display_name": "Desk"}))),
            expect: [200, 200, 404, 200, 404, 404],
        },
        Row {
            name: "assign owner",
            method: Method::PUT,
            requests: same(format!("/api/accounts/{acc}/owner"), Some(json!({"agent_id": owner}))),
            expect: [200, 200, 404, 403, 404, 404],
        },
        Row {
            name: "bulk assign",
            method: Method::POST,
            requests: same("/api/accounts/assign".into(), Some(json!({"account_ids": [acc], "agent_id": owner}))),
            expect: [200, 200, 403, 403, 403, 404],
        },
        Row {
            name: "pin account",
            method: Method::PUT,
            requests: same(format!("/api/accounts/{acc}/pin"), None),
            expect: [200, 200, 404, 200, 404, 404],
        },
        Row {
            name: "unpin account",
            method: Method::DELETE,
            requests: same(format!("/api/accounts/{acc}/pin"), None),
            expect: [200, 200, 404, 200, 404, 404],
        },
        Row {
            name: "account dialogs",
            method: Method::GET,
            requests: same(format!("/api/accounts/{acc}/dialogs"), None),
            expect: [200, 200, 404, 200, 404, 404],
        },
        Row {
            name: "dialog messages",
            method: Method::GET,
            requests: same(format!("/api/accounts/{acc}/dialogs/100/messages"), None),
            expect: [200, 200, 404, 200, 404, 404],
        },
        Row {
            name: "pin dialog",
            method: Method::PUT,
            requests: same(format!("/api/accounts/{acc}/dialogs/100/pin"), None),
            expect: [200, 200, 404, 200, 404, 404],
        },
        Row {
            name: "tag message",
            method: Method::PUT,
            requests: same(format!("/api/messages/{acc}/100/1/tags"), Some(json!({"tags": []}))),
            expect: [200, 200, 404, 200, 404, 404],
        },
        Row {
            name: "mark read",
            method: Method::POST,
            requests: same(format!("/api/accounts/{acc}/dialogs/100/read"), None),
            expect: [200, 200, 404, 200, 404, 404],
        },
        Row {
            name: "dialog profile",
            method: Method::GET,
            requests: same(format!("/api/accounts/{acc}/dialogs/100/profile"), None),
            expect: [200, 200, 404, 200, 404, 404],
        },
        Row {
            name: "contacts",
            method: Method::GET,
            requests: same(format!("/api/accounts/{acc}/contacts"), None),
            expect: [200, 200, 404, 200, 404, 404],
        },
        Row {
            name: "sync account",
            method: Method::POST,
            requests: same(format!("/api/accounts/{acc}/sync"), None),
            expect: [202, 202, 404, 202, 404, 404],
        },
        Row {
            name: "edit a customer's message",
            method: Method::PATCH,
            requests: same(format!("/api/accounts/{acc}/dialogs/100/messages/1"), Some(json!({"text": "mine now"}))),
            expect: [403, 403, 404, 403, 404, 404],
        },
        Row {
            name: "delete a customer's message",
            method: Method::DELETE,
            requests: same(format!("/api/accounts/{acc}/dialogs/100/messages/1"), None),
            expect: [403, 403, 404, 403, 404, 404],
        },
        Row {
            name: "login code without a login",
            method: Method::POST,
            requests: same(format!("/api/accounts/{acc}/login/code"), Some(json!({"code": "12345"}))),
            expect: [409, 409, 404, 409, 404, 404],
        },
        Row { name: "inbox", method: Method::GET, requests: same("/api/inbox".into(), None), expect: [200; 6] },
        Row {
            name: "audit",
            method: Method::GET,
            requests: same("/api/audit".into(), None),
            expect: [200, 200, 200, 403, 403, 200],
        },
        Row { name: "list tags", method: Method::GET, requests: same("/api/tags".into(), None), expect: [200; 6] },
        Row { name: "list groups", method: Method::GET, requests: same("/api/groups".into(), None), expect: [200; 6] },
        Row {
            name: "other's groups",
            method: Method::GET,
            requests: same(format!("/api/groups?owner={owner}"), None),
            expect: [200, 200, 403, 200, 403, 404],
        },
        Row {
            name: "operator",
            method: Method::POST,
            requests: same(
                "/api/operator/tenants".into(),
                Some(json!({"name": "nope", "admin_username": "x1", "admin_password": PASSWORD})),
            ),
            expect: [401; 6],
        },
    ];
    let mut per_actor = |name, method, expect, make: &dyn Fn(u32) -> (String, Option<Value>)| {
        rows.push(Row { name, method, requests: (0..6).map(|_| make(w.unique())).collect(), expect });
    };
    per_actor("create agent", Method::POST, [201, 201, 201, 403, 403, 201], &|n| {
        ("/api/agents".into(), Some(json!({"username": format!("new{n}"), "password": PASSWORD, "role": "agent"})))
    });
    per_actor("create account", Method::POST, [201, 201, 201, 403, 403, 201], &|n| {
        ("/api/accounts".into(), Some(json!({"phone": format!("+1888{n:07}")})))
    });
    per_actor("create tag", Method::POST, [201, 201, 201, 403, 403, 201], &|n| {
        ("/api/tags".into(), Some(json!({"name": format!("tag{n}")})))
    });
    per_actor("create group", Method::POST, [201; 6], &|n| {
        ("/api/groups".into(), Some(json!({"name": format!("g{n}")})))
    });
    let mut destructive = Vec::new();
    for (name, method, expect, kind) in [
        ("reclaim", Method::DELETE, [200, 200, 404, 403, 404, 404], "reclaim"),
        ("delete account", Method::DELETE, [200, 200, 404, 403, 404, 404], "delete_account"),
        ("log out", Method::POST, [200, 200, 404, 200, 404, 404], "logout"),
        ("delete agent", Method::DELETE, [200, 200, 404, 404, 404, 404], "delete_agent"),
        ("delete tag", Method::DELETE, [200, 403, 403, 403, 403, 404], "delete_tag"),
    ] {
        let mut requests = Vec::new();
        for _ in 0..6 {
            let path = match kind {
                "reclaim" => format!("/api/accounts/{}/owner", w.fresh_account().await),
                "delete_account" => format!("/api/accounts/{}", w.fresh_account().await),
                "logout" => format!("/api/accounts/{}/logout", w.fresh_account().await),
                "delete_agent" => format!("/api/agents/{}", w.fresh_agent().await),
                _ => {
                    let tag = w
                        .app
                        .post("/api/tags", &w.admin, json!({"name": format!("del{}", w.unique())}))
                        .await
                        .expect(201);
                    format!("/api/tags/{}", tag["id"].as_str().unwrap())
                }
            };
            requests.push((path, None));
        }
        destructive.push(Row { name, method, requests, expect });
    }
    rows.extend(destructive);
    rows
}

#[tokio::test]
async fn every_route_answers_each_role_as_the_rules_say() {
    let w = world().await;
    let mut failures = Vec::new();
    for row in rows(&w).await {
        for (i, (path, body)) in row.requests.iter().enumerate() {
            let got = w.app.call(row.method.clone(), path, Some(&w.tokens[i]), body.clone()).await;
            if got.status.as_u16() != row.expect[i] {
                failures.push(format!(
                    "{} as {}: expected {}, got {} {}",
                    row.name, ACTORS[i], row.expect[i], got.status, got.body
                ));
            }
        }
    }
    assert!(failures.is_empty(), "permission matrix mismatches:\n{}", failures.join("\n"));
}

#[tokio::test]
async fn every_authenticated_route_refuses_missing_forged_and_expired_tokens() {
    let w = world().await;
    let me = w.app.get("/api/me", &w.admin).await.expect(200);
    let tenant = TenantId::parse("demo").unwrap();
    let user = UserId::parse(me["id"].as_str().unwrap()).unwrap();
    let forged =
        TokenService::new(b"forged-forged-forged-forged-1234", Duration::from_secs(3600)).issue(&tenant, &user, 0);
    let expired = TokenService::new(JWT_SECRET.as_bytes(), Duration::ZERO).issue(&tenant, &user, 0);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut failures = Vec::new();
    for row in rows(&w).await {
        let (path, body) = &row.requests[0];
        for (label, token) in
            [("no token", None), ("forged", Some(forged.as_str())), ("expired", Some(expired.as_str()))]
        {
            let got = w.app.call(row.method.clone(), path, token, body.clone()).await;
            if got.status.as_u16() != 401 || got.body["error"]["code"] != "unauthorized" {
                failures.push(format!("{} with {label}: got {} {}", row.name, got.status, got.body));
            }
        }
    }
    assert!(failures.is_empty(), "token checks failed:\n{}", failures.join("\n"));
}

#[tokio::test]
async fn lists_show_each_role_only_what_it_may_see() {
    let w = world().await;
    let sees_account: Vec<bool> = {
        let mut v = Vec::new();
        for token in &w.tokens {
            let list = w.app.get("/api/accounts", token).await.expect(200);
            v.push(field_list(&list, "id").contains(&w.account));
        }
        v
    };
    assert_eq!(sees_account, vec![true, true, false, true, false, false]);
    let mut sees_dialog = Vec::new();
    for token in &w.tokens {
        let inbox = w.app.get("/api/inbox", token).await.expect(200);
        sees_dialog.push(field_list(&inbox, "account_id").contains(&w.account));
    }
    assert_eq!(sees_dialog, vec![true, true, false, true, false, false]);
}
