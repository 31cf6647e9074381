//! The simulator's control API as the benches use it: accounts with
//! authorized sessions, created over HTTP exactly as tests and demos do.

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

/// Control requests in flight while creating accounts.
const IN_FLIGHT: usize = 16;

/// Returns `n` phones of the form `+1<prefix><index>` (E.164, 11 digits).
pub fn phones(prefix: u8, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("+1{prefix}{i:08}")).collect()
}

/// Creates an authorized account per phone through `POST /control/accounts`
/// and returns their Telethon session strings, in the order of `phones`.
pub async fn create_accounts(control: &str, phones: &[String]) -> anyhow::Result<Vec<String>> {
    let http = reqwest::Client::new();
    let bar = progress(phones.len() as u64, "sim accounts");
    let sessions: Vec<String> = futures::stream::iter(phones)
        .map(|phone| {
            let (http, bar) = (&http, &bar);
            async move {
                let session =
                    post_for(http, &format!("{control}/control/accounts"), json!({"phone": phone}), "session").await?;
                bar.inc(1);
                Ok::<_, anyhow::Error>(session)
            }
        })
        .buffered(IN_FLIGHT)
        .try_collect()
        .await?;
    bar.finish_and_clear();
    Ok(sessions)
}

/// POSTs `body` as JSON and returns the string `field` of the JSON answer.
pub async fn post_for(http: &reqwest::Client, url: &str, body: Value, field: &str) -> anyhow::Result<String> {
    let answer: Value = http.post(url).json(&body).send().await?.error_for_status()?.json().await?;
    answer[field].as_str().map(str::to_owned).with_context(|| format!("{url} gave no {field}"))
}

/// Returns a progress bar with the benches' style.
pub fn progress(len: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(len).with_message(message);
    if let Ok(style) = ProgressStyle::with_template("{msg:>14} {bar:40} {pos}/{len} {per_sec} {elapsed}") {
        bar.set_style(style);
    }
    bar
}
