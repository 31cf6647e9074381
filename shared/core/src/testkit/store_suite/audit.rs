//! The audit log: newest first, keyset pages, filters.

use crate::domain::{AccountId, AuditAction, AuditEntry, AuditId, UserId};
use crate::ports::AuditQuery;
use crate::testkit::fixtures::{at, tenant, MAX_PAGES};
use crate::testkit::StoreHandles;

fn entry(actor: Option<&UserId>, action: AuditAction, account: Option<&AccountId>, ms: i64) -> AuditEntry {
    AuditEntry {
        id: AuditId::generate(),
        at: at(ms),
        actor_id: actor.cloned(),
        action,
        account_id: account.cloned(),
        target: Some("x".into()),
        details: serde_json::json!({ "ms": ms }),
    }
}

/// Entries with ids in creation order (ULIDs of one millisecond are ordered by
/// generation only within one process, so each id is made after the last one's).
fn entries_in_order(n: usize, mut make: impl FnMut(usize) -> AuditEntry) -> Vec<AuditEntry> {
    let mut out: Vec<AuditEntry> = Vec::with_capacity(n);
    for i in 0..n {
        let mut e = make(i);
        while out.last().is_some_and(|last| last.id >= e.id) {
            e.id = AuditId::generate();
        }
        out.push(e);
    }
    out
}

fn ids(v: &[AuditEntry]) -> Vec<AuditId> {
    v.iter().map(|e| e.id.clone()).collect()
}

/// `list_audit` is newest first and pages with `before` without gaps or duplicates.
pub async fn audit_is_listed_newest_first_and_pages_with_before(h: &StoreHandles) {
    let t = tenant();
    let actor = UserId::generate();
    let stored = entries_in_order(23, |i| entry(Some(&actor), AuditAction::Login, None, i as i64));
    h.directory.append_audit(&t, &stored[..10]).await.unwrap();
    h.directory.append_audit(&t, &stored[10..]).await.unwrap();

    let mut got = Vec::new();
    let mut query = AuditQuery { limit: 4, ..Default::default() };
    for _ in 0..MAX_PAGES {
        let page = h.directory.list_audit(&t, &query).await.unwrap();
        assert!(page.len() <= 4);
        let Some(last) = page.last() else { break };
        query.before = Some(last.id.clone());
        got.extend(page);
    }

    let mut want = stored.clone();
    want.reverse();
    assert_eq!(got, want);
}

/// `actors`, `account` and `action` each narrow the log.
pub async fn audit_filters_by_actors_account_and_action(h: &StoreHandles) {
    let t = tenant();
    let (a, b, c) = (UserId::generate(), UserId::generate(), UserId::generate());
    let acc = AccountId::generate();
    let stored = entries_in_order(6, |i| match i {
        0 => entry(Some(&a), AuditAction::Login, None, 1),
        1 => entry(Some(&b), AuditAction::AccountAssign, Some(&acc), 2),
        2 => entry(Some(&c), AuditAction::AccountAssign, Some(&acc), 3),
        3 => entry(None, AuditAction::TenantCreate, None, 4),
        4 => entry(Some(&a), AuditAction::AccountReclaim, Some(&acc), 5),
        _ => entry(Some(&b), AuditAction::Login, None, 6),
    });
    h.directory.append_audit(&t, &stored).await.unwrap();
    let q = |actors: Option<Vec<UserId>>, account: Option<AccountId>, action: Option<AuditAction>| AuditQuery {
        actors,
        account,
        action,
        limit: 50,
        ..Default::default()
    };
    let e = |i: usize| stored[i].id.clone();

    let by_actors = h.directory.list_audit(&t, &q(Some(vec![a.clone(), b.clone()]), None, None)).await.unwrap();
    assert_eq!(ids(&by_actors), vec![e(5), e(4), e(1), e(0)]);
    assert!(h.directory.list_audit(&t, &q(Some(vec![]), None, None)).await.unwrap().is_empty());
    let by_account = h.directory.list_audit(&t, &q(None, Some(acc.clone()), None)).await.unwrap();
    assert_eq!(ids(&by_account), vec![e(4), e(2), e(1)]);
    let by_action = h.directory.list_audit(&t, &q(None, None, Some(AuditAction::AccountAssign))).await.unwrap();
    assert_eq!(ids(&by_action), vec![e(2), e(1)]);
    let combined = h
        .directory
        .list_audit(&t, &q(Some(vec![c.clone()]), Some(acc.clone()), Some(AuditAction::AccountAssign)))
        .await
        .unwrap();
    assert_eq!(combined, vec![stored[2].clone()]);
    assert_eq!(h.directory.list_audit(&t, &q(None, None, None)).await.unwrap().len(), 6);
}

/// `from` is inclusive and `to` exclusive.
pub async fn audit_filters_by_time_range(h: &StoreHandles) {
    let t = tenant();
    let stored = entries_in_order(5, |i| entry(None, AuditAction::Login, None, 1_000 * i as i64));
    h.directory.append_audit(&t, &stored).await.unwrap();

    let q = AuditQuery { from: Some(at(1_000)), to: Some(at(3_000)), limit: 10, ..Default::default() };
    let got = h.directory.list_audit(&t, &q).await.unwrap();
    assert_eq!(ids(&got), vec![stored[2].id.clone(), stored[1].id.clone()]);

    let q = AuditQuery { from: Some(at(3_000)), limit: 10, ..Default::default() };
    assert_eq!(ids(&h.directory.list_audit(&t, &q).await.unwrap()), vec![stored[4].id.clone(), stored[3].id.clone()]);
    let q = AuditQuery { to: Some(at(1_000)), limit: 10, ..Default::default() };
    assert_eq!(ids(&h.directory.list_audit(&t, &q).await.unwrap()), vec![stored[0].id.clone()]);
}
