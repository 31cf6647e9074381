//! Runs the session sealer contract suite against `KmsSealer` on the moto
//! server, plus what only KMS must prove: another node opens what one node
//! sealed, a data key seals many sessions, and an unreachable KMS is an
//! error the caller can retry, not a panic.

mod moto;

use std::sync::Arc;
use tgdesk_aws::{AwsContext, AwsSettings, KmsSealer};
use tgdesk_core::domain::AccountId;
use tgdesk_core::ports::{PortErrorKind, SessionSealer};

/// A fresh KMS key on the moto server, and the context to reach it.
async fn key() -> (AwsContext, String) {
    let ctx = moto::context().await;
    let made = ctx.kms().create_key().description("tgdesk test sessions").send().await.unwrap();
    let id = made.key_metadata().unwrap().key_id().to_owned();
    (ctx, id)
}

async fn fresh_sealer() -> Arc<dyn SessionSealer> {
    let (ctx, id) = key().await;
    Arc::new(KmsSealer::new(&ctx, id))
}

tgdesk_core::sealer_contract_suite!(fresh_sealer);

/// The encrypted data key a KMS-sealed blob carries.
fn data_key_of(sealed: &[u8]) -> &[u8] {
    let len = usize::from(u16::from_be_bytes([sealed[1], sealed[2]]));
    &sealed[3..3 + len]
}

#[tokio::test]
async fn another_node_opens_what_one_sealed_and_one_data_key_seals_many() {
    let (ctx, id) = key().await;
    let (node_a, node_b) = (KmsSealer::new(&ctx, id.clone()), KmsSealer::new(&ctx, id));
    let account = AccountId::generate();
    let first = node_a.seal(&account, b"session one").await.unwrap();
    let second = node_a.seal(&account, b"session two").await.unwrap();
    assert_eq!(data_key_of(&first), data_key_of(&second), "one data key for both");
    assert_eq!(node_b.open(&account, &first).await.unwrap(), b"session one");
    assert_eq!(node_b.open(&account, &second).await.unwrap(), b"session two");
    let theirs = node_b.seal(&account, b"session three").await.unwrap();
    assert_ne!(data_key_of(&theirs), data_key_of(&first), "each node makes its own data key");
    assert_eq!(node_a.open(&account, &theirs).await.unwrap(), b"session three");
}

#[tokio::test]
async fn a_session_sealed_under_another_kms_key_is_refused() {
    let (ctx, mine) = key().await;
    let (_, other) = key().await;
    let account = AccountId::generate();
    let sealed = KmsSealer::new(&ctx, other).seal(&account, b"secret").await.unwrap();
    let err = KmsSealer::new(&ctx, mine).open(&account, &sealed).await.unwrap_err();
    // KMS answers IncorrectKeyException (`Invalid`); moto answers
    // AccessDeniedException, which stays `Internal` (on AWS it means the
    // role may not use the key: a deployment to fix, not a tampered session).
    assert!(matches!(err.kind, PortErrorKind::Invalid | PortErrorKind::Internal), "{err}");
    assert!(err.to_string().contains("kms decrypt") || err.kind == PortErrorKind::Invalid, "{err}");
}

#[tokio::test]
async fn an_unreachable_kms_is_an_error_to_retry() {
    // A port nothing listens on: the SDK's retries end in a dispatch failure.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let ctx = AwsContext::load(AwsSettings::for_endpoint(&endpoint, "tgtest")).await;
    let sealer = KmsSealer::new(&ctx, "alias/tgdesk-sessions");
    let account = AccountId::generate();
    let err = sealer.seal(&account, b"secret").await.unwrap_err();
    assert_eq!(err.kind, PortErrorKind::Unavailable, "{err}");
    let (live, id) = key().await;
    let sealed = KmsSealer::new(&live, id).seal(&account, b"secret").await.unwrap();
    let err = sealer.open(&account, &sealed).await.unwrap_err();
    assert_eq!(err.kind, PortErrorKind::Unavailable, "{err}");
}

/// A sealer that seals nothing KMS would: a fixed first byte and the plain
/// bytes reversed, bound to nothing. Stands for the key file's sealer, whose
/// blobs start with 1 (tgdesk-aws does not depend on tgdesk-telegram).
struct Earlier;

#[async_trait::async_trait]
impl SessionSealer for Earlier {
    async fn seal(&self, _: &AccountId, plain: &[u8]) -> Result<Vec<u8>, tgdesk_core::ports::PortError> {
        Ok([&[1u8][..], &plain.iter().rev().copied().collect::<Vec<u8>>()].concat())
    }
    async fn open(&self, _: &AccountId, sealed: &[u8]) -> Result<Vec<u8>, tgdesk_core::ports::PortError> {
        match sealed.split_first() {
            Some((1, rest)) => Ok(rest.iter().rev().copied().collect()),
            _ => Err(tgdesk_core::ports::PortError::new(PortErrorKind::Invalid, "not the earlier format")),
        }
    }
}

#[tokio::test]
async fn sessions_sealed_before_kms_still_open_and_new_seals_are_kmss() {
    let (ctx, id) = key().await;
    let sealer = KmsSealer::new(&ctx, id.clone()).opening_also(Arc::new(Earlier));
    let account = AccountId::generate();
    let old = Earlier.seal(&account, b"stored last year").await.unwrap();
    assert_eq!(sealer.open(&account, &old).await.unwrap(), b"stored last year");
    let new = sealer.seal(&account, b"saved today").await.unwrap();
    assert_eq!(new[0], 2, "sealed under KMS");
    assert_eq!(KmsSealer::new(&ctx, id).open(&account, &new).await.unwrap(), b"saved today");
    let err = sealer.open(&account, &[7, 7, 7]).await.unwrap_err();
    assert_eq!(err.kind, PortErrorKind::Invalid, "{err}");
}
