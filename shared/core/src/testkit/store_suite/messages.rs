//! Ingest and the message side of dialogs.

use crate::domain::{AccountId, Dialog, MediaRef, Message, PeerKind, TagId, TenantId};
use crate::ports::{IngestOutcome, PortErrorKind};
use crate::testkit::fixtures::{assert_kind, at, message, message_at_bounds, seed_account, tenant, MAX_PAGES};
use crate::testkit::StoreHandles;

async fn dialog(h: &StoreHandles, t: &TenantId, account: &AccountId, peer: i64) -> Dialog {
    let mut found = h.reader.get_dialogs(t, &[(account.clone(), peer)]).await.unwrap();
    assert_eq!(found.len(), 1, "dialog {account}/{peer} should exist");
    found.remove(0)
}

/// Ingest is idempotent on (account, peer, id): a stored message is left as it is.
pub async fn ingest_is_idempotent_on_account_peer_and_id(h: &StoreHandles) {
    let t = tenant();
    let a = seed_account(h, &t, |_| {}).await;
    let b = seed_account(h, &t, |_| {}).await;
    let first = vec![message(&a.id, 10, 1, 100, false), message(&a.id, 10, 2, 200, false)];
    let outcome = h.writer.ingest_messages(&t, &first).await.unwrap();
    assert_eq!((outcome.fresh, outcome.duplicates), (vec![0, 1], 0));

    let changed = Message { text: "redelivered with other text".into(), ..first[0].clone() };
    let again = vec![
        changed,
        first[1].clone(),
        message(&a.id, 11, 1, 300, false),
        message(&b.id, 10, 1, 300, false),
        message(&a.id, 10, 3, 400, false),
        message(&a.id, 10, 3, 400, false),
    ];
    let outcome = h.writer.ingest_messages(&t, &again).await.unwrap();

    assert_eq!((outcome.fresh, outcome.duplicates), (vec![2, 3, 4], 3));
    assert_eq!(h.reader.get_message(&t, &a.id, 10, 1).await.unwrap(), Some(first[0].clone()));
    assert_eq!(h.reader.list_messages(&t, &a.id, 10, None, 10).await.unwrap().len(), 3);
    assert_eq!(dialog(h, &t, &a.id, 10).await.unread_count, 3);
    assert_eq!(h.writer.ingest_messages(&t, &[]).await.unwrap(), IngestOutcome::default());
}

/// Several ingest workers writing the same batches at once (redelivery
/// racing first delivery) store each message once and count each incoming
/// one once in the dialog's unread count.
pub async fn concurrent_ingest_of_overlapping_batches_counts_each_message_once(h: &StoreHandles) {
    let t = tenant();
    let a = seed_account(h, &t, |_| {}).await;
    let all: Vec<Message> = (1..=24).map(|id| message(&a.id, 5, id, id * 10, id % 4 == 0)).collect();
    let incoming = all.iter().filter(|m| !m.outgoing).count() as u32;

    let mut fresh = 0;
    for batch in all.chunks(12) {
        let racing = (0..6).map(|_| h.writer.ingest_messages(&t, batch));
        fresh += futures::future::join_all(racing).await.into_iter().map(|o| o.unwrap().fresh.len()).sum::<usize>();
    }

    let stored = h.reader.list_messages(&t, &a.id, 5, None, 100).await.unwrap();
    assert_eq!((fresh, stored.len()), (24, 24), "each message stored and reported fresh once");
    let d = dialog(h, &t, &a.id, 5).await;
    assert_eq!((d.last_message_id, d.unread_count), (Some(24), incoming), "each incoming message counted once");
}

/// Ingest returns every dialog a fresh message went to, exactly as it is
/// stored after the write, and no dialog that got only redeliveries.
pub async fn ingest_returns_the_dialogs_it_changed_as_stored(h: &StoreHandles) {
    let t = tenant();
    let a = seed_account(h, &t, |_| {}).await;
    let b = seed_account(h, &t, |_| {}).await;
    let first = [message(&a.id, 1, 1, 10, false), message(&b.id, 2, 1, 10, false)];
    h.writer.ingest_messages(&t, &first).await.unwrap();

    // Dialog a/1 gets a newer message, an old one (history) and a redelivery;
    // b/2 only a redelivery; a/3 is new; a/4 gets an outgoing message.
    let batch = [
        message(&a.id, 1, 5, 50, false),
        message(&a.id, 1, 0, 5, false),
        first[0].clone(),
        first[1].clone(),
        message(&a.id, 3, 7, 70, false),
        message(&a.id, 4, 8, 80, true),
    ];
    let mut returned = h.writer.ingest_messages(&t, &batch).await.unwrap().dialogs;
    returned.sort_by_key(|d| d.peer);

    let keys = [(a.id.clone(), 1), (a.id.clone(), 3), (a.id.clone(), 4)];
    let mut stored = h.reader.get_dialogs(&t, &keys).await.unwrap();
    stored.sort_by_key(|d| d.peer);
    assert_eq!(returned, stored);
    let a1 = &returned[0];
    assert_eq!((a1.last_message_id, a1.unread_count, a1.title.as_str()), (Some(5), 2, "Customer 1"));
    assert_eq!((returned[2].last_message_id, returned[2].unread_count), (Some(8), 0));
    assert!(h.writer.ingest_messages(&t, &first).await.unwrap().dialogs.is_empty());
}

