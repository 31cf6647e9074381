//! Imports N accounts from a CSV file through the import use case.

use crate::stats;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;
use tgdesk_core::auth::TokenService;
use tgdesk_core::domain::{JobState, TenantId, UserId};
use tgdesk_core::usecases::{Actor, Desk, ImportFormat, ImportProgress, NewAgent};
use tgdesk_local::SqliteStore;

/// Opens a fresh store in a temp dir and returns the desk and the tenant's admin.
pub async fn fresh_desk(dir: &std::path::Path) -> anyhow::Result<(Desk, Arc<SqliteStore>, Actor)> {
    let tgdesk_local::LocalPorts { store, ports, .. } = tgdesk_local::LocalPorts::open(dir)?;
    let desk = Desk::new(ports, bench_tokens());
    let actor = admin_of(&desk, "bench").await?;
    Ok((desk, store, actor))
}

pub(crate) fn bench_tokens() -> TokenService {
    TokenService::new(b"bench-secret-bench-secret-bench!", std::time::Duration::from_secs(3600))
}

/// Like [`fresh_desk`], also returning the push hub, with the search index
/// under `dir/search` and the indexer that feeds it from the store (the
/// caller runs it), as the server composes them.
pub async fn fresh_desk_with_hub(
    dir: &std::path::Path,
) -> anyhow::Result<(Desk, Actor, Arc<tgdesk_local::WsHub>, Option<tgdesk_core::usecases::Indexer>)> {
    let tgdesk_local::LocalPorts { hub, mut ports, store, .. } = tgdesk_local::LocalPorts::open(dir)?;
    let index = Arc::new(tgdesk_local::TantivyIndex::open(&dir.join("search"))?);
    ports.search = Some(index.clone());
    let desk = Desk::new(ports, bench_tokens());
    let actor = admin_of(&desk, "bench").await?;
    Ok((desk, actor, hub, Some(tgdesk_core::usecases::Indexer::new(store, index))))
}

/// The same desk on the AWS adapters of `ctx`, pushing to a local hub.
pub async fn aws_desk_with_hub(
    ctx: &tgdesk_aws::AwsContext,
) -> anyhow::Result<(Desk, Actor, Arc<tgdesk_local::WsHub>, Option<tgdesk_core::usecases::Indexer>)> {
    let hub = Arc::new(tgdesk_local::WsHub::default());
    let push = hub.clone();
    let ports = tgdesk_aws::AwsPorts::open(ctx, |_| push, None).await?.ports;
    let desk = Desk::new(ports, bench_tokens());
    let actor = admin_of(&desk, "bench").await?;
    Ok((desk, actor, hub, None))
}

/// Creates tenant `tenant` with its first admin and returns that admin.
pub async fn admin_of(desk: &Desk, tenant: &str) -> anyhow::Result<Actor> {
    let admin = desk.create_tenant(tenant, "admin", "bench-password").await?;
    Ok(Actor {
        tenant: TenantId::parse(tenant)?,
        user_id: UserId::parse(admin.id.as_str())?,
        role: tgdesk_core::domain::Role::Admin,
    })
}

/// Creates `n` agents named agent0.. and returns their usernames.
pub async fn agents(desk: &Desk, admin: &Actor, n: usize) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("agent{i}");
        let input = NewAgent {
            username: name.clone(),
            password: "bench-password".into(),
            display_name: None,
            role: tgdesk_core::domain::Role::Agent,
            leader_id: None,
        };
        desk.create_agent(admin, input).await?;
        names.push(name);
    }
    Ok(names)
}

/// Returns a CSV of `n` accounts spread over `owners`, with tags and groups.
pub fn csv(n: usize, owners: &[String]) -> String {
    let mut out = String::with_capacity(n * 48);
    out.push_str("phone,name,tags,group,owner\n");
    for i in 0..n {
        let owner = &owners[i % owners.len()];
        let tags = if i % 3 == 0 { "vip;night" } else { "day" };
        out.push_str(&format!("+1{:010},Account {i},{tags},Group {},{owner}\n", 2_000_000_000u64 + i as u64, i % 7));
    }
    out
}

/// Runs the import scenario.
pub async fn run(accounts: usize) -> anyhow::Result<Value> {
    let dir = tempfile::tempdir()?;
    let (desk, _store, admin) = fresh_desk(dir.path()).await?;
    let owners = agents(&desk, &admin, 50).await?;
    let body = csv(accounts, &owners);
    let bar = ProgressBar::new(accounts as u64).with_message("importing");
    bar.set_style(ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} {per_sec} eta {eta}")?);
    let progress = |p: ImportProgress| bar.set_position(p.processed as u64);
    let rss_before = stats::rss_mib();
    let started = Instant::now();
    let report = desk.import_accounts(&admin, ImportFormat::Csv, body.as_bytes(), &progress).await?;
    let elapsed = started.elapsed();
    bar.finish();
    anyhow::ensure!(report.imported == accounts, "imported {} of {accounts}", report.imported);
    let again = Instant::now();
    let second = desk.import_accounts(&admin, ImportFormat::Csv, body.as_bytes(), &|_| {}).await?;
    let reimport = again.elapsed();
    anyhow::ensure!(second.unchanged == accounts, "re-import changed {} accounts", accounts - second.unchanged);
    let job_seconds = as_a_job(&desk, accounts).await?;
    Ok(json!({
        "accounts": accounts,
        "csv_bytes": body.len(),
        "seconds": elapsed.as_secs_f64(),
        "accounts_per_second": (accounts as f64 / elapsed.as_secs_f64()).round(),
        "reimport_unchanged_seconds": reimport.as_secs_f64(),
        "job_seconds": job_seconds,
        "job_accounts_per_second": (accounts as f64 / job_seconds).round(),
        "rss_before_mib": rss_before,
        "peak_rss_mib": stats::peak_rss_mib(),
    }))
}

/// Imports the same number of accounts into a fresh tenant the way the API
/// does: the file stored, a job queued and run by the worker loop in runs of
/// at most `JOB_RUN`, each re-reading the file and skipping what earlier runs
/// handled. Returns the seconds it took.
async fn as_a_job(desk: &Desk, accounts: usize) -> anyhow::Result<f64> {
    let admin = admin_of(desk, "bench-job").await?;
    let owners = agents(desk, &admin, 50).await?;
    let body = csv(accounts, &owners).into_bytes();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn({
        let desk = desk.clone();
        async move { desk.run_jobs(stopped).await }
    });
    let bar = ProgressBar::new(accounts as u64 + 1).with_message("importing as a job");
    bar.set_style(ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} {per_sec} eta {eta}")?);
    let started = Instant::now();
    let job = desk.import_file(&admin, ImportFormat::Csv, body).await?;
    let done = loop {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let view = desk.job(&admin, &job.id).await?;
        bar.set_position(view.processed);
        if view.state.is_final() {
            break view;
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    bar.finish();
    let _ = stop.send(true);
    worker.await?;
    let report = done.report.unwrap_or_default();
    anyhow::ensure!(done.state == JobState::Done, "the import job ended {:?}: {:?}", done.state, done.error);
    anyhow::ensure!(report.imported == accounts, "the job imported {} of {accounts}", report.imported);
    Ok(elapsed)
}
