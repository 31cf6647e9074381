//! Accounts: add, list with filters, assign, reclaim, bulk assign, groups, tags.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn an_added_account_is_listed_and_a_second_with_the_same_phone_conflicts() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = json!({"phone": "+1 555 000 1234", "name": "Support 1"});
    let created = app.post("/api/accounts", &admin, body).await.expect(201);
    assert_eq!(created["phone"], "+15550001234");
    assert_eq!(created["status"], "offline");
    app.post("/api/accounts", &admin, json!({"phone": "+15550001234"})).await.expect(409);
    app.post("/api/accounts", &admin, json!({"phone": "call me"})).await.expect(400);
    let list = app.get("/api/accounts", &admin).await.expect(200);
    assert_eq!(field_list(&list, "id"), vec![created["id"].as_str().unwrap().to_owned()]);
    assert!(list["next_cursor"].is_null());
}

#[tokio::test]
async fn account_filters_narrow_the_list() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let agent = app.create_user(&admin, "filt", "agent", None).await;
    let tag = app.post("/api/tags", &admin, json!({"name": "VIP", "color": "#ff0000"})).await.expect(201);
    let tag_id = tag["id"].as_str().unwrap();
    let a = app.create_account(&admin, "+15550000011", Some(&agent)).await;
    let b = app.create_account(&admin, "+15550000012", None).await;
    app.patch(&format!("/api/accounts/{b}"), &admin, json!({"display_name": "Night Shift", "tags": [tag_id]}))
        .await
        .expect(200);
    let ids = |body: serde_json::Value| field_list(&body, "id");
    assert_eq!(ids(app.get(&format!("/api/accounts?owner={agent}"), &admin).await.expect(200)), vec![a.clone()]);
    assert_eq!(ids(app.get("/api/accounts?owner=none", &admin).await.expect(200)), vec![b.clone()]);
    assert_eq!(ids(app.get(&format!("/api/accounts?tag={tag_id}"), &admin).await.expect(200)), vec![b.clone()]);
    assert_eq!(ids(app.get("/api/accounts?q=night", &admin).await.expect(200)), vec![b.clone()]);
    assert_eq!(ids(app.get("/api/accounts?q=0011", &admin).await.expect(200)), vec![a.clone()]);
    assert_eq!(ids(app.get("/api/accounts?q=555%20000-0011", &admin).await.expect(200)), vec![a.clone()]);
    assert_eq!(ids(app.get("/api/accounts?status=offline&limit=500", &admin).await.expect(200)).len(), 2);
    assert!(ids(app.get("/api/accounts?status=online", &admin).await.expect(200)).is_empty());
    app.get("/api/accounts?status=sleepy", &admin).await.expect(400);
    let tagged = app.get(&format!("/api/accounts/{b}"), &admin).await.expect(200);
    assert_eq!(tagged["tags"][0]["name"], "VIP");
    app.patch(&format!("/api/accounts/{b}"), &admin, json!({"tags": ["tag_unknown"]})).await.expect(400);
}

#[tokio::test]
async fn reassigning_takes_the_account_out_of_the_old_owners_groups_only() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let a1 = app.create_user(&admin, "first", "agent", None).await;
    let a2 = app.create_user(&admin, "second", "agent", None).await;
    let account = app.create_account(&admin, "+15550000021", Some(&a1)).await;
    let t1 = app.login("demo", "first", PASSWORD).await;
    let g1 = app.post("/api/groups", &t1, json!({"name": "Mine"})).await.expect(201)["id"].as_str().unwrap().to_owned();
    let g_admin =
        app.post("/api/groups", &admin, json!({"name": "Watch"})).await.expect(201)["id"].as_str().unwrap().to_owned();
    app.put(&format!("/api/groups/{g1}/accounts"), &t1, json!({"account_ids": [account]})).await.expect(200);
    app.put(&format!("/api/groups/{g_admin}/accounts"), &admin, json!({"account_ids": [account]})).await.expect(200);
    let in_group = app.get(&format!("/api/accounts?group={g1}"), &t1).await.expect(200);
    assert_eq!(field_list(&in_group, "id"), vec![account.clone()]);
    let moved = app.put(&format!("/api/accounts/{account}/owner"), &admin, json!({"agent_id": a2})).await.expect(200);
    assert_eq!(moved["owner_id"], a2.as_str());
    assert_eq!(moved["groups"], json!([g_admin]));
    app.get(&format!("/api/accounts/{account}"), &t1).await.expect(404);
    let groups = app.get("/api/groups", &t1).await.expect(200);
    assert_eq!(field_list(&groups, "id"), vec![g1], "the group itself stays");
    let audit = app.get(&format!("/api/audit?account={account}&action=account.assign"), &admin).await.expect(200);
    assert_eq!(audit["items"].as_array().unwrap().len(), 2, "creation with an owner and the reassignment");
}

