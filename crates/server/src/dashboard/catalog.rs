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

use super::chrome::{FormErrors, PageError};
use super::session::ActiveMerchant;
use crate::state::AppState;

/// A filter as the app reads it: an empty field is no filter.
pub fn opt(s: &str) -> Option<String> {
    Some(s.to_string()).filter(|s| !s.trim().is_empty())
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
