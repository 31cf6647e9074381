//! Runs the whole store contract suite against `DynamoStore` on the moto
//! server, each case on tables of its own (see `moto::context_of_its_own`).

mod moto;

use std::sync::Arc;
use tgdesk_aws::DynamoStore;
use tgdesk_core::testkit::StoreHandles;

async fn fresh_store() -> StoreHandles {
    StoreHandles::new(Arc::new(DynamoStore::new(&moto::context_of_its_own().await)))
}

tgdesk_core::store_contract_suite!(fresh_store);
