//! Account queries: keyset pages, every `AccountQuery` filter and the scopes.

use super::accounts::{ids, sorted};
use crate::domain::{Account, AccountStatus, GroupId, Phone, TagId, UserId};
use crate::ports::{AccountQuery, DialogScope};
use crate::testkit::fixtures::{account, seed_account, tenant, MAX_PAGES};
use crate::testkit::StoreHandles;

/// `list_accounts` pages by id: every account exactly once, in id order.
pub async fn list_accounts_pages_by_id_without_gaps_or_duplicates(h: &StoreHandles) {
    let t = tenant();
    let stored: Vec<Account> = (0..57).map(|_| account(&t)).collect();
    h.directory.put_accounts(&t, &stored).await.unwrap();

    let mut got = Vec::new();
    let mut query = AccountQuery::scoped(DialogScope::Tenant, 10);
    for _ in 0..MAX_PAGES {
        let page = h.directory.list_accounts(&t, &query).await.unwrap();
        assert!(page.len() <= 10);
        let Some(last) = page.last() else { break };
        query.after = Some(last.id.clone());
        got.extend(page.into_iter().map(|a| a.id));
    }

    assert_eq!(got, ids(&stored));
}

/// `owner` keeps one owner's accounts; `unowned` keeps those without an owner.
pub async fn list_accounts_filters_by_owner_and_unowned(h: &StoreHandles) {
    let t = tenant();
    let (alice, bob) = (UserId::generate(), UserId::generate());
    let a1 = seed_account(h, &t, |a| a.owner_id = Some(alice.clone())).await;
    let a2 = seed_account(h, &t, |a| a.owner_id = Some(alice.clone())).await;
    seed_account(h, &t, |a| a.owner_id = Some(bob.clone())).await;
    let free = seed_account(h, &t, |a| a.team_id = Some(bob.clone())).await;

    let owned = AccountQuery { owner: Some(alice.clone()), ..AccountQuery::scoped(DialogScope::Tenant, 10) };
    let unowned = AccountQuery { unowned: true, ..AccountQuery::scoped(DialogScope::Tenant, 10) };

    assert_eq!(ids(&h.directory.list_accounts(&t, &owned).await.unwrap()), sorted(vec![a1.id, a2.id]));
    assert_eq!(ids(&h.directory.list_accounts(&t, &unowned).await.unwrap()), vec![free.id]);
}

/// `tag` and `group` keep the accounts carrying them.
pub async fn list_accounts_filters_by_tag_and_group(h: &StoreHandles) {
    let t = tenant();
    let (tag, other_tag, group) = (TagId::generate(), TagId::generate(), GroupId::generate());
    let tagged = seed_account(h, &t, |a| a.tags = [tag.clone(), other_tag.clone()].into()).await;
    let grouped = seed_account(h, &t, |a| a.groups = [group.clone()].into()).await;
    let both = seed_account(h, &t, |a| {
        a.tags = [tag.clone()].into();
        a.groups = [group.clone()].into();
    })
    .await;
    seed_account(h, &t, |a| a.tags = [other_tag.clone()].into()).await;

    let q = |tag: Option<&TagId>, group: Option<&GroupId>| AccountQuery {
        tag: tag.cloned(),
        group: group.cloned(),
        ..AccountQuery::scoped(DialogScope::Tenant, 10)
    };

    let by_tag = h.directory.list_accounts(&t, &q(Some(&tag), None)).await.unwrap();
    assert_eq!(ids(&by_tag), sorted(vec![tagged.id.clone(), both.id.clone()]));
    let by_group = h.directory.list_accounts(&t, &q(None, Some(&group))).await.unwrap();
    assert_eq!(ids(&by_group), sorted(vec![grouped.id.clone(), both.id.clone()]));
    assert_eq!(ids(&h.directory.list_accounts(&t, &q(Some(&tag), Some(&group))).await.unwrap()), vec![both.id.clone()]);
    // Filtered results carry their full sets.
    assert!(by_tag.contains(&tagged));
}

