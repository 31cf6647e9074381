//! `search`: indexes realistic messages (Chinese, Russian, English and mixed,
//! tags on some, spread over 300,000 accounts and 60 days) into the tantivy
//! index, then measures query latency from several concurrent clients for
//! word, phrase, tag-only and scoped (an agent's 300 accounts) queries.

use crate::stats;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tgdesk_core::domain::{AccountId, Message, TagId, TenantId};
use tgdesk_core::ports::{MessageChange, SearchIndex, SearchOrder, SearchQuery, SearchText};
use tgdesk_local::TantivyIndex;

/// The shape of a run.
pub struct Shape {
    pub messages: usize,
    pub accounts: usize,
    pub clients: usize,
    pub queries_per_kind: usize,
}

const ENGLISH: &[&str] = &[
    "Hello, my order has not arrived yet",
    "Can I get a refund for the damaged item",
    "The payment failed twice, please check",
    "When will the courier deliver my parcel",
    "I want to change the delivery address",
    "Thanks, the package arrived in good condition",
    "Is there a discount for bulk purchases",
    "My account was charged twice for the same invoice",
    "Please cancel the subscription before renewal",
    "The tracking number does not work on the website",
];
const RUSSIAN: &[&str] = &[
    "Доставка задерживается уже третий день",
    "Оплата не прошла, карта отклонена",
    "Хочу вернуть товар и получить деньги обратно",
    "Когда приедет курьер с моим заказом",
    "Спасибо, посылка пришла в целости",
    "Подскажите номер отслеживания посылки",
    "Можно изменить адрес доставки",
    "Скидка на оптовые заказы есть",
];
const CHINESE: &[&str] = &[
    "我想申请退款，订单号是",
    "快递什么时候能到",
    "付款失败了，请帮我查一下",
    "我要修改收货地址",
    "包裹已经收到了，谢谢",
    "请问有没有批量购买的折扣",
    "物流信息一直没有更新",
    "商品有质量问题，怎么退货",
];
/// Words the queries look for, in each language.
const WORDS: &[&str] = &[
    "refund",
    "courier",
    "payment",
    "delivery",
    "invoice",
    "доставки",
    "оплата",
    "курьер",
    "посылка",
    "退款",
    "快递",
    "地址",
    "包裹",
    "折扣",
];
const PHRASES: &[&str] =
    &["\"order has not arrived\"", "\"tracking number\"", "\"номер отслеживания\"", "\"付款失败\""];
const TAGS: usize = 20;

/// Makes one query of a kind from the run's accounts and tags.
type MakeQuery = fn(&mut StdRng, &[AccountId], &[TagId]) -> SearchQuery;

/// A customer's message: English, Russian, Chinese or the three mixed.
pub fn sample_text(rng: &mut StdRng) -> String {
    let pick = |rng: &mut StdRng, set: &[&str]| set[rng.gen_range(0..set.len())].to_owned();
    match rng.gen_range(0..10) {
        0..=3 => format!("{} #{}", pick(rng, ENGLISH), rng.gen_range(10_000..99_999)),
        4..=6 => format!("{} {}", pick(rng, RUSSIAN), rng.gen_range(10_000..99_999)),
        7..=8 => format!("{}{}", pick(rng, CHINESE), rng.gen_range(10_000..99_999)),
        _ => format!("{} {} {}", pick(rng, CHINESE), pick(rng, ENGLISH), pick(rng, RUSSIAN)),
    }
}

fn message(
    rng: &mut StdRng,
    accounts: &[AccountId],
    tags: &[TagId],
    id: i64,
    start: chrono::DateTime<chrono::Utc>,
) -> Message {
    let text = sample_text(rng);
    let peer = 100_000 + rng.gen_range(0..50);
    let tagged: BTreeSet<TagId> =
        if rng.gen_range(0..20) == 0 { [tags[rng.gen_range(0..tags.len())].clone()].into() } else { BTreeSet::new() };
    Message {
        account_id: accounts[rng.gen_range(0..accounts.len())].clone(),
        peer,
        id,
        sender_id: Some(peer),
        sender_name: Some(format!("Customer {peer}")),
        outgoing: rng.gen_range(0..4) == 0,
        date: start + chrono::Duration::milliseconds(id * 518),
        text,
        entities: json!([]),
        media: None,
        reply_to: None,
        edited_at: None,
        deleted: false,
        tags: tagged,
    }
}

