//! Groups, tags and pins.

use crate::domain::{Group, GroupId, Message, Tag, TagId, UserId};
use crate::ports::{AccountQuery, DialogScope, Pin, PinTarget, PortErrorKind};
use crate::testkit::fixtures::{assert_kind, at, message, seed_account, tenant};
use crate::testkit::StoreHandles;

fn group(owner: &UserId, name: &str) -> Group {
    Group { id: GroupId::generate(), owner_id: owner.clone(), name: name.into(), created_at: at(0) }
}

fn tag(name: &str) -> Tag {
    Tag { id: TagId::generate(), name: name.into(), color: Some("#ff0000".into()), created_at: at(0) }
}

/// `put_group` inserts or replaces; `get_group` reads it or `None`;
/// `list_groups` lists one owner's or the tenant's groups by name.
pub async fn group_is_put_read_and_listed_by_name(h: &StoreHandles) {
    let t = tenant();
    let (alice, bob) = (UserId::generate(), UserId::generate());
    let mut g = group(&alice, "zeta");
    let a2 = group(&alice, "alpha");
    let b1 = group(&bob, "mid");
    for x in [&g, &a2, &b1] {
        h.directory.put_group(&t, x).await.unwrap();
    }
    g.name = "beta".into();
    h.directory.put_group(&t, &g).await.unwrap();

    assert_eq!(h.directory.get_group(&t, &g.id).await.unwrap(), Some(g.clone()));
    assert_eq!(h.directory.get_group(&t, &GroupId::generate()).await.unwrap(), None);
    assert_eq!(h.directory.list_groups(&t, Some(&alice)).await.unwrap(), vec![a2.clone(), g.clone()]);
    assert_eq!(h.directory.list_groups(&t, None).await.unwrap(), vec![a2, g, b1]);
}

/// `put_group` is `Conflict` when its owner has another group of that name, compared without ASCII case.
pub async fn group_name_taken_by_the_same_owner_conflicts(h: &StoreHandles) {
    let t = tenant();
    let (alice, bob) = (UserId::generate(), UserId::generate());
    h.directory.put_group(&t, &group(&alice, "vip")).await.unwrap();
    assert_kind(h.directory.put_group(&t, &group(&alice, "VIP")).await, PortErrorKind::Conflict);

    let again = group(&alice, "vip");
    assert_kind(h.directory.put_group(&t, &again).await, PortErrorKind::Conflict);
    assert_eq!(h.directory.get_group(&t, &again.id).await.unwrap(), None);
    h.directory.put_group(&t, &group(&bob, "vip")).await.unwrap();
}

/// `delete_group` takes every account out of it; `NotFound` when unknown.
pub async fn delete_group_takes_accounts_out_of_it(h: &StoreHandles) {
    let t = tenant();
    let owner = UserId::generate();
    let (g, kept) = (group(&owner, "a"), group(&owner, "b"));
    h.directory.put_group(&t, &g).await.unwrap();
    h.directory.put_group(&t, &kept).await.unwrap();
    let acc = seed_account(h, &t, |a| a.groups = [g.id.clone(), kept.id.clone()].into()).await;

    h.directory.delete_group(&t, &g.id).await.unwrap();

    assert_eq!(h.directory.get_group(&t, &g.id).await.unwrap(), None);
    assert_eq!(h.directory.get_account(&t, &acc.id).await.unwrap().unwrap().groups, [kept.id.clone()].into());
    let q = AccountQuery { group: Some(g.id.clone()), ..AccountQuery::scoped(DialogScope::Tenant, 10) };
    assert!(h.directory.list_accounts(&t, &q).await.unwrap().is_empty());
    assert_kind(h.directory.delete_group(&t, &g.id).await, PortErrorKind::NotFound);
}

/// `put_tag` inserts or replaces; `list_tags` lists every tag by name.
pub async fn tag_is_put_and_listed_by_name(h: &StoreHandles) {
    let t = tenant();
    let mut b = tag("beta");
    let a = tag("alpha");
    h.directory.put_tag(&t, &b).await.unwrap();
    h.directory.put_tag(&t, &a).await.unwrap();
    b.name = "gamma".into();
    b.color = None;
    h.directory.put_tag(&t, &b).await.unwrap();

    assert_eq!(h.directory.list_tags(&t).await.unwrap(), vec![a, b]);
}

/// `put_tag` is `Conflict` when another tag has its name, compared without ASCII case.
pub async fn tag_with_a_taken_name_conflicts(h: &StoreHandles) {
    let t = tenant();
    let first = tag("urgent");
    h.directory.put_tag(&t, &first).await.unwrap();

    assert_kind(h.directory.put_tag(&t, &tag("urgent")).await, PortErrorKind::Conflict);
    assert_kind(h.directory.put_tag(&t, &tag("URGENT")).await, PortErrorKind::Conflict);
    assert_eq!(h.directory.list_tags(&t).await.unwrap(), vec![first]);
}

