//! What the deal, offer and store endpoints share: prices and images in answers, nullable
//! fields of changes, ids in paths, and image upload, download and removal.

use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::Multipart;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Json;
use punchcard_app::api_keys::ApiPrincipal;
use punchcard_app::catalog::{CatalogItem, Price};
use punchcard_app::uploads::MAX_UPLOAD_BYTES;
use punchcard_app::AppError;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{FieldError, UploadId};
use punchcard_store::uploads::UploadRow;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// The body limit of image uploads: the file cap plus room for the multipart framing, so a
/// slightly-too-large file gets the "at most 5 MiB" answer rather than a bare 413.
pub const IMAGE_BODY_LIMIT: usize = MAX_UPLOAD_BYTES + 1024 * 1024;

/// What a price costs in one of the merchant's currencies.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrencyPrice {
    #[schema(example = "cur_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub currency_id: String,
    #[schema(example = "PTS")]
    pub code: String,
    /// `ceil(sell_price / coins_per_unit)`: the points a lead spends in this currency.
    #[schema(example = 150)]
    pub points: i64,
}

impl From<Price> for CurrencyPrice {
    fn from(p: Price) -> Self {
        Self {
            currency_id: p.currency_id.to_string(),
            code: p.code,
            points: p.points,
        }
    }
}

/// An image of a deal, offer or store.
#[derive(Debug, Serialize, ToSchema)]
pub struct Image {
    #[schema(example = "upl_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    /// The file name it was uploaded with.
    #[schema(example = "front.jpg")]
    pub name: String,
    /// `image/png`, `image/jpeg`, `image/webp` or `image/gif`, recognised from the bytes.
    #[schema(example = "image/jpeg")]
    pub content_type: String,
    pub size_bytes: i64,
    /// Where the bytes can be fetched with the same credentials.
    #[schema(
        example = "/api/v1/deals/deal_01jd3x1m2n3p4q5r6s7t8v9w0x/images/upl_01jd3x1m2n3p4q5r6s7t8v9w0x"
    )]
    pub url: String,
    /// RFC 3339 UTC.
    pub created_at: String,
}

impl Image {
    /// `collection` is `deals`, `offers` or `stores`.
    pub fn of(collection: &str, u: UploadRow) -> Self {
        Self {
            url: format!("/api/v1/{collection}/{}/images/{}", u.parent_id, u.id),
            id: u.id.to_string(),
            name: u.name,
            content_type: u.content_type,
            size_bytes: u.size_bytes,
            created_at: u.created_at.to_rfc3339(),
        }
    }
}

/// The multipart body of an image upload.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ImageUpload {
    /// A PNG, JPEG, WebP or GIF image of at most 5 MiB (recognised from its bytes).
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// An optional RFC 3339 moment for answers.
pub fn moment(t: Option<Timestamp>) -> Option<String> {
    t.map(Timestamp::to_rfc3339)
}

/// For fields of a change that `null` clears: absent is `None`, `null` is `Some(None)`.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A cleared (`null`) field of a change becomes the empty text the use cases read as "none".
pub fn cleared(v: Option<Option<String>>) -> Option<String> {
    v.map(Option::unwrap_or_default)
}

/// Reads the `file` part of an image upload.
async fn read_file(
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(String, Vec<u8>), Problem> {
    let mut multipart = multipart.map_err(|_| {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the image as multipart/form-data with a `file` part",
        )
    })?;
    let too_large = || {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the image must be at most 5 MiB",
        )
    };
    let unreadable = || {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the multipart body could not be read",
        )
    };
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
            Ok(b) => Ok((name, b.to_vec())),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(too_large()),
            Err(_) => Err(unreadable()),
        };
    }
    Err(Problem::from(&AppError::Validation(
        FieldError::new("file", "is required").into(),
    )))
}

/// Adds an uploaded image to an item; answers 201 with the image.
pub async fn upload_image(
    state: &AppState,
    caller: &ApiPrincipal,
    collection: &str,
    item: CatalogItem,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Image>), Response> {
    use axum::response::IntoResponse;
    let (name, bytes) = read_file(multipart)
        .await
        .map_err(IntoResponse::into_response)?;
    let row = state
        .app
        .add_catalog_image(
            &state.storage,
            &caller.merchant_id,
            caller.env,
            &item,
            &name,
            bytes,
        )
        .await
        .map_err(|e| ApiError(e).into_response())?;
    Ok((StatusCode::CREATED, Json(Image::of(collection, row))))
}

/// The bytes of an item's image.
pub async fn image_bytes(
    state: &AppState,
    caller: &ApiPrincipal,
    item: CatalogItem,
    image_id: &UploadId,
) -> Result<Response, ApiError> {
    let content = state
        .app
        .catalog_image(
            &state.storage,
            &caller.merchant_id,
            caller.env,
            &item,
            image_id,
        )
        .await?;
    Ok(image_response(
        content.bytes,
        &content.upload.content_type,
        "private, max-age=300",
    ))
}

/// An image answer that browsers cannot take for anything else.
pub fn image_response(bytes: Vec<u8>, content_type: &str, cache: &'static str) -> Response {
    let mut res = Response::new(Body::from(bytes));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    res
}

/// Removes an item's image; answers 204.
pub async fn remove_image(
    state: &AppState,
    caller: &ApiPrincipal,
    item: CatalogItem,
    image_id: &UploadId,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .delete_catalog_image(
            &state.storage,
            &caller.merchant_id,
            caller.env,
            &item,
            image_id,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
