//! `/api/v1/stores`: where deals and offers are honoured, online or at an address.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use punchcard_app::catalog::CatalogItem;
use punchcard_app::stores::Stores;
use punchcard_app::stores::{StoreDraft, StorePatch, StoreQuery, StoreView};
use punchcard_domain::{StoreId, UploadId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::catalog::{cleared, nullable, Image, ImageUpload};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageParams};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// A store of the merchant.
#[derive(Debug, Serialize, ToSchema)]
pub struct Store {
    #[schema(example = "store_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    #[schema(example = "High Street")]
    pub name: String,
    /// `online` or `offline`.
    #[schema(example = "offline")]
    pub mode: String,
    /// The web shop of an online store.
    pub url: Option<String>,
    #[schema(example = "12 Mill Lane")]
    pub address_line: Option<String>,
    #[schema(example = "Leeds")]
    pub city: Option<String>,
    #[schema(example = "LS1 4AB")]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "GB")]
    pub country: Option<String>,
    /// Decimal degrees (7 decimals at most), or null.
    #[schema(example = 53.7997)]
    pub latitude: Option<f64>,
    #[schema(example = -1.5492)]
    pub longitude: Option<f64>,
    /// The live deals the store carries.
    pub deal_ids: Vec<String>,
    /// The live offers the store carries.
    pub offer_ids: Vec<String>,
    /// Up to 3 images.
    pub images: Vec<Image>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<StoreView> for Store {
    fn from(v: StoreView) -> Self {
        let location = v.location();
        let s = v.store;
        Self {
            id: s.id.to_string(),
            name: s.name,
            mode: s.mode,
            url: s.url,
            address_line: s.address_line,
            city: s.city,
            postal_code: s.postal_code,
            country: s.country,
            latitude: location.map(|p| p.latitude()),
            longitude: location.map(|p| p.longitude()),
            deal_ids: v.deal_ids.iter().map(ToString::to_string).collect(),
            offer_ids: v.offer_ids.iter().map(ToString::to_string).collect(),
            images: v
                .images
                .into_iter()
                .map(|u| Image::of("stores", u))
                .collect(),
            created_at: s.created_at.to_rfc3339(),
            updated_at: s.updated_at.to_rfc3339(),
        }
    }
}

/// A new store. Offline stores need `address_line`, `city` and `country`; only online
/// stores carry a `url`. Attach deals and offers from their side (`store_ids`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStore {
    /// 1-100 characters.
    #[schema(
        required = true,
        value_type = String,
        example = "High Street",
        min_length = 1,
        max_length = 100
    )]
    pub name: Option<String>,
    /// `online` or `offline`.
    #[schema(required = true, value_type = String, example = "offline", pattern = "^(online|offline)$")]
    pub mode: Option<String>,
    /// http(s) URL of an online store.
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    pub address_line: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(pattern = "^[A-Za-z]{2}$")]
    pub country: Option<String>,
    /// -90 to 90; with `longitude`.
    #[schema(minimum = -90, maximum = 90)]
    pub latitude: Option<f64>,
    /// -180 to 180; with `latitude`.
    #[schema(minimum = -180, maximum = 180)]
    pub longitude: Option<f64>,
}

fn degrees(v: Option<f64>) -> String {
    // Display never uses an exponent, so the domain's exact decimal parser reads it.
    v.map(|d| d.to_string()).unwrap_or_default()
}

impl From<NewStore> for StoreDraft {
    fn from(n: NewStore) -> Self {
        Self {
            name: n.name.unwrap_or_default(),
            mode: n.mode.unwrap_or_default(),
            url: n.url.unwrap_or_default(),
            address_line: n.address_line.unwrap_or_default(),
            city: n.city.unwrap_or_default(),
            postal_code: n.postal_code.unwrap_or_default(),
            country: n.country.unwrap_or_default(),
            latitude: degrees(n.latitude),
            longitude: degrees(n.longitude),
        }
    }
}

/// Changes to a store: only the fields sent change; `null` clears an optional field.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreChanges {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[schema(pattern = "^(online|offline)$")]
    pub mode: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub address_line: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub postal_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub country: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>)]
    pub latitude: Option<Option<f64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>)]
    pub longitude: Option<Option<f64>>,
}

impl From<StoreChanges> for StorePatch {
    fn from(c: StoreChanges) -> Self {
        Self {
            name: c.name,
            mode: c.mode,
            url: cleared(c.url),
            address_line: cleared(c.address_line),
            city: cleared(c.city),
            postal_code: cleared(c.postal_code),
            country: cleared(c.country),
            latitude: c.latitude.map(degrees),
            longitude: c.longitude.map(degrees),
        }
    }
}

/// Filters of the store list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StoreFilters {
    /// `online` or `offline`.
    #[param(pattern = "^(online|offline)$")]
    pub mode: Option<String>,
    /// The city, any case.
    pub city: Option<String>,
    /// Part of the name, any case.
    pub q: Option<String>,
}