#[tokio::test]
async fn a_reclaimed_account_is_seen_by_admins_and_the_old_owners_leader_only() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let leader = app.create_user(&admin, "boss1", "leader", None).await;
    let agent = app.create_user(&admin, "worker", "agent", Some(&leader)).await;
    let account = app.create_account(&admin, "+15550000031", Some(&agent)).await;
    let lt = app.login("demo", "boss1", PASSWORD).await;
    let at = app.login("demo", "worker", PASSWORD).await;
    let reclaimed = app.delete(&format!("/api/accounts/{account}/owner"), &lt).await.expect(200);
    assert!(reclaimed["owner_id"].is_null());
    app.get(&format!("/api/accounts/{account}"), &at).await.expect(404);
    app.get(&format!("/api/accounts/{account}"), &lt).await.expect(200);
    app.get(&format!("/api/accounts/{account}"), &admin).await.expect(200);
    let audit = app.get(&format!("/api/audit?account={account}&action=account.reclaim"), &admin).await.expect(200);
    assert_eq!(audit["items"][0]["details"]["from"], agent.as_str());
}

#[tokio::test]
async fn bulk_assignment_is_all_or_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let agent = app.create_user(&admin, "bulk", "agent", None).await;
    let a = app.create_account(&admin, "+15550000041", None).await;
    let b = app.create_account(&admin, "+15550000042", None).await;
    let body = json!({"account_ids": [a, b, "acc_missing"], "agent_id": agent});
    let failed = app.post("/api/accounts/assign", &admin, body).await.expect(409);
    assert_eq!(failed["failed"][0]["account_id"], "acc_missing");
    assert!(failed["assigned"].as_array().unwrap().is_empty());
    assert!(app.get(&format!("/api/accounts/{a}"), &admin).await.expect(200)["owner_id"].is_null());
    let body = json!({"account_ids": [a, b], "agent_id": agent});
    let ok = app.post("/api/accounts/assign", &admin, body).await.expect(200);
    assert_eq!(ok["assigned"].as_array().unwrap().len(), 2);
    let owned = app.get(&format!("/api/accounts?owner={agent}"), &admin).await.expect(200);
    assert_eq!(field_list(&owned, "id").len(), 2);
}

#[tokio::test]
async fn leaders_cannot_assign_to_other_teams_or_tenants() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let l1 = app.create_user(&admin, "lone", "leader", None).await;
    let l2 = app.create_user(&admin, "ltwo", "leader", None).await;
    let mine = app.create_user(&admin, "mine", "agent", Some(&l1)).await;
    let theirs = app.create_user(&admin, "theirs", "agent", Some(&l2)).await;
    let account = app.create_account(&admin, "+15550000051", Some(&mine)).await;
    let lt = app.login("demo", "lone", PASSWORD).await;
    app.put(&format!("/api/accounts/{account}/owner"), &lt, json!({"agent_id": theirs})).await.expect(403);
    let other = app.create_tenant("othercorp").await;
    let stranger = app.create_user(&other, "stranger", "agent", None).await;
    app.put(&format!("/api/accounts/{account}/owner"), &admin, json!({"agent_id": stranger})).await.expect(404);
    app.put(&format!("/api/accounts/{account}/owner"), &lt, json!({"agent_id": l1})).await.expect(200);
}

#[tokio::test]
async fn account_pages_follow_the_cursor_without_gaps_or_duplicates() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut created = Vec::new();
    for i in 0..12 {
        created.push(app.create_account(&admin, &format!("+1555000{:04}", 100 + i), None).await);
    }
    let mut seen = Vec::new();
    let mut path = "/api/accounts?limit=5".to_owned();
    loop {
        let page = app.get(&path, &admin).await.expect(200);
        seen.extend(field_list(&page, "id"));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/accounts?limit=5&cursor={c}"),
            None => break,
        }
    }
    created.sort();
    seen.sort();
    assert_eq!(seen, created);
    app.get("/api/accounts?cursor=not-a-cursor", &admin).await.expect(400);
}

#[tokio::test]
async fn a_deleted_account_is_gone_with_its_dialogs() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let account = app.create_account(&admin, "+15550000061", None).await;
    seed_dialog(&app, "demo", &account, 777, 3, chrono::Utc::now()).await;
    assert_eq!(field_list(&app.get("/api/inbox", &admin).await.expect(200), "peer"), vec!["777"]);
    app.delete(&format!("/api/accounts/{account}"), &admin).await.expect(200);
    app.get(&format!("/api/accounts/{account}"), &admin).await.expect(404);
    assert!(field_list(&app.get("/api/inbox", &admin).await.expect(200), "peer").is_empty());
}

#[tokio::test]
async fn data_survives_a_restart_of_the_server() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let account = app.create_account(&admin, "+15550000071", None).await;
    let dir = app.stop().await;
    let app = spawn_in(dir).await;
    let admin = app.admin().await;
    app.get(&format!("/api/accounts/{account}"), &admin).await.expect(200);
}
