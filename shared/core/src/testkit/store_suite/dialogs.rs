//! Dialog upserts and inbox listing: order, keyset pages, scopes, reassignment.

use crate::domain::{AccountId, Dialog, PeerKind, TenantId, UserId};
use crate::ports::{DialogCursor, DialogFilter, DialogScope, PortErrorKind};
use crate::testkit::fixtures::{assert_kind, at, message, seed_account, tenant, MAX_PAGES};
use crate::testkit::StoreHandles;

fn bare(account: &AccountId, peer: i64, title: &str) -> Dialog {
    Dialog {
        account_id: account.clone(),
        peer,
        kind: PeerKind::of_peer(peer),
        title: title.into(),
        last_message_at: None,
        last_message_id: None,
        preview: String::new(),
        unread_count: 0,
    }
}

fn keys(v: &[Dialog]) -> Vec<(AccountId, i64)> {
    v.iter().map(|d| (d.account_id.clone(), d.peer)).collect()
}

/// Lists every page of `scope`, checking page sizes.
async fn all_pages(h: &StoreHandles, t: &TenantId, scope: &DialogScope, size: usize) -> Vec<Dialog> {
    filtered_pages(h, t, scope, &DialogFilter::default(), size).await
}

/// Lists every page of `scope` that `filter` keeps; every page but the last is full.
async fn filtered_pages(
    h: &StoreHandles,
    t: &TenantId,
    scope: &DialogScope,
    filter: &DialogFilter,
    size: usize,
) -> Vec<Dialog> {
    let mut out: Vec<Dialog> = Vec::new();
    let mut after: Option<DialogCursor> = None;
    let mut short = false;
    for _ in 0..MAX_PAGES {
        let page = h.reader.list_dialogs(t, scope, filter, after.as_ref(), size).await.unwrap();
        assert!(page.len() <= size);
        assert!(!short || page.is_empty(), "a short page came before the end");
        short = page.len() < size;
        let Some(last) = page.last() else { break };
        after = Some(DialogCursor::after(last));
        out.extend(page);
    }
    out
}

/// `upsert_dialogs` inserts, then updates title and kind only; `NotFound` for an unknown account.
pub async fn upsert_dialogs_updates_title_and_kind_keeping_message_fields(h: &StoreHandles) {
    let t = tenant();
    let a = seed_account(h, &t, |_| {}).await;
    h.writer.upsert_dialogs(&t, &[bare(&a.id, 1, "Fresh")]).await.unwrap();
    assert_eq!(h.reader.get_dialogs(&t, &[(a.id.clone(), 1)]).await.unwrap(), vec![bare(&a.id, 1, "Fresh")]);
    h.writer.ingest_messages(&t, &[message(&a.id, 1, 5, 50, false)]).await.unwrap();
    let before = h.reader.get_dialogs(&t, &[(a.id.clone(), 1)]).await.unwrap().remove(0);

    let renamed = Dialog { kind: PeerKind::Group, ..bare(&a.id, 1, "Renamed") };
    h.writer.upsert_dialogs(&t, &[renamed]).await.unwrap();

    let after = h.reader.get_dialogs(&t, &[(a.id.clone(), 1)]).await.unwrap().remove(0);
    assert_eq!(after, Dialog { title: "Renamed".into(), kind: PeerKind::Group, ..before });
    assert_eq!((after.last_message_id, after.unread_count), (Some(5), 1));
    assert_kind(h.writer.upsert_dialogs(&t, &[bare(&AccountId::generate(), 1, "x")]).await, PortErrorKind::NotFound);
}

/// `get_dialogs` returns the dialogs among the keys that exist.
pub async fn get_dialogs_returns_only_existing_ones(h: &StoreHandles) {
    let t = tenant();
    let a = seed_account(h, &t, |_| {}).await;
    h.writer.upsert_dialogs(&t, &[bare(&a.id, 1, "one"), bare(&a.id, 2, "two")]).await.unwrap();

    let mut got = h
        .reader
        .get_dialogs(&t, &[(a.id.clone(), 2), (a.id.clone(), 3), (AccountId::generate(), 1), (a.id.clone(), 1)])
        .await
        .unwrap();

    got.sort_by_key(|d| d.peer);
    assert_eq!(got, vec![bare(&a.id, 1, "one"), bare(&a.id, 2, "two")]);
}

