//! The server half of Telegram's SRP 2FA (https://core.telegram.org/api/srp):
//! stores the verifier `v`, issues `g_b` challenges and checks the client's
//! `M1`, so `auth.checkPassword` verifies a real proof from grammers.

use num_bigint::BigUint;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

/// Telegram's 2048-bit safe prime (the one its DH and SRP use), with g = 3.
const P_HEX: &str = "c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f48198a0aa7c14058229493d22530f4dbfa336f6e0ac925139543aed44cce7c3720fd51f69458705ac68cd4fe6b6b13abdc9746512969328454f18faf8c595f642477fe96bb2a941d5bcd1d4ac8cc49880708fa9b378e3c4f3a9060bee67cf9a4a4a695811051907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754fd17ed950d5965b4b9dd46582db1178d169c6bc465b0d6ff9ca3928fef5b9ae4e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959d956850ce929851f0d8115f635b105ee2e4e15d04b2454bf6f4fadf034b10403119cd8e3b92fcc5b";

/// The SRP generator Telegram uses with [`P_HEX`].
pub const G: i32 = 3;

/// Returns the SRP prime as big-endian bytes.
pub fn prime_bytes() -> Vec<u8> {
    grammers_crypto::hex::from_hex(P_HEX)
}

/// What the cloud keeps for a password: the salts and the verifier, never the password.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PasswordRecord {
    /// The client-side salt (KDF salt1).
    pub salt1: Vec<u8>,
    /// The server-side salt (KDF salt2).
    pub salt2: Vec<u8>,
    /// The SRP verifier v = g^x mod p, big-endian, padded to 256 bytes.
    pub v: Vec<u8>,
}

/// One outstanding `account.getPassword` challenge.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// The secret exponent b.
    pub b: Vec<u8>,
    /// The public value g_b sent to the client, padded to 256 bytes.
    pub g_b: Vec<u8>,
}

fn h(parts: &[&[u8]]) -> [u8; 32] {
    let mut d = Sha256::new();
    for p in parts {
        d.update(p);
    }
    d.finalize().into()
}

fn pad256(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 256usize.saturating_sub(data.len())];
    out.extend_from_slice(data);
    out
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut v);
    v
}

fn ph2(password: &[u8], salt1: &[u8], salt2: &[u8]) -> [u8; 32] {
    let sh = |data: &[u8], salt: &[u8]| h(&[salt, data, salt]);
    let ph1 = sh(&sh(password, salt1), salt2);
    let mut dk = [0u8; 64];
    pbkdf2::pbkdf2_hmac::<Sha512>(&ph1, salt1, 100_000, &mut dk);
    sh(&dk, salt2)
}

impl PasswordRecord {
    /// Derives a record for `password` with fresh salts (slow: PBKDF2 100,000 rounds).
    pub fn new(password: &str) -> Self {
        let salt1 = random_bytes(40);
        let salt2 = random_bytes(16);
        let p = BigUint::from_bytes_be(&prime_bytes());
        let x = BigUint::from_bytes_be(&ph2(password.as_bytes(), &salt1, &salt2));
        let v = BigUint::from(G as u32).modpow(&x, &p);
        Self { salt1, salt2, v: pad256(&v.to_bytes_be()) }
    }

    /// Issues a new challenge: g_b = k·v + g^b mod p.
    pub fn challenge(&self) -> Challenge {
        let p_bytes = prime_bytes();
        let p = BigUint::from_bytes_be(&p_bytes);
        let g = BigUint::from(G as u32);
        let k = BigUint::from_bytes_be(&h(&[&p_bytes, &pad256(&[G as u8])]));
        let b = random_bytes(256);
        let v = BigUint::from_bytes_be(&self.v);
        let g_b = (k * v + g.modpow(&BigUint::from_bytes_be(&b), &p)) % &p;
        Challenge { b, g_b: pad256(&g_b.to_bytes_be()) }
    }

    /// Returns true when (g_a, m1) proves knowledge of the password for `challenge`.
    pub fn verify(&self, challenge: &Challenge, g_a: &[u8], m1: &[u8]) -> bool {
        if g_a.len() > 256 || m1.len() != 32 {
            return false;
        }
        let p_bytes = prime_bytes();
        let p = BigUint::from_bytes_be(&p_bytes);
        let g_a_num = BigUint::from_bytes_be(g_a);
        if g_a_num <= BigUint::from(1u8) || g_a_num >= p {
            return false;
        }
        let g_a = pad256(g_a);
        let u = BigUint::from_bytes_be(&h(&[&g_a, &challenge.g_b]));
        let v = BigUint::from_bytes_be(&self.v);
        let base = (g_a_num * v.modpow(&u, &p)) % &p;
        let s = base.modpow(&BigUint::from_bytes_be(&challenge.b), &p);
        let k_a = h(&[&pad256(&s.to_bytes_be())]);
        let h_p = h(&[&p_bytes]);
        let h_g = h(&[&pad256(&[G as u8])]);
        let xored: Vec<u8> = h_p.iter().zip(h_g.iter()).map(|(a, b)| a ^ b).collect();
        let expected = h(&[&xored, &h(&[&self.salt1]), &h(&[&self.salt2]), &g_a, &challenge.g_b, &k_a]);
        expected.as_slice() == m1
    }
}
