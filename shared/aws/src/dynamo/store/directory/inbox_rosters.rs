//! Inbox rosters: which inbox slots (`keys::inbox_slot`) hold dialogs of a
//! tenant, and of each leader's team. A leader's and an admin's inbox is the
//! merge of the slots their roster names, so an ingested message writes one
//! inbox index entry (its owner's) instead of one per scope.
//!
//! A roster is written when an account is put, before its record: no dialog
//! can be listed under a slot its roster lacks. It only grows (a string set
//! `ADD`, safe under concurrent writers); a slot left behind by a move costs
//! one empty query per page, and the team filter on the dialogs' `team`
//! keeps a moved agent's dialogs out of the old team's inbox.

use super::io::{key, Expr};
use crate::dynamo::attrs::{get_ss, Item};
use crate::dynamo::keys::{self, inbox_slot, ALL_INBOXES};
use crate::dynamo::store::DynamoStore;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::{BTreeMap, BTreeSet};
use tgdesk_core::domain::{Account, TenantId, UserId};
use tgdesk_core::ports::PortError;

/// Returns the roster entries `accounts` need: slot sets keyed by the
/// roster's sort key (the tenant's [`ALL_INBOXES`], and each team's leader).
fn entries<'a>(accounts: impl IntoIterator<Item = &'a Account>) -> BTreeMap<String, BTreeSet<String>> {
    let mut rosters: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for a in accounts {
        let slot = inbox_slot(a.owner_id.as_ref(), a.team_id.as_ref());
        if let Some(team) = &a.team_id {
            rosters.entry(team.as_str().to_owned()).or_default().insert(slot.clone());
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

    /// Returns the inbox slots of `team`'s roster, or of the whole tenant's.
    pub(in crate::dynamo::store) async fn inbox_roster(
        &self,
        tenant: &TenantId,
        team: Option<&UserId>,
    ) -> Result<Vec<String>, PortError> {
        let roster = team.map_or(ALL_INBOXES, UserId::as_str);
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
        assert_eq!(rosters[ALL_INBOXES], set(&["O#usr_a", "U#usr_l", "U#-"]));
        assert_eq!(rosters["usr_l"], set(&["O#usr_a", "U#usr_l"]));
        assert_eq!(rosters.len(), 2);
    }
}
