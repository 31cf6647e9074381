//! The inbox: visibility, order, pins, paging; dialog messages; message tags.

use crate::helpers::*;
use chrono::{Duration, TimeZone, Utc};
use serde_json::json;

struct Desk {
    app: TestApp,
    admin: String,
    leader: String,
    agent: String,
    acc_agent: String,
    acc_other: String,
}

/// An agent (in a leader's team) owns one account with 3 dialogs; another
/// agent (no team) owns one with 2 dialogs.
async fn desk() -> Desk {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let leader_id = app.create_user(&admin, "inlead", "leader", None).await;
    let agent_id = app.create_user(&admin, "inagent", "agent", Some(&leader_id)).await;
    let other_id = app.create_user(&admin, "inother", "agent", None).await;
    let acc_agent = app.create_account(&admin, "+15557770001", Some(&agent_id)).await;
    let acc_other = app.create_account(&admin, "+15557770002", Some(&other_id)).await;
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    seed_dialog(&app, "demo", &acc_agent, 101, 2, t0).await;
    seed_dialog(&app, "demo", &acc_agent, 102, 2, t0 + Duration::hours(2)).await;
    seed_dialog(&app, "demo", &acc_agent, 103, 2, t0 + Duration::hours(1)).await;
    seed_dialog(&app, "demo", &acc_other, 201, 2, t0 + Duration::hours(3)).await;
    seed_dialog(&app, "demo", &acc_other, -1002, 2, t0 + Duration::minutes(30)).await;
    let leader = app.login("demo", "inlead", PASSWORD).await;
    let agent = app.login("demo", "inagent", PASSWORD).await;
    Desk { app, admin, leader, agent, acc_agent, acc_other }
}

