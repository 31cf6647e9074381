//! An agent owning many accounts with many dialogs reads their inbox: the
//! first page repeatedly, then every page to the end (deep pages).

use crate::{import, stats};
use chrono::{TimeZone, Utc};
use indicatif::ProgressBar;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tgdesk_core::domain::{AccountId, Message, Role, TenantId, UserId, Username};
use tgdesk_core::ports::{Directory, MessageWriter};
use tgdesk_core::usecases::{Actor, ImportFormat};

/// Runs the inbox scenario.
pub async fn run(accounts: usize, dialogs: usize) -> anyhow::Result<Value> {
    let dir = tempfile::tempdir()?;
    let (desk, store, admin) = import::fresh_desk(dir.path()).await?;
    let owners = import::agents(&desk, &admin, 2).await?;
    // agent0 owns `accounts` accounts; agent1 owns as many more (noise in the same store).
    desk.import_accounts(&admin, ImportFormat::Csv, import::csv(accounts * 2, &owners).as_bytes(), &|_| {}).await?;
    let tenant = TenantId::parse("bench")?;
    let agent =
        store.find_user(&tenant, &Username::parse("agent0")?).await?.ok_or_else(|| anyhow::anyhow!("no agent"))?;
    let actor = Actor { tenant: tenant.clone(), user_id: UserId::parse(agent.id.as_str())?, role: Role::Agent };
    let all = list_all(&desk, &admin).await?;
    let bar = ProgressBar::new((dialogs * 2) as u64).with_message("seeding dialogs");
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut batch = Vec::with_capacity(2_000);
    for i in 0..dialogs * 2 {
        let account = &all[i % all.len()];
        batch.push(message(account, 1_000 + i as i64, start + chrono::Duration::seconds(i as i64)));
        if batch.len() == 2_000 {
            store.ingest_messages(&tenant, &batch).await?;
            bar.inc(batch.len() as u64);
            batch.clear();
        }
    }
    store.ingest_messages(&tenant, &batch).await?;
    bar.finish();
    let mut first = Vec::new();
    for _ in 0..300 {
        let t = Instant::now();
        let page = desk.inbox(&actor, None, Some(50)).await?;
        first.push(t.elapsed());
        anyhow::ensure!(page.items.len() == 50, "first page has {} items", page.items.len());
    }
    let (deep, seen) = walk(&desk, &actor).await?;
    anyhow::ensure!(seen == dialogs, "walked {seen} dialogs of {dialogs}");
    Ok(json!({
        "accounts_owned": accounts,
        "dialogs_visible": dialogs,
        "dialogs_in_store": dialogs * 2,
        "page_size": 50,
        "first_page": stats::latency(&mut first),
        "all_pages": stats::latency(&mut deep.clone()),
        "deep_pages_last_quarter": stats::latency(&mut deep[deep.len() * 3 / 4..].to_vec()),
        "peak_rss_mib": stats::peak_rss_mib(),
    }))
}

async fn list_all(desk: &tgdesk_core::usecases::Desk, admin: &Actor) -> anyhow::Result<Vec<AccountId>> {
    let mut ids = Vec::new();
    let mut filter = tgdesk_core::usecases::AccountFilter { limit: Some(500), ..Default::default() };
    loop {
        let page = desk.list_accounts(admin, &filter).await?;
        ids.extend(page.items.into_iter().map(|a| a.id));
        match page.next_cursor {
            Some(c) => filter.cursor = Some(c),
            None => return Ok(ids),
        }
    }
}

async fn walk(desk: &tgdesk_core::usecases::Desk, actor: &Actor) -> anyhow::Result<(Vec<Duration>, usize)> {
    let mut samples = Vec::new();
    let mut cursor: Option<String> = None;
    let mut seen = 0;
    loop {
        let t = Instant::now();
        let page = desk.inbox(actor, cursor.as_deref(), Some(50)).await?;
        samples.push(t.elapsed());
        seen += page.items.len();
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok((samples, seen)),
        }
    }
}

fn message(account: &AccountId, peer: i64, date: chrono::DateTime<Utc>) -> Message {
    Message {
        account_id: account.clone(),
        peer,
        id: 1,
        sender_id: Some(peer),
        sender_name: Some(format!("Customer {peer}")),
        outgoing: false,
        date,
        text: "hello, I have a question about my order".into(),
        entities: serde_json::json!([]),
        media: None,
        reply_to: None,
        edited_at: None,
        deleted: false,
        tags: Default::default(),
    }
}
