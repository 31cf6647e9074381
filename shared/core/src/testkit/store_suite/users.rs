//! Tenants and users.

use crate::domain::{Group, GroupId, Role, Tenant, UserId, Username};
use crate::ports::{Pin, PinTarget, PortErrorKind, UserQuery};
use crate::testkit::fixtures::{assert_kind, at, seed_account, tenant, user, MAX_PAGES};
use crate::testkit::StoreHandles;

/// `create_tenant` stores a tenant once; `Conflict` when the name is taken.
pub async fn tenant_is_created_once_and_read_back(h: &StoreHandles) {
    let t = Tenant { id: tenant(), created_at: at(5) };
    assert_eq!(h.directory.get_tenant(&t.id).await.unwrap(), None);

    h.directory.create_tenant(&t).await.unwrap();

    assert_eq!(h.directory.get_tenant(&t.id).await.unwrap(), Some(t.clone()));
    assert_kind(h.directory.create_tenant(&t).await, PortErrorKind::Conflict);
}

/// `get_user` and `find_user` return the stored user, or `None`.
pub async fn user_is_found_by_id_and_by_username(h: &StoreHandles) {
    let t = tenant();
    let u = user(&t, Role::Agent, None);

    h.directory.insert_user(&u).await.unwrap();

    assert_eq!(h.directory.get_user(&t, &u.id).await.unwrap(), Some(u.clone()));
    assert_eq!(h.directory.find_user(&t, &u.username).await.unwrap(), Some(u.clone()));
    assert_eq!(h.directory.get_user(&t, &UserId::generate()).await.unwrap(), None);
    let nobody = Username::parse("nobody-here").unwrap();
    assert_eq!(h.directory.find_user(&t, &nobody).await.unwrap(), None);
}

/// `insert_user` is `Conflict` when the username is taken in the tenant.
pub async fn user_with_a_taken_username_conflicts(h: &StoreHandles) {
    let t = tenant();
    let first = user(&t, Role::Agent, None);
    h.directory.insert_user(&first).await.unwrap();
    let mut second = user(&t, Role::Admin, None);
    second.username = first.username.clone();

    assert_kind(h.directory.insert_user(&second).await, PortErrorKind::Conflict);
    assert_eq!(h.directory.get_user(&t, &second.id).await.unwrap(), None);
    // Inserting the same id twice is a conflict too.
    assert_kind(h.directory.insert_user(&first).await, PortErrorKind::Conflict);
}

/// `update_user` replaces a stored user; `NotFound` when the id is unknown.
pub async fn update_user_replaces_the_record_and_refuses_unknown_ids(h: &StoreHandles) {
    let t = tenant();
    let leader = user(&t, Role::Leader, None);
    let mut u = user(&t, Role::Agent, None);
    h.directory.insert_user(&u).await.unwrap();

    u.display_name = "Renamed".into();
    u.disabled = true;
    u.token_version = 7;
    u.leader_id = Some(leader.id.clone());
    u.password_hash = "$argon2id$other".into();
    h.directory.update_user(&u).await.unwrap();

    assert_eq!(h.directory.get_user(&t, &u.id).await.unwrap(), Some(u.clone()));
    assert_kind(h.directory.update_user(&user(&t, Role::Agent, None)).await, PortErrorKind::NotFound);
}

