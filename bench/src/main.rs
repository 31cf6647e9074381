//! `tgdesk-bench`: measures tgdesk's hot paths and writes JSON to
//! `bench/results/`; `bench/plot.py` draws the results.
//!
//! Scenarios:
//! - `import` (300,000 accounts from CSV: time, rate, peak memory) and `inbox`
//!   (an agent owning 2,000 accounts with 100,000 dialogs: first page and deep
//!   pages, p50/p99) on the real SQLite store through the use cases; `all` runs both;
//! - `pipeline`: queue → ingest → SQLite → push hub, without Telegram or sockets;
//! - `login-flood`: the pipeline at 5,000 msg/s twice, alone and beside 200
//!   HTTP clients posting wrong passwords, comparing push latency;
//! - `e2e`: the whole local deployment with real parts (tg-sim, fleet on grammers,
//!   server, 1,000 WebSocket clients) under customer traffic;
//! - `search`: indexes realistic mixed-language messages into the tantivy
//!   index (10 million by default), then query latency from concurrent clients;
//! - `archive`: the archiver moving 10 million messages from SQLite to the
//!   cold archive (throughput, bytes per message), then cold history pages
//!   from concurrent clients (p50/p99);
//! - `sessions`: many grammers sessions brought online through the fleet against
//!   tg-sim as a child process (build it first: `cargo build --release -p tg-sim`).

mod archive;
mod archive_aws;
mod aws_usage;
mod cost;
mod e2e;
mod import;
mod inbox;
mod login_flood;
mod pipeline;
mod search;
mod sessions;
mod sim_process;
mod simctl;
mod sqlite_knobs;
mod stats;