fn peers(body: &serde_json::Value) -> Vec<i64> {
    body["items"].as_array().unwrap().iter().map(|d| d["peer"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn each_role_sees_exactly_its_dialogs_newest_first() {
    let d = desk().await;
    assert_eq!(peers(&d.app.get("/api/inbox", &d.agent).await.expect(200)), vec![102, 103, 101]);
    assert_eq!(peers(&d.app.get("/api/inbox", &d.leader).await.expect(200)), vec![102, 103, 101]);
    assert_eq!(peers(&d.app.get("/api/inbox", &d.admin).await.expect(200)), vec![201, 102, 103, -1002, 101]);
    let first = &d.app.get("/api/inbox", &d.agent).await.expect(200)["items"][0];
    assert_eq!(first["unread_count"], 2);
    assert_eq!(first["preview"], "message 2 from 102");
    assert_eq!(first["account_label"], "+15557770001");
}

#[tokio::test]
async fn pinned_dialogs_come_first_and_paging_visits_every_dialog_once() {
    let d = desk().await;
    d.app.put(&format!("/api/accounts/{}/dialogs/101/pin", d.acc_agent), &d.admin, json!({})).await.expect(200);
    d.app.put(&format!("/api/accounts/{}/dialogs/-1002/pin", d.acc_other), &d.admin, json!({})).await.expect(200);
    let mut seen = Vec::new();
    let mut pinned = Vec::new();
    let mut path = "/api/inbox?limit=1".to_owned();
    for _ in 0..20 {
        let page = d.app.get(&path, &d.admin).await.expect(200);
        for item in page["items"].as_array().unwrap() {
            seen.push(item["peer"].as_i64().unwrap());
            pinned.push(item["pinned"].as_bool().unwrap());
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/inbox?limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, vec![-1002, 101, 201, 102, 103]);
    assert_eq!(pinned, vec![true, true, false, false, false]);
    // Pins are personal: the agent's inbox is unchanged.
    assert_eq!(peers(&d.app.get("/api/inbox", &d.agent).await.expect(200)), vec![102, 103, 101]);
    d.app.delete(&format!("/api/accounts/{}/dialogs/101/pin", d.acc_agent), &d.admin).await.expect(200);
    assert_eq!(peers(&d.app.get("/api/inbox", &d.admin).await.expect(200)), vec![-1002, 201, 102, 103, 101]);
    d.app.put(&format!("/api/accounts/{}/dialogs/999/pin", d.acc_agent), &d.admin, json!({})).await.expect(404);
}

#[tokio::test]
async fn a_dialogs_messages_page_from_newest_to_oldest() {
    let d = desk().await;
    let t0 = Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap();
    seed_dialog(&d.app, "demo", &d.acc_agent, 555, 7, t0).await;
    let mut ids = Vec::new();
    let mut path = format!("/api/accounts/{}/dialogs/555/messages?limit=3", d.acc_agent);
    loop {
        let page = d.app.get(&path, &d.agent).await.expect(200);
        ids.extend(page["items"].as_array().unwrap().iter().map(|m| m["id"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/accounts/{}/dialogs/555/messages?limit=3&cursor={c}", d.acc_agent),
            None => break,
        }
    }
    assert_eq!(ids, vec![7, 6, 5, 4, 3, 2, 1]);
    let dialogs = d.app.get(&format!("/api/accounts/{}/dialogs", d.acc_agent), &d.agent).await.expect(200);
    assert_eq!(peers(&dialogs), vec![555, 102, 103, 101]);
    d.app.get(&format!("/api/accounts/{}/dialogs", d.acc_other), &d.agent).await.expect(404);
    d.app.get(&format!("/api/accounts/{}/dialogs/201/messages", d.acc_other), &d.agent).await.expect(404);
}

#[tokio::test]
async fn a_message_can_be_tagged_with_existing_tags_only() {
    let d = desk().await;
    let tag = d.app.post("/api/tags", &d.admin, json!({"name": "complaint"})).await.expect(201);
    let tag_id = tag["id"].as_str().unwrap();
    let path = format!("/api/messages/{}/101/2/tags", d.acc_agent);
    let tagged = d.app.put(&path, &d.agent, json!({"tags": [tag_id]})).await.expect(200);
    assert_eq!(tagged["tags"], json!([tag_id]));
    let page = d.app.get(&format!("/api/accounts/{}/dialogs/101/messages", d.acc_agent), &d.agent).await.expect(200);
    assert_eq!(page["items"][0]["tags"], json!([tag_id]));
    d.app.put(&path, &d.agent, json!({"tags": ["tag_nope"]})).await.expect(400);
    d.app.put(&format!("/api/messages/{}/101/99/tags", d.acc_agent), &d.agent, json!({"tags": []})).await.expect(404);
}

#[tokio::test]
async fn filters_narrow_the_inbox_by_unread_account_group_and_tag_and_page() {
    let d = desk().await;
    let app = &d.app;
    let agent_id = app.get("/api/me", &d.agent).await.expect(200)["id"].as_str().unwrap().to_owned();
    let acc_two = app.create_account(&d.admin, "+15557770003", Some(&agent_id)).await;
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    seed_dialog(app, "demo", &acc_two, 301, 1, t0 + Duration::hours(4)).await;
    // Dialog 103 read up to its last message.
    let tenant = tgdesk_core::domain::TenantId::parse("demo").unwrap();
    let acc = tgdesk_core::domain::AccountId::parse(&d.acc_agent).unwrap();
    app.desk.ports().writer.mark_read(&tenant, &acc, 103, 2).await.unwrap();
    let group = app.post("/api/groups", &d.agent, json!({"name": "Second line"})).await.expect(201);
    let group = group["id"].as_str().unwrap().to_owned();
    app.put(&format!("/api/groups/{group}/accounts"), &d.agent, json!({"account_ids": [acc_two]})).await.expect(200);
    let tag = app.post("/api/tags", &d.admin, json!({"name": "Refunds"})).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.patch(&format!("/api/accounts/{}", d.acc_agent), &d.admin, json!({"tags": [tag]})).await.expect(200);

    let inbox = |query: String, token: String| async move {
        peers(&app.get(&format!("/api/inbox?{query}"), &token).await.expect(200))
    };
    assert_eq!(inbox(String::new(), d.agent.clone()).await, vec![301, 102, 103, 101]);
    assert_eq!(inbox("unread=true".into(), d.agent.clone()).await, vec![301, 102, 101]);
    assert_eq!(inbox(format!("account={acc_two}"), d.agent.clone()).await, vec![301]);
    assert_eq!(inbox(format!("group={group}"), d.agent.clone()).await, vec![301]);
    assert_eq!(inbox(format!("tag={tag}"), d.agent.clone()).await, vec![102, 103, 101]);
    assert_eq!(inbox(format!("tag={tag}&unread=true"), d.agent.clone()).await, vec![102, 101]);
    assert_eq!(inbox(format!("tag={tag}&account={acc_two}"), d.agent.clone()).await, Vec::<i64>::new());
    assert_eq!(inbox(format!("account={}&unread=true", d.acc_other), d.admin.clone()).await, vec![201, -1002]);
    // Another agent's account is not the agent's to filter by.
    app.get(&format!("/api/inbox?account={}", d.acc_other), &d.agent).await.expect(404);
    app.get("/api/inbox?unread=maybe", &d.agent).await.expect(400);

    // Pages of a filter visit each dialog once, pinned ones first.
    app.put(&format!("/api/accounts/{}/dialogs/101/pin", d.acc_agent), &d.agent, json!({})).await.expect(200);
    let (mut seen, mut path) = (Vec::new(), "/api/inbox?unread=true&limit=1".to_owned());
    for _ in 0..10 {
        let page = app.get(&path, &d.agent).await.expect(200);
        seen.extend(peers(&page));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/inbox?unread=true&limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, vec![101, 301, 102]);
}