/// Bytes of every file under `path`.
pub fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Runs the scenario.
pub async fn run(shape: &Shape) -> anyhow::Result<Value> {
    let dir = tempfile::tempdir()?;
    let index = Arc::new(TantivyIndex::open(dir.path())?);
    let tenant = TenantId::parse("bench")?;
    let mut rng = StdRng::seed_from_u64(7);
    let accounts: Vec<AccountId> = (0..shape.accounts).map(|_| AccountId::generate()).collect();
    let tags: Vec<TagId> = (0..TAGS).map(|_| TagId::generate()).collect();
    let start = chrono::Utc::now() - chrono::Duration::days(60);

    let bar = ProgressBar::new(shape.messages as u64)
        .with_style(ProgressStyle::with_template("{spinner} indexed {pos}/{len} ({per_sec}, eta {eta}) {wide_bar}")?);
    let began = Instant::now();
    let mut indexed = 0;
    while indexed < shape.messages {
        let n = 10_000.min(shape.messages - indexed);
        let changes: Vec<MessageChange> = (0..n)
            .map(|i| MessageChange::Upsert {
                tenant: tenant.clone(),
                message: message(&mut rng, &accounts, &tags, (indexed + i) as i64, start),
            })
            .collect();
        index.apply(&changes).await?;
        indexed += n;
        if indexed % 1_000_000 == 0 || indexed == shape.messages {
            index.commit(None).await?;
        }
        bar.set_position(indexed as u64);
    }
    bar.finish();
    let index_secs = began.elapsed().as_secs_f64();
    let bytes = dir_size(dir.path());
    println!("indexed {indexed} in {index_secs:.1} s, {bytes} bytes on disk; querying");

    let kinds: [(&str, MakeQuery); 5] = [
        ("word", |rng, _, _| query(WORDS[rng.gen_range(0..WORDS.len())])),
        ("phrase", |rng, _, _| query(PHRASES[rng.gen_range(0..PHRASES.len())])),
        ("tag_only", |rng, _, tags| SearchQuery {
            tags: vec![tags[rng.gen_range(0..tags.len())].clone()],
            ..query("")
        }),
        ("scoped_word", |rng, accounts, _| SearchQuery {
            accounts: Some((0..300).map(|_| accounts[rng.gen_range(0..accounts.len())].clone()).collect()),
            ..query(WORDS[rng.gen_range(0..WORDS.len())])
        }),
        ("word_by_relevance", |rng, _, _| SearchQuery {
            order: SearchOrder::Relevance,
            ..query(WORDS[rng.gen_range(0..WORDS.len())])
        }),
    ];
    let mut latencies = serde_json::Map::new();
    for (name, make) in kinds {
        let mut tasks = Vec::new();
        for client in 0..shape.clients {
            let (index, tenant, accounts, tags) = (index.clone(), tenant.clone(), accounts.clone(), tags.clone());
            let per_client = shape.queries_per_kind / shape.clients;
            tasks.push(tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(client as u64);
                let mut samples = Vec::with_capacity(per_client);
                let mut hits = 0;
                for _ in 0..per_client {
                    let q = make(&mut rng, &accounts, &tags);
                    let t = Instant::now();
                    hits += index.search(&tenant, &q).await?.hits.len();
                    samples.push(t.elapsed());
                }
                anyhow::Ok((samples, hits))
            }));
        }
        let mut samples: Vec<Duration> = Vec::new();
        let mut hits = 0;
        for task in tasks {
            let (s, h) = task.await??;
            samples.extend(s);
            hits += h;
        }
        let mut result = stats::latency(&mut samples);
        result["hits_per_query"] = json!(hits as f64 / samples.len() as f64);
        println!("{name}: {result}");
        latencies.insert(name.into(), result);
    }
    Ok(json!({
        "messages": indexed,
        "accounts": shape.accounts,
        "tags": TAGS,
        "index": {
            "seconds": (index_secs * 10.0).round() / 10.0,
            "messages_per_s": (indexed as f64 / index_secs).round(),
            "bytes_on_disk": bytes,
            "bytes_per_message": (bytes as f64 / indexed as f64 * 10.0).round() / 10.0,
        },
        "query_clients": shape.clients,
        "query_latency": latencies,
        "peak_rss_mib": stats::peak_rss_mib(),
    }))
}

fn query(text: &str) -> SearchQuery {
    SearchQuery::text(SearchText::parse(text).expect("bench queries parse"), 20)
}
