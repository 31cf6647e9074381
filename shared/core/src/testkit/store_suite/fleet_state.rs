//! Cases for the parts of `Directory` the session fleet uses: tenants to
//! scan, and single-column writes of an account's status and session.

use crate::domain::{AccountId, AccountStatus, Tenant, UserId};
use crate::ports::{PortErrorKind, SessionSave, SessionSaves};
use crate::testkit::fixtures::{assert_kind, at, seed_account, tenant};
use crate::testkit::StoreHandles;

/// `list_tenants` returns every tenant ordered by name.
pub async fn list_tenants_returns_every_tenant_by_name(h: &StoreHandles) {
    let (a, b) = (tenant(), tenant());
    for t in [&b, &a] {
        h.directory.create_tenant(&Tenant { id: t.clone(), created_at: at(0) }).await.unwrap();
    }
    let all: Vec<_> = h.directory.list_tenants().await.unwrap().into_iter().map(|t| t.id).collect();
    let (ia, ib) = (all.iter().position(|t| t == &a).unwrap(), all.iter().position(|t| t == &b).unwrap());
    assert_eq!(ia < ib, a < b);
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted);
}

/// `set_account_status` and `set_account_session` change only their column;
/// `NotFound` for an unknown account.
pub async fn status_and_session_writes_leave_the_rest_of_the_account_alone(h: &StoreHandles) {
    let t = tenant();
    let owner = UserId::generate();
    let stored = seed_account(h, &t, |a| a.owner_id = Some(owner.clone())).await;
    // Someone reassigns the account meanwhile; the fleet's writes must keep that.
    let mut reassigned = stored.clone();
    reassigned.owner_id = Some(UserId::generate());
    h.directory.put_accounts(&t, std::slice::from_ref(&reassigned)).await.unwrap();
    h.directory.set_account_status(&t, &stored.id, AccountStatus::Online).await.unwrap();
    h.directory.set_account_session(&t, &stored.id, Some(vec![1, 2, 3]), Some(1)).await.unwrap();
    let now = h.directory.get_account(&t, &stored.id).await.unwrap().unwrap();
    assert_eq!(
        (now.status, now.session.clone(), now.owner_id.clone()),
        (AccountStatus::Online, Some(vec![1, 2, 3]), reassigned.owner_id)
    );
    assert!(now.updated_at > stored.updated_at);
    h.directory.set_account_session(&t, &stored.id, None, Some(1)).await.unwrap();
    assert_eq!(h.directory.get_account(&t, &stored.id).await.unwrap().unwrap().session, None);
    assert_kind(
        h.directory.set_account_status(&t, &AccountId::generate(), AccountStatus::Online).await,
        PortErrorKind::NotFound,
    );
    assert_kind(h.directory.set_account_session(&tenant(), &stored.id, None, None).await, PortErrorKind::NotFound);
}

/// `set_account_sessions` stores each known account's session like
/// `set_account_session`, and names the unknown ids (another tenant's
/// account among them) without storing anything for them.
pub async fn set_account_sessions_stores_each_and_names_the_unknown(h: &StoreHandles) {
    let t = tenant();
    let (first, second) = (seed_account(h, &t, |_| {}).await, seed_account(h, &t, |_| {}).await);
    let elsewhere = seed_account(h, &tenant(), |_| {}).await;
    let unknown = AccountId::generate();
    let save = |id: &AccountId, byte: u8| SessionSave { id: id.clone(), sealed: vec![byte, byte], fencing: 1 };
    let sessions = [save(&first.id, 1), save(&unknown, 2), save(&second.id, 3), save(&elsewhere.id, 4)];

    let outcome = h.directory.set_account_sessions(&t, &sessions).await.unwrap();

    assert_eq!(outcome, SessionSaves { unknown: vec![unknown, elsewhere.id.clone()], fenced: vec![] });
    let session = |tenant, id| async move { h.directory.get_account(tenant, id).await.unwrap().unwrap().session };
    assert_eq!(session(&t, &first.id).await, Some(vec![1, 1]));
    assert_eq!(session(&t, &second.id).await, Some(vec![3, 3]));
    assert_eq!(session(&elsewhere.tenant, &elsewhere.id).await, elsewhere.session);
    assert_eq!(h.directory.set_account_sessions(&t, &[]).await.unwrap(), SessionSaves::default());
}

