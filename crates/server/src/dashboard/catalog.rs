//! What the deal, offer and store pages share: form fields with repeated keys and dates,
//! store pickers, the image section (upload, show, delete) and safe "back" links.

use axum::extract::multipart::MultipartRejection;
use axum::extract::Multipart;
use axum::http::StatusCode;
use axum::response::Response;
use punchcard_app::catalog::{CatalogItem, Price};
use punchcard_app::AppError;
use punchcard_domain::catalog::IMAGE_CAP;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{FieldError, UploadId};
use punchcard_store::stores::StoreRow;
use punchcard_store::uploads::UploadRow;

use super::chrome::{redirect_with_flash, Flash, FormErrors, PageError};
use super::session::{secure_cookies, ActiveMerchant};
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

/// A date for tables: `2026-01-31 14:05`, or empty.
pub fn short_moment(t: Option<Timestamp>) -> String {
    t.map(|t| {
        let s = t.to_db();
        format!("{} {}", &s[..10], &s[11..16])
    })
    .unwrap_or_default()
}

/// Prices per currency in one line: `150 PTS · 500 GEM`.
pub fn price_line(prices: &[Price]) -> String {
    prices
        .iter()
        .map(|p| format!("{} {}", p.points, p.code))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// One store in a picker.
pub struct StoreChoice {
    pub id: String,
    pub name: String,
    pub place: String,
    pub checked: bool,
}

pub fn store_choices(all: &[StoreRow], selected: &[String]) -> Vec<StoreChoice> {
    all.iter()
        .map(|s| StoreChoice {
            id: s.id.to_string(),
            name: s.name.clone(),
            place: match (s.mode.as_str(), &s.city) {
                ("online", _) => "online".to_string(),
                (_, Some(city)) => city.clone(),
                _ => String::new(),
            },
            checked: selected.iter().any(|id| id.trim() == s.id.as_str()),
        })
        .collect()
}

/// One image in the image section.
pub struct ImageLine {
    pub id: String,
    pub name: String,
    pub src: String,
    pub size: String,
}

/// The image section of an edit page.
pub struct Images {
    pub lines: Vec<ImageLine>,
    /// `/dashboard/deals/deal_…/images`.
    pub base: String,
    pub cap: i64,
    pub room: bool,
    pub errors: FormErrors,
}

impl Images {
    pub fn new(base: String, uploads: &[UploadRow], errors: FormErrors) -> Self {
        let lines: Vec<ImageLine> = uploads
            .iter()
            .map(|u| ImageLine {
                src: format!("{base}/{}", u.id),
                id: u.id.to_string(),
                name: u.name.clone(),
                size: human_size(u.size_bytes),
            })
            .collect();
        Self {
            room: (lines.len() as i64) < IMAGE_CAP,
            lines,
            base,
            cap: IMAGE_CAP,
            errors,
        }
    }
}

fn human_size(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    } else if bytes >= 1024 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} B")
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
        && !raw.chars().any(|c| c.is_control() || c == '\\');
    if ok {
        raw.to_string()
    } else {
        prefix.to_string()
    }
}

/// The image of an upload form, or why it cannot be taken (status and message for the
/// `file` field).
pub async fn read_image(
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(String, Vec<u8>), (StatusCode, String)> {
    let unreadable = || {
        (
            StatusCode::BAD_REQUEST,
            "could not be read; try again".to_string(),
        )
    };
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "must be at most 5 MiB".to_string(),
        )
    };
    let mut multipart = multipart.map_err(|_| unreadable())?;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(_) => return Err(unreadable()),
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("").to_string();
        return match field.bytes().await {
            Ok(b) if b.is_empty() => Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                "choose an image to upload".to_string(),
            )),
            Ok(b) => Ok((name, b.to_vec())),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(too_large()),
            Err(_) => Err(unreadable()),
        };
    }
    Err((
        StatusCode::UNPROCESSABLE_ENTITY,
        "choose an image to upload".to_string(),
    ))
}

/// What became of an image upload: stored, or refused with a status and a message for the
/// `file` field (the caller re-renders its page with it).
pub enum ImageOutcome {
    Stored(String),
    Refused(StatusCode, FormErrors),
}

pub async fn upload_image(
    state: &AppState,
    user: &ActiveMerchant,
    item: &CatalogItem,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<ImageOutcome, PageError> {
    let refused = |status, message: String| {
        ImageOutcome::Refused(
            status,
            FormErrors {
                fields: vec![FieldError::new("file", message)],
                form: None,
            },
        )
    };
    let (name, bytes) = match read_image(multipart).await {
        Ok(f) => f,
        Err((status, message)) => return Ok(refused(status, message)),
    };
    match state
        .app
        .add_catalog_image(
            &state.storage,
            &user.merchant.id,
            user.env,
            item,
            &name,
            bytes,
        )
        .await
    {
        Ok(row) => Ok(ImageOutcome::Stored(row.name)),
        Err(AppError::Validation(e)) => Ok(refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            e.for_field("file")
                .unwrap_or("is not acceptable")
                .to_string(),
        )),
        Err(AppError::LimitReached(m)) => Ok(refused(StatusCode::UNPROCESSABLE_ENTITY, m)),
        Err(e) => Err(e.into()),
    }
}

/// Serves an image of a live item of the session's environment.
pub async fn serve_image(
    state: &AppState,
    user: &ActiveMerchant,
    item: &CatalogItem,
    image_id: &str,
) -> Result<Response, PageError> {
    let image_id: UploadId = image_id.parse().map_err(|_| AppError::NotFound("image"))?;
    let content = state
        .app
        .catalog_image(&state.storage, &user.merchant.id, user.env, item, &image_id)
        .await?;
    Ok(crate::api::catalog::image_response(
        content.bytes,
        &content.upload.content_type,
        "private, max-age=300",
    ))
}

pub async fn delete_image(
    state: &AppState,
    user: &ActiveMerchant,
    item: &CatalogItem,
    image_id: &str,
) -> Result<(), PageError> {
    let image_id: UploadId = image_id.parse().map_err(|_| AppError::NotFound("image"))?;
    state
        .app
        .delete_catalog_image(&state.storage, &user.merchant.id, user.env, item, &image_id)
        .await?;
    Ok(())
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
}