/// `status` keeps the accounts in that status.
pub async fn list_accounts_filters_by_status(h: &StoreHandles) {
    let t = tenant();
    let online = seed_account(h, &t, |a| a.status = AccountStatus::Online).await;
    seed_account(h, &t, |a| a.status = AccountStatus::Banned).await;
    seed_account(h, &t, |_| {}).await;

    let q = AccountQuery { status: Some(AccountStatus::Online), ..AccountQuery::scoped(DialogScope::Tenant, 10) };
    assert_eq!(ids(&h.directory.list_accounts(&t, &q).await.unwrap()), vec![online.id]);
    let q = AccountQuery { status: Some(AccountStatus::CodeSent), ..AccountQuery::scoped(DialogScope::Tenant, 10) };
    assert!(h.directory.list_accounts(&t, &q).await.unwrap().is_empty());
}

/// `text` is a case-insensitive substring of the phone or the display name.
pub async fn list_accounts_text_matches_phone_and_name_ignoring_case(h: &StoreHandles) {
    let t = tenant();
    let by_phone = seed_account(h, &t, |a| a.phone = Phone::parse("+4915112345678").unwrap()).await;
    let latin = seed_account(h, &t, |a| a.display_name = Some("Support DESK Berlin".into())).await;
    let cyrillic = seed_account(h, &t, |a| a.display_name = Some("Мария Продажи".into())).await;
    seed_account(h, &t, |a| a.display_name = Some("Other".into())).await;

    let q = |text: &str| AccountQuery { text: Some(text.into()), ..AccountQuery::scoped(DialogScope::Tenant, 10) };

    assert_eq!(ids(&h.directory.list_accounts(&t, &q("51123456")).await.unwrap()), vec![by_phone.id.clone()]);
    assert_eq!(ids(&h.directory.list_accounts(&t, &q("desk ber")).await.unwrap()), vec![latin.id.clone()]);
    assert_eq!(ids(&h.directory.list_accounts(&t, &q("мария")).await.unwrap()), vec![cyrillic.id.clone()]);
    assert_eq!(ids(&h.directory.list_accounts(&t, &q("ПРОДАЖ")).await.unwrap()), vec![cyrillic.id.clone()]);
    assert!(h.directory.list_accounts(&t, &q("nothing like it")).await.unwrap().is_empty());
}

/// The scope (tenant, team, owner, account) limits results before every other filter.
pub async fn list_accounts_scope_limits_before_other_filters(h: &StoreHandles) {
    let t = tenant();
    let (leader, agent, other) = (UserId::generate(), UserId::generate(), UserId::generate());
    let mine = seed_account(h, &t, |a| {
        a.owner_id = Some(agent.clone());
        a.team_id = Some(leader.clone());
    })
    .await;
    let team_free = seed_account(h, &t, |a| a.team_id = Some(leader.clone())).await;
    let elsewhere = seed_account(h, &t, |a| a.owner_id = Some(other.clone())).await;
    let tr = &t;
    let list = |q: AccountQuery| async move { ids(&h.directory.list_accounts(tr, &q).await.unwrap()) };

    assert_eq!(
        list(AccountQuery::scoped(DialogScope::Team(leader.clone()), 10)).await,
        sorted(vec![mine.id.clone(), team_free.id.clone()])
    );
    assert_eq!(list(AccountQuery::scoped(DialogScope::Owner(agent.clone()), 10)).await, vec![mine.id.clone()]);
    assert_eq!(
        list(AccountQuery::scoped(DialogScope::Account(elsewhere.id.clone()), 10)).await,
        vec![elsewhere.id.clone()]
    );
    assert_eq!(list(AccountQuery::scoped(DialogScope::Tenant, 10)).await.len(), 3);
    let outside =
        AccountQuery { owner: Some(other.clone()), ..AccountQuery::scoped(DialogScope::Team(leader.clone()), 10) };
    assert!(list(outside).await.is_empty());
    let unowned_in_team = AccountQuery { unowned: true, ..AccountQuery::scoped(DialogScope::Team(leader.clone()), 10) };
    assert_eq!(list(unowned_in_team).await, vec![team_free.id.clone()]);
}