/// `list_users` filters by leader and role, ordered by id.
pub async fn list_users_filters_by_leader_and_role(h: &StoreHandles) {
    let t = tenant();
    let leader = user(&t, Role::Leader, None);
    let admin = user(&t, Role::Admin, None);
    let in_team = [user(&t, Role::Agent, Some(&leader.id)), user(&t, Role::Agent, Some(&leader.id))];
    let outside = user(&t, Role::Agent, None);
    for u in [&leader, &admin, &in_team[0], &in_team[1], &outside] {
        h.directory.insert_user(u).await.unwrap();
    }

    let team = UserQuery { leader_id: Some(leader.id.clone()), limit: 10, ..Default::default() };
    let agents = UserQuery { role: Some(Role::Agent), limit: 10, ..Default::default() };
    let admins = UserQuery { role: Some(Role::Admin), limit: 10, ..Default::default() };
    let ids = |v: Vec<crate::domain::User>| v.into_iter().map(|u| u.id).collect::<Vec<_>>();

    let mut want_team: Vec<_> = in_team.iter().map(|u| u.id.clone()).collect();
    want_team.sort();
    assert_eq!(ids(h.directory.list_users(&t, &team).await.unwrap()), want_team);
    let mut want_agents = [want_team.clone(), vec![outside.id.clone()]].concat();
    want_agents.sort();
    assert_eq!(ids(h.directory.list_users(&t, &agents).await.unwrap()), want_agents);
    assert_eq!(ids(h.directory.list_users(&t, &admins).await.unwrap()), vec![admin.id]);
}

/// `list_users` pages by id: every user exactly once, in id order.
pub async fn list_users_pages_by_id_without_gaps_or_duplicates(h: &StoreHandles) {
    let t = tenant();
    let mut want = Vec::new();
    for _ in 0..23 {
        let u = user(&t, Role::Agent, None);
        h.directory.insert_user(&u).await.unwrap();
        want.push(u.id);
    }
    want.sort();

    let mut got = Vec::new();
    let mut after = None;
    for _ in 0..MAX_PAGES {
        let page = h
            .directory
            .list_users(&t, &UserQuery { after: after.clone(), limit: 5, ..Default::default() })
            .await
            .unwrap();
        assert!(page.len() <= 5);
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        got.extend(page.into_iter().map(|u| u.id));
    }

    assert_eq!(got, want);
}

/// `delete_user` removes the user with their pins and groups; `NotFound` when unknown.
pub async fn delete_user_removes_their_pins_and_groups(h: &StoreHandles) {
    let t = tenant();
    let u = user(&t, Role::Agent, None);
    let other = user(&t, Role::Agent, None);
    h.directory.insert_user(&u).await.unwrap();
    h.directory.insert_user(&other).await.unwrap();
    let group = Group { id: GroupId::generate(), owner_id: u.id.clone(), name: "vip".into(), created_at: at(0) };
    let kept = Group { id: GroupId::generate(), owner_id: other.id.clone(), name: "vip".into(), created_at: at(0) };
    h.directory.put_group(&t, &group).await.unwrap();
    h.directory.put_group(&t, &kept).await.unwrap();
    let acc = seed_account(h, &t, |a| {
        a.groups = [group.id.clone(), kept.id.clone()].into();
    })
    .await;
    let pin = |user_id: &UserId| Pin {
        user_id: user_id.clone(),
        target: PinTarget::Account(acc.id.clone()),
        pinned_at: at(3),
    };
    h.directory.set_pin(&t, &pin(&u.id)).await.unwrap();
    h.directory.set_pin(&t, &pin(&other.id)).await.unwrap();

    h.directory.delete_user(&t, &u.id).await.unwrap();

    assert_eq!(h.directory.get_user(&t, &u.id).await.unwrap(), None);
    assert!(h.directory.list_pins(&t, &u.id).await.unwrap().is_empty());
    assert_eq!(h.directory.get_group(&t, &group.id).await.unwrap(), None);
    assert_eq!(h.directory.list_groups(&t, None).await.unwrap(), vec![kept.clone()]);
    assert_eq!(h.directory.list_pins(&t, &other.id).await.unwrap(), vec![pin(&other.id)]);
    // A deleted group, like one removed by delete_group, holds no account.
    let acc_now = h.directory.get_account(&t, &acc.id).await.unwrap().unwrap();
    assert_eq!(acc_now.groups, [kept.id.clone()].into());
    assert_kind(h.directory.delete_user(&t, &u.id).await, PortErrorKind::NotFound);
}
