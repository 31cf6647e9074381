//! Inbox rosters: which inbox slots (`keys::inbox_slot`) hold dialogs of a
//! tenant, of each leader's team and of each owner. Every inbox is the merge
//! of the slots its roster names, so an ingested message writes one inbox
//! index entry (its owner's in its team) instead of one per scope.
//!
//! A roster is written when an account is put, before its record: no dialog
//! can be listed under a slot its roster lacks. It only grows (a string set
//! `ADD`, safe under concurrent writers). A slot left behind by a move (an
//! agent changing team, an account changing owner) is empty, since the
//! move rewrites the dialogs under their new slot: it costs one empty query
//! per page of the inboxes whose roster still names it.

use super::io::{key, Expr};
use crate::dynamo::attrs::{get_ss, Item};
use crate::dynamo::keys::{self, inbox_slot, owner_inboxes, ALL_INBOXES};
use crate::dynamo::store::DynamoStore;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::{BTreeMap, BTreeSet};
use tgdesk_core::domain::{Account, TenantId};
use tgdesk_core::ports::PortError;

/// Returns the roster entries `accounts` need: slot sets keyed by the
/// roster's sort key (the tenant's [`ALL_INBOXES`], each team's leader,
/// each owner's [`owner_inboxes`]).
fn entries<'a>(accounts: impl IntoIterator<Item = &'a Account>) -> BTreeMap<String, BTreeSet<String>> {
    let mut rosters: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for a in accounts {
        let slot = inbox_slot(a.owner_id.as_ref(), a.team_id.as_ref());
        if let Some(team) = &a.team_id {
            rosters.entry(team.as_str().to_owned()).or_default().insert(slot.clone());
        }
        if let Some(owner) = &a.owner_id {
            rosters.entry(owner_inboxes(owner)).or_default().insert(slot.clone());
        }
        rosters.entry(ALL_INBOXES.to_owned()).or_default().insert(slot);
    }
    rosters
}

impl DynamoStore {
    /// Adds the inbox slots of `accounts` to the tenant's and their teams' rosters.
    pub(super) async fn register_inboxes(&self, tenant: &TenantId, accounts: &[&Account]) -> Result<(), PortError> {
        for (roster, slots) in entries(accounts.iter().copied()) {
            let mut expr = Expr::default();
            let (name, value) = (expr.name("slots"), expr.value(AttributeValue::Ss(slots.into_iter().collect())));
            self.update(key(keys::inbox_rosters(tenant), roster), &format!("ADD {name} {value}"), None, expr).await?;
        }
        Ok(())
    }

    /// Returns the inbox slots of roster `roster`: [`ALL_INBOXES`], a
    /// leader's id, or an owner's [`owner_inboxes`].
    pub(in crate::dynamo::store) async fn inbox_roster(
        &self,
        tenant: &TenantId,
        roster: &str,
    ) -> Result<Vec<String>, PortError> {
        let item: Option<Item> = self.get(keys::inbox_rosters(tenant), roster.to_owned()).await?;
        Ok(item
            .as_ref()
            .map(|i| get_ss(i, "slots"))
            .transpose()?
            .unwrap_or_default()
            .into_iter()
            .map(str::to_owned)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tgdesk_core::domain::UserId;
    use tgdesk_core::testkit::fixtures::account;

    #[test]
    fn an_account_is_on_the_tenants_roster_and_on_its_teams() {
        let t = TenantId::parse("acme").unwrap();
        let (leader, agent) = (UserId::parse("usr_l").unwrap(), UserId::parse("usr_a").unwrap());
        let mut owned = account(&t);
        owned.owner_id = Some(agent.clone());
        owned.team_id = Some(leader.clone());
        let mut team_free = account(&t);
        team_free.team_id = Some(leader.clone());
        let alone = account(&t);

        let rosters = entries([&owned, &team_free, &alone]);
        let set = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
        assert_eq!(rosters[ALL_INBOXES], set(&["O#usr_l#usr_a", "U#usr_l", "U#-"]));
        assert_eq!(rosters["usr_l"], set(&["O#usr_l#usr_a", "U#usr_l"]));
        assert_eq!(rosters["@usr_a"], set(&["O#usr_l#usr_a"]));
        assert_eq!(rosters.len(), 3);
    }
}
