//! Accounts: put, read, phone uniqueness, tag and group sets, deletion.

use crate::domain::{Account, AccountId, AccountStatus, GroupId, Phone, TagId, UserId};
use crate::ports::{AccountPut, AccountQuery, DialogFilter, DialogScope, Pin, PinTarget, PortErrorKind};
use crate::testkit::fixtures::{account, assert_kind, at, message, phone, seed_account, tenant};
use crate::testkit::StoreHandles;
use std::collections::BTreeSet;

pub(super) fn ids(accounts: &[Account]) -> Vec<AccountId> {
    let mut v: Vec<_> = accounts.iter().map(|a| a.id.clone()).collect();
    v.sort();
    v
}

pub(super) fn sorted(mut v: Vec<AccountId>) -> Vec<AccountId> {
    v.sort();
    v
}

/// `put_accounts` inserts, then replaces by id (but for the session, which an
/// existing account keeps); `get_account` reads it back or `None`.
pub async fn put_accounts_inserts_and_replaces_by_id(h: &StoreHandles) {
    let t = tenant();
    let mut a = account(&t);
    a.display_name = Some("Sales 1".into());
    a.session = Some(vec![1, 2, 3]);
    h.directory.put_accounts(&t, std::slice::from_ref(&a)).await.unwrap();
    assert_eq!(h.directory.get_account(&t, &a.id).await.unwrap(), Some(a.clone()));

    a.phone = phone();
    a.display_name = None;
    a.status = AccountStatus::Online;
    a.owner_id = Some(UserId::generate());
    a.team_id = Some(UserId::generate());
    a.session = None;
    a.updated_at = at(99);
    h.directory.put_accounts(&t, std::slice::from_ref(&a)).await.unwrap();

    let kept = Account { session: Some(vec![1, 2, 3]), ..a.clone() };
    assert_eq!(h.directory.get_account(&t, &a.id).await.unwrap(), Some(kept));
    assert_eq!(h.directory.get_account(&t, &AccountId::generate()).await.unwrap(), None);
}

/// `get_accounts` returns the accounts among the ids that exist.
pub async fn get_accounts_returns_only_existing_ones(h: &StoreHandles) {
    let t = tenant();
    let a = seed_account(h, &t, |_| {}).await;
    let b = seed_account(h, &t, |_| {}).await;
    seed_account(h, &t, |_| {}).await;

    let got = h.directory.get_accounts(&t, &[a.id.clone(), AccountId::generate(), b.id.clone()]).await.unwrap();

    assert_eq!(ids(&got), sorted(vec![a.id.clone(), b.id.clone()]));
    assert!(got.contains(&a) && got.contains(&b));
    assert!(h.directory.get_accounts(&t, &[]).await.unwrap().is_empty());
}

/// `get_account_heads` returns the heads of the accounts among the ids that
/// exist, as `get_accounts` has them, whatever their owner and name.
pub async fn get_account_heads_match_the_accounts(h: &StoreHandles) {
    let t = tenant();
    let owned = seed_account(h, &t, |a| {
        a.owner_id = Some(UserId::generate());
        a.team_id = Some(UserId::generate());
        a.display_name = Some("Support 1".into());
    })
    .await;
    let bare = seed_account(h, &t, |a| {
        a.owner_id = None;
        a.team_id = None;
        a.display_name = None;
    })
    .await;
    seed_account(h, &t, |_| {}).await;

    let ids = [owned.id.clone(), AccountId::generate(), bare.id.clone(), owned.id.clone()];
    let mut heads = h.directory.get_account_heads(&t, &ids).await.unwrap();
    heads.sort_by(|x, y| x.id.cmp(&y.id));
    let mut want = vec![owned.head(), bare.head()];
    want.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(heads, want);
    assert_eq!(bare.head().label(), bare.phone.to_string());
    assert!(h.directory.get_account_heads(&t, &[]).await.unwrap().is_empty());
    assert!(h.directory.get_account_heads(&tenant(), std::slice::from_ref(&owned.id)).await.unwrap().is_empty());
}

/// `put_accounts` refuses each record whose phone another account held when
/// the call began (or an earlier record of the batch takes), says so in its
/// answer, and stores the rest.
pub async fn put_accounts_refuses_each_record_whose_phone_is_taken_and_stores_the_rest(h: &StoreHandles) {
    let t = tenant();
    let first = seed_account(h, &t, |_| {}).await;
    let fresh = account(&t);
    let mut clash = account(&t);
    clash.phone = first.phone.clone();
    let mut first_renamed = first.clone();
    first_renamed.display_name = Some("changed".into());

    let outcomes = h.directory.put_accounts(&t, &[first_renamed.clone(), clash.clone(), fresh.clone()]).await.unwrap();

    assert_eq!(outcomes, vec![AccountPut::Stored, AccountPut::PhoneTaken, AccountPut::Stored]);
    assert_eq!(h.directory.get_account(&t, &first.id).await.unwrap(), Some(first_renamed));
    assert_eq!(h.directory.get_account(&t, &fresh.id).await.unwrap(), Some(fresh.clone()));
    assert_eq!(h.directory.get_account(&t, &clash.id).await.unwrap(), None);
    // Two new accounts of one batch sharing a phone: the first one has it.
    let (mut one, mut two) = (account(&t), account(&t));
    two.phone = one.phone.clone();
    let outcomes = h.directory.put_accounts(&t, &[one.clone(), two.clone()]).await.unwrap();
    assert_eq!(outcomes, vec![AccountPut::Stored, AccountPut::PhoneTaken]);
    assert_eq!(h.directory.get_account(&t, &two.id).await.unwrap(), None);
    // A phone its account leaves in a batch is still its own for the rest of
    // that batch; once the account moved, another may take it.
    one.phone = phone();
    let outcomes = h.directory.put_accounts(&t, &[one.clone(), two.clone()]).await.unwrap();
    assert_eq!(outcomes, vec![AccountPut::Stored, AccountPut::PhoneTaken]);
    assert_eq!(h.directory.put_accounts(&t, std::slice::from_ref(&two)).await.unwrap(), vec![AccountPut::Stored]);
    assert_eq!(h.directory.get_account(&t, &two.id).await.unwrap(), Some(two));
    assert!(h.directory.put_accounts(&t, &[]).await.unwrap().is_empty());
}

