//! The security headers of every HTML answer (dashboard pages, error pages, the API docs):
//! no framing, no content-type sniffing, same-origin referrers and a content security policy
//! that allows only the server's own scripts, styles and images.

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The headers, as the dashboard's session layer sets them on its pages.
const HEADERS: [(HeaderName, &str); 4] = [
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "same-origin"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
];

/// Adds the headers to every HTML answer that does not already carry them.
pub async fn on_html(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("text/html"));
    if html {
        add(res.headers_mut());
    }
    res
}

/// Adds the headers a response does not already carry (the dashboard's session layer puts
/// them on every dashboard answer, redirects included).
pub fn add(headers: &mut HeaderMap) {
    for (name, value) in HEADERS {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
}
