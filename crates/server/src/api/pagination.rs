//! Cursor pagination: `?limit=` (default 50, max 500) and an opaque `?cursor=`.

use base64::Engine;
use punchcard_domain::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::problem::ApiError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// Paging parameters of every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// How many items to return (1-500, default 50).
    // Read as text so that a bad value is a 422 naming `limit`, documented as the integer it is.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500, default = 50)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A validated page request: the sort key to start after and how many to fetch.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub after: Option<String>,
    pub limit: i64,
}

impl PageParams {
    pub fn parse(&self) -> Result<PageRequest, ApiError> {
        let limit = match self.limit.as_deref() {
            None | Some("") => DEFAULT_LIMIT,
            Some(s) => match s.parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(FieldError::new("limit", "must be an integer from 1 to 500").into())
                }
            },
        };
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(c) => Some(
                decode_cursor(c)
                    .ok_or_else(|| FieldError::new("cursor", "is not a valid cursor"))?,
            ),
        };
        Ok(PageRequest { after, limit })
    }
}

impl PageRequest {
    /// Fetch one more than the page holds, to know whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }

    /// Cuts the extra row and builds the answer; `key` gives each item's sort key.
    pub fn page<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> String) -> Page<T> {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| encode_cursor(&key(r)))
        } else {
            None
        };
        Page {
            data: rows,
            next_cursor,
        }
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

pub fn encode_cursor(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.as_bytes())
}

pub fn decode_cursor(c: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()?;
    let s = String::from_utf8(bytes).ok()?;
    if s.is_empty() || s.len() > 200 || s.chars().any(|c| c.is_control()) {
        return None;
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_cursors() {
        let p = PageParams {
            limit: None,
            cursor: None,
        }
        .parse()
        .unwrap();
        assert_eq!(p.limit, 50);
        assert!(PageParams {
            limit: Some("0".into()),
            cursor: None
        }
        .parse()
        .is_err());
        assert!(PageParams {
            limit: Some("501".into()),
            cursor: None
        }
        .parse()
        .is_err());
        assert!(PageParams {
            limit: Some("x".into()),
            cursor: None
        }
        .parse()
        .is_err());
        assert!(PageParams {
            limit: None,
            cursor: Some("***".into())
        }
        .parse()
        .is_err());
        let c = encode_cursor("cur_01");
        assert_eq!(decode_cursor(&c).as_deref(), Some("cur_01"));
        let req = PageRequest {
            after: None,
            limit: 2,
        };
        let page = req.page(vec!["a", "b", "c"], |s| s.to_string());
        assert_eq!(page.data, vec!["a", "b"]);
        assert_eq!(
            page.next_cursor
                .as_deref()
                .and_then(decode_cursor)
                .as_deref(),
            Some("b")
        );
    }
}