/// Tags and groups are replaced by the record's sets.
pub async fn put_accounts_replaces_tags_and_groups_with_the_records_sets(h: &StoreHandles) {
    let t = tenant();
    let (t1, t2, t3) = (TagId::generate(), TagId::generate(), TagId::generate());
    let (g1, g2) = (GroupId::generate(), GroupId::generate());
    let mut a = seed_account(h, &t, |a| {
        a.tags = [t1.clone(), t2.clone()].into();
        a.groups = [g1.clone()].into();
    })
    .await;
    assert_eq!(h.directory.get_account(&t, &a.id).await.unwrap(), Some(a.clone()));

    a.tags = [t2.clone(), t3.clone()].into();
    a.groups = [g2.clone()].into();
    h.directory.put_accounts(&t, std::slice::from_ref(&a)).await.unwrap();

    assert_eq!(h.directory.get_account(&t, &a.id).await.unwrap(), Some(a.clone()));
    let by_tag = |tag: &TagId| AccountQuery { tag: Some(tag.clone()), ..AccountQuery::scoped(DialogScope::Tenant, 10) };
    let by_group =
        |g: &GroupId| AccountQuery { group: Some(g.clone()), ..AccountQuery::scoped(DialogScope::Tenant, 10) };
    assert!(h.directory.list_accounts(&t, &by_tag(&t1)).await.unwrap().is_empty());
    assert_eq!(ids(&h.directory.list_accounts(&t, &by_tag(&t3)).await.unwrap()), vec![a.id.clone()]);
    assert!(h.directory.list_accounts(&t, &by_group(&g1)).await.unwrap().is_empty());
    assert_eq!(ids(&h.directory.list_accounts(&t, &by_group(&g2)).await.unwrap()), vec![a.id.clone()]);

    a.tags = BTreeSet::new();
    a.groups = BTreeSet::new();
    h.directory.put_accounts(&t, std::slice::from_ref(&a)).await.unwrap();
    assert_eq!(h.directory.get_account(&t, &a.id).await.unwrap(), Some(a.clone()));
}

/// `find_accounts_by_phone` returns the accounts with one of the phones, even for long lists.
pub async fn find_accounts_by_phone_returns_only_known_phones(h: &StoreHandles) {
    let t = tenant();
    let stored: Vec<Account> = (0..1_200).map(|_| account(&t)).collect();
    h.directory.put_accounts(&t, &stored).await.unwrap();
    let mut asked: Vec<Phone> = stored.iter().step_by(2).map(|a| a.phone.clone()).collect();
    asked.extend((0..300).map(|_| phone()).filter(|p| stored.iter().all(|a| &a.phone != p)));

    let found = h.directory.find_accounts_by_phone(&t, &asked).await.unwrap();

    let want: Vec<AccountId> = stored.iter().step_by(2).map(|a| a.id.clone()).collect();
    assert_eq!(ids(&found), sorted(want));
    assert!(found.iter().all(|a| stored.contains(a)));
}

/// `delete_account` removes it with its dialogs, messages and pins; `NotFound` when unknown.
pub async fn delete_account_removes_its_dialogs_messages_and_pins(h: &StoreHandles) {
    let t = tenant();
    let a = seed_account(h, &t, |_| {}).await;
    let kept = seed_account(h, &t, |_| {}).await;
    let user = UserId::generate();
    h.writer.ingest_messages(&t, &[message(&a.id, 7, 1, 10, false), message(&kept.id, 7, 1, 10, false)]).await.unwrap();
    for target in
        [PinTarget::Account(a.id.clone()), PinTarget::Dialog(a.id.clone(), 7), PinTarget::Account(kept.id.clone())]
    {
        h.directory.set_pin(&t, &Pin { user_id: user.clone(), target, pinned_at: at(1) }).await.unwrap();
    }

    h.directory.delete_account(&t, &a.id).await.unwrap();

    assert_eq!(h.directory.get_account(&t, &a.id).await.unwrap(), None);
    assert!(h.reader.get_dialogs(&t, &[(a.id.clone(), 7)]).await.unwrap().is_empty());
    assert!(h
        .reader
        .list_dialogs(&t, &DialogScope::Account(a.id.clone()), &DialogFilter::default(), None, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(h.reader.get_message(&t, &a.id, 7, 1).await.unwrap(), None);
    assert!(h.reader.list_messages(&t, &a.id, 7, None, 10).await.unwrap().is_empty());
    let pins = h.directory.list_pins(&t, &user).await.unwrap();
    assert_eq!(pins.into_iter().map(|p| p.target).collect::<Vec<_>>(), vec![PinTarget::Account(kept.id.clone())]);
    assert!(h.reader.get_message(&t, &kept.id, 7, 1).await.unwrap().is_some());
    assert_kind(h.directory.delete_account(&t, &a.id).await, PortErrorKind::NotFound);
}
