//! Every item key of the store's tables, built in one place. Keys start with
//! the tenant (`a-z0-9-`, never `#`), then a fixed kind word, then ids
//! (`a-z0-9_-`, never `#`), so no key of one tenant or kind can spell another's.
//! Layout and access patterns: `shared/aws/DESIGN.md`.

use tgdesk_core::domain::{AccountId, TenantId, UserId};

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

/// Returns the partition of one dialog's messages.
pub fn messages_part(tenant: &TenantId, account: &AccountId, peer: i64) -> String {
    format!("{}#{}#{peer}", tenant.as_str(), account.as_str())
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
}
