//! What the deal, offer and store pages share: form fields with repeated keys and dates,
//! store pickers, the image section (upload, show, delete) and safe "back" links.

use axum::extract::multipart::MultipartRejection;
use axum::extract::Multipart;
use axum::http::StatusCode;
use punchcard_app::catalog::Price;
use punchcard_domain::catalog::IMAGE_CAP;
use punchcard_domain::time::Timestamp;
use punchcard_store::stores::StoreRow;
use punchcard_store::uploads::UploadRow;

use super::chrome::FormErrors;
use crate::api::catalog::file_part;

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
    let multipart = multipart.map_err(|_| unreadable())?;
    match file_part(multipart).await {
        Ok(Some((name, bytes))) if !bytes.is_empty() => Ok((name, bytes)),
        Ok(_) => Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            "choose an image to upload".to_string(),
        )),
        Err(StatusCode::PAYLOAD_TOO_LARGE) => Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            "must be at most 5 MiB".to_string(),
        )),
        Err(_) => Err(unreadable()),
    }
}
