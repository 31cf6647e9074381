//! Runs the change feed contract suite against `DynamoStreamFeed` over
//! `DynamoStore` on the moto server, each case on tables (and so a stream)
//! of its own: a case reads the stream from its oldest record first, and a
//! table shared by every earlier case and run would make that read grow.

mod moto;

use std::sync::Arc;
use tgdesk_aws::{DynamoStore, DynamoStreamFeed};
use tgdesk_core::testkit::{FeedHandle, StoreHandles};

async fn fresh_feed() -> FeedHandle {
    let ctx = moto::context_of_its_own().await;
    FeedHandle {
        store: StoreHandles::new(Arc::new(DynamoStore::new(&ctx))),
        feed: Arc::new(DynamoStreamFeed::new(&ctx)),
    }
}

tgdesk_core::feed_contract_suite!(fresh_feed);
