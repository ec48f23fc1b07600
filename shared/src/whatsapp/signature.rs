//! Meta's webhook signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw
//! body>` under the app secret. Pure functions, no I/O.

use crate::secret::Secret;
use hmac::{Hmac, Mac};
use sha2::Sha256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no X-Hub-Signature-256 header")]
    Missing,
    #[error("X-Hub-Signature-256 is not sha256=<64 hex digits>")]
    Malformed,
    #[error("the signature does not match the body under any configured app secret")]
    Mismatch,
}

/// A parsed signature header: the 32 bytes of the claimed MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; 32]);

/// Parses the header's value. Checked before the body is read, so that unsigned requests
/// are refused without buffering anything.
pub fn parse(header: Option<&[u8]>) -> Result<Signature, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_digits = header
        .strip_prefix(b"sha256=")
        .ok_or(SignatureError::Malformed)?;
    let mut mac = [0u8; 32];
    hex::decode_to_slice(hex_digits, &mut mac).map_err(|_| SignatureError::Malformed)?;
    Ok(Signature(mac))
}

/// Checks the signature over the raw body under each secret (several during a rotation).
/// The comparison is constant-time (`Mac::verify_slice`).
pub fn verify(
    secrets: &[Secret],
    signature: &Signature,
    body: &[u8],
) -> Result<(), SignatureError> {
    let matches = |secret: &Secret| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(body);
        mac.verify_slice(&signature.0).is_ok()
    };
    if secrets.iter().any(matches) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The header value Meta would send for `body` under `secret` (used by tests, the
/// benchmark and the demo to sign their own payloads).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"object":"whatsapp_business_account"}"#;

    fn secrets(values: &[&str]) -> Vec<Secret> {
        values.iter().map(|v| Secret::new(*v)).collect()
    }

    fn check(secrets: &[Secret], header: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
        let signature = parse(header.map(str::as_bytes))?;
        verify(secrets, &signature, body)
    }

    #[test]
    fn a_signature_made_with_the_secret_verifies() {
        let header = sign("s3cret", BODY);
        assert_eq!(check(&secrets(&["s3cret"]), Some(&header), BODY), Ok(()));
    }

    #[test]
    fn known_vector_matches_an_independent_hmac() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), RFC 4231-style
        // vector published on Wikipedia's HMAC page.
        let header = sign("key", b"The quick brown fox jumps over the lazy dog");
        assert_eq!(
            header,
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn every_malformed_header_is_refused() {
        let s = secrets(&["s3cret"]);
        let good = sign("s3cret", BODY);
        let hex_part = good.trim_start_matches("sha256=");
        assert_eq!(check(&s, None, BODY), Err(SignatureError::Missing));
        assert_eq!(
            check(&s, Some(hex_part), BODY),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            check(&s, Some(&format!("sha1={hex_part}")), BODY),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            check(&s, Some(&format!("sha256={}", &hex_part[..62])), BODY),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            check(&s, Some(&format!("sha256={hex_part}00")), BODY),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            check(&s, Some(&format!("sha256=zz{}", &hex_part[2..])), BODY),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            check(&s, Some("sha256="), BODY),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn a_signature_of_another_body_or_secret_is_a_mismatch() {
        let s = secrets(&["s3cret"]);
        assert_eq!(
            check(&s, Some(&sign("s3cret", b"other")), BODY),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(&s, Some(&sign("other", BODY)), BODY),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(&[], Some(&sign("s3cret", BODY)), BODY),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn during_rotation_old_and_new_secrets_both_verify() {
        let both = secrets(&["old", "new"]);
        assert_eq!(check(&both, Some(&sign("old", BODY)), BODY), Ok(()));
        assert_eq!(check(&both, Some(&sign("new", BODY)), BODY), Ok(()));
        let rotated = secrets(&["new"]);
        assert_eq!(
            check(&rotated, Some(&sign("old", BODY)), BODY),
            Err(SignatureError::Mismatch)
        );
    }
}
