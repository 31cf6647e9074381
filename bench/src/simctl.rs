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
    let url = format!("{control}/control/accounts");
    let requests = phones.iter().map(|phone| (url.clone(), json!({"phone": phone})));
    post_each(requests, "session", IN_FLIGHT, "sim accounts").await
}

/// POSTs each `(url, body)`, `in_flight` at a time with a progress bar,
/// and returns the string `field` of each answer, in order.
pub async fn post_each(
    requests: impl Iterator<Item = (String, Value)>,
    field: &str,
    in_flight: usize,
    label: &'static str,
) -> anyhow::Result<Vec<String>> {
    let requests: Vec<(String, Value)> = requests.collect();
    let http = reqwest::Client::new();
    let bar = progress(requests.len() as u64, label);
    let answers = futures::stream::iter(requests)
        .map(|(url, body)| {
            let (http, bar) = (&http, &bar);
            async move {
                let answer = post_for(http, &url, body, field).await?;
                bar.inc(1);
                anyhow::Ok(answer)
            }
        })
        .buffered(in_flight)
        .try_collect()
        .await?;
    bar.finish_and_clear();
    Ok(answers)
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
