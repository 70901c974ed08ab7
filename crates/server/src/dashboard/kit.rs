//! What every dashboard page shares: urlencoded and multipart form fields, one pager for
//! lists, redirects with a flash message, safe return addresses, how times are shown, and the
//! currencies and deals that selects offer.

use axum::extract::multipart::MultipartError;
use axum::extract::Multipart;
use axum::http::StatusCode;
use axum::response::Response;
use punchcard_app::deals::Deals;

use punchcard_app::deals::DealView;
use punchcard_app::AppError;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{DealId, FieldError, MerchantId, ValidationErrors};
use punchcard_store::currencies::CurrencyRow;
use punchcard_store::deals::DealFilter;

use super::chrome::{redirect_with_flash, Flash, PageError};
use super::session::{secure_cookies, ActiveMerchant};
use crate::api::pagination::{decode_cursor, encode_cursor};
use crate::state::AppState;

/// The fields of a urlencoded form, keeping repeated keys (the store checkboxes).
#[derive(Debug, Clone, Default)]
pub struct FormFields(Vec<(String, String)>);

impl FormFields {
    pub fn parse(body: &[u8]) -> Self {
        Self(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of a field, or empty.
    pub fn get(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A checkbox: ticked when sent with any value but `false`/`0`.
    pub fn ticked(&self, name: &str) -> bool {
        self.0
            .iter()
            .any(|(k, v)| k == name && !matches!(v.as_str(), "false" | "0" | ""))
    }

    /// A `datetime-local` field (read as UTC) as the RFC 3339 text the use cases parse.
    pub fn moment(&self, name: &str) -> String {
        from_local_input(&self.get(name))
    }
}

/// `2026-01-31T14:05` (a `datetime-local` value, UTC here) becomes `2026-01-31T14:05:00Z`;
/// anything else is left for the parser to judge.
pub fn from_local_input(s: &str) -> String {
    let s = s.trim();
    let shape = |t: &str| {
        t.chars().enumerate().all(|(i, c)| match i {
            4 | 7 => c == '-',
            10 => c == 'T',
            13 | 16 => c == ':',
            _ => c.is_ascii_digit(),
        })
    };
    match s.len() {
        16 if shape(s) => format!("{s}:00Z"),
        19 if shape(s) => format!("{s}Z"),
        _ => s.to_string(),
    }
}

/// An RFC 3339 text as a `datetime-local` value in UTC; text that is not one stays as typed.
pub fn to_local_input(s: &str) -> String {
    match Timestamp::parse(s) {
        Some(t) => t.to_db()[..16].to_string(),
        None => s.to_string(),
    }
}

/// An id from the address: one that cannot be an id names nothing, so the page is "not found".
pub fn path_id<T: std::str::FromStr>(raw: &str, what: &'static str) -> Result<T, PageError> {
    raw.parse().map_err(|_| PageError(AppError::NotFound(what)))
}

/// A look-up where "not found" is an answer (a filter naming a lead that is gone), not a page
/// error.
pub fn found<T>(looked_up: Result<T, AppError>) -> Result<Option<T>, AppError> {
    match looked_up {
        Ok(v) => Ok(Some(v)),
        Err(AppError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A trimmed field's value, or `None` when it was left empty.
pub fn non_empty(s: &str) -> Option<String> {
    Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_string)
}

/// A fresh retry key for a form that writes once (`manual-01j…`): rendered into the form, so
/// posting the same form twice (a double click, a reload) does the work once.
pub fn retry_key(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    )
}

/// `2026-01-31 14:05:09`: short and unambiguous (the columns say UTC).
pub fn short_time(t: Timestamp) -> String {
    let s = t.to_db();
    format!("{} {}", &s[..10], &s[11..19])
}

/// The fields of a multipart form, files included, in the order sent.
#[derive(Debug, Default)]
pub struct MultipartFields(Vec<MultipartField>);

#[derive(Debug)]
struct MultipartField {
    name: String,
    file_name: Option<String>,
    bytes: bytes::Bytes,
}

/// A multipart form that could not be read to its end, and the status that answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// Larger than the route's body limit (413).
    TooLarge,
    /// Cut short or malformed (400).
    Broken,
}

impl Unreadable {
    fn of(e: &MultipartError) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::TooLarge
        } else {
            Self::Broken
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Broken => StatusCode::BAD_REQUEST,
        }
    }
}

impl MultipartFields {
    /// Reads every part of the form; `Err` carries what was read before it broke off.
    pub async fn read(mut multipart: Multipart) -> Result<Self, (Unreadable, Self)> {
        let mut read = Self::default();
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => return Ok(read),
                Err(e) => return Err((Unreadable::of(&e), read)),
            };
            let name = field.name().unwrap_or("").to_string();
            let file_name = field.file_name().map(str::to_string);
            match field.bytes().await {
                Ok(bytes) => read.0.push(MultipartField {
                    name,
                    file_name,
                    bytes,
                }),
                Err(e) => {
                    // The file's name is known before its bytes: keep it for the message.
                    read.0.push(MultipartField {
                        name,
                        file_name,
                        bytes: bytes::Bytes::new(),
                    });
                    return Err((Unreadable::of(&e), read));
                }
            }
        }
    }

    fn last(&self, name: &str) -> Option<&MultipartField> {
        self.0.iter().rev().find(|f| f.name == name)
    }

    /// A text field (the last one of its name), trimmed, or empty.
    pub fn text(&self, name: &str) -> String {
        self.last(name)
            .map(|f| String::from_utf8_lossy(&f.bytes).trim().to_string())
            .unwrap_or_default()
    }

    /// A file field (the last one of its name): the name the browser gave it (empty when
    /// none) and its bytes.
    pub fn file(&self, name: &str) -> Option<(String, Vec<u8>)> {
        self.last(name)
            .map(|f| (f.file_name.clone().unwrap_or_default(), f.bytes.to_vec()))
    }
}