/// `list_dialogs` puts the newest message first and dialogs without messages last.
pub async fn list_dialogs_puts_newest_first_and_empty_dialogs_last(h: &StoreHandles) {
    let t = tenant();
    let a = seed_account(h, &t, |_| {}).await;
    h.writer.upsert_dialogs(&t, &[bare(&a.id, 100, "empty")]).await.unwrap();
    let batch = [message(&a.id, 1, 1, 300, false), message(&a.id, 2, 1, 100, false), message(&a.id, 3, 1, 200, false)];
    h.writer.ingest_messages(&t, &batch).await.unwrap();
    h.writer.ingest_messages(&t, &[message(&a.id, 2, 2, 400, true)]).await.unwrap();

    let got = h
        .reader
        .list_dialogs(&t, &DialogScope::Account(a.id.clone()), &DialogFilter::default(), None, 10)
        .await
        .unwrap();

    let peers: Vec<i64> = got.iter().map(|d| d.peer).collect();
    assert_eq!(peers, vec![2, 1, 3, 100]);
    assert_eq!(got[0].last_message_at, Some(at(400)));
    assert_eq!(got[3].last_message_at, None);
}

/// A newer message of the same instant as the dialog's newest (Telegram
/// dates have whole seconds) becomes its preview and keeps its place.
pub async fn a_newer_message_of_the_same_instant_updates_the_dialog_in_place(h: &StoreHandles) {
    let t = tenant();
    let a = seed_account(h, &t, |_| {}).await;
    let first =
        [message(&a.id, 1, 1, 1_000, false), message(&a.id, 2, 2, 2_000, false), message(&a.id, 3, 3, 3_000, false)];
    h.writer.ingest_messages(&t, &first).await.unwrap();
    h.writer.ingest_messages(&t, &[message(&a.id, 2, 4, 2_000, false)]).await.unwrap();

    for scope in [DialogScope::Tenant, DialogScope::Account(a.id.clone())] {
        let got = h.reader.list_dialogs(&t, &scope, &DialogFilter::default(), None, 10).await.unwrap();
        let peers: Vec<i64> = got.iter().map(|d| d.peer).collect();
        assert_eq!(peers, vec![3, 2, 1], "{scope:?}");
        let moved = &got[1];
        assert_eq!((moved.last_message_id, moved.unread_count), (Some(4), 2), "{scope:?}");
        assert_eq!((moved.preview.as_str(), moved.last_message_at), ("message 4", Some(at(2_000))), "{scope:?}");
    }
}

/// Paging with `DialogCursor::after` yields every dialog once, in order, ties included.
pub async fn list_dialogs_pages_without_gaps_or_duplicates(h: &StoreHandles) {
    let t = tenant();
    let owner = UserId::generate();
    let mut messages = Vec::new();
    let mut accounts = Vec::new();
    for _ in 0..3 {
        let a = seed_account(h, &t, |a| a.owner_id = Some(owner.clone())).await;
        // Many dialogs share a time, so the order falls back to account and peer.
        messages.extend((1..=15).map(|peer| message(&a.id, peer, 1, (peer % 4) * 1_000, false)));
        h.writer.upsert_dialogs(&t, &[bare(&a.id, 500, "no messages")]).await.unwrap();
        accounts.push(a);
    }
    h.writer.ingest_messages(&t, &messages).await.unwrap();
    let mut want: Vec<(i64, AccountId, i64)> =
        messages.iter().map(|m| (m.date.timestamp_millis(), m.account_id.clone(), m.peer)).collect();
    want.extend(accounts.iter().map(|a| (0, a.id.clone(), 500)));
    want.sort_by(|x, y| y.cmp(x));
    let want: Vec<(AccountId, i64)> = want.into_iter().map(|(_, a, p)| (a, p)).collect();

    for scope in [DialogScope::Tenant, DialogScope::Owner(owner.clone())] {
        for size in [1, 7, 100] {
            assert_eq!(keys(&all_pages(h, &t, &scope, size).await), want, "scope {scope:?}, page size {size}");
        }
    }
    // One account's pages: its part of the same order.
    for a in &accounts {
        let scope = DialogScope::Account(a.id.clone());
        let mine: Vec<(AccountId, i64)> = want.iter().filter(|(id, _)| id == &a.id).cloned().collect();
        for size in [1, 7, 100] {
            assert_eq!(keys(&all_pages(h, &t, &scope, size).await), mine, "scope {scope:?}, page size {size}");
        }
    }
}