/// Ingest is `NotFound` when an account is unknown, and stores nothing of the batch.
pub async fn ingest_into_an_unknown_account_is_not_found(h: &StoreHandles) {
    let t = tenant();
    let known = seed_account(h, &t, |_| {}).await;
    let unknown = AccountId::generate();

    let batch = [message(&known.id, 1, 1, 10, false), message(&unknown, 1, 1, 10, false)];
    assert_kind(h.writer.ingest_messages(&t, &batch).await, PortErrorKind::NotFound);

    assert!(h.reader.get_dialogs(&t, &[(unknown.clone(), 1)]).await.unwrap().is_empty());
    assert_eq!(h.reader.get_message(&t, &unknown, 1, 1).await.unwrap(), None);
}

/// Ingest creates missing dialogs: kind from the peer id, a user peer titled by its sender.
pub async fn ingest_creates_missing_dialogs_with_kind_and_title(h: &StoreHandles) {
    let t = tenant();
    let a = seed_account(h, &t, |_| {}).await;
    let (user, group, channel) = (777_i64, -4_242_i64, -1_000_000_012_345_i64);
    let batch = [
        message(&a.id, user, 1, 10, false),
        message(&a.id, group, 5, 20, false),
        message(&a.id, channel, 9, 30, false),
    ];

    h.writer.ingest_messages(&t, &batch).await.unwrap();

    let d = dialog(h, &t, &a.id, user).await;
    assert_eq!((d.kind, d.title.as_str()), (PeerKind::User, "Customer 777"));
    assert_eq!((d.last_message_id, d.last_message_at, d.unread_count), (Some(1), Some(at(10)), 1));
    assert!(d.preview.contains("message 1"), "preview {:?}", d.preview);
    assert_eq!(dialog(h, &t, &a.id, group).await.kind, PeerKind::Group);
    assert_eq!(dialog(h, &t, &a.id, channel).await.kind, PeerKind::Channel);
}

/// A dialog's newest message moves forward, never back, within and across batches.
pub async fn dialog_newest_message_never_moves_back(h: &StoreHandles) {
    let t = tenant();
    let a = seed_account(h, &t, |_| {}).await;
    let batch = [message(&a.id, 5, 2, 200, false), message(&a.id, 5, 3, 300, false), message(&a.id, 5, 1, 100, false)];
    h.writer.ingest_messages(&t, &batch).await.unwrap();
    assert_eq!(dialog(h, &t, &a.id, 5).await.last_message_id, Some(3));

    h.writer.ingest_messages(&t, &[message(&a.id, 5, 0, 50, false)]).await.unwrap();
    let d = dialog(h, &t, &a.id, 5).await;
    assert_eq!((d.last_message_id, d.last_message_at), (Some(3), Some(at(300))));
    assert!(d.preview.contains("message 3"));

    h.writer.ingest_messages(&t, &[message(&a.id, 5, 4, 400, true)]).await.unwrap();
    let d = dialog(h, &t, &a.id, 5).await;
    assert_eq!((d.last_message_id, d.last_message_at), (Some(4), Some(at(400))));
    assert!(d.preview.contains("message 4"));
}

/// Only newly stored incoming messages add to the unread count.
pub async fn unread_counts_new_incoming_messages_only(h: &StoreHandles) {
    let t = tenant();
    let a = seed_account(h, &t, |_| {}).await;
    let batch = [message(&a.id, 8, 1, 10, false), message(&a.id, 8, 2, 20, true), message(&a.id, 8, 3, 30, false)];
    h.writer.ingest_messages(&t, &batch).await.unwrap();
    assert_eq!(dialog(h, &t, &a.id, 8).await.unread_count, 2);

    h.writer.ingest_messages(&t, &[batch[0].clone(), message(&a.id, 8, 4, 40, true)]).await.unwrap();
    assert_eq!(dialog(h, &t, &a.id, 8).await.unread_count, 2);

    // An incoming message older than the dialog's newest is history (a
    // backfill): stored, but neither the newest nor unread.
    h.writer.ingest_messages(&t, &[message(&a.id, 8, 0, 5, false)]).await.unwrap();
    let d = dialog(h, &t, &a.id, 8).await;
    assert_eq!((d.unread_count, d.last_message_id), (2, Some(4)));
    // In one batch with newer ones, only those above the old newest count.
    h.writer.ingest_messages(&t, &[message(&a.id, 8, -1, 1, false), message(&a.id, 8, 9, 90, false)]).await.unwrap();
    assert_eq!(dialog(h, &t, &a.id, 8).await.unread_count, 3);
}