/// Redirects with a flash message.
pub fn back_to(state: &AppState, to: &str, flash: Flash) -> Response {
    redirect_with_flash(&state.cookie_key, secure_cookies(state), to, flash)
}

/// A return address from a form, kept only when it stays under `prefix` (never off-site).
pub fn safe_back(raw: &str, prefix: &str) -> String {
    let ok = (raw == prefix || raw.starts_with(&format!("{prefix}?")))
        && !raw.contains("//")
        && raw.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    if ok {
        raw.to_string()
    } else {
        prefix.to_string()
    }
}

/// A return address anywhere in the dashboard (the DEV/PROD toggle comes back to the page it
/// was pressed on); anything else returns to the overview.
pub fn dashboard_back(raw: &str) -> &str {
    let ok = raw.starts_with("/dashboard")
        && !raw.starts_with("//")
        && !raw.contains('\\')
        && raw.chars().all(|c| c.is_ascii_graphic());
    if ok {
        raw
    } else {
        "/dashboard"
    }
}

/// A query string of the non-empty pairs, with a leading `?` (empty when none).
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.trim().is_empty() {
            s.append_pair(k, v.trim());
        }
    }
    let s = s.finish();
    if s.is_empty() {
        s
    } else {
        format!("?{s}")
    }
}

/// The address of a list with its filters (the non-empty ones) and, past the first page, the
/// cursor to start from.
pub fn list_href(path: &str, filters: &[(&str, &str)], cursor: Option<&str>) -> String {
    let mut pairs = filters.to_vec();
    if let Some(c) = cursor {
        pairs.push(("cursor", c));
    }
    format!("{path}{}", query_string(&pairs))
}

/// Links to the next and the first page of a list.
#[derive(Debug, Default)]
pub struct Pager {
    pub next: Option<String>,
    pub first: Option<String>,
}

impl Pager {
    /// Cuts the extra row fetched to know whether more follow, and links the pages of
    /// `path` with `pairs` (the list's filters) kept.
    pub fn cut<T>(
        rows: &mut Vec<T>,
        limit: i64,
        on_later_page: bool,
        key: impl Fn(&T) -> String,
        path: &str,
        pairs: &[(&str, &str)],
    ) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next = if more {
            rows.last()
                .map(|r| list_href(path, pairs, Some(&encode_cursor(&key(r)))))
        } else {
            None
        };
        let first = on_later_page.then(|| list_href(path, pairs, None));
        Self { next, first }
    }

    pub fn is_empty(&self) -> bool {
        self.next.is_none() && self.first.is_none()
    }

    /// The same links, landing on the part of the page the list sits in (`transactions`).
    pub fn landing_on(mut self, anchor: &str) -> Self {
        for link in [&mut self.next, &mut self.first].into_iter().flatten() {
            link.push('#');
            link.push_str(anchor);
        }
        self
    }
}

