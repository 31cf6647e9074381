//! Every item key of the store's tables, built in one place. Keys start with
//! the tenant (`a-z0-9-`, never `#`), then a fixed kind word, then ids
//! (`a-z0-9_-`, never `#`), so no key of one tenant or kind can spell another's.
//! Layout and access patterns: `shared/aws/DESIGN.md`.

use tgdesk_core::domain::{AccountId, TenantId, UserId};
use tgdesk_core::ports::PinTarget;

/// Partition of the tenants list: every tenant is an item under it.
pub const TENANTS: &str = "TENANT";

/// Returns `<tenant>#<kind>`.
pub fn part(tenant: &TenantId, kind: &str) -> String {
    format!("{}#{kind}", tenant.as_str())
}

/// Returns `<tenant>#<kind>#<id>`.
pub fn part_of(tenant: &TenantId, kind: &str, id: &str) -> String {
    format!("{}#{kind}#{id}", tenant.as_str())
}

/// The owner slot of an index key: the user id, or `-` for none.
pub fn owner_slot(owner: Option<&UserId>) -> &str {
    owner.map_or("-", UserId::as_str)
}

/// Encodes a marked peer id so that string order is numeric order
/// (negative groups and channels included): the id shifted into `u64`, 20 digits.
pub fn peer_key(peer: i64) -> String {
    format!("{:020}", (peer as u64) ^ (1 << 63))
}

/// Decodes [`peer_key`].
pub fn peer_of_key(key: &str) -> Option<i64> {
    key.parse::<u64>().ok().map(|v| (v ^ (1 << 63)) as i64)
}

/// Returns the inbox sort key of a dialog: newest message first when read
/// backwards, then account, then peer, each descending (the order of
/// `MessageReader::list_dialogs`). Milliseconds are 15 digits, enough past year 30000.
pub fn inbox_key(at_ms: i64, account: &AccountId, peer: i64) -> String {
    format!("{:015}#{}#{}", at_ms.max(0), account.as_str(), peer_key(peer))
}

/// The inbox a dialog is listed in: `O#team#owner` (`-` without a team)
/// for an owned account's dialogs, `U#team` for an unowned one's. The team
/// is part of an owned slot so that a team's inbox is exactly its slots: an
/// agent who changes team has their dialogs moved to a new slot, and the
/// old one is left empty.
pub fn inbox_slot(owner: Option<&UserId>, team: Option<&UserId>) -> String {
    match owner {
        Some(o) => format!("O#{}#{}", owner_slot(team), o.as_str()),
        None => format!("U#{}", owner_slot(team)),
    }
}

/// `g1` partition of the dialogs of one inbox slot ([`inbox_slot`]).
pub fn inbox(tenant: &TenantId, slot: &str) -> String {
    part_of(tenant, "INBOX", slot)
}

/// Partition of a tenant's inbox rosters: which inbox slots hold dialogs
/// of the tenant ([`ALL_INBOXES`]), of each team (`sk` = the leader) and of
/// each owner ([`owner_inboxes`]).
pub fn inbox_rosters(tenant: &TenantId) -> String {
    part(tenant, "INBOXES")
}

/// Sort key of the roster of every inbox slot of a tenant (user ids never start with `*`).
pub const ALL_INBOXES: &str = "*";

/// Sort key of the roster of the slots of `owner`'s own dialogs (user ids never start with `@`).
pub fn owner_inboxes(owner: &UserId) -> String {
    format!("@{}", owner.as_str())
}

/// Returns the partition of one dialog's messages.
pub fn messages_part(tenant: &TenantId, account: &AccountId, peer: i64) -> String {
    format!("{}#{}#{peer}", tenant.as_str(), account.as_str())
}

/// Decodes [`messages_part`] into its tenant, account and peer (`None`: not
/// a key this module built).
pub fn dialog_of_messages_part(part: &str) -> Option<(TenantId, AccountId, i64)> {
    let mut pieces = part.split('#');
    let (tenant, account, peer) = (pieces.next()?, pieces.next()?, pieces.next()?);
    if pieces.next().is_some() {
        return None;
    }
    Some((TenantId::parse(tenant).ok()?, AccountId::parse(account).ok()?, peer.parse().ok()?))
}

