//! The endpoints of every catalog kind (deals, offers, stores): generic handlers, each kind's
//! documented entry points, and what their answers share (prices, images, nullable fields).

use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Json;
use punchcard_app::catalog::Price;
use punchcard_app::catalog_kind::{CatalogKind, PatchOf};
use punchcard_app::uploads::MAX_UPLOAD_BYTES;
use punchcard_app::AppError;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{FieldError, UploadId};
use punchcard_store::uploads::UploadRow;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageParams};
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

/// A catalog kind as the API serves it: its answer and request bodies. The handlers below
/// serve every kind; `catalog_routes!` gives each kind its documented entry points.
pub trait ApiKind: CatalogKind {
    /// The collection in paths: `deals`.
    const COLLECTION: &'static str;
    type Answer: Serialize + From<Self::View> + Send;
    type New: DeserializeOwned + Into<Self::Draft> + Send;
    type Changes: DeserializeOwned + Into<PatchOf<Self>> + Send;
}

/// Creates an item; answers 201 with it.
pub async fn create<K: ApiKind>(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<K::New>,
) -> Result<(StatusCode, Json<K::Answer>), ApiError> {
    let view = state
        .app
        .create_item::<K>(&caller.merchant_id, caller.env, &body.into())
        .await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

/// A page of the environment's items in creation order.
pub async fn list<K: ApiKind>(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<PageParams>,
    ApiQuery(query): ApiQuery<K::Query>,
) -> Result<Json<Page<K::Answer>>, ApiError> {
    let page = params.parse()?;
    let filter = K::filter(&query)?;
    let rows = state
        .app
        .list_items::<K>(
            &caller.merchant_id,
            caller.env,
            &filter,
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
    let page = page.page(rows, |v| K::id(K::row_of(v)).to_string());
    Ok(Json(Page {
        data: page.data.into_iter().map(K::Answer::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn get<K: ApiKind>(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<K::Id>,
) -> Result<Json<K::Answer>, ApiError> {
    let view = state
        .app
        .item::<K>(&caller.merchant_id, caller.env, &id)
        .await?;
    Ok(Json(view.into()))
}

pub async fn update<K: ApiKind>(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<K::Id>,
    ApiJson(body): ApiJson<K::Changes>,
) -> Result<Json<K::Answer>, ApiError> {
    let view = state
        .app
        .update_item::<K>(&caller.merchant_id, caller.env, &id, body.into())
        .await?;
    Ok(Json(view.into()))
}

/// Deletes an item; answers 204.
pub async fn delete<K: ApiKind>(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<K::Id>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .delete_item::<K>(&caller.merchant_id, caller.env, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds an uploaded image to an item; answers 201 with the image.
pub async fn upload_image<K: ApiKind>(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<K::Id>,
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
            &K::parent(id),
            &name,
            bytes,
        )
        .await
        .map_err(|e| ApiError(e).into_response())?;
    Ok((StatusCode::CREATED, Json(Image::of(K::COLLECTION, row))))
}

/// The bytes of an item's image.
pub async fn image_bytes<K: ApiKind>(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, image_id)): ApiPath<(K::Id, UploadId)>,
) -> Result<Response, ApiError> {
    let content = state
        .app
        .catalog_image(
            &state.storage,
            &caller.merchant_id,
            caller.env,
            &K::parent(id),
            &image_id,
        )
        .await?;
    Ok(image_response(
        content.bytes,
        &content.upload.content_type,
        "private, max-age=300",
    ))
}

/// Removes an item's image; answers 204.
pub async fn remove_image<K: ApiKind>(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, image_id)): ApiPath<(K::Id, UploadId)>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .delete_catalog_image(
            &state.storage,
            &caller.merchant_id,
            caller.env,
            &K::parent(id),
            &image_id,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A kind's documented entry points (`create_deal`, `list_deals`, …), each handing its
/// request to the handler above. Only the words of the documentation differ between kinds.
macro_rules! catalog_routes {
    (
        $kind:ty: $answer:ident, $new:ident, $changes:ident, $filters:ident, tag $tag:tt;
        paths $list_path:tt, $item_path:tt;
        words $id_desc:tt, $one:tt, $page:tt, $changed:tt, $not_found:tt;
        refusals $create_422:tt, $change_422:tt;
        $create:ident $create_doc:tt; $list:ident $list_doc:tt; $get:ident $get_doc:tt;
        $update:ident $update_doc:tt; $delete:ident $delete_doc:tt;
    ) => {
        impl $crate::api::catalog::ApiKind for $kind {
            const COLLECTION: &'static str = $tag;
            type Answer = $answer;
            type New = $new;
            type Changes = $changes;
        }

        #[doc = $create_doc]
        #[utoipa::path(post, path = $list_path, tag = $tag,
            request_body = $new,
            security(("basic" = [])),
            responses(
                (status = 201, description = $one, body = $answer),
                (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = $create_422, body = Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $create(
            state: ::axum::extract::State<$crate::state::AppState>,
            caller: $crate::api::auth::Caller,
            body: $crate::api::extract::ApiJson<$new>,
        ) -> Result<(::axum::http::StatusCode, ::axum::Json<$answer>), $crate::problem::ApiError> {
            $crate::api::catalog::create::<$kind>(state, caller, body).await
        }

        #[doc = $list_doc]
        #[utoipa::path(get, path = $list_path, tag = $tag,
            params(PageParams, $filters),
            security(("basic" = [])),
            responses(
                (status = 200, description = $page, body = Page<$answer>),
                (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "invalid filters or paging parameters", body = Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $list(
            state: ::axum::extract::State<$crate::state::AppState>,
            caller: $crate::api::auth::Caller,
            params: $crate::api::extract::ApiQuery<$crate::api::pagination::PageParams>,
            query: $crate::api::extract::ApiQuery<<$kind as ::punchcard_app::catalog_kind::CatalogKind>::Query>,
        ) -> Result<::axum::Json<$crate::api::pagination::Page<$answer>>, $crate::problem::ApiError> {
            $crate::api::catalog::list::<$kind>(state, caller, params, query).await
        }

        #[doc = $get_doc]
        #[utoipa::path(get, path = $item_path, tag = $tag,
            params(("id" = String, Path, description = $id_desc)),
            security(("basic" = [])),
            responses(
                (status = 200, description = $one, body = $answer),
                (status = 404, description = $not_found, body = Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $get(
            state: ::axum::extract::State<$crate::state::AppState>,
            caller: $crate::api::auth::Caller,
            id: $crate::api::extract::ApiPath<<$kind as ::punchcard_app::catalog_kind::CatalogKind>::Id>,
        ) -> Result<::axum::Json<$answer>, $crate::problem::ApiError> {
            $crate::api::catalog::get::<$kind>(state, caller, id).await
        }

        #[doc = $update_doc]
        #[utoipa::path(patch, path = $item_path, tag = $tag,
            params(("id" = String, Path, description = $id_desc)),
            request_body = $changes,
            security(("basic" = [])),
            responses(
                (status = 200, description = $changed, body = $answer),
                (status = 404, description = $not_found, body = Problem, content_type = "application/problem+json"),
                (status = 422, description = $change_422, body = Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $update(
            state: ::axum::extract::State<$crate::state::AppState>,
            caller: $crate::api::auth::Caller,
            id: $crate::api::extract::ApiPath<<$kind as ::punchcard_app::catalog_kind::CatalogKind>::Id>,
            body: $crate::api::extract::ApiJson<$changes>,
        ) -> Result<::axum::Json<$answer>, $crate::problem::ApiError> {
            $crate::api::catalog::update::<$kind>(state, caller, id, body).await
        }

        #[doc = $delete_doc]
        #[utoipa::path(delete, path = $item_path, tag = $tag,
            params(("id" = String, Path, description = $id_desc)),
            security(("basic" = [])),
            responses(
                (status = 204, description = "deleted"),
                (status = 404, description = $not_found, body = Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $delete(
            state: ::axum::extract::State<$crate::state::AppState>,
            caller: $crate::api::auth::Caller,
            id: $crate::api::extract::ApiPath<<$kind as ::punchcard_app::catalog_kind::CatalogKind>::Id>,
        ) -> Result<::axum::http::StatusCode, $crate::problem::ApiError> {
            $crate::api::catalog::delete::<$kind>(state, caller, id).await
        }
    };
}
pub(crate) use catalog_routes;

/// A kind's documented image entry points (`upload_deal_image`, …), for kinds with images.
macro_rules! image_routes {
    (
        $kind:ty, tag $tag:tt; paths $images_path:tt, $image_path:tt;
        words $id_desc:tt, $not_found:tt, $no_image:tt;
        $upload:ident $upload_doc:tt; $image:ident $image_doc:tt; $remove:ident $remove_doc:tt;
    ) => {
        #[doc = $upload_doc]
        #[utoipa::path(post, path = $images_path, tag = $tag,
            params(("id" = String, Path, description = $id_desc)),
            request_body(content = ImageUpload, content_type = "multipart/form-data"),
            security(("basic" = [])),
            responses(
                (status = 201, description = "the image", body = Image),
                (status = 404, description = $not_found, body = Problem, content_type = "application/problem+json"),
                (status = 413, description = "the body is larger than 6 MiB", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "not a PNG, JPEG, WebP or GIF, over 5 MiB (`validation_failed`), or already 3 images (`limit_reached`)", body = Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $upload(
            state: ::axum::extract::State<$crate::state::AppState>,
            caller: $crate::api::auth::Caller,
            id: $crate::api::extract::ApiPath<<$kind as ::punchcard_app::catalog_kind::CatalogKind>::Id>,
            multipart: Result<::axum::extract::Multipart, ::axum::extract::multipart::MultipartRejection>,
        ) -> Result<(::axum::http::StatusCode, ::axum::Json<$crate::api::catalog::Image>), ::axum::response::Response> {
            $crate::api::catalog::upload_image::<$kind>(state, caller, id, multipart).await
        }

        #[doc = $image_doc]
        #[utoipa::path(get, path = $image_path, tag = $tag,
            params(
                ("id" = String, Path, description = $id_desc),
                ("image_id" = String, Path, description = "the image id"),
            ),
            security(("basic" = [])),
            responses(
                (status = 200, description = "the image, in its own content type", content(("image/png"), ("image/jpeg"), ("image/webp"), ("image/gif"))),
                (status = 404, description = $no_image, body = Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $image(
            state: ::axum::extract::State<$crate::state::AppState>,
            caller: $crate::api::auth::Caller,
            ids: $crate::api::extract::ApiPath<(<$kind as ::punchcard_app::catalog_kind::CatalogKind>::Id, ::punchcard_domain::UploadId)>,
        ) -> Result<::axum::response::Response, $crate::problem::ApiError> {
            $crate::api::catalog::image_bytes::<$kind>(state, caller, ids).await
        }

        #[doc = $remove_doc]
        #[utoipa::path(delete, path = $image_path, tag = $tag,
            params(
                ("id" = String, Path, description = $id_desc),
                ("image_id" = String, Path, description = "the image id"),
            ),
            security(("basic" = [])),
            responses(
                (status = 204, description = "removed"),
                (status = 404, description = $no_image, body = Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $remove(
            state: ::axum::extract::State<$crate::state::AppState>,
            caller: $crate::api::auth::Caller,
            ids: $crate::api::extract::ApiPath<(<$kind as ::punchcard_app::catalog_kind::CatalogKind>::Id, ::punchcard_domain::UploadId)>,
        ) -> Result<::axum::http::StatusCode, $crate::problem::ApiError> {
            $crate::api::catalog::remove_image::<$kind>(state, caller, ids).await
        }
    };
}
pub(crate) use image_routes;
