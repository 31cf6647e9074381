//! Contract of [`Archive`]: what an archived dialog reads back, page by page
//! across months; that writes are idempotent merges; that changes made after
//! archiving (edits, delete marks, tags) show and survive a rewrite; and
//! per-tenant usage. Each case works in its own tenant.

use super::fixtures::{assert_kind, at, message, tenant, MAX_PAGES};
use crate::domain::{AccountId, Message, TagId, TenantId};
use crate::ports::{Archive, ArchiveChange, ArchiveUsage, ArchiveWrite, PortErrorKind, MAX_ARCHIVE_BATCH};
use std::collections::BTreeSet;

/// Returns message `id` of dialog (`account`, `peer`) sent `day` days after 2026-01-01.
fn on_day(account: &AccountId, peer: i64, id: i64, day: i64) -> Message {
    message(account, peer, id, day * 86_400_000, id % 2 == 0)
}

/// Returns messages 1..=n of one dialog, one every `every_ms`, ids in date order.
fn history(account: &AccountId, peer: i64, n: i64, every_ms: i64) -> Vec<Message> {
    (1..=n).map(|id| message(account, peer, id, id * every_ms, false)).collect()
}

async fn write_all(archive: &dyn Archive, tenant: &TenantId, messages: &[Message]) {
    for chunk in messages.chunks(MAX_ARCHIVE_BATCH) {
        archive.write(tenant, chunk).await.expect("write");
    }
}

/// Pages through a dialog's archive; returns every id, newest first.
async fn all_ids(archive: &dyn Archive, tenant: &TenantId, account: &AccountId, peer: i64, page: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut before = None;
    for _ in 0..MAX_PAGES {
        let got = archive.list(tenant, account, peer, before, page).await.expect("list");
        ids.extend(got.iter().map(|m| m.id));
        if got.len() < page {
            return ids;
        }
        before = got.last().map(|m| m.id);
    }
    panic!("paging never ended: {} ids", ids.len());
}

/// Messages of three months read back newest first, exactly as written.
pub async fn written_messages_read_back_newest_first_across_months(archive: &dyn Archive) {
    let (t, a) = (tenant(), AccountId::generate());
    let written: Vec<Message> = [(1, 5), (2, 20), (3, 40), (4, 70), (5, 71)].map(|(id, d)| on_day(&a, 9, id, d)).into();
    for month in [&written[0..2], &written[2..3], &written[3..5]] {
        archive.write(&t, month).await.expect("write");
    }

    let page = archive.list(&t, &a, 9, None, 10).await.unwrap();

    let mut expected = written.clone();
    expected.reverse();
    assert_eq!(page, expected);
    assert_eq!(archive.list(&t, &a, 9, Some(4), 2).await.unwrap(), &expected[2..4]);
}

/// Writing the same messages again (a replay after a crash) leaves one copy.
pub async fn writing_the_same_messages_again_leaves_one_copy(archive: &dyn Archive) {
    let (t, a) = (tenant(), AccountId::generate());
    let batch = history(&a, 3, 20, 60_000);

    let first = archive.write(&t, &batch).await.unwrap();
    let again = archive.write(&t, &batch).await.unwrap();
    let overlap = archive.write(&t, &batch[10..]).await.unwrap();

    assert_eq!(first, ArchiveWrite { added: 20, replaced: 0 });
    assert_eq!((again, overlap.replaced), (ArchiveWrite { added: 0, replaced: 20 }, 10));
    assert_eq!(all_ids(archive, &t, &a, 3, 7).await, (1..=20).rev().collect::<Vec<_>>());
}

/// A write merges with what the archive holds: new ids join, known ids take the version given.
pub async fn a_write_merges_new_messages_and_replaces_known_ones(archive: &dyn Archive) {
    let (t, a) = (tenant(), AccountId::generate());
    let early = history(&a, 3, 10, 1_000);
    archive.write(&t, &early[..6]).await.unwrap();
    let mut newer = early[2].clone();
    newer.text = "edited before archiving".into();
    newer.edited_at = Some(at(99_000));

    let mut second = early[6..].to_vec();
    second.push(newer.clone());
    let outcome = archive.write(&t, &second).await.unwrap();

    assert_eq!(outcome, ArchiveWrite { added: 4, replaced: 1 });
    assert_eq!(archive.get(&t, &a, 3, 3).await.unwrap(), Some(newer));
    assert_eq!(all_ids(archive, &t, &a, 3, 4).await, (1..=10).rev().collect::<Vec<_>>());
}

