//! Cases for `Replies` (the fleet's answers to waiting callers), the profile
//! part of `MessageWriter` and `MessageReader`, and deletes without a dialog.

use crate::domain::{AccountId, PeerProfile, RequestId};
use crate::ports::PortErrorKind;
use crate::testkit::fixtures::{assert_kind, at, message, seed_account, tenant};
use crate::testkit::StoreHandles;

fn profile(account: &AccountId, peer: i64, contact: bool, me: bool) -> PeerProfile {
    PeerProfile {
        account_id: account.clone(),
        peer,
        first_name: format!("User {peer}"),
        last_name: (peer % 2 == 0).then(|| "Even".to_owned()),
        username: Some(format!("user{peer}")),
        phone: None,
        is_contact: contact,
        is_self: me,
        photo_id: (peer % 3 == 0).then_some(peer * 1_000),
        synced_at: at(peer),
    }
}

/// `take_reply` returns a put reply once, then `None`.
pub async fn replies_are_taken_once(h: &StoreHandles) {
    let (t, id) = (tenant(), RequestId::generate());
    assert_eq!(h.replies.take_reply(&t, &id).await.unwrap(), None);
    h.replies.put_reply(&t, &id, b"{\"result\":\"done\"}").await.unwrap();
    assert_eq!(h.replies.take_reply(&t, &id).await.unwrap().as_deref(), Some(&b"{\"result\":\"done\"}"[..]));
    assert_eq!(h.replies.take_reply(&t, &id).await.unwrap(), None);
}

/// A reply is seen only in its tenant, and a second put replaces the first.
pub async fn replies_are_kept_per_tenant_and_replaced(h: &StoreHandles) {
    let (a, b, id) = (tenant(), tenant(), RequestId::generate());
    h.replies.put_reply(&a, &id, b"first").await.unwrap();
    h.replies.put_reply(&a, &id, b"second").await.unwrap();
    assert_eq!(h.replies.take_reply(&b, &id).await.unwrap(), None);
    assert_eq!(h.replies.take_reply(&a, &id).await.unwrap().as_deref(), Some(&b"second"[..]));
}

/// Profiles are inserted and replaced by (account, peer) and read back exactly.
pub async fn profiles_are_upserted_and_read_back(h: &StoreHandles) {
    let t = tenant();
    let account = seed_account(h, &t, |_| {}).await;
    let first = profile(&account.id, 42, false, false);
    h.writer.upsert_profiles(&t, std::slice::from_ref(&first)).await.unwrap();
    assert_eq!(h.reader.get_profile(&t, &account.id, 42).await.unwrap(), Some(first.clone()));
    let renamed = PeerProfile { first_name: "Ann".into(), is_contact: true, photo_id: Some(7), ..first };
    h.writer.upsert_profiles(&t, std::slice::from_ref(&renamed)).await.unwrap();
    assert_eq!(h.reader.get_profile(&t, &account.id, 42).await.unwrap(), Some(renamed));
    assert_eq!(h.reader.get_profile(&t, &account.id, 43).await.unwrap(), None);
    assert_eq!(h.reader.get_profile(&tenant(), &account.id, 42).await.unwrap(), None);
}

/// Storing an own profile clears the flag on the account's earlier one.
pub async fn one_self_profile_per_account(h: &StoreHandles) {
    let t = tenant();
    let account = seed_account(h, &t, |_| {}).await;
    let other = seed_account(h, &t, |_| {}).await;
    assert_eq!(h.reader.get_self_profile(&t, &account.id).await.unwrap(), None);
    h.writer
        .upsert_profiles(&t, &[profile(&account.id, 7, false, true), profile(&other.id, 9, false, true)])
        .await
        .unwrap();
    assert_eq!(h.reader.get_self_profile(&t, &account.id).await.unwrap().map(|p| p.peer), Some(7));
    h.writer.upsert_profiles(&t, &[profile(&account.id, 8, false, true)]).await.unwrap();
    assert_eq!(h.reader.get_self_profile(&t, &account.id).await.unwrap().map(|p| p.peer), Some(8));
    assert_eq!(h.reader.get_self_profile(&t, &other.id).await.unwrap().map(|p| p.peer), Some(9));
}

