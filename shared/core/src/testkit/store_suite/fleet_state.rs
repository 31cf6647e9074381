//! Cases for the parts of `Directory` the session fleet uses: tenants to
//! scan, and single-column writes of an account's status and session.

use crate::domain::{AccountId, AccountStatus, Tenant, UserId};
use crate::ports::PortErrorKind;
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
    h.directory.set_account_session(&t, &stored.id, Some(vec![1, 2, 3])).await.unwrap();
    let now = h.directory.get_account(&t, &stored.id).await.unwrap().unwrap();
    assert_eq!(
        (now.status, now.session.clone(), now.owner_id.clone()),
        (AccountStatus::Online, Some(vec![1, 2, 3]), reassigned.owner_id)
    );
    assert!(now.updated_at > stored.updated_at);
    h.directory.set_account_session(&t, &stored.id, None).await.unwrap();
    assert_eq!(h.directory.get_account(&t, &stored.id).await.unwrap().unwrap().session, None);
    assert_kind(
        h.directory.set_account_status(&t, &AccountId::generate(), AccountStatus::Online).await,
        PortErrorKind::NotFound,
    );
    assert_kind(h.directory.set_account_session(&tenant(), &stored.id, None).await, PortErrorKind::NotFound);
}
