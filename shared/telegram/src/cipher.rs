//! Sessions are credentials: [`SessionCipher`] seals session bytes with
//! XChaCha20-Poly1305 so the store only ever holds ciphertext. Locally the
//! key lives in a 32-byte key file created with mode 0600.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use std::io::Write;
use std::path::Path;

/// The first byte of every sealed blob, so the format can change later.
const FORMAT: u8 = 1;
/// XChaCha20 nonces are 24 bytes: random ones never collide in practice.
const NONCE_LEN: usize = 24;

/// Variable holding the session key as base64 (32 bytes), for deployments
/// whose processes share no disk.
pub const ENV_SESSION_KEY: &str = "TGDESK_SESSION_KEY";

/// Why a key could not be loaded or a blob could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum CipherError {
    /// The key file could not be read or created.
    #[error("session key file {path}: {source}")]
    KeyFile {
        /// The file.
        path: String,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The key file does not hold exactly 32 bytes.
    #[error("session key file {0} must hold exactly 32 bytes")]
    KeyLength(String),
    /// The key variable is not base64 of exactly 32 bytes.
    #[error("{0} must hold base64 of exactly 32 bytes (openssl rand -base64 32)")]
    KeyText(&'static str),
    /// The blob was tampered with, truncated, or sealed with another key or context.
    #[error("the sealed session cannot be opened (wrong key, context or tampered)")]
    Open,
}

/// Seals and opens session bytes.
pub struct SessionCipher {
    aead: XChaCha20Poly1305,
}

impl std::fmt::Debug for SessionCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionCipher(..)")
    }
}

impl SessionCipher {
    /// Returns a cipher over a 32-byte key.
    pub fn from_key(key: &[u8; 32]) -> Self {
        Self { aead: XChaCha20Poly1305::new(Key::from_slice(key)) }
    }

    /// The key in variable [`ENV_SESSION_KEY`] when it is set (every process
    /// of a deployment shares it: API functions and fleet tasks have no
    /// common disk), else the key file at `path`, created when missing.
    pub fn from_env_or_file(path: &Path) -> Result<Self, CipherError> {
        match std::env::var(ENV_SESSION_KEY) {
            Ok(text) => Self::from_base64(&text, ENV_SESSION_KEY),
            Err(_) => Self::load_or_create(path),
        }
    }