/// The position a `?cursor=` names; a damaged cursor starts at the first page.
pub fn after_of(cursor: &str) -> Option<String> {
    Some(cursor.trim())
        .filter(|c| !c.is_empty())
        .and_then(decode_cursor)
}

/// The position a `?cursor=` names, for lists that answer a damaged cursor as a bad field
/// rather than starting over.
pub fn checked_after_of(cursor: &str, errors: &mut ValidationErrors) -> Option<String> {
    match cursor.trim() {
        "" => None,
        c => {
            let after = decode_cursor(c);
            if after.is_none() {
                errors.push(FieldError::new("cursor", "is not a valid cursor"));
            }
            after
        }
    }
}

// ----- What several pages pick from: currencies and deals -----

/// The merchant's currencies (few, shared by both environments), to name wallets by code.
pub struct Currencies(pub Vec<CurrencyRow>);

impl Currencies {
    pub async fn load(state: &AppState, merchant_id: &MerchantId) -> Result<Self, PageError> {
        Ok(Self(
            state.app.list_currencies(merchant_id, None, 500).await?,
        ))
    }

    /// The code of a currency (its id if it is unknown).
    pub fn code(&self, id: &str) -> String {
        self.known_code(id).unwrap_or(id).to_string()
    }

    /// The code of a currency, if it is one of the merchant's.
    pub fn known_code(&self, id: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|c| c.id.as_str() == id)
            .map(|c| c.code.as_str())
    }
}

/// One currency in a select.
pub struct CurrencyOption {
    pub id: String,
    pub label: String,
}

impl CurrencyOption {
    pub fn of(c: &CurrencyRow) -> Self {
        Self {
            id: c.id.to_string(),
            label: format!("{} · {}", c.code, c.name),
        }
    }

    /// Named first: `Gems (GEM)`.
    pub fn named(c: &CurrencyRow) -> Self {
        Self {
            id: c.id.to_string(),
            label: format!("{} ({})", c.name, c.code),
        }
    }
}

/// One deal in a select.
pub struct DealOption {
    pub id: String,
    pub label: String,
}

/// Every live deal of the environment, in creation order (for selects and the stock table).
pub async fn live_deals(
    state: &AppState,
    user: &ActiveMerchant,
) -> Result<Vec<DealView>, PageError> {
    const BATCH: i64 = 500;
    let mut deals: Vec<DealView> = Vec::new();
    loop {
        let after = deals.last().map(|d| d.row.id.to_string());
        let batch = state
            .app
            .list_items::<Deals>(
                &user.merchant.id,
                user.env,
                &DealFilter::default(),
                after.as_deref(),
                BATCH,
            )
            .await?;
        let done = (batch.len() as i64) < BATCH;
        deals.extend(batch);
        if done || deals.len() >= 10_000 {
            return Ok(deals);
        }
    }
}

pub fn deal_options(deals: &[DealView]) -> Vec<DealOption> {
    deals
        .iter()
        .map(|v| &v.row)
        .map(|d| DealOption {
            id: d.id.to_string(),
            label: if d.available {
                d.name.clone()
            } else {
                format!("{} (switched off)", d.name)
            },
        })
        .collect()
}

