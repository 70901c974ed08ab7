//! Anti-forgery tokens for every dashboard POST.
//!
//! Every POST form carries a hidden `_csrf` field (`{{ chrome.csrf }}` on signed-in pages,
//! `{{ csrf }}` on the sign-up and sign-in pages). The session layer refuses, with 403, any
//! POST under `/dashboard` whose token matches neither the session's token nor the signed
//! pre-login cookie (`punchcard_csrf`, a double-submit cookie signed with the instance key,
//! so a cookie planted by a sibling domain is worthless).
//!
//! Where the token is read: the `_csrf` field of a urlencoded body; for multipart forms
//! (uploads) the `_csrf` query parameter of the form's `action` (the body is not buffered);
//! or the `X-CSRF-Token` header for scripts.

use axum::http::request::Parts;
use axum::http::{header, Method};
use subtle::ConstantTimeEq;

/// Methods that change nothing and need no token.
pub fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the body is a urlencoded form (the only body the layer buffers).
pub fn is_urlencoded(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
        .unwrap_or(false)
}

fn field(pairs: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(pairs)
        .find(|(k, _)| k == "_csrf")
        .map(|(_, v)| v.into_owned())
}

/// The token a request submitted, from the header, the urlencoded body or the query string.
pub fn submitted(parts: &Parts, body: Option<&[u8]>) -> Option<String> {
    if let Some(v) = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        return Some(v.to_string());
    }
    if let Some(t) = body.and_then(field) {
        return Some(t);
    }
    parts.uri.query().and_then(|q| field(q.as_bytes()))
}

/// Whether `submitted` equals one of the `expected` tokens (compared in constant time).
pub fn matches(submitted: Option<&str>, expected: &[&str]) -> bool {
    let Some(s) = submitted.filter(|s| !s.is_empty()) else {
        return false;
    };
    expected
        .iter()
        .filter(|e| !e.is_empty())
        .any(|e| bool::from(e.as_bytes().ct_eq(s.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = Request::builder().method("POST").uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn reads_the_token_where_forms_put_it() {
        let p = parts("/dashboard/x", &[]);
        assert_eq!(
            submitted(&p, Some(b"a=1&_csrf=tok%2B1")).as_deref(),
            Some("tok+1")
        );
        assert_eq!(submitted(&p, Some(b"a=1")), None);
        let p = parts("/dashboard/x?_csrf=q", &[]);
        assert_eq!(submitted(&p, None).as_deref(), Some("q"));
        let p = parts("/dashboard/x", &[("x-csrf-token", "h")]);
        assert_eq!(submitted(&p, Some(b"_csrf=b")).as_deref(), Some("h"));
    }

    #[test]
    fn compares_tokens() {
        assert!(matches(Some("abc"), &["zzz", "abc"]));
        assert!(!matches(Some("abd"), &["abc"]));
        assert!(!matches(None, &["abc"]));
        assert!(!matches(Some(""), &[""]));
    }
}
