//! Access tokens: compact JWS (RFC 7515) signed with HMAC-SHA-256, named by `kid`.
//!
//! Only `HS256` with a known `kid` is accepted: `alg: none`, another algorithm, an unknown
//! or missing key id, a bad signature and an expired token are all the same refusal.
//! Written out rather than taken from a JWT crate: it is one algorithm in sixty lines on
//! the `hmac` and `sha2` the fleet already builds, with nothing configurable to get wrong.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use cita_shared::config::TokenKey;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sha2::Sha256;
use uuid::Uuid;

/// How long an access token is valid.
pub const ACCESS_TTL_SECONDS: i64 = 15 * 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The staff member.
    pub sub: Uuid,
    pub org: Uuid,
    /// The session (login) the token belongs to.
    pub sid: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub typ: String,
}

/// An operator's token (`cita-api operator-token`): reads one organization's tenant
/// routes, named in each request, while its grant lasts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorClaims {
    /// The operator, as the grant names them.
    pub sub: String,
    /// The grant (`operator_grants.id`).
    pub gid: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub typ: String,
}

/// What [`verify`] checks besides the signature: the type and the expiry.
pub trait Token: DeserializeOwned {
    const TYPE: &'static str;
    fn typ(&self) -> &str;
    fn exp(&self) -> i64;
}

impl Token for Claims {
    const TYPE: &'static str = "access";
    fn typ(&self) -> &str {
        &self.typ
    }
    fn exp(&self) -> i64 {
        self.exp
    }
}

impl Token for OperatorClaims {
    const TYPE: &'static str = "operator";
    fn typ(&self) -> &str {
        &self.typ
    }
    fn exp(&self) -> i64 {
        self.exp
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    typ: String,
    kid: String,
}

/// Why a token was refused; callers answer every case with the same 401.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a compact JWS")]
    Malformed,
    #[error("algorithm {0:?} is not accepted")]
    Algorithm(String),
    #[error("unknown key id")]
    UnknownKey,
    #[error("bad signature")]
    Signature,
    #[error("expired")]
    Expired,
    #[error("not a token of this kind")]
    Type,
}

fn mac(key: &TokenKey, signing_input: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key.key).expect("HMAC takes any key length");
    mac.update(signing_input.as_bytes());
    mac
}

/// Signs `claims` with the first key.
pub fn sign(keys: &[TokenKey], claims: &impl Serialize) -> String {
    let key = &keys[0];
    let header = Header {
        alg: "HS256".into(),
        typ: "JWT".into(),
        kid: key.id.clone(),
    };
    let encode = |value: &[u8]| B64.encode(value);
    let signing_input = format!(
        "{}.{}",
        encode(&serde_json::to_vec(&header).expect("a header serializes")),
        encode(&serde_json::to_vec(claims).expect("claims serialize")),
    );
    let signature = mac(key, &signing_input).finalize().into_bytes();
    format!("{signing_input}.{}", encode(&signature))
}

/// Checks the signature with the key the token names, then its type and expiry.
pub fn verify<C: Token>(keys: &[TokenKey], token: &str, now: Timestamp) -> Result<C, TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let decoded: Header = B64
        .decode(header)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or(TokenError::Malformed)?;
    if decoded.alg != "HS256" {
        return Err(TokenError::Algorithm(decoded.alg));
    }
    let key = keys
        .iter()
        .find(|k| k.id == decoded.kid)
        .ok_or(TokenError::UnknownKey)?;
    let signature = B64.decode(signature).map_err(|_| TokenError::Malformed)?;
    mac(key, &format!("{header}.{payload}"))
        .verify_slice(&signature)
        .map_err(|_| TokenError::Signature)?;
    let claims: C = B64
        .decode(payload)
        .ok()
        .and_then(|p| serde_json::from_slice(&p).ok())
        .ok_or(TokenError::Type)?;
    if claims.typ() != C::TYPE {
        return Err(TokenError::Type);
    }
    if claims.exp() <= now.as_second() {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<TokenKey> {
        vec![
            TokenKey {
                id: "k2".into(),
                key: [2; 32],
            },
            TokenKey {
                id: "k1".into(),
                key: [1; 32],
            },
        ]
    }

    fn claims(now: Timestamp) -> Claims {
        Claims {
            sub: Uuid::new_v4(),
            org: Uuid::new_v4(),
            sid: Uuid::new_v4(),
            iat: now.as_second(),
            exp: now.as_second() + ACCESS_TTL_SECONDS,
            typ: "access".into(),
        }
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let claims = claims(now);
        let token = sign(&keys(), &claims);
        assert_eq!(verify::<Claims>(&keys(), &token, now), Ok(claims.clone()));
        let later = Timestamp::from_second(claims.exp).unwrap();
        assert_eq!(
            verify::<Claims>(&keys(), &token, later),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn a_token_of_a_rotated_out_key_verifies_while_the_key_is_listed() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let old = sign(&keys()[1..], &claims(now));
        assert!(verify::<Claims>(&keys(), &old, now).is_ok());
        assert_eq!(
            verify::<Claims>(&keys()[..1], &old, now),
            Err(TokenError::UnknownKey)
        );
    }

    #[test]
    fn none_other_algorithms_and_tampering_are_refused() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let token = sign(&keys(), &claims(now));
        let parts: Vec<&str> = token.split('.').collect();
        let none = format!(
            "{}.{}.",
            B64.encode(br#"{"alg":"none","typ":"JWT","kid":"k2"}"#),
            parts[1]
        );
        assert_eq!(
            verify::<Claims>(&keys(), &none, now),
            Err(TokenError::Algorithm("none".into()))
        );
        let mut forged = claims(now);
        forged.org = Uuid::new_v4();
        let swapped = format!(
            "{}.{}.{}",
            parts[0],
            B64.encode(serde_json::to_vec(&forged).unwrap()),
            parts[2]
        );
        assert_eq!(
            verify::<Claims>(&keys(), &swapped, now),
            Err(TokenError::Signature)
        );
        assert_eq!(
            verify::<Claims>(&keys(), "a.b", now),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn an_access_token_is_no_operator_token_and_the_reverse() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let access = sign(&keys(), &claims(now));
        assert_eq!(
            verify::<OperatorClaims>(&keys(), &access, now),
            Err(TokenError::Type)
        );
        let operator = sign(
            &keys(),
            &OperatorClaims {
                sub: "ana@cita".into(),
                gid: Uuid::new_v4(),
                iat: now.as_second(),
                exp: now.as_second() + 60,
                typ: "operator".into(),
            },
        );
        assert_eq!(
            verify::<Claims>(&keys(), &operator, now),
            Err(TokenError::Type)
        );
        assert!(verify::<OperatorClaims>(&keys(), &operator, now).is_ok());
    }
}
