//! Server-side MTProto 2.0 message encryption: the SHA-256 key derivation with
//! x = 0 for client messages and x = 8 for server messages, over grammers' AES-IGE.

use grammers_crypto::aes;
use rand::RngCore;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Why an encrypted payload could not be opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// The payload is too short or not a multiple of the AES block size.
    #[error("invalid encrypted payload length {0}")]
    BadLength(usize),
    /// The msg_key does not match the decrypted plaintext (wrong key or tampering).
    #[error("msg_key mismatch")]
    MsgKeyMismatch,
}

/// Returns the 64-bit auth key id: the low 8 bytes of SHA1(auth_key).
pub fn key_id(auth_key: &[u8; 256]) -> i64 {
    let digest = Sha1::digest(auth_key);
    let mut id = [0u8; 8];
    id.copy_from_slice(&digest[12..20]);
    i64::from_le_bytes(id)
}

fn calc_key(auth_key: &[u8; 256], msg_key: &[u8; 16], x: usize) -> ([u8; 32], [u8; 32]) {
    let a = Sha256::new().chain_update(msg_key).chain_update(&auth_key[x..x + 36]).finalize();
    let b = Sha256::new().chain_update(&auth_key[40 + x..40 + x + 36]).chain_update(msg_key).finalize();
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&a[..8]);
    key[8..24].copy_from_slice(&b[8..24]);
    key[24..].copy_from_slice(&a[24..32]);
    let mut iv = [0u8; 32];
    iv[..8].copy_from_slice(&b[..8]);
    iv[8..24].copy_from_slice(&a[8..24]);
    iv[24..].copy_from_slice(&b[24..32]);
    (key, iv)
}

fn msg_key_for(auth_key: &[u8; 256], padded_plaintext: &[u8], x: usize) -> [u8; 16] {
    let large = Sha256::new().chain_update(&auth_key[88 + x..88 + x + 32]).chain_update(padded_plaintext).finalize();
    let mut msg_key = [0u8; 16];
    msg_key.copy_from_slice(&large[8..24]);
    msg_key
}

/// Decrypts a client message (`msg_key | ciphertext`, the key id already stripped)
/// and returns the plaintext including its padding.
pub fn decrypt_client(auth_key: &[u8; 256], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if data.len() < 16 + 32 || !(data.len() - 16).is_multiple_of(16) {
        return Err(CryptoError::BadLength(data.len()));
    }
    let mut msg_key = [0u8; 16];
    msg_key.copy_from_slice(&data[..16]);
    let (key, iv) = calc_key(auth_key, &msg_key, 0);
    let mut plain = data[16..].to_vec();
    aes::ige_decrypt(&mut plain, &key, &iv);
    if msg_key_for(auth_key, &plain, 0) != msg_key {
        return Err(CryptoError::MsgKeyMismatch);
    }
    Ok(plain)
}

/// Encrypts a server message plaintext and returns `key_id | msg_key | ciphertext`.
pub fn encrypt_server(auth_key: &[u8; 256], key_id: i64, plaintext: &[u8]) -> Vec<u8> {
    // MTProto 2.0 wants 12..1024 bytes of padding with a total multiple of 16.
    let padding = 16 + (16 - plaintext.len() % 16);
    let mut buf = Vec::with_capacity(24 + plaintext.len() + padding);
    buf.extend_from_slice(plaintext);
    let mut pad = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut pad);
    buf.extend_from_slice(&pad[..padding]);
    let msg_key = msg_key_for(auth_key, &buf, 8);
    let (key, iv) = calc_key(auth_key, &msg_key, 8);
    aes::ige_encrypt(&mut buf, &key, &iv);
    let mut out = Vec::with_capacity(24 + buf.len());
    out.extend_from_slice(&key_id.to_le_bytes());
    out.extend_from_slice(&msg_key);
    out.extend_from_slice(&buf);
    out
}

/// Encrypts like a client would (x = 0); used by tests to forge client traffic.
pub fn encrypt_client(auth_key: &[u8; 256], plaintext: &[u8]) -> Vec<u8> {
    let padding = 16 + (16 - plaintext.len() % 16);
    let mut buf = plaintext.to_vec();
    buf.extend(std::iter::repeat_n(0u8, padding));
    let msg_key = msg_key_for(auth_key, &buf, 0);
    let (key, iv) = calc_key(auth_key, &msg_key, 0);
    aes::ige_encrypt(&mut buf, &key, &iv);
    let mut out = key_id(auth_key).to_le_bytes().to_vec();
    out.extend_from_slice(&msg_key);
    out.extend_from_slice(&buf);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_encryption_round_trips_through_server_decryption() {
        let key = [7u8; 256];
        let plain = vec![1u8; 40];
        let wire = encrypt_client(&key, &plain);
        let opened = decrypt_client(&key, &wire[8..]).expect("decrypts");
        assert_eq!(&opened[..40], &plain[..]);
    }

    #[test]
    fn tampered_ciphertext_is_rejected() {
        let key = [7u8; 256];
        let mut wire = encrypt_client(&key, &[1u8; 40]);
        let last = wire.len() - 1;
        wire[last] ^= 1;
        assert_eq!(decrypt_client(&key, &wire[8..]), Err(CryptoError::MsgKeyMismatch));
    }
}