/// A busy month (more than one part holds) pages without gaps or duplicates.
pub async fn a_busy_dialog_pages_without_gaps_or_duplicates(archive: &dyn Archive) {
    let (t, a) = (tenant(), AccountId::generate());
    // 4,500 messages a minute apart: January and most of February, several parts each.
    let written = history(&a, -1_007_700, 4_500, 60_000);
    write_all(archive, &t, &written[2_000..]).await;
    write_all(archive, &t, &written[..2_000]).await;

    let ids = all_ids(archive, &t, &a, -1_007_700, 333).await;

    assert_eq!(ids, (1..=4_500).rev().collect::<Vec<_>>());
    let usage = archive.usage(&t).await.unwrap();
    assert_eq!(usage.messages, 4_500);
    assert!(usage.objects >= 3, "a busy month splits into parts: {usage:?}");
}

/// A dialog never archived has an empty history, and a missing message reads as `None`.
pub async fn an_unknown_dialog_or_message_reads_empty(archive: &dyn Archive) {
    let (t, a) = (tenant(), AccountId::generate());
    archive.write(&t, &history(&a, 1, 3, 1_000)).await.unwrap();

    assert!(archive.list(&t, &a, 2, None, 10).await.unwrap().is_empty());
    assert!(archive.list(&t, &a, 1, Some(1), 10).await.unwrap().is_empty());
    assert_eq!(archive.get(&t, &a, 1, 4).await.unwrap(), None);
    assert_eq!(archive.get(&t, &a, 2, 1).await.unwrap(), None);
    assert_eq!(archive.get(&t, &a, 1, 2).await.unwrap().map(|m| m.id), Some(2));
}

/// A batch of several dialogs, an empty one or an oversized one is refused whole.
pub async fn batches_of_several_dialogs_none_or_too_many_are_invalid(archive: &dyn Archive) {
    let (t, a) = (tenant(), AccountId::generate());
    let mixed = vec![on_day(&a, 1, 1, 1), on_day(&a, 2, 2, 1)];
    let other_account = vec![on_day(&a, 1, 1, 1), on_day(&AccountId::generate(), 1, 2, 1)];
    let too_many = history(&a, 1, MAX_ARCHIVE_BATCH as i64 + 1, 1);

    assert_kind(archive.write(&t, &mixed).await, PortErrorKind::Invalid);
    assert_kind(archive.write(&t, &other_account).await, PortErrorKind::Invalid);
    assert_kind(archive.write(&t, &[]).await, PortErrorKind::Invalid);
    assert_kind(archive.write(&t, &too_many).await, PortErrorKind::Invalid);
    assert!(archive.list(&t, &a, 1, None, 10).await.unwrap().is_empty());
    assert_eq!(archive.usage(&t).await.unwrap().messages, 0);
}

/// Edits, delete marks and tags applied after archiving show in pages and in single reads.
pub async fn changes_after_archiving_show_in_every_read(archive: &dyn Archive) {
    let (t, a) = (tenant(), AccountId::generate());
    archive.write(&t, &history(&a, 5, 6, 1_000)).await.unwrap();
    let tags: BTreeSet<TagId> = [TagId::generate()].into();

    let edited = archive
        .apply(&t, &a, 5, &ArchiveChange::Edit { id: 2, text: "new text".into(), edited_at: at(50_000) })
        .await
        .unwrap();
    let deleted = archive.apply(&t, &a, 5, &ArchiveChange::Delete { ids: vec![3, 4, 404] }).await.unwrap();
    let tagged = archive.apply(&t, &a, 5, &ArchiveChange::Tags { id: 6, tags: tags.clone() }).await.unwrap();
    let ids = |changed: &[Message]| changed.iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(
        (ids(&edited), ids(&deleted), ids(&tagged)),
        (vec![2], vec![3, 4], vec![6]),
        "each returns what it held"
    );
    assert_eq!(edited[0].text, "new text", "as reads now show it");
    assert!(deleted.iter().all(|m| m.deleted) && tagged[0].tags == tags);

    let page = archive.list(&t, &a, 5, None, 10).await.unwrap();
    let by_id = |id: i64| page.iter().find(|m| m.id == id).cloned().expect("listed");
    assert_eq!((by_id(2).text.as_str(), by_id(2).edited_at), ("new text", Some(at(50_000))));
    assert_eq!((by_id(3).deleted, by_id(4).deleted, by_id(5).deleted), (true, true, false));
    assert_eq!(by_id(3).text, "message 3", "a deleted message keeps its text");
    assert_eq!(by_id(6).tags, tags);
    assert_eq!(archive.get(&t, &a, 5, 2).await.unwrap(), Some(by_id(2)));
    assert_eq!(page.len(), 6, "an unknown id in a delete adds nothing");
}

