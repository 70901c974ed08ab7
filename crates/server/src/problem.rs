//! `application/problem+json` answers: every API error, with a stable `code`.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use punchcard_app::AppError;
use punchcard_domain::FieldError;
use serde::Serialize;
use utoipa::ToSchema;

/// An error answer (RFC 9457) with a stable machine-readable `code`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable code, e.g. `unauthorized`, `validation_failed`, `not_found`.
    pub code: String,
    /// Per-field errors of a `validation_failed` answer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<FieldErrorSchema>)]
    pub errors: Vec<FieldError>,
    #[serde(skip)]
    retry_after: Option<u64>,
}

/// One invalid field.
#[derive(Serialize, ToSchema)]
pub struct FieldErrorSchema {
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:punchcard:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_string(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.retry_after;
        let unauthorized = status == StatusCode::UNAUTHORIZED;
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut res = (status, body).into_response();
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if unauthorized {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"punchcard\""),
            );
        }
        res
    }
}

/// An API handler's error: an application error mapped once to a problem.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl From<&AppError> for Problem {
    fn from(e: &AppError) -> Self {
        let code = e.code();
        match e {
            AppError::Validation(errors) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                code,
                "the request has invalid fields",
            )
            .with_errors(errors.0.clone()),
            AppError::NotFound(what) => {
                Problem::new(StatusCode::NOT_FOUND, code, format!("{what} not found"))
            }
            AppError::Unauthorized => Problem::new(
                StatusCode::UNAUTHORIZED,
                code,
                "valid API key credentials are required (HTTP Basic: key id and secret)",
            ),
            AppError::AccountFrozen(_) => Problem::new(
                StatusCode::FORBIDDEN,
                code,
                "the account is frozen; contact the operator to unfreeze it",
            ),
            AppError::Forbidden(m) => Problem::new(StatusCode::FORBIDDEN, code, m.clone()),
            AppError::LimitReached(m) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, m.clone())
            }
            AppError::NotAuthorized(m) => Problem::new(StatusCode::FORBIDDEN, code, m.clone()),
            AppError::CampaignNotLive(m) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, m.clone())
            }
            AppError::NotOnOccasion(m) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, m.clone())
            }
            AppError::Conflict(m) => Problem::new(StatusCode::CONFLICT, code, m.clone()),
            AppError::QuotaExhausted(q) => Problem::new(
                StatusCode::FORBIDDEN,
                code,
                format!(
                    "the plan's {} quota is used up; ask the operator to raise it",
                    q.as_str()
                ),
            ),
            AppError::InsufficientBalance { balance, requested } => Problem::new(
                StatusCode::CONFLICT,
                code,
                format!("the wallet holds {balance} points; {requested} were requested"),
            ),
            AppError::OutOfStock(m) => Problem::new(StatusCode::CONFLICT, code, m.clone()),
            AppError::OutOfVouchers(m) => Problem::new(StatusCode::CONFLICT, code, m.clone()),
            AppError::IntegrationRevoked => Problem::new(
                StatusCode::FORBIDDEN,
                code,
                "this integration is revoked: it awards nothing",
            ),
            AppError::CallbackRejected(m) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, m.clone())
            }
            AppError::InvalidToken(m) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, m.clone())
            }
            AppError::IdempotencyMismatch(m) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, m.clone())
            }
            AppError::TooManyRequests(m, after) => {
                Problem::new(StatusCode::TOO_MANY_REQUESTS, code, m.clone())
                    .with_retry_after(*after)
            }
            AppError::Superseded => Problem::new(
                StatusCode::CONFLICT,
                code,
                "another attempt of this request holds its Idempotency-Key; retry shortly",
            )
            .with_retry_after(1),
            AppError::Unavailable(_) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                code,
                "the service is temporarily unavailable; retry shortly",
            ),
            AppError::Internal(_) => Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                code,
                "an internal error occurred; it has been logged",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self.0 {
            AppError::Internal(source) => tracing::error!(error = %source, "internal error"),
            AppError::Unavailable(source) => {
                tracing::warn!(error = %source, "database unavailable")
            }
            _ => {}
        }
        let mut res = Problem::from(&self.0).into_response();
        if matches!(self.0, AppError::Superseded) {
            res.extensions_mut().insert(Superseded);
        }
        res
    }
}

/// Marks an answer whose transaction was refused because the request no longer held its
/// Idempotency-Key (see `api::idempotency`).
#[derive(Debug, Clone, Copy)]
pub struct Superseded;

/// Fallback for unknown API paths.
pub async fn api_not_found() -> Problem {
    Problem::not_found()
}

/// Whether a path is answered in problem+json (the API) rather than with HTML pages.
pub fn is_api_path(path: &str) -> bool {
    path.starts_with("/api/") || matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// Error answers made by the framework rather than by a handler (405, a body over a limit, a
/// malformed path, a timeout) carry an empty or plain-text body. This turns every such error
/// answer into problem+json on API paths and into the HTML error page elsewhere, keeping its
/// status and headers (`Allow`, `Retry-After`, …).
pub async fn uniform_errors(req: Request, next: Next) -> Response {
    let api = is_api_path(req.uri().path());
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let plain = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|t| t.starts_with("text/plain"));
    if !plain {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let mut answer = if api {
        // A framework's own words for a client error say what was wrong; a server error's
        // text stays in the logs.
        let detail = if text.is_empty() || status.is_server_error() {
            generic_detail(status).to_string()
        } else {
            text
        };
        Problem::new(status, code_for(status), detail).into_response()
    } else {
        crate::dashboard::chrome::error_page(
            status,
            status.canonical_reason().unwrap_or("Error"),
            generic_detail(status),
        )
    };
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().insert(name, value.clone());
        }
    }
    answer
}

/// The stable code of an error status that no handler chose a code for.
fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        406 => "not_acceptable",
        408 => "request_timeout",
        409 => "conflict",
        411 => "length_required",
        413 => "payload_too_large",
        414 => "uri_too_long",
        415 => "unsupported_media_type",
        422 => "validation_failed",
        429 => "rate_limited",
        431 => "headers_too_large",
        503 => "unavailable",
        s if s >= 500 => "internal_error",
        _ => "bad_request",
    }
}

fn generic_detail(status: StatusCode) -> &'static str {
    match status.as_u16() {
        404 => "no such resource",
        405 => "this address does not take this method; the Allow header lists those it takes",
        408 => "the request took too long to arrive",
        413 => "the request body is too large",
        414 => "the address is too long",
        415 => "the body is not of a type this address takes",
        503 | 504 => "the service is temporarily unavailable; retry shortly",
        s if s >= 500 => "an internal error occurred; it has been logged",
        _ => "the request cannot be served as sent",
    }
}
