//! Search over HTTP on whichever backend the tests run on: what ingest
//! stored reaches the index through the backend's change feed (the SQLite
//! store's table of changes, or the DynamoDB stream on AWS).

use crate::helpers::*;
use std::time::Duration;

/// How long the index may trail the store before the case fails.
const PATIENCE: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingested_message_is_found_by_search() {
    // Arrange
    let app = spawn_without_fleet().await;
    let admin = app.admin().await;
    let account = app.create_account(&admin, "+15550004242", None).await;
    let word = format!("zebra{}", rand::random::<u32>());
    let tenant = tgdesk_core::domain::TenantId::parse("demo").unwrap();
    let message = customer_message(&account, 777, 1, &format!("hello {word} refund"));
    app.desk.writer.ingest_messages(&tenant, &[message]).await.expect("ingested");

    // Act: the index follows the feed, so wait on the hit with a deadline.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let hits = loop {
        let reply = app.get(&format!("/api/search?q={word}"), &admin).await.expect(200);
        let hits = reply["items"].as_array().cloned().unwrap_or_default();
        if !hits.is_empty() || tokio::time::Instant::now() > deadline {
            break hits;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // Assert
    assert_eq!(hits.len(), 1, "the message is found once: {hits:?}");
    assert_eq!(hits[0]["account_id"], account.as_str());
    assert_eq!(hits[0]["peer"], 777);
}
