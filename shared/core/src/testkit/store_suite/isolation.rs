//! Tenant isolation: nothing of tenant A is visible or reachable through tenant B.

use crate::domain::{Group, GroupId, Role, Tag, TagId, Tenant};
use crate::ports::{AccountQuery, AuditQuery, DialogFilter, DialogScope, Pin, PinTarget, PortErrorKind, UserQuery};
use crate::testkit::fixtures::{account, assert_kind, at, message, seed_account, tenant, user};
use crate::testkit::StoreHandles;

/// Directory records of tenant A are invisible from B, and equal keys do not clash.
pub async fn tenant_b_sees_nothing_of_tenant_a_directory(h: &StoreHandles) {
    let (a, b) = (tenant(), tenant());
    h.directory.create_tenant(&Tenant { id: a.clone(), created_at: at(0) }).await.unwrap();
    let admin = user(&a, Role::Admin, None);
    h.directory.insert_user(&admin).await.unwrap();
    let acc = seed_account(h, &a, |x| {
        x.owner_id = Some(admin.id.clone());
        x.team_id = Some(admin.id.clone());
    })
    .await;
    let group = Group { id: GroupId::generate(), owner_id: admin.id.clone(), name: "g".into(), created_at: at(0) };
    let tag = Tag { id: TagId::generate(), name: "t".into(), color: None, created_at: at(0) };
    h.directory.put_group(&a, &group).await.unwrap();
    h.directory.put_tag(&a, &tag).await.unwrap();
    let pin = Pin { user_id: admin.id.clone(), target: PinTarget::Account(acc.id.clone()), pinned_at: at(0) };
    h.directory.set_pin(&a, &pin).await.unwrap();
    let entry = crate::domain::AuditEntry {
        id: crate::domain::AuditId::generate(),
        at: at(0),
        actor_id: Some(admin.id.clone()),
        action: crate::domain::AuditAction::Login,
        account_id: Some(acc.id.clone()),
        target: None,
        details: serde_json::Value::Null,
    };
    h.directory.append_audit(&a, &[entry]).await.unwrap();

    let d = &h.directory;
    assert_eq!(d.get_tenant(&b).await.unwrap(), None);
    assert_eq!(d.get_user(&b, &admin.id).await.unwrap(), None);
    assert_eq!(d.find_user(&b, &admin.username).await.unwrap(), None);
    assert!(d.list_users(&b, &UserQuery { limit: 10, ..Default::default() }).await.unwrap().is_empty());
    assert_eq!(d.get_account(&b, &acc.id).await.unwrap(), None);
    assert!(d.get_accounts(&b, std::slice::from_ref(&acc.id)).await.unwrap().is_empty());
    assert!(d.find_accounts_by_phone(&b, std::slice::from_ref(&acc.phone)).await.unwrap().is_empty());
    for scope in [
        DialogScope::Tenant,
        DialogScope::Owner(admin.id.clone()),
        DialogScope::Team(admin.id.clone()),
        DialogScope::Account(acc.id.clone()),
    ] {
        assert!(d.list_accounts(&b, &AccountQuery::scoped(scope, 10)).await.unwrap().is_empty());
    }
    assert_eq!(d.get_group(&b, &group.id).await.unwrap(), None);
    assert!(d.list_groups(&b, None).await.unwrap().is_empty());
    assert!(d.list_tags(&b).await.unwrap().is_empty());
    assert!(d.list_pins(&b, &admin.id).await.unwrap().is_empty());
    assert!(d.list_audit(&b, &AuditQuery { limit: 10, ..Default::default() }).await.unwrap().is_empty());
    assert_kind(d.delete_user(&b, &admin.id).await, PortErrorKind::NotFound);
    assert_kind(d.delete_account(&b, &acc.id).await, PortErrorKind::NotFound);
    assert_kind(d.delete_group(&b, &group.id).await, PortErrorKind::NotFound);
    assert_kind(d.delete_tag(&b, &tag.id).await, PortErrorKind::NotFound);
    let mut foreign_update = admin.clone();
    foreign_update.tenant = b.clone();
    assert_kind(d.update_user(&foreign_update).await, PortErrorKind::NotFound);

    // The same username, phone, group and tag names are free in B.
    let mut twin = user(&b, Role::Admin, None);
    twin.username = admin.username.clone();
    d.insert_user(&twin).await.unwrap();
    let mut same_phone = account(&b);
    same_phone.phone = acc.phone.clone();
    d.put_accounts(&b, &[same_phone]).await.unwrap();
    d.put_tag(&b, &Tag { id: TagId::generate(), ..tag.clone() }).await.unwrap();
    assert_eq!(d.get_user(&a, &admin.id).await.unwrap(), Some(admin));
    assert_eq!(d.get_account(&a, &acc.id).await.unwrap(), Some(acc));
    assert_eq!(d.list_tags(&a).await.unwrap(), vec![tag]);
}

/// Dialogs and messages of tenant A are invisible from B, and B cannot write into them.
pub async fn tenant_b_sees_nothing_of_tenant_a_messages(h: &StoreHandles) {
    let (a, b) = (tenant(), tenant());
    let acc = seed_account(h, &a, |_| {}).await;
    h.writer.ingest_messages(&a, &[message(&acc.id, 1, 1, 10, false)]).await.unwrap();

    let r = &h.reader;
    for scope in [DialogScope::Tenant, DialogScope::Account(acc.id.clone())] {
        assert!(r.list_dialogs(&b, &scope, &DialogFilter::default(), None, 10).await.unwrap().is_empty());
    }
    assert!(r.get_dialogs(&b, &[(acc.id.clone(), 1)]).await.unwrap().is_empty());
    assert!(r.list_messages(&b, &acc.id, 1, None, 10).await.unwrap().is_empty());
    assert_eq!(r.get_message(&b, &acc.id, 1, 1).await.unwrap(), None);

    let w = &h.writer;
    assert_kind(w.ingest_messages(&b, &[message(&acc.id, 1, 2, 20, false)]).await, PortErrorKind::NotFound);
    assert_kind(w.edit_message(&b, &acc.id, 1, 1, "x", at(1)).await, PortErrorKind::NotFound);
    assert_kind(w.mark_read(&b, &acc.id, 1, 1).await, PortErrorKind::NotFound);
    assert_kind(w.set_message_tags(&b, &acc.id, 1, 1, &Default::default()).await, PortErrorKind::NotFound);
    w.delete_messages(&b, &acc.id, 1, &[1]).await.unwrap();

    let kept = r.get_message(&a, &acc.id, 1, 1).await.unwrap().unwrap();
    assert_eq!((kept.text.as_str(), kept.deleted), ("message 1", false));
    assert_eq!(r.get_dialogs(&a, &[(acc.id.clone(), 1)]).await.unwrap()[0].unread_count, 1);
}
