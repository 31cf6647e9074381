//! Runs the queue contract suite against `SqsQueue` on the moto server.

mod moto;

use std::sync::Arc;
use tgdesk_aws::SqsQueue;
use tgdesk_core::testkit::QueueHandle;

async fn fresh_queue() -> QueueHandle {
    QueueHandle::new(Arc::new(SqsQueue::new(&moto::context().await)))
}

tgdesk_core::queue_contract_suite!(fresh_queue);