/// Rewriting archived messages (a replay) keeps the changes applied since.
pub async fn changes_survive_a_rewrite_of_the_message(archive: &dyn Archive) {
    let (t, a) = (tenant(), AccountId::generate());
    let batch = history(&a, 5, 3, 1_000);
    archive.write(&t, &batch).await.unwrap();
    let tags: BTreeSet<TagId> = [TagId::generate()].into();
    archive.apply(&t, &a, 5, &ArchiveChange::Tags { id: 1, tags: tags.clone() }).await.unwrap();
    archive.apply(&t, &a, 5, &ArchiveChange::Delete { ids: vec![2] }).await.unwrap();
    archive.apply(&t, &a, 5, &ArchiveChange::Edit { id: 3, text: "later".into(), edited_at: at(9_000) }).await.unwrap();

    archive.write(&t, &batch).await.unwrap();

    let got = archive.list(&t, &a, 5, None, 10).await.unwrap();
    assert_eq!((got[2].tags.clone(), got[1].deleted, got[0].text.as_str()), (tags, true, "later"));
}

/// An edit older than the one the archive shows does not replace it.
pub async fn an_older_edit_does_not_replace_a_newer_one(archive: &dyn Archive) {
    let (t, a) = (tenant(), AccountId::generate());
    archive.write(&t, &history(&a, 5, 1, 1_000)).await.unwrap();
    let edit = |text: &str, ms| ArchiveChange::Edit { id: 1, text: text.into(), edited_at: at(ms) };

    archive.apply(&t, &a, 5, &edit("second", 20_000)).await.unwrap();
    archive.apply(&t, &a, 5, &edit("first", 10_000)).await.unwrap();

    assert_eq!(archive.get(&t, &a, 5, 1).await.unwrap().unwrap().text, "second");
}

/// An edit or a tag change of a message the archive does not hold is `NotFound`.
pub async fn changing_an_unknown_message_is_not_found(archive: &dyn Archive) {
    let (t, a) = (tenant(), AccountId::generate());
    archive.write(&t, &history(&a, 5, 2, 1_000)).await.unwrap();

    let edit = ArchiveChange::Edit { id: 3, text: "x".into(), edited_at: at(1) };
    assert_kind(archive.apply(&t, &a, 5, &edit).await, PortErrorKind::NotFound);
    let tags = ArchiveChange::Tags { id: 1, tags: BTreeSet::new() };
    assert_kind(archive.apply(&t, &a, 6, &tags).await, PortErrorKind::NotFound);
    archive.apply(&t, &a, 6, &ArchiveChange::Delete { ids: vec![1] }).await.expect("deletes ignore unknown ids");
}

/// Usage counts a tenant's messages, objects and bytes, and nobody else's.
pub async fn usage_counts_the_tenants_messages_objects_and_bytes(archive: &dyn Archive) {
    let (t, other, a) = (tenant(), tenant(), AccountId::generate());
    archive.write(&t, &[on_day(&a, 1, 1, 1), on_day(&a, 1, 2, 40)]).await.unwrap();
    archive.write(&t, &[on_day(&a, 2, 1, 1)]).await.unwrap();
    archive.write(&t, &[on_day(&a, 2, 1, 1)]).await.unwrap();

    let usage = archive.usage(&t).await.unwrap();

    assert_eq!((usage.messages, usage.objects), (3, 3));
    assert!(usage.bytes > 0);
    assert_eq!(archive.usage(&other).await.unwrap(), Default::default());
}

