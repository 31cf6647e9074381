//! [`KmsSealer`]: the session sealer port on AWS KMS, by envelope
//! encryption. A data key from `GenerateDataKey` seals sessions locally
//! (XChaCha20-Poly1305, the account id as associated data, as the local key
//! file does); each sealed blob carries the data key as KMS encrypted it, and
//! opening asks KMS to decrypt that. The plaintext key never leaves memory.
//!
//! A KMS call per seal would cost more than the rest of the fleet (300,000
//! sessions saved every few minutes), so a data key seals for
//! [`DATA_KEY_LIFETIME`] and [`DATA_KEY_USES`] sessions, and keys opened are
//! remembered ([`OPENED_KEYS`] of them, for [`DATA_KEY_LIFETIME`]): a node
//! asks KMS about once per lifetime and once per key its sessions were
//! sealed under. What KMS refuses as tampered (`InvalidCiphertextException`)
//! is `Invalid`; what cannot reach it is `Unavailable` or `Throttled`, and
//! the caller tries again later.

use crate::error;
use crate::AwsContext;
use async_trait::async_trait;
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tgdesk_core::domain::AccountId;
use tgdesk_core::ports::{PortError, PortErrorKind, SessionSealer};

/// Environment variable naming the KMS key sessions are sealed under (its
/// id, ARN or alias) on the AWS backend; unset, the key file seals them.
pub const ENV_KMS_KEY: &str = "TGDESK_KMS_KEY_ID";

/// First byte of a KMS-sealed blob (the key file's blobs start with 1).
const FORMAT: u8 = 2;
/// XChaCha20-Poly1305 nonce length.
const NONCE_LEN: usize = 24;
/// Poly1305 tag length.
const TAG_LEN: usize = 16;
/// Longest encrypted data key accepted in a blob (KMS gives ~180 bytes).
const MAX_WRAPPED_KEY: usize = 1024;
/// How long one data key seals, and how long an opened one is remembered.
const DATA_KEY_LIFETIME: Duration = Duration::from_secs(600);
/// Most sessions one data key seals.
const DATA_KEY_USES: u64 = 100_000;
/// Most opened data keys remembered.
const OPENED_KEYS: usize = 1_024;
/// KMS encryption context of every data key: what it is for.
const CONTEXT: (&str, &str) = ("tgdesk", "session");

/// A data key: the cipher, and the key as KMS encrypted it.
#[derive(Clone)]
struct DataKey {
    aead: XChaCha20Poly1305,
    wrapped: Vec<u8>,
    made: Instant,
    uses: u64,
}

/// Seals sessions under a KMS key (its id, ARN or alias).
pub struct KmsSealer {
    client: aws_sdk_kms::Client,
    key_id: String,
    /// The data key sealing now.
    current: tokio::sync::Mutex<Option<DataKey>>,
    /// Data keys opened lately, by their encrypted form.
    opened: std::sync::Mutex<HashMap<Vec<u8>, (XChaCha20Poly1305, Instant)>>,
    /// The sealer of sessions stored before KMS sealed them (the key file's),
    /// which opens those until their next save seals them under KMS.
    earlier: Option<Arc<dyn SessionSealer>>,
}

impl KmsSealer {
    /// Returns a sealer under KMS key `key_id`.
    pub fn new(ctx: &AwsContext, key_id: impl Into<String>) -> Self {
        Self {
            client: ctx.kms(),
            key_id: key_id.into(),
            current: Default::default(),
            opened: Default::default(),
            earlier: None,
        }
    }

    /// Also opens sessions `earlier` sealed (a deployment moving from the
    /// key file to KMS): what it sealed does not start with this format's
    /// byte. Every new seal is KMS's, so sessions move over as they are saved.
    pub fn opening_also(mut self, earlier: Arc<dyn SessionSealer>) -> Self {
        self.earlier = Some(earlier);
        self
    }

    /// Returns the data key to seal with, asking KMS for a new one when the
    /// current one is spent.
    async fn data_key(&self) -> Result<DataKey, PortError> {
        let mut current = self.current.lock().await;
        if let Some(key) = current.as_mut().filter(|k| k.made.elapsed() < DATA_KEY_LIFETIME && k.uses < DATA_KEY_USES) {
            key.uses += 1;
            return Ok(key.clone());
        }
        let made = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .encryption_context(CONTEXT.0, CONTEXT.1)
            .send()
            .await
            .map_err(|e| error::sdk("kms generate data key", e))?;
        let (Some(plain), Some(wrapped)) = (made.plaintext(), made.ciphertext_blob()) else {
            return Err(PortError::new(PortErrorKind::Internal, "KMS gave a data key without its parts"));
        };
        let aead = cipher_of(plain.as_ref())?;
        let key = DataKey { aead, wrapped: wrapped.as_ref().to_vec(), made: Instant::now(), uses: 1 };
        *current = Some(key.clone());
        Ok(key)
    }