/// A leader's and an admin's inbox span many owners, unowned accounts and
/// accounts without a team; their pages interleave them in one order, ties
/// included, and an agent who moves to another team takes their dialogs along.
pub async fn team_and_tenant_inboxes_page_across_owners_without_gaps(h: &StoreHandles) {
    let t = tenant();
    let (leader, other_leader) = (UserId::generate(), UserId::generate());
    let agents: Vec<UserId> = (0..3).map(|_| UserId::generate()).collect();
    let admin = UserId::generate();
    // (owner, team) of each account: the leader's own, three agents (one in
    // the other team), unowned in the team, unowned without a team, the admin's.
    let shapes = [
        (Some(leader.clone()), Some(leader.clone())),
        (Some(agents[0].clone()), Some(leader.clone())),
        (Some(agents[1].clone()), Some(leader.clone())),
        (Some(agents[2].clone()), Some(other_leader.clone())),
        (None, Some(leader.clone())),
        (None, None),
        (Some(admin.clone()), None),
    ];
    let mut accounts = Vec::new();
    let mut messages = Vec::new();
    for (i, (owner, team)) in shapes.iter().enumerate() {
        let a = seed_account(h, &t, |a| {
            a.owner_id = owner.clone();
            a.team_id = team.clone();
        })
        .await;
        let i = i64::try_from(i).unwrap();
        // Times interleave across accounts, and some are shared.
        messages.extend((1..=4).map(|peer| message(&a.id, peer, 1, ((peer * 7 + i * 3) % 10) * 1_000, false)));
        accounts.push(a);
    }
    h.writer.ingest_messages(&t, &messages).await.unwrap();
    let expected = |keep: &dyn Fn(usize) -> bool| {
        let mut want: Vec<(i64, AccountId, i64)> = messages
            .iter()
            .filter(|m| keep(accounts.iter().position(|a| a.id == m.account_id).unwrap()))
            .map(|m| (m.date.timestamp_millis(), m.account_id.clone(), m.peer))
            .collect();
        want.sort_by(|x, y| y.cmp(x));
        want.into_iter().map(|(_, a, p)| (a, p)).collect::<Vec<_>>()
    };
    let in_team = |i: usize| shapes[i].1.as_ref() == Some(&leader);
    for size in [1, 3, 100] {
        let team = keys(&all_pages(h, &t, &DialogScope::Team(leader.clone()), size).await);
        assert_eq!(team, expected(&in_team), "team, page size {size}");
        assert_eq!(keys(&all_pages(h, &t, &DialogScope::Tenant, size).await), expected(&|_| true), "page size {size}");
    }

    // Agent 1 moves to the other team: their account's team changes, the owner stays.
    let mut moved = accounts[2].clone();
    moved.team_id = Some(other_leader.clone());
    h.directory.put_accounts(&t, std::slice::from_ref(&moved)).await.unwrap();
    let team = keys(&all_pages(h, &t, &DialogScope::Team(leader.clone()), 3).await);
    assert_eq!(team, expected(&|i| in_team(i) && i != 2));
    let other = keys(&all_pages(h, &t, &DialogScope::Team(other_leader.clone()), 3).await);
    assert_eq!(other, expected(&|i| i == 2 || i == 3));
}

/// A filter keeps unread dialogs, or those of some accounts, or both, in
/// inbox order, in full pages, in every scope.
pub async fn list_dialogs_filters_by_unread_and_accounts(h: &StoreHandles) {
    let t = tenant();
    let (leader, agent) = (UserId::generate(), UserId::generate());
    let mut accounts = Vec::new();
    let mut messages = Vec::new();
    for i in 0..4_i64 {
        let a = seed_account(h, &t, |a| {
            a.owner_id = Some(agent.clone());
            a.team_id = Some(leader.clone());
        })
        .await;
        // Outgoing replies leave a dialog read; every third dialog is read.
        messages.extend((1..=6).map(|peer| message(&a.id, peer, 1, (peer * 4 + i) * 1_000, (peer + i) % 3 == 0)));
        accounts.push(a);
    }
    h.writer.ingest_messages(&t, &messages).await.unwrap();
    let chosen: std::collections::BTreeSet<AccountId> = [accounts[1].id.clone(), accounts[3].id.clone()].into();
    let filters = [
        DialogFilter { unread_only: true, accounts: None },
        DialogFilter { unread_only: false, accounts: Some(chosen.clone()) },
        DialogFilter { unread_only: true, accounts: Some(chosen) },
        DialogFilter { unread_only: false, accounts: Some(Default::default()) },
    ];
    for scope in [DialogScope::Tenant, DialogScope::Team(leader.clone()), DialogScope::Owner(agent.clone())] {
        let everything = all_pages(h, &t, &scope, 100).await;
        assert_eq!(everything.len(), 24);
        for filter in &filters {
            let want: Vec<(AccountId, i64)> =
                keys(&everything.iter().filter(|d| filter.keeps(d)).cloned().collect::<Vec<_>>());
            for size in [1, 5, 100] {
                let got = keys(&filtered_pages(h, &t, &scope, filter, size).await);
                assert_eq!(got, want, "{scope:?}, {filter:?}, page size {size}");
            }
        }
    }
    assert_eq!(
        all_pages(h, &t, &DialogScope::Tenant, 100).await.iter().filter(|d| d.unread_count > 0).count(),
        16,
        "the fixture has read and unread dialogs"
    );
}

