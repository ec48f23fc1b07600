//! Mercado Pago's webhook signature. A notification arrives as
//! `POST …?data.id=<id>&type=payment` with `x-signature: ts=<unix seconds>,v1=<hex>` and
//! `x-request-id`. `v1` is the hex HMAC-SHA256, under the webhook secret, of the manifest
//! `id:<data.id>;request-id:<x-request-id>;ts:<ts>;`, where `data.id` is lower-cased
//! when alphanumeric and a part whose value is absent is left out. The body is not
//! signed, so nothing in it is believed: the signed id is what the payment is re-fetched
//! by. Pure functions, no I/O.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no x-signature header")]
    Missing,
    #[error("x-signature is not ts=<seconds>,v1=<64 hex digits>")]
    Malformed,
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
    #[error("the signature does not match the manifest under any configured secret")]
    Mismatch,
}

/// A parsed `x-signature` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    pub ts: i64,
    mac: [u8; 32],
}

/// What the signature covers, as the request carried it.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    /// `data.id` from the query string.
    pub data_id: Option<&'a str>,
    /// The `x-request-id` header.
    pub request_id: Option<&'a str>,
}

/// Parses `ts=…,v1=…` (in either order, spaces allowed around parts).
pub fn parse(header: Option<&[u8]>) -> Result<Signature, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let header = std::str::from_utf8(header).map_err(|_| SignatureError::Malformed)?;
    let (mut ts, mut mac) = (None, None);
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("ts", value)) => ts = value.parse::<i64>().ok(),
            Some(("v1", value)) => {
                let mut bytes = [0u8; 32];
                mac = hex::decode_to_slice(value, &mut bytes).ok().map(|()| bytes);
            }
            _ => {}
        }
    }
    match (ts, mac) {
        (Some(ts), Some(mac)) => Ok(Signature { ts, mac }),
        _ => Err(SignatureError::Malformed),
    }
}

/// The signed manifest of a request.
pub fn manifest(signed: Signed<'_>, ts: i64) -> String {
    let mut manifest = String::new();
    if let Some(id) = signed.data_id {
        let id = if id.chars().all(|c| c.is_ascii_alphanumeric()) {
            id.to_ascii_lowercase()
        } else {
            id.to_owned()
        };
        manifest.push_str(&format!("id:{id};"));
    }
    if let Some(request_id) = signed.request_id {
        manifest.push_str(&format!("request-id:{request_id};"));
    }
    manifest.push_str(&format!("ts:{ts};"));
    manifest
}

/// Checks the timestamp against `now` (unix seconds) within `tolerance_secs` either way,
/// then the MAC under each secret (several during a rotation), in constant time.
pub fn verify(
    secrets: &[Secret],
    signature: &Signature,
    signed: Signed<'_>,
    now: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    // The docs show `ts` in seconds; integrators report notifications in milliseconds.
    let ts_secs = if signature.ts > 100_000_000_000 {
        signature.ts / 1000
    } else {
        signature.ts
    };
    if (now - ts_secs).abs() > tolerance_secs {
        return Err(SignatureError::Stale);
    }
    let manifest = manifest(signed, signature.ts);
    let matches = |secret: &Secret| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(manifest.as_bytes());
        mac.verify_slice(&signature.mac).is_ok()
    };
    if secrets.iter().any(matches) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The `x-signature` value Mercado Pago would send (for the sandbox and tests).
pub fn sign(secret: &str, signed: Signed<'_>, ts: i64) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(manifest(signed, ts).as_bytes());
    format!("ts={ts},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_000_000;
    const SIGNED: Signed<'static> = Signed {
        data_id: Some("123456789"),
        request_id: Some("bb56a2f1-6aae-46ac-982e-9dcd3581d08e"),
    };

    fn check(
        secret: &str,
        header: &str,
        signed: Signed<'_>,
        now: i64,
    ) -> Result<(), SignatureError> {
        let signature = parse(Some(header.as_bytes()))?;
        verify(&[Secret::new(secret)], &signature, signed, now, 300)
    }

    #[test]
    fn the_manifest_is_mercado_pagos_and_leaves_out_what_is_absent() {
        assert_eq!(
            manifest(SIGNED, 1_704_908_010),
            "id:123456789;request-id:bb56a2f1-6aae-46ac-982e-9dcd3581d08e;ts:1704908010;"
        );
        let upper = Signed {
            data_id: Some("ABC123"),
            request_id: None,
        };
        assert_eq!(manifest(upper, 7), "id:abc123;ts:7;");
    }

    #[test]
    fn a_signature_made_with_the_secret_verifies_and_anything_else_does_not() {
        let header = sign("s3cret", SIGNED, NOW);
        assert_eq!(check("s3cret", &header, SIGNED, NOW + 10), Ok(()));
        assert_eq!(
            check("other", &header, SIGNED, NOW),
            Err(SignatureError::Mismatch)
        );
        let another_payment = Signed {
            data_id: Some("987654321"),
            ..SIGNED
        };
        assert_eq!(
            check("s3cret", &header, another_payment, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check("s3cret", &header, SIGNED, NOW + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            check("s3cret", &header, SIGNED, NOW - 301),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn headers_that_are_not_ts_and_v1_are_malformed() {
        for header in ["", "ts=1", "v1=abcd", "ts=x,v1=00", "sha256=00"] {
            assert_eq!(
                parse(Some(header.as_bytes())),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
        assert_eq!(parse(None), Err(SignatureError::Missing));
        let reordered = sign("k", SIGNED, NOW);
        let (ts, v1) = reordered.split_once(',').unwrap();
        assert!(parse(Some(format!("{v1}, {ts}").as_bytes())).is_ok());
    }
}