/// A session write under an older lease than the latest writer's is refused
/// (`Conflict`), alone or among others; the fence survives removing the
/// session, an admin's unfenced write and a rewrite of the account record.
pub async fn session_writes_under_a_lease_taken_over_are_refused(h: &StoreHandles) {
    let t = &tenant();
    let stored = seed_account(h, t, |a| a.session = None).await;
    let id = &stored.id;
    let session = || async { h.directory.get_account(t, id).await.unwrap().unwrap().session };
    let write = |sealed: Option<Vec<u8>>, fencing: Option<u64>| async move {
        h.directory.set_account_session(t, id, sealed, fencing).await
    };

    write(Some(vec![1]), Some(5)).await.unwrap();
    assert_kind(write(Some(vec![2]), Some(4)).await, PortErrorKind::Conflict);
    assert_eq!(session().await, Some(vec![1]), "the older holder's write changed nothing");
    write(Some(vec![3]), Some(5)).await.unwrap();
    assert_eq!(session().await, Some(vec![3]), "the holder writes again");
    write(Some(vec![4]), Some(7)).await.unwrap();
    assert_kind(write(None, Some(5)).await, PortErrorKind::Conflict);
    assert_eq!(session().await, Some(vec![4]));
    write(None, Some(7)).await.unwrap();
    assert_eq!(session().await, None);
    assert_kind(write(Some(vec![5]), Some(6)).await, PortErrorKind::Conflict);
    assert_eq!(session().await, None, "removing the session kept the fence");

    // An admin imports a key: written whatever the fence, which stays.
    write(Some(vec![6]), None).await.unwrap();
    assert_eq!(session().await, Some(vec![6]));
    assert_kind(write(Some(vec![7]), Some(6)).await, PortErrorKind::Conflict);
    // The account record is rewritten (reassigned, say): the fence stays.
    let mut reassigned = h.directory.get_account(t, id).await.unwrap().unwrap();
    reassigned.owner_id = Some(UserId::generate());
    h.directory.put_accounts(t, std::slice::from_ref(&reassigned)).await.unwrap();
    assert_kind(write(Some(vec![8]), Some(6)).await, PortErrorKind::Conflict);
    assert_eq!(session().await, Some(vec![6]));

    // An admin rewrites the account from a copy read before the fleet saved:
    // the fleet's session stays.
    let before = h.directory.get_account(t, id).await.unwrap().unwrap();
    write(Some(vec![11]), Some(7)).await.unwrap();
    let mut renamed = before.clone();
    renamed.display_name = Some("renamed".into());
    h.directory.put_accounts(t, std::slice::from_ref(&renamed)).await.unwrap();
    let now = h.directory.get_account(t, id).await.unwrap().unwrap();
    assert_eq!((now.session, now.display_name), (Some(vec![11]), renamed.display_name.clone()));
    assert!(h.directory.runnable_accounts(t, None, 1_000).await.unwrap().contains(id), "still runnable");
    write(Some(vec![6]), None).await.unwrap();

    // Among others: the fenced one is named and left alone, the rest stored.
    let fresh = seed_account(h, t, |a| a.session = None).await;
    let saves = [
        SessionSave { id: id.clone(), sealed: vec![9], fencing: 6 },
        SessionSave { id: fresh.id.clone(), sealed: vec![10], fencing: 1 },
    ];
    let outcome = h.directory.set_account_sessions(t, &saves).await.unwrap();
    assert_eq!(outcome, SessionSaves { unknown: vec![], fenced: vec![id.clone()] });
    assert_eq!(session().await, Some(vec![6]));
    assert_eq!(h.directory.get_account(t, &fresh.id).await.unwrap().unwrap().session, Some(vec![10]));
    let current = [SessionSave { fencing: 7, ..saves[0].clone() }];
    let outcome = h.directory.set_account_sessions(t, &current).await.unwrap();
    assert_eq!(outcome, SessionSaves::default(), "the current holder's save is stored");
    assert_eq!(session().await, Some(vec![9]));
}

/// `runnable_accounts` pages, by id, through the accounts with a session
/// that are neither logged out nor banned, and follows their changes.
pub async fn runnable_accounts_are_those_with_a_session_not_logged_out_or_banned(h: &StoreHandles) {
    let t = tenant();
    // Every status, with a session: those the domain's rule runs are listed.
    let mut runnable = Vec::new();
    for status in AccountStatus::ALL {
        let seeded = seed_account(h, &t, |a| (a.status, a.session) = (status, Some(vec![7]))).await;
        if status.runs(true) {
            runnable.push(seeded.id);
        }
    }
    assert_eq!(runnable.len(), AccountStatus::ALL.len() - 2, "all but logged out and banned");
    let no_session = seed_account(h, &t, |a| a.session = None).await.id;
    seed_account(h, &tenant(), |a| a.session = Some(vec![7])).await;
    runnable.sort();

    let first = h.directory.runnable_accounts(&t, None, 3).await.unwrap();
    let rest = h.directory.runnable_accounts(&t, first.last(), 3).await.unwrap();

    assert_eq!([first.clone(), rest].concat(), runnable);
    assert_eq!(first.len(), 3);
    h.directory.set_account_status(&t, &runnable[0], AccountStatus::Banned).await.unwrap();
    h.directory.set_account_session(&t, &runnable[1], None, Some(1)).await.unwrap();
    h.directory.set_account_session(&t, &no_session, Some(vec![1]), None).await.unwrap();
    let mut expected = runnable[2..].to_vec();
    expected.push(no_session);
    expected.sort();
    assert_eq!(h.directory.runnable_accounts(&t, None, 10).await.unwrap(), expected);
}
