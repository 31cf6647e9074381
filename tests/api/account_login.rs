//! Logging accounts in and out of Telegram over the API, against the
//! simulator: code and 2FA steps with wrong and right answers, the fleet
//! taking the logged-in session over, status pushes, audit, and logout.

use crate::sim_desk::{events, SimAccount, SimDesk};
use serde_json::json;
use tgdesk_core::usecases::{FleetCommand, LoginInput, COMMANDS_QUEUE};

const PHONE: &str = "+15550500001";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_logs_an_account_in_with_code_and_password_and_out_again() {
    let accounts =
        [SimAccount { phone: PHONE, extra: json!({"authorized": false, "password": "hunter2"}), history: 0 }];
    let (desk, ids) = SimDesk::start(&accounts).await;
    let (app, alice, bruno) = (&desk.app, &desk.alice, &desk.bruno);
    let account = &ids[0];
    // The imported key is not logged in: the fleet finds that out and says so.
    desk.wait_status(account, "logged_out").await;
    let base = format!("/api/accounts/{account}");
    let early = app.post(&format!("{base}/login/code"), alice, json!({"code": "12345"})).await.expect(409);
    assert!(early["error"]["message"].as_str().unwrap().contains("no login"), "{early}");
    app.post(&format!("{base}/login/start"), bruno, json!({})).await.expect(404);
    app.post(&format!("{base}/login/code"), alice, json!({"code": ""})).await.expect(400);

    let mut ws = desk.ws(alice).await;
    let started = app.post(&format!("{base}/login/start"), alice, json!({})).await.expect(200);
    assert_eq!(started["status"], "code_sent");
    let code = desk.control(&format!("/control/login-code?phone={}", PHONE.replace('+', "%2B")), None).await;
    let code = code["code"].as_str().unwrap().to_owned();
    let wrong = if code == "00000" { "11111" } else { "00000" };
    let refused = app.post(&format!("{base}/login/code"), alice, json!({"code": wrong})).await.expect(400);
    assert_eq!(refused["error"]["code"], "phone_code_invalid");
    let step = app.post(&format!("{base}/login/code"), alice, json!({"code": code})).await.expect(200);
    assert_eq!(step["status"], "password_required");
    let refused = app.post(&format!("{base}/login/password"), alice, json!({"password": "wrong"})).await.expect(400);
    assert_eq!(refused["error"]["code"], "password_invalid");
    let done = app.post(&format!("{base}/login/password"), alice, json!({"password": "hunter2"})).await.expect(200);
    assert_eq!(done["status"], "online");
    let statuses: Vec<String> = events(&mut ws, "account.status", 3)
        .await
        .iter()
        .map(|e| e["status"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(statuses, ["code_sent", "password_required", "online"]);

    // The fleet runs the logged-in session: a customer's message arrives.
    let sent = desk
        .control(
            "/control/messages",
            Some(
                json!({"account_phone": PHONE, "from": {"user_id": 7001, "name": "Eve"}, "text": "hello after login"}),
            ),
        )
        .await;
    let peer = sent["peer"].as_i64().unwrap();
    desk.wait_for(&format!("{base}/dialogs/{peer}/messages"), "the message is stored", |b| {
        b["items"][0]["text"] == "hello after login"
    })
    .await;
    let me = desk.wait_for(&format!("{base}/profile"), "the profile is synced", |b| b["is_self"] == true).await;
    assert_eq!(me["phone"].as_str().map(|p| p.trim_start_matches('+')), Some(PHONE.trim_start_matches('+')));

    let audit = app.get(&format!("/api/audit?account={account}&action=account.login"), &desk.admin).await.expect(200);
    let outcomes: Vec<String> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["details"]["outcome"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        outcomes,
        ["online", "password_invalid", "password_required", "phone_code_invalid", "code_sent", "conflict"],
        "newest first: {audit}"
    );
    let text = audit.to_string();
    assert!(!text.contains("hunter2") && !text.contains(&format!("\"{code}\"")), "no secrets in the audit: {text}");

    let out = app.post(&format!("{base}/logout"), alice, json!({})).await.expect(200);
    assert_eq!(out["status"], "logged_out");
    let after = app.get(&base, alice).await.expect(200);
    assert_eq!((after["status"].as_str(), after["has_session"].as_bool()), (Some("logged_out"), Some(false)));
    let refused = app.post(&format!("{base}/dialogs/{peer}/messages"), alice, json!({"text": "still there?"})).await;
    assert_eq!(refused.status.as_u16(), 409, "{}", refused.body);
    let logouts = app.get(&format!("/api/audit?account={account}&action=account.logout"), &desk.admin).await;
    assert_eq!(logouts.expect(200)["items"][0]["details"]["outcome"], "logged_out");
    desk.stop().await;
}

#[tokio::test]
async fn a_login_step_nobody_answers_times_out_with_504_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::helpers::config_for(dir.path());
    config.fleet = false;
    config.fleet_timeout = std::time::Duration::from_millis(300);
    let app = crate::helpers::spawn_with(dir, config).await;
    let admin = app.admin().await;
    let account = app.create_account(&admin, "+15550500099", None).await;
    let late = app.post(&format!("/api/accounts/{account}/login/start"), &admin, json!({})).await.expect(504);
    assert_eq!(late["error"]["code"], "fleet_timeout");
    let audit = app.get(&format!("/api/audit?account={account}&action=account.login"), &admin).await.expect(200);
    assert_eq!(audit["items"][0]["details"]["outcome"], "fleet_timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooded_code_request_answers_429_with_the_wait() {
    let accounts = [SimAccount { phone: "+15550500002", extra: json!({"authorized": false}), history: 0 }];
    let (desk, ids) = SimDesk::start(&accounts).await;
    desk.wait_status(&ids[0], "logged_out").await;
    let flood = json!({"account_phone": "+15550500002", "method": "auth.sendCode", "seconds": 3600});
    desk.control("/control/flood", Some(flood)).await;
    let reply = desk.app.post(&format!("/api/accounts/{}/login/start", ids[0]), &desk.alice, json!({})).await;
    assert_eq!(reply.status.as_u16(), 429, "{}", reply.body);
    assert_eq!(reply.body["error"]["code"], "flood_wait");
    assert!(reply.body["error"]["retry_after_s"].as_u64().unwrap() > 3000, "{}", reply.body);
    desk.stop().await;
}

#[tokio::test]
async fn a_2fa_password_crosses_the_commands_queue_sealed_not_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::helpers::config_for(dir.path());
    config.fleet = false;
    config.fleet_timeout = std::time::Duration::from_millis(200);
    let app = crate::helpers::spawn_with(dir, config).await;
    let admin = app.admin().await;
    let account = app.create_account(&admin, "+15550500098", None).await;
    let secret = "correct horse battery staple";
    let path = format!("/api/accounts/{account}/login/password");
    app.post(&path, &admin, json!({"password": secret})).await.expect(504);
    let queued = app
        .desk
        .ports()
        .queue
        .receive(COMMANDS_QUEUE, 10, std::time::Duration::from_millis(200), std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(queued.len(), 1);
    let body = String::from_utf8(queued[0].body.clone()).unwrap();
    assert!(!body.contains(secret), "the password is not in the queue in clear: {body}");
    let command: FleetCommand = serde_json::from_slice(&queued[0].body).unwrap();
    assert!(matches!(command, FleetCommand::Login { input: LoginInput::SealedPassword { .. }, .. }), "{command:?}");
}