    /// Returns a cipher over a key given as base64 text (named `source` in errors).
    pub fn from_base64(text: &str, source: &'static str) -> Result<Self, CipherError> {
        use base64::Engine;
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(text.trim()).map_err(|_| CipherError::KeyText(source))?;
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| CipherError::KeyText(source))?;
        Ok(Self::from_key(&key))
    }

    /// Loads the key file, creating it (mode 0600, random key) when missing.
    pub fn load_or_create(path: &Path) -> Result<Self, CipherError> {
        let io = |source| CipherError::KeyFile { path: path.display().to_string(), source };
        match std::fs::read(path) {
            Ok(bytes) => {
                let key: [u8; 32] =
                    bytes.as_slice().try_into().map_err(|_| CipherError::KeyLength(path.display().to_string()))?;
                Ok(Self::from_key(&key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = XChaCha20Poly1305::generate_key(&mut OsRng);
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(path).map_err(io)?;
                file.write_all(key.as_slice()).and_then(|()| file.sync_all()).map_err(io)?;
                Ok(Self { aead: XChaCha20Poly1305::new(&key) })
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Seals `plain`, bound to `context` (e.g. the account id) so a blob
    /// cannot be moved to another account unnoticed.
    pub fn seal(&self, plain: &[u8], context: &[u8]) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = aad(context);
        let sealed = self
            .aead
            .encrypt(&nonce, Payload { msg: plain, aad: &aad })
            .unwrap_or_else(|_| unreachable!("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers"));
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(FORMAT);
        out.extend_from_slice(nonce.as_slice());
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a blob sealed with the same key and context; `Open` otherwise.
    pub fn open(&self, blob: &[u8], context: &[u8]) -> Result<Vec<u8>, CipherError> {
        if blob.len() < 1 + NONCE_LEN + 16 || blob[0] != FORMAT {
            return Err(CipherError::Open);
        }
        let nonce = XNonce::from_slice(&blob[1..1 + NONCE_LEN]);
        let aad = aad(context);
        self.aead.decrypt(nonce, Payload { msg: &blob[1 + NONCE_LEN..], aad: &aad }).map_err(|_| CipherError::Open)
    }
}

fn aad(context: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(context.len() + 16);
    aad.extend_from_slice(b"tgdesk-session\x01");
    aad.extend_from_slice(context);
    aad
}

/// Sessions are sealed bound to their account id, so a sealed session copied
/// onto another account does not open. The key is at hand: never fails to seal.
#[async_trait::async_trait]
impl tgdesk_core::ports::SessionSealer for SessionCipher {
    async fn seal(
        &self,
        account: &tgdesk_core::domain::AccountId,
        plain: &[u8],
    ) -> Result<Vec<u8>, tgdesk_core::ports::PortError> {
        Ok(SessionCipher::seal(self, plain, account.as_str().as_bytes()))
    }

    async fn open(
        &self,
        account: &tgdesk_core::domain::AccountId,
        sealed: &[u8],
    ) -> Result<Vec<u8>, tgdesk_core::ports::PortError> {
        SessionCipher::open(self, sealed, account.as_str().as_bytes()).map_err(|e| {
            tgdesk_core::ports::PortError::with_source(tgdesk_core::ports::PortErrorKind::Invalid, "sealed session", e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_given_as_base64_opens_what_the_same_key_sealed_and_bad_text_is_named() {
        use base64::Engine;
        let text = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let blob = SessionCipher::from_key(&[7; 32]).seal(b"auth key", b"a");
        let cipher = SessionCipher::from_base64(&format!("{text}\n"), ENV_SESSION_KEY).expect("a key");
        assert_eq!(cipher.open(&blob, b"a").expect("opens"), b"auth key");
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
        for bad in ["not base64!", short.as_str()] {
            let err = SessionCipher::from_base64(bad, ENV_SESSION_KEY).unwrap_err();
            assert!(err.to_string().contains(ENV_SESSION_KEY), "{err}");
        }
    }

    #[test]
    fn sealed_sessions_open_with_the_same_key_and_context() {
        let cipher = SessionCipher::from_key(&[3; 32]);

        let blob = cipher.seal(b"auth key bytes", b"account-1");

        assert_ne!(&blob[1 + NONCE_LEN..], b"auth key bytes");
        assert_eq!(cipher.open(&blob, b"account-1").expect("opens"), b"auth key bytes");
    }

    #[tokio::test]
    async fn a_sealed_session_does_not_open_as_a_2fa_password_nor_the_reverse() {
        use tgdesk_core::ports::SessionSealer;
        use tgdesk_core::usecases::{open_password, seal_password};
        let cipher = SessionCipher::from_key(&[3; 32]);
        let account = tgdesk_core::domain::AccountId::generate();

        let session = SessionSealer::seal(&cipher, &account, b"hunter22").await.unwrap();
        let password = seal_password(&cipher, &account, "hunter22").await.unwrap();

        assert!(open_password(&cipher, &account, &session).await.is_err(), "a session is no password");
        assert_eq!(open_password(&cipher, &account, &password).await.as_deref(), Ok("hunter22"));
        let opened = SessionSealer::open(&cipher, &account, &password).await.expect("same key and account");
        assert_ne!(opened, b"hunter22", "a password opened as a session carries its purpose");
    }

    #[test]
    fn a_tampered_blob_fails_to_open() {
        let cipher = SessionCipher::from_key(&[3; 32]);
        let blob = cipher.seal(b"auth key bytes", b"account-1");

        for i in [0, 5, blob.len() / 2, blob.len() - 1] {
            let mut tampered = blob.clone();
            tampered[i] ^= 0x40;
            assert!(matches!(cipher.open(&tampered, b"account-1"), Err(CipherError::Open)), "byte {i}");
        }
        assert!(matches!(cipher.open(&blob[..blob.len() - 1], b"account-1"), Err(CipherError::Open)));
    }

    #[test]
    fn another_key_or_context_cannot_open_a_blob() {
        let blob = SessionCipher::from_key(&[3; 32]).seal(b"secret", b"account-1");

        assert!(SessionCipher::from_key(&[4; 32]).open(&blob, b"account-1").is_err());
        assert!(SessionCipher::from_key(&[3; 32]).open(&blob, b"account-2").is_err());
    }

    #[test]
    fn the_key_file_is_created_with_mode_0600_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys/session.key");

        let first = SessionCipher::load_or_create(&path).expect("creates");
        let blob = first.seal(b"secret", b"");
        let second = SessionCipher::load_or_create(&path).expect("loads");

        assert_eq!(std::fs::read(&path).expect("read").len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(second.open(&blob, b"").expect("opens"), b"secret");
    }

    #[test]
    fn a_key_file_of_the_wrong_length_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("short.key");
        std::fs::write(&path, [1u8; 16]).expect("write");

        assert!(matches!(SessionCipher::load_or_create(&path), Err(CipherError::KeyLength(_))));
    }
}