/// Creates a store.
#[utoipa::path(post, path = "/api/v1/stores", tag = "stores",
    request_body = NewStore,
    security(("basic" = [])),
    responses(
        (status = 201, description = "the store", body = Store),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields (`validation_failed`) or 100 stores already (`limit_reached`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_store(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewStore>,
) -> Result<(StatusCode, Json<Store>), ApiError> {
    let view = state
        .app
        .create_store(&caller.merchant_id, caller.env, &body.into())
        .await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

/// Lists the environment's stores in creation order.
#[utoipa::path(get, path = "/api/v1/stores", tag = "stores",
    params(PageParams, StoreFilters),
    security(("basic" = [])),
    responses(
        (status = 200, description = "a page of stores", body = Page<Store>),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid filters or paging parameters", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_stores(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<PageParams>,
    ApiQuery(filters): ApiQuery<StoreFilters>,
) -> Result<Json<Page<Store>>, ApiError> {
    let page = params.parse()?;
    let filter = StoreQuery {
        mode: filters.mode,
        city: filters.city,
        q: filters.q,
    }
    .parse()?;
    let rows = state
        .app
        .list_stores(
            &caller.merchant_id,
            caller.env,
            &filter,
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
    let page = page.page(rows, |v| v.store.id.to_string());
    Ok(Json(Page {
        data: page.data.into_iter().map(Store::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One store.
#[utoipa::path(get, path = "/api/v1/stores/{id}", tag = "stores",
    params(("id" = String, Path, description = "the store id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the store", body = Store),
        (status = 404, description = "no such store in this environment", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_store(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<StoreId>,
) -> Result<Json<Store>, ApiError> {
    let view = state
        .app
        .store(&caller.merchant_id, caller.env, &id)
        .await?;
    Ok(Json(view.into()))
}

/// Changes a store.
#[utoipa::path(patch, path = "/api/v1/stores/{id}", tag = "stores",
    params(("id" = String, Path, description = "the store id")),
    request_body = StoreChanges,
    security(("basic" = [])),
    responses(
        (status = 200, description = "the changed store", body = Store),
        (status = 404, description = "no such store in this environment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_store(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<StoreId>,
    ApiJson(body): ApiJson<StoreChanges>,
) -> Result<Json<Store>, ApiError> {
    let view = state
        .app
        .update_item::<Stores>(&caller.merchant_id, caller.env, &id, body.into())
        .await?;
    Ok(Json(view.into()))
}

/// Deletes a store and detaches it from its stores and offers.
#[utoipa::path(delete, path = "/api/v1/stores/{id}", tag = "stores",
    params(("id" = String, Path, description = "the store id")),
    security(("basic" = [])),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, description = "no such store in this environment", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_store(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<StoreId>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .delete_item::<Stores>(&caller.merchant_id, caller.env, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds an image to a store (at most 3).
#[utoipa::path(post, path = "/api/v1/stores/{id}/images", tag = "stores",
    params(("id" = String, Path, description = "the store id")),
    request_body(content = ImageUpload, content_type = "multipart/form-data"),
    security(("basic" = [])),
    responses(
        (status = 201, description = "the image", body = Image),
        (status = 404, description = "no such store in this environment", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "the body is larger than 6 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "not a PNG, JPEG, WebP or GIF, over 5 MiB (`validation_failed`), or already 3 images (`limit_reached`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn upload_store_image(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<StoreId>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Image>), Response> {
    super::catalog::upload_image(&state, &caller, "stores", CatalogItem::Store(id), multipart).await
}

/// The bytes of a store's image.
#[utoipa::path(get, path = "/api/v1/stores/{id}/images/{image_id}", tag = "stores",
    params(
        ("id" = String, Path, description = "the store id"),
        ("image_id" = String, Path, description = "the image id"),
    ),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the image, in its own content type", content(("image/png"), ("image/jpeg"), ("image/webp"), ("image/gif"))),
        (status = 404, description = "no such store or image", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_store_image(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, image_id)): ApiPath<(StoreId, UploadId)>,
) -> Result<Response, ApiError> {
    super::catalog::image_bytes(&state, &caller, CatalogItem::Store(id), &image_id).await
}

/// Removes a store's image.
#[utoipa::path(delete, path = "/api/v1/stores/{id}/images/{image_id}", tag = "stores",
    params(
        ("id" = String, Path, description = "the store id"),
        ("image_id" = String, Path, description = "the image id"),
    ),
    security(("basic" = [])),
    responses(
        (status = 204, description = "removed"),
        (status = 404, description = "no such store or image", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_store_image(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, image_id)): ApiPath<(StoreId, UploadId)>,
) -> Result<StatusCode, ApiError> {
    super::catalog::remove_image(&state, &caller, CatalogItem::Store(id), &image_id).await
}