/// `delete_tag` removes it from accounts and messages; `NotFound` when unknown.
pub async fn delete_tag_removes_it_from_accounts_and_messages(h: &StoreHandles) {
    let t = tenant();
    let (gone, kept) = (tag("gone"), tag("kept"));
    h.directory.put_tag(&t, &gone).await.unwrap();
    h.directory.put_tag(&t, &kept).await.unwrap();
    let both = [gone.id.clone(), kept.id.clone()].into();
    let acc = seed_account(h, &t, |a| a.tags = [gone.id.clone(), kept.id.clone()].into()).await;
    let tagged_on_ingest = Message { tags: [gone.id.clone()].into(), ..message(&acc.id, 5, 1, 10, false) };
    h.writer.ingest_messages(&t, &[tagged_on_ingest, message(&acc.id, 5, 2, 20, false)]).await.unwrap();
    h.writer.set_message_tags(&t, &acc.id, 5, 2, &both).await.unwrap();

    h.directory.delete_tag(&t, &gone.id).await.unwrap();

    assert_eq!(h.directory.list_tags(&t).await.unwrap(), vec![kept.clone()]);
    assert_eq!(h.directory.get_account(&t, &acc.id).await.unwrap().unwrap().tags, [kept.id.clone()].into());
    assert!(h.reader.get_message(&t, &acc.id, 5, 1).await.unwrap().unwrap().tags.is_empty());
    assert_eq!(h.reader.get_message(&t, &acc.id, 5, 2).await.unwrap().unwrap().tags, [kept.id.clone()].into());
    let q = AccountQuery { tag: Some(gone.id.clone()), ..AccountQuery::scoped(DialogScope::Tenant, 10) };
    assert!(h.directory.list_accounts(&t, &q).await.unwrap().is_empty());
    assert_kind(h.directory.delete_tag(&t, &gone.id).await, PortErrorKind::NotFound);
}

/// `set_pin` twice keeps one pin; `remove_pin` of a missing pin succeeds.
pub async fn pinning_twice_keeps_one_pin_and_unpinning_is_idempotent(h: &StoreHandles) {
    let t = tenant();
    let user = UserId::generate();
    let acc = seed_account(h, &t, |_| {}).await;
    let account_pin = Pin { user_id: user.clone(), target: PinTarget::Account(acc.id.clone()), pinned_at: at(10) };
    let dialog_pin = Pin { user_id: user.clone(), target: PinTarget::Dialog(acc.id.clone(), 42), pinned_at: at(20) };

    h.directory.set_pin(&t, &account_pin).await.unwrap();
    h.directory.set_pin(&t, &account_pin).await.unwrap();
    h.directory.set_pin(&t, &dialog_pin).await.unwrap();

    let targets = |pins: Vec<Pin>| pins.into_iter().map(|p| p.target).collect::<Vec<_>>();
    let pins = h.directory.list_pins(&t, &user).await.unwrap();
    assert_eq!(targets(pins), vec![dialog_pin.target.clone(), account_pin.target.clone()]);

    h.directory.remove_pin(&t, &user, &account_pin.target).await.unwrap();
    h.directory.remove_pin(&t, &user, &account_pin.target).await.unwrap();
    h.directory.remove_pin(&t, &user, &PinTarget::Dialog(acc.id.clone(), 43)).await.unwrap();

    assert_eq!(h.directory.list_pins(&t, &user).await.unwrap(), vec![dialog_pin]);
}

/// `list_pins` returns one user's pins, newest first.
pub async fn pins_are_listed_newest_first_and_are_personal(h: &StoreHandles) {
    let t = tenant();
    let (alice, bob) = (UserId::generate(), UserId::generate());
    let acc = seed_account(h, &t, |_| {}).await;
    let pin = |user: &UserId, peer: i64, ms: i64| Pin {
        user_id: user.clone(),
        target: PinTarget::Dialog(acc.id.clone(), peer),
        pinned_at: at(ms),
    };
    let alice_pins = [pin(&alice, 1, 30), pin(&alice, 2, 10), pin(&alice, 3, 20)];
    for p in &alice_pins {
        h.directory.set_pin(&t, p).await.unwrap();
    }
    h.directory.set_pin(&t, &pin(&bob, 9, 50)).await.unwrap();

    let got = h.directory.list_pins(&t, &alice).await.unwrap();

    assert_eq!(got, vec![alice_pins[0].clone(), alice_pins[2].clone(), alice_pins[1].clone()]);
    assert_eq!(h.directory.list_pins(&t, &bob).await.unwrap(), vec![pin(&bob, 9, 50)]);
}