    /// Returns the cipher of an encrypted data key, asking KMS unless it was
    /// opened lately.
    async fn opened_key(&self, wrapped: &[u8]) -> Result<XChaCha20Poly1305, PortError> {
        {
            let opened = self.opened.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((aead, _)) = opened.get(wrapped).filter(|(_, at)| at.elapsed() < DATA_KEY_LIFETIME) {
                return Ok(aead.clone());
            }
        }
        let decrypted = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(wrapped))
            .encryption_context(CONTEXT.0, CONTEXT.1)
            .send()
            .await
            .map_err(|e| match e.code() {
                Some("InvalidCiphertextException" | "IncorrectKeyException") => {
                    PortError::new(PortErrorKind::Invalid, "sealed session: its data key is not one of this KMS key's")
                }
                _ => error::sdk("kms decrypt", e),
            })?;
        let plain = decrypted
            .plaintext()
            .ok_or_else(|| PortError::new(PortErrorKind::Internal, "KMS decrypted a data key into nothing"))?;
        let aead = cipher_of(plain.as_ref())?;
        let mut opened = self.opened.lock().unwrap_or_else(|p| p.into_inner());
        if opened.len() >= OPENED_KEYS {
            opened.retain(|_, (_, at)| at.elapsed() < DATA_KEY_LIFETIME);
            if opened.len() >= OPENED_KEYS {
                opened.clear();
            }
        }
        opened.insert(wrapped.to_vec(), (aead.clone(), Instant::now()));
        Ok(aead)
    }
}

/// The session sealer of a process on AWS: under the KMS key `kms_key`
/// names, still opening what `earlier` (the key file's) sealed before; or
/// `earlier` alone when no key is named.
pub fn session_sealer(
    ctx: &AwsContext,
    kms_key: Option<String>,
    earlier: Arc<dyn SessionSealer>,
) -> Arc<dyn SessionSealer> {
    match kms_key.filter(|k| !k.is_empty()) {
        Some(key_id) => Arc::new(KmsSealer::new(ctx, key_id).opening_also(earlier)),
        None => earlier,
    }
}

fn cipher_of(plain: &[u8]) -> Result<XChaCha20Poly1305, PortError> {
    XChaCha20Poly1305::new_from_slice(plain)
        .map_err(|_| PortError::new(PortErrorKind::Internal, format!("a data key of {} bytes", plain.len())))
}

/// The associated data: the account and the encrypted data key, so neither
/// can be swapped in a blob unnoticed.
fn aad(account: &AccountId, wrapped: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(32 + account.as_str().len() + wrapped.len());
    aad.extend_from_slice(b"tgdesk-session-kms\x02");
    aad.extend_from_slice(&(account.as_str().len() as u32).to_be_bytes());
    aad.extend_from_slice(account.as_str().as_bytes());
    aad.extend_from_slice(wrapped);
    aad
}

fn tampered() -> PortError {
    PortError::new(PortErrorKind::Invalid, "sealed session: not a KMS-sealed session of this account")
}

#[async_trait]
impl SessionSealer for KmsSealer {
    /// `FORMAT`, the encrypted data key's length (2 bytes) and bytes, the
    /// nonce, then the sealed session.
    async fn seal(&self, account: &AccountId, plain: &[u8]) -> Result<Vec<u8>, PortError> {
        let key = self.data_key().await?;
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = aad(account, &key.wrapped);
        let sealed = key
            .aead
            .encrypt(&nonce, Payload { msg: plain, aad: &aad })
            .map_err(|_| PortError::new(PortErrorKind::Internal, "sealing a session failed"))?;
        let wrapped_len = u16::try_from(key.wrapped.len())
            .map_err(|_| PortError::new(PortErrorKind::Internal, "KMS gave an encrypted data key over 64 KiB"))?;
        let mut out = Vec::with_capacity(3 + key.wrapped.len() + NONCE_LEN + sealed.len());
        out.push(FORMAT);
        out.extend_from_slice(&wrapped_len.to_be_bytes());
        out.extend_from_slice(&key.wrapped);
        out.extend_from_slice(nonce.as_slice());
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    async fn open(&self, account: &AccountId, sealed: &[u8]) -> Result<Vec<u8>, PortError> {
        if let (Some(earlier), Some(first)) = (&self.earlier, sealed.first()) {
            if *first != FORMAT {
                return earlier.open(account, sealed).await;
            }
        }
        let [FORMAT, hi, lo, rest @ ..] = sealed else { return Err(tampered()) };
        let wrapped_len = usize::from(u16::from_be_bytes([*hi, *lo]));
        if wrapped_len == 0 || wrapped_len > MAX_WRAPPED_KEY || rest.len() < wrapped_len + NONCE_LEN + TAG_LEN {
            return Err(tampered());
        }
        let (wrapped, rest) = rest.split_at(wrapped_len);
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let aead = self.opened_key(wrapped).await?;
        let aad = aad(account, wrapped);
        aead.decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad: &aad }).map_err(|_| tampered())
    }
}
