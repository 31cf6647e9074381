//! Contract of [`ChangeFeed`] over its store: every write that changes what
//! search must show (ingest, edit, delete mark, tags, a deleted tag, a
//! deleted account) reaches the feed, in order, and a consumer that folds the
//! feed into a model ends with the store's messages. A feed may be shared by
//! every case (a DynamoDB stream is one per table), so each case folds only
//! its own tenant, and a feed that shows writes a moment later (a stream) is
//! polled for a while before a case gives up.

use super::fixtures::{assert_kind, message, seed_account, tenant};
use super::{FeedHandle, StoreHandles};
use crate::domain::{AccountId, Message, Tag, TagId, TenantId};
use crate::ports::{ChangeFeed, MessageChange, PortErrorKind};
use std::collections::BTreeMap;
use std::time::Duration;

type Model = BTreeMap<(AccountId, i64, i64), Message>;

/// How long a case waits for writes to show in the feed.
const PATIENCE: Duration = Duration::from_secs(20);

fn fold(model: &mut Model, tenant: &TenantId, changes: &[MessageChange]) {
    for change in changes {
        match change {
            MessageChange::Upsert { tenant: t, message } if t == tenant => {
                model.insert((message.account_id.clone(), message.peer, message.id), message.clone());
            }
            MessageChange::Remove { tenant: t, account, peer, id } if t == tenant => {
                model.remove(&(account.clone(), *peer, *id));
            }
            MessageChange::RemoveAccount { tenant: t, account } if t == tenant => {
                model.retain(|k, _| &k.0 != account);
            }
            _ => {}
        }
    }
}

/// Reads the feed from `after` until it is drained, folding `tenant`'s
/// changes, and returns the position reached.
async fn drain(feed: &dyn ChangeFeed, tenant: &TenantId, after: Option<String>, model: &mut Model) -> Option<String> {
    let mut position = after;
    loop {
        let batch = feed.read(position.as_deref(), 100).await.expect("read the feed");
        if batch.changes.is_empty() {
            return batch.position.or(position);
        }
        assert!(batch.oldest.is_some(), "a batch with changes says when the oldest was written");
        fold(model, tenant, &batch.changes);
        position = batch.position;
    }
}

