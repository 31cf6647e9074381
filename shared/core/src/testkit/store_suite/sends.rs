//! Cases for the `SendLog` port.

use crate::domain::{AccountId, BatchId, BatchSend, SendId, SendRecord, SendStatus, UserId};
use crate::testkit::fixtures::{at, tenant, MAX_PAGES};
use crate::testkit::StoreHandles;
use std::collections::BTreeMap;

fn send(batch: Option<&BatchId>, status: SendStatus) -> SendRecord {
    SendRecord {
        id: SendId::generate(),
        account_id: AccountId::generate(),
        peer: 42,
        text: "hello".into(),
        reply_to: None,
        files: Vec::new(),
        status,
        error: None,
        message_id: None,
        batch_id: batch.cloned(),
        created_by: UserId::generate(),
        created_at: at(0),
        updated_at: at(0),
    }
}

fn batch() -> BatchSend {
    BatchSend {
        id: BatchId::generate(),
        created_by: UserId::generate(),
        text: "sale".into(),
        files: Vec::new(),
        targets: 3,
        cancelled: false,
        created_at: at(0),
    }
}

/// `put_sends` inserts and replaces sends by id; `get_send` returns one, or `None`.
pub async fn sends_are_put_replaced_and_read_back(h: &StoreHandles) {
    let t = tenant();
    let mut s = send(None, SendStatus::Queued);
    h.sends.put_sends(&t, std::slice::from_ref(&s)).await.unwrap();
    assert_eq!(h.sends.get_send(&t, &s.id).await.unwrap(), Some(s.clone()));
    s.status = SendStatus::Sent;
    s.message_id = Some(7);
    h.sends.put_sends(&t, std::slice::from_ref(&s)).await.unwrap();
    assert_eq!(h.sends.get_send(&t, &s.id).await.unwrap(), Some(s.clone()));
    assert_eq!(h.sends.get_send(&t, &SendId::generate()).await.unwrap(), None);
    assert_eq!(h.sends.get_send(&tenant(), &s.id).await.unwrap(), None, "another tenant sees nothing");
}

/// `put_batch` inserts and replaces a batch; `get_batch` returns it, or `None`.
pub async fn batches_are_put_replaced_and_read_back(h: &StoreHandles) {
    let t = tenant();
    let mut b = batch();
    h.sends.put_batch(&t, &b).await.unwrap();
    assert_eq!(h.sends.get_batch(&t, &b.id).await.unwrap(), Some(b.clone()));
    b.cancelled = true;
    h.sends.put_batch(&t, &b).await.unwrap();
    assert_eq!(h.sends.get_batch(&t, &b.id).await.unwrap(), Some(b.clone()));
    assert_eq!(h.sends.get_batch(&t, &BatchId::generate()).await.unwrap(), None);
    assert_eq!(h.sends.get_batch(&tenant(), &b.id).await.unwrap(), None);
}

/// `list_batch_sends` pages a batch's sends by id, after `after`, and nothing else.
pub async fn batch_sends_page_by_id_without_gaps(h: &StoreHandles) {
    let t = tenant();
    let b = batch();
    let mut mine: Vec<SendRecord> = (0..7).map(|_| send(Some(&b.id), SendStatus::Queued)).collect();
    let others = vec![send(None, SendStatus::Queued), send(Some(&BatchId::generate()), SendStatus::Queued)];
    h.sends.put_sends(&t, &mine).await.unwrap();
    h.sends.put_sends(&t, &others).await.unwrap();
    mine.sort_by(|a, b| a.id.cmp(&b.id));
    let mut seen = Vec::new();
    let mut after: Option<SendId> = None;
    for _ in 0..MAX_PAGES {
        let page = h.sends.list_batch_sends(&t, &b.id, after.as_ref(), 3).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        seen.extend(page);
    }
    assert_eq!(seen, mine);
}

/// `count_batch_sends` counts a batch's sends per status, leaving out statuses without sends.
pub async fn batch_sends_are_counted_per_status(h: &StoreHandles) {
    let t = tenant();
    let b = batch();
    let sends = vec![
        send(Some(&b.id), SendStatus::Queued),
        send(Some(&b.id), SendStatus::Sent),
        send(Some(&b.id), SendStatus::Sent),
        send(None, SendStatus::Failed),
    ];
    h.sends.put_sends(&t, &sends).await.unwrap();
    let expected = BTreeMap::from([(SendStatus::Queued, 1), (SendStatus::Sent, 2)]);
    assert_eq!(h.sends.count_batch_sends(&t, &b.id).await.unwrap(), expected);
    assert!(h.sends.count_batch_sends(&t, &BatchId::generate()).await.unwrap().is_empty());
}
