//! Login throttling policy: which keys an attempt counts under and their
//! limits. Every attempt is reserved before the password is checked (the
//! check and the count are one step of the [`Throttle`] port), so a
//! concurrent burst passes at most the limit; a success takes its
//! reservation back. Keys come from the parsed tenant and username (so
//! `" admin"`, `"ADMIN"` and `"\u{2003}admin"` share one counter) and from the
//! client address, IPv6 clients by their /64.

use super::MemoryThrottle;
use crate::domain::{TenantId, UserId, Username};
use crate::ports::{Admission, PortError, Throttle, ThrottleLimit};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// The limits and the counters they are kept in.
pub struct LoginThrottle {
    store: Arc<dyn Throttle>,
    window: Duration,
    per_user: u32,
    per_address: u32,
}

impl Default for LoginThrottle {
    /// 10 attempts per username and 50 per address in 15 minutes, in memory.
    fn default() -> Self {
        Self::over(Arc::new(MemoryThrottle::default()))
    }
}

impl LoginThrottle {
    /// Builds the default limits (10 attempts per username and 50 per address
    /// in 15 minutes) over `store`: a shared store where several API
    /// processes serve one tenant.
    pub fn over(store: Arc<dyn Throttle>) -> Self {
        Self::new(store, Duration::from_secs(15 * 60), 10, 50)
    }

    /// Builds a throttle over `store` with its limits.
    pub fn new(store: Arc<dyn Throttle>, window: Duration, per_user: u32, per_address: u32) -> Self {
        Self { store, window, per_user, per_address }
    }

    /// Returns the key of a username (tenant and name as parsed: at most 106 bytes).
    pub fn user_key(tenant: &TenantId, username: &Username) -> String {
        format!("u:{tenant}/{username}")
    }

    /// Returns the key of the current-password check of "change my password".
    pub fn password_check_key(tenant: &TenantId, user: &UserId) -> String {
        format!("p:{tenant}/{user}")
    }

    /// Returns the key of a client address: IPv4 as is, IPv6 by its /64 (one
    /// subscriber's allocation), anything unparseable as `a:unknown`.
    pub fn address_key(address: &str) -> String {
        match address.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
            Ok(IpAddr::V4(v4)) => format!("a:{v4}"),
            Ok(IpAddr::V6(v6)) => {
                let s = v6.segments();
                format!("a:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
            Err(_) => "a:unknown".to_owned(),
        }
    }

    /// Reserves one attempt under the user key (when the name parsed) and the
    /// address key; `Ok(Some(wait))` when either is at its limit.
    pub async fn reserve(&self, user_key: Option<&str>, address_key: &str) -> Result<Option<Duration>, PortError> {
        let mut limits =
            vec![ThrottleLimit { key: address_key.to_owned(), max: self.per_address, window: self.window }];
        if let Some(key) = user_key {
            limits.push(ThrottleLimit { key: key.to_owned(), max: self.per_user, window: self.window });
        }
        Ok(match self.store.admit(&limits).await? {
            Admission::Admitted => None,
            Admission::Refused { retry_after } => Some(retry_after),
        })
    }

    /// Reserves one attempt under `key` alone, with the per-user limit.
    pub async fn reserve_key(&self, key: &str) -> Result<Option<Duration>, PortError> {
        let limit = ThrottleLimit { key: key.to_owned(), max: self.per_user, window: self.window };
        Ok(match self.store.admit(&[limit]).await? {
            Admission::Admitted => None,
            Admission::Refused { retry_after } => Some(retry_after),
        })
    }

    /// Takes back a reservation whose attempt was never checked (the
    /// password pool was full): it is no failure of the user or the address.
    pub async fn unreserve(&self, keys: &[&str]) -> Result<(), PortError> {
        for key in keys {
            self.store.release(key).await?;
        }
        Ok(())
    }

    /// Takes back a reservation that turned out legitimate: the user's
    /// failures are forgotten and the address's attempt released.
    pub async fn succeeded(&self, user_key: &str, address_key: Option<&str>) -> Result<(), PortError> {
        self.store.forget(user_key).await?;
        if let Some(key) = address_key {
            self.store.release(key).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_username_share_one_key() {
        let t = TenantId::parse("acme").unwrap();
        let keys: Vec<String> = [" bob", "BOB\t", "\u{2003}bob", "bob"]
            .iter()
            .map(|raw| LoginThrottle::user_key(&t, &Username::parse(raw).unwrap()))
            .collect();
        assert!(keys.iter().all(|k| k == "u:acme/bob"), "{keys:?}");
    }

    #[test]
    fn ipv6_clients_share_a_key_per_64_and_mapped_ipv4_is_ipv4() {
        let a = LoginThrottle::address_key("2001:db8:1:2::1");
        let b = LoginThrottle::address_key("2001:db8:1:2:ffff:ffff:ffff:ffff");
        let c = LoginThrottle::address_key("2001:db8:1:3::1");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(LoginThrottle::address_key("::ffff:10.0.0.1"), "a:10.0.0.1");
        assert_eq!(LoginThrottle::address_key("not an address"), "a:unknown");
    }

    #[tokio::test]
    async fn a_success_forgets_the_user_and_gives_the_address_its_attempt_back() {
        let t = LoginThrottle::new(Arc::new(MemoryThrottle::default()), Duration::from_secs(60), 2, 2);
        t.reserve(Some("u:x"), "a:1.1.1.1").await.unwrap();
        t.reserve(Some("u:x"), "a:1.1.1.1").await.unwrap();
        assert!(t.reserve(Some("u:y"), "a:1.1.1.1").await.unwrap().is_some(), "the address is full");

        t.succeeded("u:x", Some("a:1.1.1.1")).await.unwrap();

        assert!(t.reserve(Some("u:x"), "a:1.1.1.1").await.unwrap().is_none());
    }
}
