//! The API's secrets at rest: login codes and refresh tokens are stored as HMACs keyed
//! with the first token key, so a copy of the database alone cannot replay them.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use cita_shared::config::TokenKey;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// `HMAC-SHA-256(key, purpose ‖ 0 ‖ value)`; `purpose` keeps a code's hash from ever
/// matching a token's.
pub fn digest(keys: &[TokenKey], purpose: &str, value: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&keys[0].key).expect("HMAC takes any key length");
    mac.update(purpose.as_bytes());
    mac.update(&[0]);
    mac.update(value.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// `n` bytes from the operating system's generator.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes).expect("the operating system's random generator");
    bytes
}

/// A six-digit code, uniform over 000000–999999.
pub fn six_digits() -> String {
    loop {
        let n = u32::from_le_bytes(random_bytes::<4>());
        // Below the largest multiple of a million that fits, so no code is likelier.
        if n < 4_294_000_000 {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// 32 random bytes, base64url.
pub fn token() -> String {
    B64.encode(random_bytes::<32>())
}

/// What is stored of a long random secret (a calendar URL's token, an API key): its
/// SHA-256. 256 random bits need no key to be unguessable, so rotating the token keys
/// invalidates none of them.
pub fn fingerprint(secret: &str) -> Vec<u8> {
    use sha2::Digest;
    Sha256::digest(secret.as_bytes()).to_vec()
}