/// `mark_read` sets unread to the incoming messages after `up_to`; `NotFound` for an unknown dialog.
pub async fn mark_read_counts_incoming_messages_after_up_to(h: &StoreHandles) {
    let t = tenant();
    let a = seed_account(h, &t, |_| {}).await;
    let batch: Vec<Message> = (1..=6).map(|id| message(&a.id, 3, id, id * 10, id == 5)).collect();
    h.writer.ingest_messages(&t, &batch).await.unwrap();
    assert_eq!(dialog(h, &t, &a.id, 3).await.unread_count, 5);

    h.writer.mark_read(&t, &a.id, 3, 3).await.unwrap();
    assert_eq!(dialog(h, &t, &a.id, 3).await.unread_count, 2);
    h.writer.mark_read(&t, &a.id, 3, 6).await.unwrap();
    assert_eq!(dialog(h, &t, &a.id, 3).await.unread_count, 0);

    assert_kind(h.writer.mark_read(&t, &a.id, 4, 1).await, PortErrorKind::NotFound);
    assert_kind(h.writer.mark_read(&t, &AccountId::generate(), 3, 1).await, PortErrorKind::NotFound);
}

/// Editing a dialog's newest message shows in the dialog's preview; editing
/// an older one leaves the preview alone.
pub async fn editing_the_newest_message_updates_the_dialog_preview(h: &StoreHandles) {
    let t = tenant();
    let a = seed_account(h, &t, |_| {}).await;
    h.writer.ingest_messages(&t, &[message(&a.id, 6, 1, 10, false), message(&a.id, 6, 2, 20, false)]).await.unwrap();

    h.writer.edit_message(&t, &a.id, 6, 1, "older, edited", at(30)).await.unwrap();
    assert_eq!(dialog(h, &t, &a.id, 6).await.preview, "message 2");
    h.writer.edit_message(&t, &a.id, 6, 2, "newest, edited", at(40)).await.unwrap();

    assert_eq!(dialog(h, &t, &a.id, 6).await.preview, "newest, edited");
}

/// `edit_message` replaces the text and sets the edit time; `NotFound` when unknown.
pub async fn edit_message_replaces_text_and_sets_edit_time(h: &StoreHandles) {
    let t = tenant();
    let a = seed_account(h, &t, |_| {}).await;
    let m = message(&a.id, 2, 1, 10, false);
    h.writer.ingest_messages(&t, std::slice::from_ref(&m)).await.unwrap();

    h.writer.edit_message(&t, &a.id, 2, 1, "fixed typo", at(99)).await.unwrap();

    let want = Message { text: "fixed typo".into(), edited_at: Some(at(99)), ..m };
    assert_eq!(h.reader.get_message(&t, &a.id, 2, 1).await.unwrap(), Some(want));
    assert_kind(h.writer.edit_message(&t, &a.id, 2, 2, "x", at(1)).await, PortErrorKind::NotFound);
    assert_kind(h.writer.edit_message(&t, &a.id, 3, 1, "x", at(1)).await, PortErrorKind::NotFound);
}

/// The largest message ingest can be given (every field at its bound of
/// `domain::limits`) is stored, edited to the longest text and read back
/// whole, beside an ordinary one.
pub async fn a_message_at_every_bound_is_stored_and_read_back_whole(h: &StoreHandles) {
    let t = tenant();
    let a = seed_account(h, &t, |_| {}).await;
    let big = message_at_bounds(&a.id, 4, 1, 10);
    let small = message(&a.id, 4, 2, 20, false);
    let outcome = h.writer.ingest_messages(&t, &[big.clone(), small.clone()]).await.unwrap();
    assert_eq!(outcome.fresh, vec![0, 1]);
    assert_eq!(h.reader.get_message(&t, &a.id, 4, 1).await.unwrap(), Some(big.clone()));
    assert_eq!(h.reader.list_messages(&t, &a.id, 4, None, 10).await.unwrap(), vec![small, big.clone()]);

    let longest = "\u{2}".repeat(crate::domain::MAX_TEXT_BYTES);
    h.writer.edit_message(&t, &a.id, 4, 1, &longest, at(30)).await.unwrap();
    let edited = Message { text: longest, edited_at: Some(at(30)), ..big };
    assert_eq!(h.reader.get_message(&t, &a.id, 4, 1).await.unwrap(), Some(edited));
}

