//! The API's JSON body, query and path extractors: strict, and refusing with problem+json.
//!
//! - A body must be `Content-Type: application/json` (415), at most [`JSON_BODY_LIMIT`] bytes
//!   (413), valid JSON (400) and a JSON object (422); unknown fields are refused by the
//!   request types (`deny_unknown_fields`), and every field error names its field (422).
//! - Every text of a body, a query or a path is checked before any handler runs: control
//!   characters (NUL above all, which PostgreSQL cannot store) answer 422 naming the field.
//!   Free text may hold line breaks and tabs; the domain's newtypes are stricter per field.
//! - A path whose ids cannot be ids of their kind answers 404 without touching the database.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use punchcard_domain::text::is_allowed_in_text;
use punchcard_domain::FieldError;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::problem::Problem;

/// The largest JSON body the API reads (the default body limit of the router).
pub const JSON_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// A JSON request body; anything else answers a 4xx problem naming what is wrong.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        // A declared length over the limit is refused before any byte is read (a client
        // that sent `Expect: 100-continue` then never sends the body).
        if declared_length(req.headers()).is_some_and(|n| n > JSON_BODY_LIMIT as u64) {
            return Err(too_large());
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "the request body could not be read",
                )
            }
        })?;
        parse_json(&bytes).map(ApiJson).map_err(|p| *p)
    }
}

/// The 413 answer of a JSON body over the limit.
pub fn too_large() -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!(
            "the body must be at most {} MiB",
            JSON_BODY_LIMIT / (1024 * 1024)
        ),
    )
}

/// The `Content-Length` a request declares, if any.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The largest body any API operation takes (a CSV upload of coupon codes).
pub const MAX_API_BODY: usize = super::coupons::MAX_UPLOAD_BYTES;

/// Refuses, before reading it, a request whose declared body is larger than any API operation
/// takes; bodies sent without a length are limited while they are read.
pub async fn body_ceiling(req: Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    if declared_length(req.headers()).is_some_and(|n| n > MAX_API_BODY as u64) {
        return Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "the body must be at most {} MiB",
                MAX_API_BODY / (1024 * 1024)
            ),
        )
        .into_response();
    }
    next.run(req).await
}

/// `application/json`, or any `application/…+json`, with or without parameters.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"))
}

/// Parses a body: valid JSON, an object, no control characters in its texts, then the type.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Box<Problem>> {
    let value: Value = serde_json::from_slice(bytes).map_err(|_| {
        Box::new(Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "the body is not valid JSON",
        ))
    })?;
    if !value.is_object() {
        return Err(Box::new(invalid(vec![FieldError::new(
            "body",
            "must be a JSON object",
        )])));
    }
    let mut errors = Vec::new();
    check_texts(&value, &mut String::new(), &mut errors);
    if !errors.is_empty() {
        return Err(Box::new(invalid(errors)));
    }
    // Read from the bytes again (not the value), so a field given twice is refused too.
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        Box::new(invalid(vec![field_error(
            &path,
            &e.into_inner().to_string(),
        )]))
    })
}

/// A serde error as a field error: unknown and missing fields are named by the message,
/// other errors by the path where they happened.
fn field_error(path: &str, message: &str) -> FieldError {
    // serde_json appends " at line L column C": not useful once the field is named.
    let message = message
        .rsplit_once(" at line ")
        .map_or(message, |(m, _)| m)
        .to_string();
    let parent = if path == "." { "" } else { path };
    for (prefix, what) in [
        ("unknown field `", "is not a field of this request"),
        ("missing field `", "is required"),
        ("duplicate field `", "is given more than once"),
    ] {
        if let Some(name) = message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
        {
            // The path may already end with the field (serde_path_to_error records an
            // unknown key before refusing it).
            let field = if parent.is_empty() {
                name.to_string()
            } else if parent == name || parent.ends_with(&format!(".{name}")) {
                parent.to_string()
            } else {
                format!("{parent}.{name}")
            };
            return FieldError::new(field, what);
        }
    }
    let field = if parent.is_empty() { "body" } else { parent };
    FieldError::new(field, message)
}