/// Scopes: the tenant, a leader's team, an owner, one account.
pub async fn list_dialogs_scopes_by_tenant_team_owner_and_account(h: &StoreHandles) {
    let t = tenant();
    let (leader, agent, other) = (UserId::generate(), UserId::generate(), UserId::generate());
    let mine = seed_account(h, &t, |a| {
        a.owner_id = Some(agent.clone());
        a.team_id = Some(leader.clone());
    })
    .await;
    let team_free = seed_account(h, &t, |a| a.team_id = Some(leader.clone())).await;
    let theirs = seed_account(h, &t, |a| a.owner_id = Some(other.clone())).await;
    let batch = [
        message(&mine.id, 1, 1, 30, false),
        message(&team_free.id, 1, 1, 20, false),
        message(&theirs.id, 1, 1, 10, false),
    ];
    h.writer.ingest_messages(&t, &batch).await.unwrap();
    let list = |scope: DialogScope| {
        let t = t.clone();
        async move { keys(&h.reader.list_dialogs(&t, &scope, &DialogFilter::default(), None, 10).await.unwrap()) }
    };

    assert_eq!(
        list(DialogScope::Tenant).await,
        vec![(mine.id.clone(), 1), (team_free.id.clone(), 1), (theirs.id.clone(), 1)]
    );
    assert_eq!(list(DialogScope::Team(leader.clone())).await, vec![(mine.id.clone(), 1), (team_free.id.clone(), 1)]);
    assert_eq!(list(DialogScope::Owner(agent.clone())).await, vec![(mine.id.clone(), 1)]);
    assert_eq!(list(DialogScope::Account(theirs.id.clone())).await, vec![(theirs.id.clone(), 1)]);
    assert!(list(DialogScope::Owner(leader.clone())).await.is_empty());
}

/// A dialog's owner and team follow its account, so the inbox reflects reassignment.
pub async fn list_dialogs_follow_account_reassignment(h: &StoreHandles) {
    let t = tenant();
    let (old_owner, new_owner, old_team, new_team) =
        (UserId::generate(), UserId::generate(), UserId::generate(), UserId::generate());
    let mut a = seed_account(h, &t, |a| {
        a.owner_id = Some(old_owner.clone());
        a.team_id = Some(old_team.clone());
    })
    .await;
    h.writer.ingest_messages(&t, &[message(&a.id, 1, 1, 10, false), message(&a.id, 2, 1, 20, false)]).await.unwrap();
    let count = |scope: DialogScope| {
        let t = t.clone();
        async move { h.reader.list_dialogs(&t, &scope, &DialogFilter::default(), None, 10).await.unwrap().len() }
    };
    assert_eq!(count(DialogScope::Owner(old_owner.clone())).await, 2);

    a.owner_id = Some(new_owner.clone());
    a.team_id = Some(new_team.clone());
    h.directory.put_accounts(&t, std::slice::from_ref(&a)).await.unwrap();

    assert_eq!(count(DialogScope::Owner(old_owner.clone())).await, 0);
    assert_eq!(count(DialogScope::Team(old_team.clone())).await, 0);
    assert_eq!(count(DialogScope::Owner(new_owner.clone())).await, 2);
    assert_eq!(count(DialogScope::Team(new_team.clone())).await, 2);

    // Dialogs created after the move, by ingest or upsert, land under the new keys too.
    h.writer.ingest_messages(&t, &[message(&a.id, 3, 1, 30, false)]).await.unwrap();
    h.writer.upsert_dialogs(&t, &[bare(&a.id, 4, "later")]).await.unwrap();
    assert_eq!(count(DialogScope::Owner(new_owner.clone())).await, 4);

    a.owner_id = None;
    h.directory.put_accounts(&t, std::slice::from_ref(&a)).await.unwrap();
    assert_eq!(count(DialogScope::Owner(new_owner.clone())).await, 0);
    assert_eq!(count(DialogScope::Team(new_team.clone())).await, 4);
}
