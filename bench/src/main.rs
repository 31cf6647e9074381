//! `tgdesk-bench`: measures the foundation's hot paths on the real SQLite
//! store through the use cases (no HTTP), and writes JSON to `bench/results/`.
//!
//! Scenarios: `import` (300,000 accounts from CSV: time, rate, peak memory)
//! and `inbox` (an agent owning 2,000 accounts with 100,000 dialogs: first
//! page and deep pages, p50/p99). `bench/plot.py` draws the results.

mod import;
mod inbox;
mod pipeline;
mod stats;

use clap::Parser;
use std::path::PathBuf;

/// Benchmark options.
#[derive(Parser)]
struct Args {
    /// Which scenario: `import`, `inbox`, `all` (both) or `pipeline`.
    #[arg(default_value = "all")]
    scenario: String,
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
    /// Where to write the JSON results.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.out)?;
    let mut results = serde_json::Map::new();
    results.insert("machine".into(), stats::machine());
    if matches!(args.scenario.as_str(), "import" | "all") {
        results.insert("import".into(), import::run(args.accounts).await?);
    }
    if matches!(args.scenario.as_str(), "inbox" | "all") {
        results.insert("inbox".into(), inbox::run(args.inbox_accounts, args.dialogs).await?);
    }
    if args.scenario == "pipeline" {
        let result = pipeline::run(args.pipeline_messages, 2_000, 100, 100, args.pipeline_rate).await?;
        let path = args.out.join("pipeline.json");
        let json = serde_json::to_string_pretty(&serde_json::json!({"machine": stats::machine(), "pipeline": result}))?;
        std::fs::write(&path, &json)?;
        println!("{json}\nwritten to {}", path.display());
        return Ok(());
    }
    let path = args.out.join("foundation.json");
    let json = serde_json::to_string_pretty(&serde_json::Value::Object(results))?;
    std::fs::write(&path, &json)?;
    println!("{json}\nwritten to {}", path.display());
    Ok(())
}
