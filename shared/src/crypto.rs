//! Secrets at rest — organizations' Meta access tokens — sealed with AES-256-GCM.
//!
//! Each value gets a fresh random 96-bit nonce (stored in front of the ciphertext) and is
//! bound to its owner through the associated data (the organization id), so a ciphertext
//! copied into another organization's row does not open. The id of the sealing key is
//! stored beside the ciphertext: keys rotate by adding a new key first in
//! `CITA_SECRETS_KEY`, re-sealing, then dropping the old one.

use std::{collections::HashMap, fmt};

use aes_gcm::{
    Aes256Gcm, KeyInit,
    aead::{Aead, AeadCore, OsRng, Payload},
};

use crate::secret::Secret;

const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("expected `id:hex` entries, comma-separated, each key 32 bytes in hex (64 digits)")]
    MalformedKeyring,
    #[error("no key with id {0:?} is configured")]
    UnknownKey(String),
    #[error("the ciphertext does not open with key {0:?} (tampered, or sealed for another owner)")]
    DoesNotOpen(String),
}

/// A ciphertext and the id of the key that sealed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    /// Nonce followed by the ciphertext and its tag.
    pub ciphertext: Vec<u8>,
}

/// The configured keys; the first one seals, all of them open.
#[derive(Clone)]
pub struct Keyring {
    current: String,
    keys: HashMap<String, Aes256Gcm>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<&String> = self.keys.keys().collect();
        ids.sort();
        f.debug_struct("Keyring")
            .field("current", &self.current)
            .field("key_ids", &ids)
            .finish()
    }
}

impl Keyring {
    /// Parses `id:hex[,id:hex…]`, e.g. `k2:<64 hex digits>,k1:<64 hex digits>`.
    pub fn parse(spec: &Secret) -> Result<Self, CryptoError> {
        let mut current = None;
        let mut keys = HashMap::new();
        for entry in spec
            .expose()
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let (id, key_hex) = entry.split_once(':').ok_or(CryptoError::MalformedKeyring)?;
            let key = hex::decode(key_hex.trim()).map_err(|_| CryptoError::MalformedKeyring)?;
            let id = id.trim();
            if id.is_empty() || key.len() != 32 || keys.contains_key(id) {
                return Err(CryptoError::MalformedKeyring);
            }
            let cipher =
                Aes256Gcm::new_from_slice(&key).map_err(|_| CryptoError::MalformedKeyring)?;
            current.get_or_insert_with(|| id.to_string());
            keys.insert(id.to_string(), cipher);
        }
        let current = current.ok_or(CryptoError::MalformedKeyring)?;
        Ok(Keyring { current, keys })
    }

    /// The id of the key that [`Keyring::seal`] uses.
    pub fn current_key_id(&self) -> &str {
        &self.current
    }

    /// Seals `plaintext` for `owner` with the current key.
    pub fn seal(&self, plaintext: &[u8], owner: &[u8]) -> Sealed {
        let cipher = &self.keys[&self.current];
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        // Encryption fails only for inputs of gigabytes.
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: owner,
                },
            )
            .expect("AES-GCM seals a short secret");
        let mut ciphertext = Vec::with_capacity(NONCE_LEN + sealed.len());
        ciphertext.extend_from_slice(&nonce);
        ciphertext.extend_from_slice(&sealed);
        Sealed {
            key_id: self.current.clone(),
            ciphertext,
        }
    }

    /// Opens a value sealed for `owner` by the key `key_id`.
    pub fn open(
        &self,
        key_id: &str,
        ciphertext: &[u8],
        owner: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let cipher = self
            .keys
            .get(key_id)
            .ok_or_else(|| CryptoError::UnknownKey(key_id.to_string()))?;
        if ciphertext.len() < NONCE_LEN {
            return Err(CryptoError::DoesNotOpen(key_id.to_string()));
        }
        let (nonce, sealed) = ciphertext.split_at(NONCE_LEN);
        cipher
            .decrypt(
                nonce.into(),
                Payload {
                    msg: sealed,
                    aad: owner,
                },
            )
            .map_err(|_| CryptoError::DoesNotOpen(key_id.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const K2: &str = "k2:1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

    #[test]
    fn seals_and_opens_for_the_same_owner_only() {
        let ring = Keyring::parse(&Secret::new(K1)).unwrap();
        let sealed = ring.seal(b"EAAG-token", b"org-a");
        assert_eq!(sealed.key_id, "k1");
        assert!(!sealed.ciphertext.windows(4).any(|w| w == b"EAAG"));
        assert_eq!(
            ring.open("k1", &sealed.ciphertext, b"org-a").unwrap(),
            b"EAAG-token"
        );
        assert_eq!(
            ring.open("k1", &sealed.ciphertext, b"org-b"),
            Err(CryptoError::DoesNotOpen("k1".into()))
        );
        let mut tampered = sealed.ciphertext.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(ring.open("k1", &tampered, b"org-a").is_err());
        // Two seals of one value differ (fresh nonce).
        assert_ne!(
            ring.seal(b"EAAG-token", b"org-a").ciphertext,
            sealed.ciphertext
        );
    }

    #[test]
    fn rotation_seals_with_the_first_key_and_opens_with_any() {
        let old = Keyring::parse(&Secret::new(K1)).unwrap();
        let sealed_old = old.seal(b"token", b"org");
        let rotated = Keyring::parse(&Secret::new(format!("{K2}, {K1}"))).unwrap();
        assert_eq!(rotated.current_key_id(), "k2");
        assert_eq!(
            rotated.open("k1", &sealed_old.ciphertext, b"org").unwrap(),
            b"token"
        );
        assert_eq!(rotated.seal(b"token", b"org").key_id, "k2");
        let only_new = Keyring::parse(&Secret::new(K2)).unwrap();
        assert_eq!(
            only_new.open("k1", &sealed_old.ciphertext, b"org"),
            Err(CryptoError::UnknownKey("k1".into()))
        );
    }

    #[test]
    fn malformed_keyrings_are_refused_and_keys_never_printed() {
        for bad in ["", "k1", "k1:abcd", ":00", "k1:zz", &format!("{K1},{K1}")] {
            assert_eq!(
                Keyring::parse(&Secret::new(bad)).unwrap_err(),
                CryptoError::MalformedKeyring,
                "{bad}"
            );
        }
        let shown = format!("{:?}", Keyring::parse(&Secret::new(K1)).unwrap());
        assert!(
            shown.contains("k1") && !shown.contains("0001020304"),
            "{shown}"
        );
    }
}
