//! Runs the throttle contract suite against `MemoryThrottle`.
#![cfg(feature = "testkit")]

use std::sync::Arc;
use tgdesk_core::auth::MemoryThrottle;
use tgdesk_core::testkit::ThrottleHandle;

async fn fresh_throttle() -> ThrottleHandle {
    ThrottleHandle::new(Arc::new(MemoryThrottle::default()))
}

tgdesk_core::throttle_contract_suite!(fresh_throttle);
