//! A manual load check: many grammers sessions on one simulator.
//! Run with `cargo test -p tg-sim --test sim -- --ignored load` (TG_SIM_LOAD_SESSIONS, default 500).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{session_data, Sim, Tg};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load check (about 10 s for 1,000 sessions in debug); run manually with --ignored"]
async fn many_sessions_connect_and_stay_served() {
    let n: usize = std::env::var("TG_SIM_LOAD_SESSIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    let sim = Sim::start().await;
    let mut sessions = Vec::new();
    for i in 0..n {
        sessions.push(sim.account(&format!("+1666{:07}", i), None, true).await);
    }
    let started = Instant::now();
    let mut clients = Vec::new();
    let mut tasks = Vec::new();
    for s in &sessions {
        let tg = Tg::from_data(session_data(s));
        let c = tg.client.clone();
        tasks.push(tokio::spawn(async move { c.get_me().await.is_ok() }));
        clients.push(tg);
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap_or(false) {
            ok += 1;
        }
    }
    let online = started.elapsed();
    sim.post("/control/traffic", json!({ "rate": 2000, "duration_s": 2.0 })).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, stats) = sim.get("/control/stats").await;
    eprintln!("{ok}/{n} sessions online in {online:?}; stats online_sessions={}", stats["online_sessions"]);

    assert_eq!(ok, n);
    assert_eq!(stats["online_sessions"].as_u64(), Some(n as u64));
    for tg in clients {
        tg.stop().await;
    }
    sim.stop().await;
}
