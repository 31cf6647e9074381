//! Runs the throttle contract suite against `DynamoThrottle` on the moto
//! server, plus what several API processes rely on.

mod moto;

use std::sync::Arc;
use std::time::Duration;
use tgdesk_aws::DynamoThrottle;
use tgdesk_core::ports::{Admission, Throttle, ThrottleLimit};
use tgdesk_core::testkit::ThrottleHandle;

async fn fresh_throttle() -> ThrottleHandle {
    ThrottleHandle::new(Arc::new(DynamoThrottle::new(&moto::context().await)))
}

tgdesk_core::throttle_contract_suite!(fresh_throttle);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_limit() {
    // Arrange: two adapters with their own clients, as two API processes have.
    let (a, b) = (DynamoThrottle::new(&moto::context().await), DynamoThrottle::new(&moto::context().await));
    let key = format!("u:shared-{}", std::process::id());
    let limit = [ThrottleLimit { key: key.clone(), max: 4, window: Duration::from_secs(60) }];
    a.forget(&key).await.unwrap();

    // Act: each process lets through as many as it can, at once.
    let (from_a, from_b) = tokio::join!(
        futures::future::join_all((0..6).map(|_| a.admit(&limit))),
        futures::future::join_all((0..6).map(|_| b.admit(&limit)))
    );

    // Assert
    let admitted = from_a.into_iter().chain(from_b).filter(|o| o.as_ref().unwrap() == &Admission::Admitted).count();
    assert_eq!(admitted, 4);
}
