//! The session sealer contract: what any `SessionSealer` must do, whatever
//! keeps its key (a key file, KMS). Run it with
//! `tgdesk_core::sealer_contract_suite!(make)`, where `make` is an async
//! function returning a fresh `Arc<dyn SessionSealer>`.

use crate::domain::AccountId;
use crate::ports::{PortErrorKind, SessionSealer};

/// A sealed session opens for its account to the bytes sealed, and the
/// sealed bytes hide them.
pub async fn a_sealed_session_opens_to_what_was_sealed(sealer: &dyn SessionSealer) {
    let account = AccountId::generate();
    let plain = b"auth key and update state, secret".repeat(20);
    let sealed = sealer.seal(&account, &plain).await.unwrap();
    assert!(!sealed.windows(16).any(|w| plain.windows(16).any(|p| p == w)), "the sealed bytes hide the session");
    assert_eq!(sealer.open(&account, &sealed).await.unwrap(), plain);
    let empty = sealer.seal(&account, b"").await.unwrap();
    assert_eq!(sealer.open(&account, &empty).await.unwrap(), b"");
}

/// Sealing the same session twice gives different bytes (a fresh nonce),
/// and both open.
pub async fn sealing_twice_gives_different_bytes(sealer: &dyn SessionSealer) {
    let account = AccountId::generate();
    let (a, b) = (sealer.seal(&account, b"same").await.unwrap(), sealer.seal(&account, b"same").await.unwrap());
    assert_ne!(a, b);
    assert_eq!(sealer.open(&account, &a).await.unwrap(), b"same");
    assert_eq!(sealer.open(&account, &b).await.unwrap(), b"same");
}

/// A session sealed for one account does not open for another (a sealed
/// session copied onto another account is refused): `Invalid`.
pub async fn a_session_sealed_for_one_account_does_not_open_for_another(sealer: &dyn SessionSealer) {
    let sealed = sealer.seal(&AccountId::generate(), b"secret").await.unwrap();
    let err = sealer.open(&AccountId::generate(), &sealed).await.unwrap_err();
    assert_eq!(err.kind, PortErrorKind::Invalid, "{err}");
}

/// Any change to the sealed bytes, and bytes that were never sealed, are
/// refused as `Invalid`, never opened to something else.
pub async fn tampered_or_foreign_bytes_are_refused(sealer: &dyn SessionSealer) {
    let account = AccountId::generate();
    let sealed = sealer.seal(&account, b"secret session").await.unwrap();
    let positions = [0, 1, 2, sealed.len() / 2, sealed.len() - 1];
    for at in positions {
        let mut bad = sealed.clone();
        bad[at] ^= 0x01;
        let err = sealer.open(&account, &bad).await.unwrap_err();
        assert_eq!(err.kind, PortErrorKind::Invalid, "flipped byte {at}: {err}");
    }
    for junk in [&b""[..], &[1u8][..], &[2u8, 0, 0][..], &sealed[..sealed.len() - 1], &[0xFFu8; 300][..]] {
        let err = sealer.open(&account, junk).await.unwrap_err();
        assert_eq!(err.kind, PortErrorKind::Invalid, "{} junk bytes: {err}", junk.len());
    }
}

/// Many sessions sealed at once all open.
pub async fn sessions_sealed_at_once_all_open(sealer: &dyn SessionSealer) {
    let sealed: Vec<(AccountId, Vec<u8>, Vec<u8>)> = futures::future::join_all((0..50u8).map(|i| async move {
        let account = AccountId::generate();
        let plain = vec![i; 100 + usize::from(i)];
        let sealed = sealer.seal(&account, &plain).await.unwrap();
        (account, plain, sealed)
    }))
    .await;
    for (account, plain, sealed) in sealed {
        assert_eq!(sealer.open(&account, &sealed).await.unwrap(), plain);
    }
}

/// Runs every case against the sealers `$make` returns (one per case).
#[macro_export]
macro_rules! sealer_contract_suite {
    ($make:expr) => {
        $crate::sealer_contract_suite!(@cases $make;
            a_sealed_session_opens_to_what_was_sealed,
            sealing_twice_gives_different_bytes,
            a_session_sealed_for_one_account_does_not_open_for_another,
            tampered_or_foreign_bytes_are_refused,
            sessions_sealed_at_once_all_open,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let sealer: std::sync::Arc<dyn $crate::ports::SessionSealer> = ($make)().await;
                $crate::testkit::sealer_suite::$case(sealer.as_ref()).await;
            }
        )+
    };
}