/// Partition of a tenant's users (`sk` = user id).
pub fn users(tenant: &TenantId) -> String {
    part(tenant, "USER")
}

/// Partition of a tenant's username claims (`sk` = username).
pub fn usernames(tenant: &TenantId) -> String {
    part(tenant, "USERNAME")
}

/// Partition of a tenant's accounts (`sk` = account id).
pub fn accounts(tenant: &TenantId) -> String {
    part(tenant, "ACC")
}

/// Partition of a tenant's phone claims (`sk` = phone).
pub fn phones(tenant: &TenantId) -> String {
    part(tenant, "PHONE")
}

/// Partition of a tenant's sealed sessions (`sk` = account id).
pub fn sessions(tenant: &TenantId) -> String {
    part(tenant, "SESSION")
}

/// Partition of a tenant's session fences (`sk` = account id): the highest
/// lease fencing number each account's session was written under, in an
/// item of its own so rewriting the account or session items keeps it.
pub fn session_fences(tenant: &TenantId) -> String {
    part(tenant, "SFENCE")
}

/// `g1` partition of the accounts of one owner (`None`: the unowned ones).
pub fn owner_accounts(tenant: &TenantId, owner: Option<&UserId>) -> String {
    part_of(tenant, "OWN", owner_slot(owner))
}

/// `g2` partition of the accounts of one leader's team (`None`: no team).
pub fn team_accounts(tenant: &TenantId, team: Option<&UserId>) -> String {
    part_of(tenant, "TEAM", owner_slot(team))
}

/// `g3` partition of the accounts the fleet runs.
pub fn runnable(tenant: &TenantId) -> String {
    part(tenant, "RUN")
}

/// Partition of a tenant's groups (`sk` = group id).
pub fn groups(tenant: &TenantId) -> String {
    part(tenant, "GROUP")
}

/// Partition of a tenant's group name claims.
pub fn group_names(tenant: &TenantId) -> String {
    part(tenant, "GROUPNAME")
}

/// Sort key of a group name claim: the owner, then the name without ASCII case.
pub fn group_name(owner: &UserId, name: &str) -> String {
    format!("{}#{}", owner.as_str(), name.to_ascii_lowercase())
}

/// Partition of a tenant's tags (`sk` = tag id).
pub fn tags(tenant: &TenantId) -> String {
    part(tenant, "TAG")
}

/// Partition of a tenant's tag name claims.
pub fn tag_names(tenant: &TenantId) -> String {
    part(tenant, "TAGNAME")
}