/// One tenant never reads another's archive, with the same account and peer.
/// Retention: purging before a month deletes the tenant's earlier months in
/// every dialog, with their usage, and nothing later or of another tenant;
/// a second run finds nothing; a month written again after its purge goes
/// at the next one; a malformed month is `Invalid`.
pub async fn purging_before_a_month_deletes_the_earlier_months_only(archive: &dyn Archive) {
    let (t, other, a, b) = (tenant(), tenant(), AccountId::generate(), AccountId::generate());
    let of_a: Vec<Message> = [(1, 5), (2, 20), (3, 40), (4, 70)].map(|(id, d)| on_day(&a, 9, id, d)).into();
    let of_b = vec![on_day(&b, -5, 1, 10), on_day(&b, -5, 2, 11)];
    for batch in [&of_a[0..2], &of_a[2..3], &of_a[3..4], &of_b[..]] {
        archive.write(&t, batch).await.expect("write");
    }
    archive.write(&other, &of_b).await.expect("write");
    let before = archive.usage(&t).await.unwrap();

    let purged = archive.purge_before(&t, "2026-03").await.unwrap();

    assert_eq!(purged.messages, 5, "January and February of both dialogs");
    assert_eq!(all_ids(archive, &t, &a, 9, 10).await, vec![4]);
    assert!(all_ids(archive, &t, &b, -5, 10).await.is_empty());
    assert_eq!(all_ids(archive, &other, &b, -5, 10).await, vec![2, 1], "another tenant keeps its months");
    let after = archive.usage(&t).await.unwrap();
    let left = ArchiveUsage {
        messages: before.messages - purged.messages,
        objects: before.objects - purged.objects,
        bytes: before.bytes - purged.bytes,
    };
    assert_eq!((after, after_one(&purged)), (left, true));
    assert_eq!(archive.purge_before(&t, "2026-03").await.unwrap(), ArchiveUsage::default());

    archive.write(&t, &of_a[0..1]).await.expect("write");
    assert_eq!(archive.purge_before(&t, "2026-03").await.unwrap().messages, 1);
    assert_eq!(all_ids(archive, &t, &a, 9, 10).await, vec![4]);
    for bad in ["2026-13", "2026-3", "26-03", "", "2026-03-01", "+026-03"] {
        assert_kind(archive.purge_before(&t, bad).await, PortErrorKind::Invalid);
    }
}

/// True when a purge report counts objects and bytes for what it removed.
fn after_one(purged: &ArchiveUsage) -> bool {
    purged.objects >= 3 && purged.bytes > 0
}

pub async fn tenant_b_sees_nothing_of_tenant_a(archive: &dyn Archive) {
    let (ta, tb, a) = (tenant(), tenant(), AccountId::generate());
    archive.write(&ta, &history(&a, 1, 3, 1_000)).await.unwrap();

    assert!(archive.list(&tb, &a, 1, None, 10).await.unwrap().is_empty());
    assert_eq!(archive.get(&tb, &a, 1, 1).await.unwrap(), None);
    let tags = ArchiveChange::Tags { id: 1, tags: BTreeSet::new() };
    assert_kind(archive.apply(&tb, &a, 1, &tags).await, PortErrorKind::NotFound);
}

/// Writes of one dialog racing each other all land.
pub async fn concurrent_writes_of_one_dialog_keep_every_message(archive: &dyn Archive) {
    let (t, a) = (tenant(), AccountId::generate());
    let written = history(&a, 8, 400, 1_000);

    let writes = written.chunks(50).map(|chunk| archive.write(&t, chunk));
    for result in futures::future::join_all(writes).await {
        result.expect("write");
    }

    assert_eq!(all_ids(archive, &t, &a, 8, 100).await, (1..=400).rev().collect::<Vec<_>>());
    assert_eq!(archive.usage(&t).await.unwrap().messages, 400);
}

/// Expands to one `#[tokio::test]` per archive contract case. `$make` is a
/// function or closure returning a future of
/// [`ArchiveHandle`](crate::testkit::ArchiveHandle); it runs once per case.
#[macro_export]
macro_rules! archive_contract_suite {
    ($make:expr) => {
        $crate::archive_contract_suite!(@cases $make;
            written_messages_read_back_newest_first_across_months,
            writing_the_same_messages_again_leaves_one_copy,
            a_write_merges_new_messages_and_replaces_known_ones,
            a_busy_dialog_pages_without_gaps_or_duplicates,
            an_unknown_dialog_or_message_reads_empty,
            batches_of_several_dialogs_none_or_too_many_are_invalid,
            changes_after_archiving_show_in_every_read,
            changes_survive_a_rewrite_of_the_message,
            an_older_edit_does_not_replace_a_newer_one,
            changing_an_unknown_message_is_not_found,
            usage_counts_the_tenants_messages_objects_and_bytes,
            purging_before_a_month_deletes_the_earlier_months_only,
            tenant_b_sees_nothing_of_tenant_a,
            concurrent_writes_of_one_dialog_keep_every_message,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let handle: $crate::testkit::ArchiveHandle = ($make)().await;
                $crate::testkit::archive_suite::$case(&*handle.port).await;
            }
        )+
    };
}