/// `delete_messages` marks messages deleted keeping the text; unknown ids are ignored.
pub async fn delete_messages_marks_them_deleted_keeping_text(h: &StoreHandles) {
    let t = tenant();
    let a = seed_account(h, &t, |_| {}).await;
    let batch = [message(&a.id, 2, 1, 10, false), message(&a.id, 2, 2, 20, false)];
    h.writer.ingest_messages(&t, &batch).await.unwrap();

    h.writer.delete_messages(&t, &a.id, 2, &[1, 999]).await.unwrap();

    let gone = h.reader.get_message(&t, &a.id, 2, 1).await.unwrap().unwrap();
    assert!(gone.deleted);
    assert_eq!(gone.text, "message 1");
    assert!(!h.reader.get_message(&t, &a.id, 2, 2).await.unwrap().unwrap().deleted);
    h.writer.delete_messages(&t, &a.id, 77, &[1]).await.unwrap();
}

/// `set_message_tags` replaces the tags; `NotFound` when the message is unknown.
pub async fn set_message_tags_replaces_the_tags(h: &StoreHandles) {
    let t = tenant();
    let a = seed_account(h, &t, |_| {}).await;
    h.writer.ingest_messages(&t, &[message(&a.id, 2, 1, 10, false)]).await.unwrap();
    let (x, y, z) = (TagId::generate(), TagId::generate(), TagId::generate());

    h.writer.set_message_tags(&t, &a.id, 2, 1, &[x.clone(), y.clone()].into()).await.unwrap();
    assert_eq!(h.reader.get_message(&t, &a.id, 2, 1).await.unwrap().unwrap().tags, [x.clone(), y.clone()].into());
    h.writer.set_message_tags(&t, &a.id, 2, 1, &[z.clone()].into()).await.unwrap();
    assert_eq!(h.reader.get_message(&t, &a.id, 2, 1).await.unwrap().unwrap().tags, [z.clone()].into());

    assert_kind(h.writer.set_message_tags(&t, &a.id, 2, 2, &[x].into()).await, PortErrorKind::NotFound);
}

/// Every field of a message reads back as ingested; `get_message` is `None` when unknown.
pub async fn message_reads_back_exactly_as_ingested(h: &StoreHandles) {
    let t = tenant();
    let a = seed_account(h, &t, |_| {}).await;
    let m = Message {
        sender_id: Some(-100_123),
        sender_name: Some("Алиса 🌸".into()),
        text: "привет, 世界 \"quoted\"".into(),
        entities: serde_json::json!([{ "type": "bold", "offset": 0, "length": 6 }]),
        media: Some(MediaRef {
            kind: "photo".into(),
            name: Some("a.jpg".into()),
            mime: Some("image/jpeg".into()),
            size: Some(12_345),
            blob_key: None,
        }),
        reply_to: Some(41),
        edited_at: Some(at(77)),
        tags: [TagId::generate()].into(),
        ..message(&a.id, 99, 42, 50, false)
    };

    h.writer.ingest_messages(&t, std::slice::from_ref(&m)).await.unwrap();

    assert_eq!(h.reader.get_message(&t, &a.id, 99, 42).await.unwrap(), Some(m));
    assert_eq!(h.reader.get_message(&t, &a.id, 99, 43).await.unwrap(), None);
}

/// `list_messages` pages newest first below `before`, without gaps or duplicates.
pub async fn list_messages_pages_newest_first_without_gaps(h: &StoreHandles) {
    let t = tenant();
    let a = seed_account(h, &t, |_| {}).await;
    let batch: Vec<Message> = (1..=37).map(|id| message(&a.id, 6, id, id, id % 3 == 0)).collect();
    h.writer.ingest_messages(&t, &batch).await.unwrap();
    h.writer.ingest_messages(&t, &[message(&a.id, 7, 100, 1, false)]).await.unwrap();

    let mut got = Vec::new();
    let mut before = None;
    for _ in 0..MAX_PAGES {
        let page = h.reader.list_messages(&t, &a.id, 6, before, 8).await.unwrap();
        assert!(page.len() <= 8);
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        got.extend(page);
    }

    let mut want = batch;
    want.reverse();
    assert_eq!(got, want);
    let ids: Vec<i64> = h.reader.list_messages(&t, &a.id, 6, Some(4), 10).await.unwrap().iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![3, 2, 1]);
}