/// `list_contacts` returns contacts only, by peer id, paging without gaps.
pub async fn contacts_page_by_peer_without_gaps(h: &StoreHandles) {
    let t = tenant();
    let account = seed_account(h, &t, |_| {}).await;
    let profiles: Vec<PeerProfile> =
        (1..=25).map(|peer| profile(&account.id, peer * 10, peer % 5 != 0, false)).collect();
    h.writer.upsert_profiles(&t, &profiles).await.unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = h.reader.list_contacts(&t, &account.id, after, 7).await.unwrap();
        after = page.last().map(|p| p.peer);
        seen.extend(page.iter().map(|p| p.peer));
        if page.len() < 7 {
            break;
        }
    }
    let expected: Vec<i64> = profiles.iter().filter(|p| p.is_contact).map(|p| p.peer).collect();
    assert_eq!(seen, expected);
}

/// `upsert_profiles` for an unknown account is `NotFound`.
pub async fn profiles_of_an_unknown_account_are_not_found(h: &StoreHandles) {
    let t = tenant();
    assert_kind(
        h.writer.upsert_profiles(&t, &[profile(&AccountId::generate(), 1, true, false)]).await,
        PortErrorKind::NotFound,
    );
}

/// `delete_unplaced_messages` marks the ids in private chats and basic
/// groups, leaves channels and other accounts alone, and says what it marked.
pub async fn unplaced_deletes_mark_private_and_group_messages_only(h: &StoreHandles) {
    let t = tenant();
    let account = seed_account(h, &t, |_| {}).await;
    let other = seed_account(h, &t, |_| {}).await;
    let channel = -1_000_000_000_077;
    let messages = vec![
        message(&account.id, 42, 5, 0, false),
        message(&account.id, -77, 6, 1, false),
        message(&account.id, channel, 5, 2, false),
        message(&other.id, 42, 5, 3, false),
        message(&account.id, 42, 9, 4, false),
    ];
    h.writer.ingest_messages(&t, &messages).await.unwrap();
    let mut marked = h.writer.delete_unplaced_messages(&t, &account.id, &[5, 6, 1234]).await.unwrap();
    marked.sort();
    assert_eq!(marked, vec![(-77, 6), (42, 5)]);
    let deleted = |acc: AccountId, peer: i64, id: i64| {
        let h = h.clone();
        let t = t.clone();
        async move { h.reader.get_message(&t, &acc, peer, id).await.unwrap().unwrap().deleted }
    };
    assert!(deleted(account.id.clone(), 42, 5).await);
    assert!(deleted(account.id.clone(), -77, 6).await);
    assert!(!deleted(account.id.clone(), channel, 5).await);
    assert!(!deleted(other.id.clone(), 42, 5).await);
    assert!(!deleted(account.id.clone(), 42, 9).await);
}

/// History fetched later (older ids, in dialogs that already have newer
/// messages) and messages spread over several dialogs are all found by id.
pub async fn unplaced_deletes_find_history_stored_after_newer_messages(h: &StoreHandles) {
    let t = tenant();
    let account = seed_account(h, &t, |_| {}).await;
    let live = vec![
        message(&account.id, 100, 3, 0, false),
        message(&account.id, 200, 4, 1, false),
        message(&account.id, 100, 7, 2, true),
        message(&account.id, 200, 10, 3, false),
    ];
    h.writer.ingest_messages(&t, &live).await.unwrap();
    let history = vec![message(&account.id, 200, 1, -60_000, false), message(&account.id, 300, 2, -50_000, false)];
    h.writer.ingest_messages(&t, &history).await.unwrap();

    let mut marked = h.writer.delete_unplaced_messages(&t, &account.id, &[1, 2, 3, 10, 11]).await.unwrap();
    marked.sort();
    assert_eq!(marked, vec![(100, 3), (200, 1), (200, 10), (300, 2)]);
    for (peer, id, gone) in [(100, 3, true), (100, 7, false), (200, 1, true), (200, 4, false), (300, 2, true)] {
        let m = h.reader.get_message(&t, &account.id, peer, id).await.unwrap().unwrap();
        assert_eq!(m.deleted, gone, "{peer}/{id}");
    }
}