use clap::Parser;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The allocator of the `tgdesk` and `tgdesk-fleet` binaries (src/main.rs), so
/// the scenarios measure what they run.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Benchmark options.
#[derive(Parser)]
struct Args {
    /// Which scenario: `import`, `inbox`, `all` (both), `pipeline`, `login-flood`, `e2e`, `search`, `archive`
    /// `sessions`, `cost` or `archive-aws` (the last two on a moto server, `--aws-endpoint`).
    #[arg(default_value = "all")]
    scenario: String,
    /// Runs the pipeline scenario on the AWS backend at this endpoint (a moto
    /// server: `target/moto-venv/bin/moto_server -p 5000` after `./test.sh`),
    /// reporting the AWS requests and units per message.
    #[arg(long)]
    aws_endpoint: Option<String>,
    /// Accounts to import.
    #[arg(long, default_value_t = 300_000)]
    accounts: usize,
    /// Accounts the inbox agent owns.
    #[arg(long, default_value_t = 2_000)]
    inbox_accounts: usize,
    /// Dialogs across those accounts.
    #[arg(long, default_value_t = 100_000)]
    dialogs: usize,
    /// Messages pushed through the ingest pipeline.
    #[arg(long, default_value_t = 200_000)]
    pipeline_messages: usize,
    /// Offered rate of the pipeline scenario, messages/s.
    #[arg(long, default_value_t = 12_000.0)]
    pipeline_rate: f64,
    /// Messages per envelope (per account) in the pipeline scenario; the fleet
    /// publishes one per message under live traffic.
    #[arg(long, default_value_t = 100)]
    pipeline_per_envelope: usize,
    /// Envelopes per queue body in the pipeline scenario.
    #[arg(long, default_value_t = 10)]
    pipeline_envelopes_per_body: usize,
    /// Dialogs (peers) per account in the pipeline scenario.
    #[arg(long, default_value_t = 50)]
    pipeline_peers: i64,
    /// Offered rate of the pipeline in the login-flood scenario, messages/s.
    #[arg(long, default_value_t = 5_000.0)]
    flood_pipeline_rate: f64,
    /// Concurrent clients posting wrong passwords in the login-flood scenario.
    #[arg(long, default_value_t = 200)]
    flood_clients: usize,
    /// argon2 threads (normal priority) during the login flood; unset: the server's pool (cores - 1, nice 10).
    #[arg(long)]
    flood_pool_threads: Option<usize>,
    /// Telegram accounts of the e2e scenario.
    #[arg(long, default_value_t = 2_000)]
    e2e_accounts: usize,
    /// Agents (one WebSocket each) of the e2e scenario.
    #[arg(long, default_value_t = 1_000)]
    e2e_agents: usize,
    /// How many of the e2e scenario's agents lead a team of the others (each
    /// message then reaches its owner and the owner's leader).
    #[arg(long, default_value_t = 50)]
    e2e_leaders: usize,
    /// Offered rate of the e2e scenario, messages/s.
    #[arg(long, default_value_t = 12_000.0)]
    e2e_rate: f64,
    /// Runs tg-sim as a child process in the e2e scenario (the `tg-sim` binary next to this one).
    #[arg(long)]
    e2e_sim_process: bool,
    /// Starts the e2e scenario's timed traffic on new conversations (no customer wrote before).
    #[arg(long)]
    e2e_cold: bool,
    /// How long customers write in the e2e scenario, seconds.
    #[arg(long, default_value_t = 25.0)]
    e2e_seconds: f64,
    /// Messages the search scenario indexes.
    #[arg(long, default_value_t = 10_000_000)]
    search_messages: usize,
    /// Concurrent query clients of the search scenario.
    #[arg(long, default_value_t = 4)]
    search_clients: usize,
    /// Messages the archive scenario archives.
    #[arg(long, default_value_t = 10_000_000)]
    archive_messages: usize,
    /// Dialogs they belong to.
    #[arg(long, default_value_t = 50_000)]
    archive_dialogs: usize,
    /// A directory keeping the archive scenario's filled store: copied when
    /// there (a 10M fill takes ten minutes), saved when not. For experiments;
    /// the copy must come from a run of the same shape.
    #[arg(long)]
    archive_filled: Option<std::path::PathBuf>,
    /// Messages the cost scenario sends through the ingest and push functions.
    #[arg(long, default_value_t = 5_000)]
    cost_messages: usize,
    /// Sessions of the sessions scenario.
    #[arg(long, default_value_t = 10_000)]
    sessions: usize,
    /// Caps every SQLite connection's memory map at this many bytes (A/B of the store's
    /// `mmap_size`; 0 maps nothing). Unset: the store's own settings.
    #[arg(long)]
    sqlite_mmap_max: Option<i64>,
    /// Where to write the JSON results.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.out)?;
    stats::calibrate_before();
    if let Some(max) = args.sqlite_mmap_max {
        sqlite_knobs::cap_mmap(max)?;
    }
    match args.scenario.as_str() {
        "pipeline" => {
            let shape = pipeline::Shape {
                messages: args.pipeline_messages,
                accounts: 2_000,
                peers: args.pipeline_peers,
                per_envelope: args.pipeline_per_envelope,
                envelopes_per_body: args.pipeline_envelopes_per_body,
                subscribers: 100,
                rate: args.pipeline_rate,
            };
            let aws = match &args.aws_endpoint {
                Some(endpoint) => {
                    let prefix = format!("bench{}", std::process::id());
                    Some(tgdesk_aws::AwsContext::load(tgdesk_aws::AwsSettings::for_endpoint(endpoint, &prefix)).await)
                }
                None => None,
            };
            let result = pipeline::run(&shape, aws.as_ref()).await?;
            // The default shape is `pipeline.json`; others keep their own file.
            let name = if aws.is_some() {
                "pipeline-aws.json".to_owned()
            } else if shape.is_default() {
                "pipeline.json".to_owned()
            } else {
                format!("pipeline-{}x{}-{}peers.json", shape.per_envelope, shape.envelopes_per_body, shape.peers)
            };
            write(&args.out, &name, "pipeline", result)
        }
        "archive-aws" => {
            let endpoint = args.aws_endpoint.as_deref().ok_or_else(|| {
                anyhow::anyhow!("the archive-aws scenario runs on a moto server: pass --aws-endpoint (see README)")
            })?;
            let prefix = format!("arch{}", std::process::id());
            let ctx = tgdesk_aws::AwsContext::load(tgdesk_aws::AwsSettings::for_endpoint(endpoint, &prefix)).await;
            let shape = archive_aws::Shape { dialogs: 1_000, per_dialog: 10, batch: 500 };
            let result = archive_aws::run(&ctx, &shape).await?;
            write(&args.out, "archive-aws.json", "archive_aws", result)
        }
        "cost" => {
            let endpoint = args.aws_endpoint.as_deref().ok_or_else(|| {
                anyhow::anyhow!("the cost scenario runs on a moto server: pass --aws-endpoint (see README)")
            })?;
            let prefix = format!("cost{}", std::process::id());
            let ctx = tgdesk_aws::AwsContext::load(tgdesk_aws::AwsSettings::for_endpoint(endpoint, &prefix)).await;
            let shape = cost::Shape {
                messages: args.cost_messages,
                accounts: 500,
                agents: 20,
                per_body: 10,
                ingest_batch: 100,
                hot_days: 30.0,
                function_mb: 512.0,
                sessions: 300_000.0,
                session_kib: 57.0,
                idle_cores_per_10k: 0.05,
                deployment_agents: 1_000.0,
            };
            let result = cost::run(&ctx, &shape).await?;
            write(&args.out, "cost.json", "cost", result)
        }
        "login-flood" => {
            let shape = pipeline::Shape {
                messages: args.pipeline_messages,
                accounts: 2_000,
                peers: args.pipeline_peers,
                per_envelope: args.pipeline_per_envelope,
                envelopes_per_body: args.pipeline_envelopes_per_body,
                subscribers: 100,
                rate: args.flood_pipeline_rate,
            };
            let quiet = pipeline::run(&shape, None).await?;
            let flooded = pipeline::run_beside(&shape, args.flood_clients, args.flood_pool_threads, None).await?;
            let p99 = |v: &serde_json::Value| v["enqueue_to_push"]["p99_ms"].as_f64().unwrap_or(f64::NAN);
            let ratio = p99(&flooded) / p99(&quiet);
            let result = serde_json::json!({"without_flood": quiet, "with_flood": flooded, "push_p99_ratio": ratio});
            let name = match args.flood_pool_threads {
                None => "login-flood.json".to_owned(),
                Some(n) => format!("login-flood-{n}threads.json"),
            };
            write(&args.out, &name, "login_flood", result)
        }
        "e2e" => {
            let options = e2e::Options {
                accounts: args.e2e_accounts,
                agents: args.e2e_agents,
                leaders: args.e2e_leaders,
                rate: args.e2e_rate,
                duration: Duration::from_secs_f64(args.e2e_seconds),
                sim_apart: args.e2e_sim_process,
                cold: args.e2e_cold,
            };
            let result = e2e::run(&options).await?;
            // The default run is `e2e.json` (`e2e-apart.json` with the simulator apart,
            // `-cold` added on new conversations); other rates (a max-rate probe, say)
            // keep their own file.
            let base = match (args.e2e_sim_process, args.e2e_cold) {
                (false, false) => "e2e",
                (true, false) => "e2e-apart",
                (false, true) => "e2e-cold",
                (true, true) => "e2e-apart-cold",
            };
            let name = if args.e2e_rate == 12_000.0 {
                format!("{base}.json")
            } else {
                format!("{base}-{}.json", args.e2e_rate)
            };
            write(&args.out, &name, "e2e", result)
        }
        "archive" => {
            let shape = archive::Shape {
                filled: args.archive_filled.clone(),
                messages: args.archive_messages,
                dialogs: args.archive_dialogs,
                clients: 4,
                pages_per_client: 2_000,
            };
            let result = archive::run(&shape).await?;
            let name = if args.archive_messages == 10_000_000 {
                "archive.json".to_owned()
            } else {
                format!("archive-{}.json", args.archive_messages)
            };
            write(&args.out, &name, "archive", result)
        }
        "search" => {
            let shape = search::Shape {
                messages: args.search_messages,
                accounts: 300_000,
                clients: args.search_clients,
                queries_per_kind: 2_000,
            };
            let result = search::run(&shape).await?;
            let name = if args.search_messages == 10_000_000 {
                "search.json".to_owned()
            } else {
                format!("search-{}.json", args.search_messages)
            };
            write(&args.out, &name, "search", result)
        }
        "sessions" => {
            let result = sessions::run(args.sessions).await?;
            write(&args.out, "sessions.json", "sessions", result)
        }
        "import" | "inbox" | "all" => {
            let mut results = serde_json::Map::new();
            if matches!(args.scenario.as_str(), "import" | "all") {
                results.insert("import".into(), import::run(args.accounts).await?);
            }
            if matches!(args.scenario.as_str(), "inbox" | "all") {
                results.insert("inbox".into(), inbox::run(args.inbox_accounts, args.dialogs).await?);
            }
            results.insert("machine".into(), stats::machine());
            let json = serde_json::to_string_pretty(&serde_json::Value::Object(results))?;
            let path = args.out.join("foundation.json");
            std::fs::write(&path, &json)?;
            println!("{json}\nwritten to {}", path.display());
            Ok(())
        }
        other => {
            anyhow::bail!(
                "unknown scenario {other:?}: import, inbox, all, pipeline, login-flood, e2e, search or sessions"
            )
        }
    }
}

/// Writes `{"machine": …, key: result}` to `out/name` and prints it.
fn write(out: &Path, name: &str, key: &str, result: serde_json::Value) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(&serde_json::json!({"machine": stats::machine(), key: result}))?;
    let path = out.join(name);
    std::fs::write(&path, &json)?;
    println!("{json}\nwritten to {}", path.display());
    Ok(())
}