/// Records a field error for every text (value or key) with a control character other than
/// a line break or a tab; `path` is the JSON path so far (`store_ids[0]`, `a.b`).
fn check_texts(value: &Value, path: &mut String, errors: &mut Vec<FieldError>) {
    let name = |p: &str| {
        if p.is_empty() {
            "body".to_string()
        } else {
            p.to_string()
        }
    };
    match value {
        Value::String(s) => {
            if !s.chars().all(is_allowed_in_text) {
                errors.push(FieldError::new(name(path), CONTROL_MESSAGE));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check_texts(item, path, errors);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                if !key.chars().all(is_allowed_in_text) {
                    errors.push(FieldError::new(
                        name(path),
                        "has a field name with control characters",
                    ));
                    continue;
                }
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                check_texts(item, path, errors);
                path.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

const CONTROL_MESSAGE: &str = "must not contain control characters other than line breaks and tabs";

fn invalid(errors: Vec<FieldError>) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        "the request has invalid fields",
    )
    .with_errors(errors)
}

/// Query parameters; a malformed query, or a parameter with control characters, answers 422
/// `validation_failed` naming the parameter. Unknown parameters are ignored.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let errors: Vec<FieldError> = url::form_urlencoded::parse(query.as_bytes())
            .filter(|(key, value)| {
                key.chars().any(char::is_control) || value.chars().any(char::is_control)
            })
            .map(|(key, _)| {
                let key: String = key.chars().filter(|c| !c.is_control()).collect();
                FieldError::new(key, "must not contain control characters")
            })
            .collect();
        if !errors.is_empty() {
            return Err(invalid(errors));
        }
        let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                invalid(vec![field_error(&path, &e.into_inner().to_string())])
            })
    }
}

/// Ids from the path (`ApiPath<LeadId>`, `ApiPath<(DealId, UploadId)>`): text that cannot be
/// ids of those kinds answers 404 `not_found`, before any query.
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|_| Problem::not_found())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        description: Option<String>,
        store_ids: Option<Vec<String>>,
        amount: Option<i64>,
    }

    fn errors(body: &str) -> (u16, Vec<(String, String)>) {
        let p = parse_json::<Body>(body.as_bytes()).unwrap_err();
        (
            p.status,
            p.errors
                .iter()
                .map(|e| (e.field.clone(), e.message.clone()))
                .collect(),
        )
    }

    #[test]
    fn bodies_are_strict_objects() {
        assert!(parse_json::<Body>(br#"{"name": "a", "description": "x\ny\tz"}"#).is_ok());
        assert_eq!(
            errors("[\"a\"]").1,
            [("body".into(), "must be a JSON object".into())]
        );
        assert_eq!(errors("{").0, 400);
        assert_eq!(
            errors(r#"{"name": "a", "nmae": "b"}"#).1,
            [("nmae".into(), "is not a field of this request".into())]
        );
        assert_eq!(errors("{}").1, [("name".into(), "is required".into())]);
        assert_eq!(
            errors(r#"{"name": "a", "name": "b"}"#).1,
            [("name".into(), "is given more than once".into())]
        );
        let (status, e) = errors(r#"{"name": "a", "amount": "5"}"#);
        assert_eq!(status, 422);
        assert_eq!(e[0].0, "amount");
    }

    #[test]
    fn control_characters_are_named() {
        let (status, e) = errors(r#"{"name": "a\u0000b", "store_ids": ["ok", "x\u0007"]}"#);
        assert_eq!(status, 422);
        let fields: Vec<&str> = e.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["name", "store_ids[1]"]);
        assert_eq!(errors("{\"na\\u0000me\": 1}").1[0].0, "body");
    }
}
