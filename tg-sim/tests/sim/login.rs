//! The code + 2FA login flow over an unauthorized key, logout, and FLOOD_WAIT.

use grammers_client::sender::InvocationError;
use grammers_client::SignInError;
use serde_json::json;

use crate::common::{session_data, Sim, Tg};

async fn code(sim: &Sim, phone: &str) -> String {
    let (status, v) = sim.get(&format!("/control/login-code?phone={}", phone.replace('+', "%2B"))).await;
    assert_eq!(status, 200, "{v}");
    v["code"].as_str().expect("code").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_login_rejects_a_wrong_code_and_accepts_the_right_one() {
    let sim = Sim::start().await;
    let session = sim.account("+15550002001", None, false).await;
    let tg = Tg::from_data(session_data(&session));
    let before = tg.client.get_me().await;
    assert!(
        matches!(before, Err(InvocationError::Rpc(ref e)) if e.code == 401 && e.name == "AUTH_KEY_UNREGISTERED"),
        "{before:?}"
    );

    let token = tg.client.request_login_code("+15550002001", "hash").await.expect("send code");
    let right = code(&sim, "+15550002001").await;
    let wrong = if right == "00000" { "11111" } else { "00000" };
    let bad = tg.client.sign_in(&token, wrong).await;
    let user = tg.client.sign_in(&token, &right).await.expect("sign in");

    assert!(matches!(bad, Err(SignInError::InvalidCode)), "{bad:?}");
    assert_eq!(user.phone(), Some("15550002001"));
    assert_eq!(tg.client.get_me().await.expect("get_me").id(), user.id());
    tg.stop().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_factor_password_is_verified_with_srp() {
    let sim = Sim::start().await;
    let session = sim.account("+15550002002", Some("correct horse"), false).await;
    let tg = Tg::from_data(session_data(&session));

    let token = tg.client.request_login_code("+15550002002", "hash").await.expect("send code");
    let right = code(&sim, "+15550002002").await;
    let password_token = match tg.client.sign_in(&token, &right).await {
        Err(SignInError::PasswordRequired(t)) => t,
        other => panic!("expected SESSION_PASSWORD_NEEDED, got {other:?}"),
    };
    let retry = match tg.client.check_password(password_token, "wrong horse").await {
        Err(SignInError::InvalidPassword(t)) => t,
        other => panic!("expected PASSWORD_HASH_INVALID, got {other:?}"),
    };
    let user = tg.client.check_password(retry, "correct horse").await.expect("right password");

    assert_eq!(user.phone(), Some("15550002002"));
    tg.stop().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_makes_the_key_stop_working_on_every_connection() {
    let sim = Sim::start().await;
    let session = sim.account("+15550002003", None, true).await;
    let tg = Tg::from_data(session_data(&session));
    tg.client.get_me().await.expect("get_me before logout");

    tg.client.sign_out().await.expect("log out");
    let after = tg.client.get_me().await;
    tg.stop().await;
    let again = Tg::from_data(session_data(&session));
    let fresh = again.client.get_me().await;

    for r in [after, fresh] {
        assert!(
            matches!(r, Err(InvocationError::Rpc(ref e)) if e.code == 401 && e.name == "AUTH_KEY_UNREGISTERED"),
            "{r:?}"
        );
    }
    again.stop().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_wait_hits_the_next_call_of_that_method_only() {
    let sim = Sim::start().await;
    let session = sim.account("+15550002004", None, true).await;
    let tg = Tg::from_data(session_data(&session));
    tg.client.get_me().await.expect("get_me");
    sim.post("/control/flood", json!({ "account_phone": "+15550002004", "method": "users.getUsers", "seconds": 7 }))
        .await;

    let flooded = tg.client.get_me().await;
    let next = tg.client.get_me().await;

    assert!(
        matches!(flooded, Err(InvocationError::Rpc(ref e)) if e.code == 420 && e.name == "FLOOD_WAIT" && e.value == Some(7)),
        "{flooded:?}"
    );
    assert!(next.is_ok());
    tg.stop().await;
    sim.stop().await;
}
