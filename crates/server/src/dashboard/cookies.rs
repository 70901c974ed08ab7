//! Dashboard cookies: reading the `Cookie` header, writing `Set-Cookie`, and signing values
//! with the instance key so a forged or altered cookie is simply ignored.

use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The session token (random, looked up by its hash; not signed).
pub const SESSION: &str = "punchcard_session";
/// The pre-login anti-forgery token (signed double-submit cookie).
pub const CSRF: &str = "punchcard_csrf";
/// The pending sign-up or sign-in challenge (signed).
pub const CHALLENGE: &str = "punchcard_otp";
/// A one-shot message for the next page (signed).
pub const FLASH: &str = "punchcard_flash";

/// Signs and verifies cookie values; the key is shared by every server of the instance.
#[derive(Clone)]
pub struct CookieKey(Arc<Vec<u8>>);

impl std::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieKey(***)")
    }
}

impl CookieKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(Arc::new(secret.to_vec()))
    }

    fn mac(&self, name: &str, value: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(name.as_bytes());
        mac.update(b"=");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// `value.signature`; `value` must not contain a dot.
    pub fn sign(&self, name: &str, value: &str) -> String {
        format!("{value}.{}", self.mac(name, value))
    }

    /// The value of a signed cookie, or `None` if it was not signed by this instance.
    pub fn verify(&self, name: &str, signed: &str) -> Option<String> {
        let (value, sig) = signed.rsplit_once('.')?;
        let expected = self.mac(name, value);
        bool::from(expected.as_bytes().ct_eq(sig.as_bytes())).then(|| value.to_string())
    }
}

/// The value of cookie `name` in a request's headers.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// How a cookie is written.
#[derive(Debug, Clone, Copy)]
pub struct Attrs {
    pub path: &'static str,
    pub max_age: Option<i64>,
    pub secure: bool,
}

/// A `Set-Cookie` value: always HttpOnly and SameSite=Lax.
pub fn set(name: &str, value: &str, attrs: Attrs) -> HeaderValue {
    let mut s = format!(
        "{name}={value}; Path={}; HttpOnly; SameSite=Lax",
        attrs.path
    );
    if let Some(age) = attrs.max_age {
        s.push_str(&format!("; Max-Age={age}"));
    }
    if attrs.secure {
        s.push_str("; Secure");
    }
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// A `Set-Cookie` value that deletes the cookie.
pub fn clear(name: &str, path: &'static str, secure: bool) -> HeaderValue {
    set(
        name,
        "",
        Attrs {
            path,
            max_age: Some(0),
            secure,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_values_round_trip_and_resist_tampering() {
        let k = CookieKey::new(b"k1");
        let s = k.sign(CSRF, "abc");
        assert_eq!(k.verify(CSRF, &s).as_deref(), Some("abc"));
        assert_eq!(k.verify(FLASH, &s), None, "bound to the cookie name");
        assert_eq!(CookieKey::new(b"k2").verify(CSRF, &s), None);
        assert_eq!(k.verify(CSRF, &s.replace("abc", "abd")), None);
        assert_eq!(k.verify(CSRF, "abc"), None);
    }

    #[test]
    fn reads_and_writes_cookies() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; punchcard_session=tok; b=2"),
        );
        assert_eq!(get(&h, SESSION), Some("tok"));
        assert_eq!(get(&h, "c"), None);
        let v = set(
            SESSION,
            "t",
            Attrs {
                path: "/",
                max_age: Some(60),
                secure: true,
            },
        );
        assert_eq!(
            v.to_str().unwrap(),
            "punchcard_session=t; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure"
        );
    }
}