/// Sort key of a tag name claim: the name without ASCII case.
pub fn tag_name(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// Partition of one user's pins.
pub fn pins(tenant: &TenantId, user: &UserId) -> String {
    part_of(tenant, "PIN", user.as_str())
}

/// Sort key of a pin: `A#account` or `D#account#peerkey`.
pub fn pin(target: &PinTarget) -> String {
    match target {
        PinTarget::Account(a) => format!("A#{}", a.as_str()),
        PinTarget::Dialog(a, peer) => format!("D#{}#{}", a.as_str(), peer_key(*peer)),
    }
}

/// `g2` partition of every user's pins of one account (deleting the account
/// deletes them); its sort key is [`pin_of_user`].
pub fn account_pins(tenant: &TenantId, account: &AccountId) -> String {
    part_of(tenant, "PINACC", account.as_str())
}

/// `g2` sort key of a pin: the user, then the pin's sort key.
pub fn pin_of_user(user: &UserId, target: &PinTarget) -> String {
    format!("{}#{}", user.as_str(), pin(target))
}

/// Partition of one month (`yyyy-mm`) of a tenant's audit log (`sk` = audit id).
pub fn audit_month(tenant: &TenantId, month: &str) -> String {
    part_of(tenant, "AUDIT", month)
}

/// The item listing the months a tenant's audit log has entries in.
pub fn audit_months(tenant: &TenantId) -> (String, String) {
    (part(tenant, "AUDITMONTHS"), "-".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_keys_sort_as_the_numbers_do() {
        let peers = [i64::MIN, -1_000_000_000_123, -42, -1, 0, 1, 7, 1_000_000, i64::MAX];
        let keys: Vec<String> = peers.iter().map(|p| peer_key(*p)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert!(peers.iter().all(|p| peer_of_key(&peer_key(*p)) == Some(*p)));
    }

    #[test]
    fn a_messages_partition_decodes_into_the_dialog_it_was_built_from() {
        let (t, a) = (TenantId::parse("acme-1").unwrap(), AccountId::parse("acc_a-b").unwrap());
        for peer in [-1_000_000_000_123, -1, 0, 42] {
            assert_eq!(dialog_of_messages_part(&messages_part(&t, &a, peer)), Some((t.clone(), a.clone(), peer)));
        }
        for bad in ["acme#acc_a", "acme#acc_a#x", "acme#acc_a#1#2", "ACME#acc_a#1"] {
            assert_eq!(dialog_of_messages_part(bad), None, "{bad}");
        }
    }

    #[test]
    fn inbox_keys_sort_by_time_then_account_then_peer() {
        let (a, b) = (AccountId::parse("acc_a").unwrap(), AccountId::parse("acc_a_b").unwrap());
        let ordered = [
            inbox_key(0, &b, 5),
            inbox_key(5, &a, -3),
            inbox_key(5, &a, 2),
            inbox_key(5, &b, -9),
            inbox_key(60_000, &a, 1),
        ];
        let mut sorted = ordered.clone();
        sorted.sort();
        assert_eq!(ordered, sorted);
    }

    #[test]
    fn directory_keys_of_one_tenant_never_spell_anothers_or_another_kinds() {
        let (t, u) = (TenantId::parse("acme").unwrap(), UserId::parse("usr_1").unwrap());
        let a = AccountId::parse("acc_1").unwrap();
        let parts = [
            users(&t),
            usernames(&t),
            accounts(&t),
            phones(&t),
            sessions(&t),
            session_fences(&t),
            groups(&t),
            tags(&t),
        ];
        let distinct: std::collections::HashSet<_> = parts.iter().collect();
        assert_eq!(distinct.len(), parts.len());
        assert!(parts.iter().all(|p| p.starts_with("acme#")));
        assert_ne!(pins(&t, &u), account_pins(&t, &a));
        assert_eq!(owner_accounts(&t, None), "acme#OWN#-");
        assert_ne!(pin(&PinTarget::Account(a.clone())), pin(&PinTarget::Dialog(a.clone(), 0)));
    }

    #[test]
    fn owned_and_unowned_dialogs_have_distinct_inbox_slots() {
        let (t, u, l) =
            (TenantId::parse("acme").unwrap(), UserId::parse("usr_1").unwrap(), UserId::parse("usr_2").unwrap());
        let slots = [
            inbox_slot(Some(&u), Some(&l)),
            inbox_slot(None, Some(&l)),
            inbox_slot(None, None),
            inbox_slot(Some(&l), None),
        ];
        assert_eq!(slots, ["O#usr_2#usr_1", "U#usr_2", "U#-", "O#-#usr_2"]);
        assert_ne!(owner_inboxes(&u), ALL_INBOXES);
        assert_ne!(owner_inboxes(&u), u.as_str(), "an owner's roster is not a team's");
        assert_eq!(inbox(&t, &slots[1]), "acme#INBOX#U#usr_2");
        assert!(!ALL_INBOXES.starts_with("usr_"));
    }

    #[test]
    fn name_claims_ignore_ascii_case_only() {
        let u = UserId::parse("usr_1").unwrap();
        assert_eq!(group_name(&u, "VIP"), group_name(&u, "vip"));
        assert_ne!(group_name(&u, "vip"), group_name(&UserId::parse("usr_2").unwrap(), "vip"));
        assert_eq!(tag_name("Urgent"), tag_name("URGENT"));
        assert_ne!(tag_name("МАРИЯ"), tag_name("мария"));
    }
}