/// Folds the feed from `after` until the model equals `expected` or
/// [`PATIENCE`] runs out; returns the position reached.
async fn fold_until(
    feed: &dyn ChangeFeed,
    tenant: &TenantId,
    after: Option<String>,
    model: &mut Model,
    expected: &[Message],
) -> Option<String> {
    let want: Model = expected.iter().map(|m| ((m.account_id.clone(), m.peer, m.id), m.clone())).collect();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut position = after;
    loop {
        position = drain(feed, tenant, position, model).await;
        if *model == want || tokio::time::Instant::now() > deadline {
            assert_eq!(*model, want, "the feed folds into the store's messages");
            return position;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn stored(h: &StoreHandles, tenant: &TenantId, keys: &[(&AccountId, i64, i64)]) -> Vec<Message> {
    let mut out = Vec::new();
    for (a, peer, id) in keys {
        out.push(h.reader.get_message(tenant, a, *peer, *id).await.unwrap().expect("stored message"));
    }
    out
}

/// Ingest, edits, delete marks and tags reach the feed as the messages now stored.
pub async fn ingest_edits_deletes_and_tags_reach_the_feed(f: &FeedHandle) {
    let (h, feed) = (&f.store, &*f.feed);
    let t = tenant();
    let acc = seed_account(h, &t, |_| {}).await;
    let start = drain(feed, &t, None, &mut Model::new()).await;
    let ms = [message(&acc.id, 5, 1, 10, false), message(&acc.id, 5, 2, 20, true)];
    h.writer.ingest_messages(&t, &ms).await.unwrap();
    let mut model = Model::new();
    let position = fold_until(feed, &t, start, &mut model, &ms).await;

    h.writer.edit_message(&t, &acc.id, 5, 1, "edited text", super::fixtures::at(30)).await.unwrap();
    h.writer.delete_messages(&t, &acc.id, 5, &[2]).await.unwrap();
    let tag = TagId::generate();
    h.writer.set_message_tags(&t, &acc.id, 5, 1, &[tag].into()).await.unwrap();
    let now = stored(h, &t, &[(&acc.id, 5, 1), (&acc.id, 5, 2)]).await;
    assert_eq!(now[0].text, "edited text");
    assert!(now[1].deleted);
    fold_until(feed, &t, position, &mut model, &now).await;
}

/// A redelivered message (a duplicate the store leaves alone) changes
/// nothing the feed's consumer ends with.
pub async fn a_redelivered_batch_leaves_the_folded_model_unchanged(f: &FeedHandle) {
    let (h, feed) = (&f.store, &*f.feed);
    let t = tenant();
    let acc = seed_account(h, &t, |_| {}).await;
    let start = drain(feed, &t, None, &mut Model::new()).await;
    let ms = [message(&acc.id, 5, 1, 10, false)];
    h.writer.ingest_messages(&t, &ms).await.unwrap();
    h.writer.edit_message(&t, &acc.id, 5, 1, "edited", super::fixtures::at(30)).await.unwrap();
    h.writer.ingest_messages(&t, &ms).await.unwrap();
    let now = stored(h, &t, &[(&acc.id, 5, 1)]).await;
    fold_until(feed, &t, start, &mut Model::new(), &now).await;
}

/// Deleting a tag takes it off the messages the feed reports.
pub async fn a_deleted_tag_leaves_the_messages_in_the_feed(f: &FeedHandle) {
    let (h, feed) = (&f.store, &*f.feed);
    let t = tenant();
    let acc = seed_account(h, &t, |_| {}).await;
    let tag = Tag { id: TagId::generate(), name: "vip".into(), color: None, created_at: super::fixtures::at(0) };
    h.directory.put_tag(&t, &tag).await.unwrap();
    let start = drain(feed, &t, None, &mut Model::new()).await;
    let tagged = Message { tags: [tag.id.clone()].into(), ..message(&acc.id, 5, 1, 10, false) };
    h.writer.ingest_messages(&t, std::slice::from_ref(&tagged)).await.unwrap();
    let mut model = Model::new();
    let position = fold_until(feed, &t, start, &mut model, &[tagged]).await;
    h.directory.delete_tag(&t, &tag.id).await.unwrap();
    let now = stored(h, &t, &[(&acc.id, 5, 1)]).await;
    assert!(now[0].tags.is_empty());
    fold_until(feed, &t, position, &mut model, &now).await;
}

/// Deleting an account removes its messages from what the feed folds into.
pub async fn a_deleted_account_takes_its_messages_out(f: &FeedHandle) {
    let (h, feed) = (&f.store, &*f.feed);
    let t = tenant();
    let (gone, kept) = (seed_account(h, &t, |_| {}).await, seed_account(h, &t, |_| {}).await);
    let start = drain(feed, &t, None, &mut Model::new()).await;
    let ms =
        [message(&gone.id, 5, 1, 10, false), message(&gone.id, 6, 2, 20, false), message(&kept.id, 5, 1, 30, false)];
    h.writer.ingest_messages(&t, &ms).await.unwrap();
    let mut model = Model::new();
    let position = fold_until(feed, &t, start, &mut model, &ms).await;
    h.directory.delete_account(&t, &gone.id).await.unwrap();
    fold_until(feed, &t, position, &mut model, &ms[2..]).await;
}

/// Reading after a position returns only what came later; trimming what a
/// consumer committed keeps later changes readable.
pub async fn reading_after_a_position_resumes_there_and_trim_keeps_the_rest(f: &FeedHandle) {
    let (h, feed) = (&f.store, &*f.feed);
    let t = tenant();
    let acc = seed_account(h, &t, |_| {}).await;
    let start = drain(feed, &t, None, &mut Model::new()).await;
    let first = message(&acc.id, 5, 1, 10, false);
    h.writer.ingest_messages(&t, std::slice::from_ref(&first)).await.unwrap();
    let position = fold_until(feed, &t, start, &mut Model::new(), std::slice::from_ref(&first)).await;
    let position = position.expect("a feed that gave changes has a position");
    feed.trim(&position).await.expect("trim");
    let second = message(&acc.id, 5, 2, 20, false);
    h.writer.ingest_messages(&t, std::slice::from_ref(&second)).await.unwrap();
    fold_until(feed, &t, Some(position), &mut Model::new(), &[second]).await;
}

/// A position this feed never gave is `Invalid`.
pub async fn a_forged_position_is_invalid(f: &FeedHandle) {
    assert_kind(f.feed.read(Some("not a position"), 10).await, PortErrorKind::Invalid);
}

/// Expands to one `#[tokio::test]` per feed contract case; `$make` returns
/// a future of [`FeedHandle`](crate::testkit::FeedHandle).
#[macro_export]
macro_rules! feed_contract_suite {
    ($make:expr) => {
        $crate::feed_contract_suite!(@cases $make;
            ingest_edits_deletes_and_tags_reach_the_feed,
            a_redelivered_batch_leaves_the_folded_model_unchanged,
            a_deleted_tag_leaves_the_messages_in_the_feed,
            a_deleted_account_takes_its_messages_out,
            reading_after_a_position_resumes_there_and_trim_keeps_the_rest,
            a_forged_position_is_invalid,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let handle: $crate::testkit::FeedHandle = ($make)().await;
                $crate::testkit::feed_suite::$case(&handle).await;
            }
        )+
    };
}