/// A deal's name by id, or the id itself for a deal that is gone.
pub fn deal_name(deals: &[DealView], id: &DealId) -> String {
    deals
        .iter()
        .find(|v| &v.row.id == id)
        .map(|v| v.row.name.clone())
        .unwrap_or_else(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_dates_become_utc_and_back() {
        assert_eq!(from_local_input("2026-01-31T14:05"), "2026-01-31T14:05:00Z");
        assert_eq!(
            from_local_input("2026-01-31T14:05:09"),
            "2026-01-31T14:05:09Z"
        );
        assert_eq!(
            from_local_input("2026-01-31T14:05:00+02:00"),
            "2026-01-31T14:05:00+02:00"
        );
        assert_eq!(from_local_input(" "), "");
        assert_eq!(from_local_input("tomorrow"), "tomorrow");
        assert_eq!(
            to_local_input("2026-01-31T14:05:00+02:00"),
            "2026-01-31T12:05"
        );
        assert_eq!(to_local_input("garbage"), "garbage");
    }

    #[test]
    fn forms_keep_repeated_fields() {
        let f = FormFields::parse(b"name=A+b&store_ids=s1&store_ids=s2&available=on&x=");
        assert_eq!(f.get("name"), "A b");
        assert_eq!(f.all("store_ids"), vec!["s1", "s2"]);
        assert!(f.ticked("available"));
        assert!(!f.ticked("x"));
        assert!(!f.ticked("missing"));
        assert_eq!(f.get("missing"), "");
    }

    #[test]
    fn back_links_stay_on_their_page() {
        assert_eq!(
            safe_back("/dashboard/deals?kind=cash", "/dashboard/deals"),
            "/dashboard/deals?kind=cash"
        );
        assert_eq!(
            safe_back("https://evil.example", "/dashboard/deals"),
            "/dashboard/deals"
        );
        assert_eq!(
            safe_back("/dashboard/deals//evil", "/dashboard/deals"),
            "/dashboard/deals"
        );
        assert_eq!(
            safe_back("/dashboard/dealsx", "/dashboard/deals"),
            "/dashboard/deals"
        );
    }

    #[test]
    fn the_toggle_comes_back_into_the_dashboard_only() {
        assert_eq!(dashboard_back("/dashboard/api-keys"), "/dashboard/api-keys");
        assert_eq!(dashboard_back("https://evil.example/"), "/dashboard");
        assert_eq!(dashboard_back("//evil.example"), "/dashboard");
        assert_eq!(dashboard_back("/dashboard\\@evil"), "/dashboard");
        assert_eq!(dashboard_back(""), "/dashboard");
    }

    #[test]
    fn damaged_cursors_are_reported_or_ignored() {
        let mut errors = ValidationErrors::new();
        assert_eq!(checked_after_of(" ", &mut errors), None);
        assert_eq!(checked_after_of("!!", &mut errors), None);
        assert_eq!(errors.for_field("cursor"), Some("is not a valid cursor"));
        assert_eq!(after_of("!!"), None);
        let c = encode_cursor("abc");
        assert_eq!(after_of(&c).as_deref(), Some("abc"));
        let mut errors = ValidationErrors::new();
        assert_eq!(checked_after_of(&c, &mut errors).as_deref(), Some("abc"));
        assert!(errors.is_empty());
    }

    #[test]
    fn fields_are_empty_or_trimmed() {
        assert_eq!(non_empty("  "), None);
        assert_eq!(non_empty(" a b "), Some("a b".to_string()));
        let key = retry_key("manual");
        assert!(key.starts_with("manual-") && key.len() == "manual-".len() + 26);
        assert_ne!(key, retry_key("manual"));
    }

    #[test]
    fn pagers_link_the_next_and_the_first_page() {
        let mut rows = vec!["a", "b", "c"];
        let pager = Pager::cut(&mut rows, 2, true, |r| r.to_string(), "/x", &[("q", "z")])
            .landing_on("list");
        assert_eq!(rows, vec!["a", "b"]);
        let next = pager.next.unwrap();
        assert!(
            next.starts_with("/x?q=z&cursor=") && next.ends_with("#list"),
            "{next}"
        );
        assert_eq!(pager.first.as_deref(), Some("/x?q=z#list"));
        let mut rows = vec!["a"];
        assert!(
            Pager::cut(&mut rows, 2, false, |r| r.to_string(), "/x", &[])
                .landing_on("list")
                .is_empty()
        );
    }

    #[test]
    fn query_strings_keep_only_what_was_given() {
        assert_eq!(query_string(&[("q", ""), ("lead", " ")]), "");
        assert_eq!(
            query_string(&[("q", "ada lovelace"), ("email", ""), ("cursor", "x&y")]),
            "?q=ada+lovelace&cursor=x%26y"
        );
    }
}
