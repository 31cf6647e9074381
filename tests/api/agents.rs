//! Agents: roles, teams, passwords, deletion.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn admins_create_every_role_and_leaders_only_agents_of_their_team() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let leader = app.create_user(&admin, "lena", "leader", None).await;
    let other_leader = app.create_user(&admin, "otto", "leader", None).await;
    app.create_user(&admin, "ada", "admin", None).await;
    let lena = app.login("demo", "lena", PASSWORD).await;
    let body = json!({"username": "amy", "password": PASSWORD, "role": "agent"});
    let amy = app.post("/api/agents", &lena, body).await.expect(201);
    assert_eq!(amy["leader_id"], leader.as_str());
    let body = json!({"username": "lou", "password": PASSWORD, "role": "leader"});
    app.post("/api/agents", &lena, body).await.expect(403);
    let body = json!({"username": "ben", "password": PASSWORD, "role": "agent", "leader_id": other_leader});
    app.post("/api/agents", &lena, body).await.expect(403);
    let amy_token = app.login("demo", "amy", PASSWORD).await;
    let body = json!({"username": "cat", "password": PASSWORD, "role": "agent"});
    app.post("/api/agents", &amy_token, body).await.expect(403);
}

#[tokio::test]
async fn a_taken_username_or_a_weak_password_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.create_user(&admin, "dup", "agent", None).await;
    let body = json!({"username": "DUP", "password": PASSWORD, "role": "agent"});
    assert_eq!(app.post("/api/agents", &admin, body).await.expect(409)["error"]["code"], "conflict");
    let body = json!({"username": "weak", "password": "short", "role": "agent"});
    app.post("/api/agents", &admin, body).await.expect(400);
}

#[tokio::test]
async fn agent_lists_are_scoped_to_what_each_role_manages() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let l1 = app.create_user(&admin, "l1", "leader", None).await;
    let l2 = app.create_user(&admin, "l2", "leader", None).await;
    let a1 = app.create_user(&admin, "a1", "agent", Some(&l1)).await;
    let a2 = app.create_user(&admin, "a2", "agent", Some(&l2)).await;
    let all = app.get("/api/agents?limit=500", &admin).await.expect(200);
    let ids = field_list(&all, "id");
    assert!(ids.contains(&a1) && ids.contains(&a2) && ids.contains(&l1));
    let t1 = app.login("demo", "l1", PASSWORD).await;
    let mut team = field_list(&app.get("/api/agents", &t1).await.expect(200), "id");
    team.sort();
    let mut expected = vec![l1.clone(), a1.clone()];
    expected.sort();
    assert_eq!(team, expected);
    let ta1 = app.login("demo", "a1", PASSWORD).await;
    assert_eq!(field_list(&app.get("/api/agents", &ta1).await.expect(200), "id"), vec![a1.clone()]);
    app.get(&format!("/api/agents/{a2}"), &t1).await.expect(404);
}

#[tokio::test]
async fn agent_pages_follow_the_cursor_without_gaps() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for i in 0..7 {
        app.create_user(&admin, &format!("pager{i}"), "agent", None).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/agents?limit=3&cursor={c}"),
            None => "/api/agents?limit=3".to_owned(),
        };
        let page = app.get(&path, &admin).await.expect(200);
        seen.extend(field_list(&page, "username"));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8, "7 agents and the admin: {seen:?}");
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 8);
}

#[tokio::test]
async fn a_reset_password_replaces_the_old_one() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = app.create_user(&admin, "rita", "agent", None).await;
    let old = app.login("demo", "rita", PASSWORD).await;
    app.post(&format!("/api/agents/{id}/password"), &admin, json!({"password": "reset-password-9"})).await.expect(200);
    app.get("/api/me", &old).await.expect(401);
    app.login("demo", "rita", "reset-password-9").await;
    app.post(&format!("/api/agents/{id}/password"), &old, json!({"password": "my-own-choice"})).await.expect(401);
}

#[tokio::test]
async fn an_agent_who_owns_accounts_cannot_be_deleted_until_they_are_reclaimed() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = app.create_user(&admin, "owner1", "agent", None).await;
    let account = app.create_account(&admin, "+15550000001", Some(&id)).await;
    app.delete(&format!("/api/agents/{id}"), &admin).await.expect(409);
    app.delete(&format!("/api/accounts/{account}/owner"), &admin).await.expect(200);
    app.delete(&format!("/api/agents/{id}"), &admin).await.expect(200);
    app.get(&format!("/api/agents/{id}"), &admin).await.expect(404);
}

#[tokio::test]
async fn moving_an_agent_to_another_team_moves_their_accounts_with_them() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let l1 = app.create_user(&admin, "lead1", "leader", None).await;
    let l2 = app.create_user(&admin, "lead2", "leader", None).await;
    let agent = app.create_user(&admin, "mover", "agent", Some(&l1)).await;
    let account = app.create_account(&admin, "+15550000002", Some(&agent)).await;
    let t1 = app.login("demo", "lead1", PASSWORD).await;
    let t2 = app.login("demo", "lead2", PASSWORD).await;
    app.get(&format!("/api/accounts/{account}"), &t1).await.expect(200);
    app.get(&format!("/api/accounts/{account}"), &t2).await.expect(404);
    app.patch(&format!("/api/agents/{agent}"), &admin, json!({"leader_id": l2})).await.expect(200);
    app.get(&format!("/api/accounts/{account}"), &t1).await.expect(404);
    let moved = app.get(&format!("/api/accounts/{account}"), &t2).await.expect(200);
    assert_eq!(moved["team_id"], l2.as_str());
}

#[tokio::test]
async fn nobody_disables_or_demotes_themselves() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let me = app.get("/api/me", &admin).await.expect(200);
    let id = me["id"].as_str().unwrap();
    app.patch(&format!("/api/agents/{id}"), &admin, json!({"disabled": true})).await.expect(403);
    app.patch(&format!("/api/agents/{id}"), &admin, json!({"role": "agent"})).await.expect(403);
}
