//! Secrets: random tokens, their hashes, password hashing and callback signatures. Nothing here
//! logs a secret.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::AppError;

/// `prefix` followed by 32 random bytes in hex.
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// SHA-256 of a high-entropy token, hex encoded (tokens are random, so no salt or stretching).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two hashes in constant time.
pub fn hashes_equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Argon2id hash of a password, in PHC string form.
pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(e.to_string().into()))
}

/// [`hash_password`] on the blocking pool: argon2 is deliberately slow and must not stall the
/// async workers that serve other requests.
pub async fn hash_password_off_thread(password: &str) -> Result<String, AppError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(AppError::internal)?
}

/// Whether a password matches a stored hash; a malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

type HmacSha256 = Hmac<Sha256>;

fn callback_mac(secret: &str, t: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `Punchcard-Signature` header of a callback whose raw body is `body`, sent at unix time
/// `t`: `t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn sign_callback(secret: &str, t: i64, body: &[u8]) -> String {
    let tag = callback_mac(secret, t, body).finalize().into_bytes();
    format!("t={t},v1={}", hex::encode(tag))
}

/// Why a callback signature does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is not `t=<unix>,v1=<hex>`")]
    Malformed,
    #[error("the signature timestamp is too far from the current time")]
    Stale,
    #[error("no signature matches the body")]
    Mismatch,
}

/// The reference check of a `Punchcard-Signature` header, as a merchant's server does it:
/// read `t` and every `v1`, refuse a `t` more than `tolerance` away from `now` (unix seconds;
/// this stops replays of old requests), recompute the HMAC over `"<t>.<raw body>"` with the
/// key's signing secret and compare in constant time. Unknown parts of the header are ignored
/// so that new schemes can be added beside `v1`.
pub fn verify_callback_signature(
    secret: &str,
    header: &str,
    body: &[u8],
    now: i64,
    tolerance: std::time::Duration,
) -> Result<(), SignatureError> {
    let mut t = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
            Some(("v1", v)) => candidates.push(v),
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let tolerance = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    if now.abs_diff(t) > tolerance.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let matches = candidates.iter().any(|candidate| {
        hex::decode(candidate)
            .map(|tag| callback_mac(secret, t, body).verify_slice(&tag).is_ok())
            .unwrap_or(false)
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify() {
        let h = hash_password("Correct-Horse-9").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("Correct-Horse-9", &h));
        assert!(!verify_password("Correct-Horse-8", &h));
        assert!(!verify_password("x", "not-a-hash"));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = random_token("sk_");
        assert!(a.starts_with("sk_") && a.len() == 67);
        assert_ne!(a, random_token("sk_"));
        assert!(hashes_equal(&token_hash(&a), &token_hash(&a)));
        assert!(!hashes_equal(&token_hash(&a), &token_hash("other")));
    }

    #[test]
    fn callback_signatures_verify() {
        use std::time::Duration;
        let body = br#"{"kind":"reward","amount":10}"#;
        let header = sign_callback("whsec_test", 1_700_000_000, body);
        // Known answer: HMAC-SHA256("whsec_test", "1700000000.<body>").
        let expected = {
            let mut mac = HmacSha256::new_from_slice(b"whsec_test").unwrap();
            mac.update(b"1700000000.");
            mac.update(body);
            hex::encode(mac.finalize().into_bytes())
        };
        assert_eq!(header, format!("t=1700000000,v1={expected}"));
        let tolerance = Duration::from_secs(300);
        let ok =
            |h: &str, b: &[u8], now| verify_callback_signature("whsec_test", h, b, now, tolerance);
        assert_eq!(ok(&header, body, 1_700_000_000), Ok(()));
        assert_eq!(ok(&header, body, 1_700_000_299), Ok(()));
        assert_eq!(ok(&header, body, 1_699_999_800), Ok(()));
        assert_eq!(ok(&header, body, 1_700_000_301), Err(SignatureError::Stale));
        assert_eq!(
            ok(&header, br#"{"kind":"reward","amount":11}"#, 1_700_000_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_callback_signature("whsec_other", &header, body, 1_700_000_000, tolerance),
            Err(SignatureError::Mismatch)
        );
        // A forged timestamp breaks the MAC; extra parts and extra v1 values are tolerated.
        let forged = header.replace("t=1700000000", "t=1700000100");
        assert_eq!(
            ok(&forged, body, 1_700_000_100),
            Err(SignatureError::Mismatch)
        );
        let rotated = format!("{header},v1=00ff,v0=abc");
        assert_eq!(ok(&rotated, body, 1_700_000_000), Ok(()));
        let other_first = format!("t=1700000000,v1=zz,{}", &header[13..]);
        assert_eq!(ok(&other_first, body, 1_700_000_000), Ok(()));
        assert_eq!(ok("v1=abc", body, 0), Err(SignatureError::Malformed));
        assert_eq!(
            ok("t=1700000000", body, 1_700_000_000),
            Err(SignatureError::Malformed)
        );
        assert_eq!(ok("t=soon,v1=00", body, 0), Err(SignatureError::Malformed));
    }
}
