//! The endpoints of every catalog kind (deals, offers, stores): generic handlers, each kind's
//! documented entry points, and what their answers share (prices, images, nullable fields).

use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::Multipart;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use punchcard_app::api_keys::ApiPrincipal;
use punchcard_app::catalog::Price;
use punchcard_app::catalog_kind::CatalogKind;
use punchcard_app::uploads::MAX_UPLOAD_BYTES;
use punchcard_app::AppError;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{Env, FieldError, MerchantId, UploadId};
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

impl CurrencyPrice {
    /// An item's prices.
    pub fn all(prices: Vec<Price>) -> Vec<Self> {
        let price = |p: Price| Self {
            currency_id: p.currency_id.to_string(),
            code: p.code,
            points: p.points,
        };
        prices.into_iter().map(price).collect()
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

    /// An item's images.
    pub fn all(collection: &str, uploads: Vec<UploadRow>) -> Vec<Self> {
        uploads
            .into_iter()
            .map(|u| Self::of(collection, u))
            .collect()
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

/// For fields of a change that `null` clears: `null` is the empty value the use cases read as
/// "none".
pub fn cleared<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(d).map(|v| Some(v.unwrap_or_default()))
}

/// Decimal degrees sent as a number, as the text the use cases parse exactly.
#[derive(Debug, Default)]
pub struct Degrees(String);

impl<'de> Deserialize<'de> for Degrees {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Display never uses an exponent, so the domain's exact decimal parser reads it.
        f64::deserialize(d).map(|v| Self(v.to_string()))
    }
}

/// A body's value as a draft's field takes it: text as sent, a number as its digits.
pub trait Typed<D> {
    fn typed(self) -> D;
}

impl<T> Typed<T> for T {
    fn typed(self) -> T {
        self
    }
}

impl Typed<String> for i64 {
    fn typed(self) -> String {
        self.to_string()
    }
}

impl Typed<String> for Degrees {
    fn typed(self) -> String {
        self.0
    }
}

/// Declares an answer body and how a kind's view `$v` becomes it: each field with its value
/// (after the `let`s, which may borrow the whole view).
macro_rules! answer {
    (
        $(#[$meta:meta])* pub struct $name:ident from $view:ty as $v:ident $(, let $l:ident = $le:expr)*; {
            $( $(#[$fm:meta])* $f:ident: $t:ty = $e:expr, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            $( $(#[$fm])* pub $f: $t, )*
        }

        impl From<$view> for $name {
            fn from($v: $view) -> Self {
                $( let $l = $le; )*
                Self { $( $f: $e, )* }
            }
        }
    };
}
pub(crate) use answer;

/// Declares the body of a new item and that of a change to one from one field list, and how
/// each becomes the kind's draft or patch. A field's documentation and `new(…)` schema features
/// are the new body's, `both(…)` are both bodies'; a change may send `null` for a field marked
/// `["cleared"]`, which clears it.
macro_rules! bodies {
    (
        $(#[$nm:meta])* pub struct $new:ident => $draft:ty;
        $(#[$cm:meta])* pub struct $changes:ident => $patch:ty;
        {
            $(
                $(#[doc = $doc:literal])*
                $(#[new($($n:tt)*)])?
                $(#[both($($b:tt)*)])?
                $f:ident $([$with:literal])?: $t:ty,
            )*
        }
    ) => {
        $(#[$nm])*
        #[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $new {
            $( $(#[doc = $doc])* $(#[schema($($n)*)])? $(#[schema($($b)*)])? pub $f: Option<$t>, )*
        }

        $(#[$cm])*
        #[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $changes {
            $( $(#[serde(default, deserialize_with = $with)])? $(#[schema($($b)*)])? pub $f: Option<$t>, )*
        }

        impl From<$new> for $draft {
            fn from(n: $new) -> Self {
                use $crate::api::catalog::Typed;
                Self { $( $f: n.$f.map(Typed::typed).unwrap_or_default(), )* }
            }
        }

        impl From<$changes> for $patch {
            fn from(c: $changes) -> Self {
                use $crate::api::catalog::Typed;
                Self { $( $f: c.$f.map(Typed::typed), )* }
            }
        }
    };
}
pub(crate) use bodies;

/// Ids as text, for answers.
pub fn texts<T: ToString>(ids: &[T]) -> Vec<String> {
    ids.iter().map(ToString::to_string).collect()
}

/// The `file` part of a multipart body (its file name and bytes), if it has one; a body that
/// cannot be read is `PAYLOAD_TOO_LARGE` or `BAD_REQUEST`.
pub async fn file_part(mut multipart: Multipart) -> Result<Option<(String, Vec<u8>)>, StatusCode> {
    let status = |e: MultipartError| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    while let Some(field) = multipart.next_field().await.map_err(status)? {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("").to_string();
            return Ok(Some((name, field.bytes().await.map_err(status)?.to_vec())));
        }
    }
    Ok(None)
}

/// Reads the `file` part of an image upload.
async fn read_file(
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(String, Vec<u8>), Problem> {
    let multipart = multipart.map_err(|_| {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the image as multipart/form-data with a `file` part",
        )
    })?;
    match file_part(multipart).await {
        Ok(Some(file)) => Ok(file),
        Ok(None) => Err(Problem::from(&AppError::Validation(
            FieldError::new("file", "is required").into(),
        ))),
        Err(StatusCode::PAYLOAD_TOO_LARGE) => Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the image must be at most 5 MiB",
        )),
        Err(_) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the multipart body could not be read",
        )),
    }
}

/// The bytes of an item's image, as an answer browsers cannot take for anything else.
pub async fn image_answer<K: CatalogKind>(
    state: &AppState,
    merchant_id: &MerchantId,
    env: Env,
    item: &K::Id,
    image_id: &UploadId,
) -> Result<Response, AppError> {
    let storage = &state.storage;
    let content = state
        .app
        .catalog_image::<K, _>(storage, merchant_id, env, item, image_id)
        .await?;
    let content_type = HeaderValue::from_str(&content.upload.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=300"),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; sandbox"),
        ),
    ];
    Ok((headers, content.bytes).into_response())
}

/// Adds an uploaded image to an item; answers 201 with the image.
pub async fn upload_image<K: CatalogKind>(
    state: &AppState,
    caller: &ApiPrincipal,
    item: &K::Id,
    collection: &str,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Image>), Response> {
    let (name, bytes) = read_file(multipart)
        .await
        .map_err(IntoResponse::into_response)?;
    let (m, env) = (&caller.merchant_id, caller.env);
    let row = state
        .app
        .add_catalog_image::<K, _>(&state.storage, m, env, item, &name, bytes)
        .await
        .map_err(|e| ApiError(e).into_response())?;
    Ok((StatusCode::CREATED, Json(Image::of(collection, row))))
}

/// A kind's documented entry points (`create_deal`, `list_deals`, …, `upload_deal_image`, …),
/// each serving its request through the generic use cases. Only the words of the
/// documentation differ between kinds; the rest follows from the item's name (`deal`) and its
/// collection (`deals`), which is also the tag and the path.
macro_rules! catalog_routes {
    (
        $kind:ty: $answer:ident, $new:ident, $changes:ident, $filters:ident;
        names $one:literal, $tag:literal;
        refusals $create_422:literal, $change_422:literal;
        $create:ident $create_doc:literal; $list:ident $list_doc:literal; $get:ident $get_doc:literal;
        $update:ident $update_doc:literal; $delete:ident $delete_doc:literal;
        $upload:ident $upload_doc:literal; $image:ident $image_doc:literal;
        $remove:ident $remove_doc:literal;
    ) => {
        #[doc = $create_doc]
        #[utoipa::path(post, path = concat!("/api/v1/", $tag), tag = $tag,
            request_body = $new,
            security(("basic" = [])),
            responses(
                (status = 201, description = concat!("the ", $one), body = $answer),
                (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = $create_422, body = Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $create(
            ::axum::extract::State(state): ::axum::extract::State<$crate::state::AppState>,
            $crate::api::auth::Caller(caller): $crate::api::auth::Caller,
            $crate::api::extract::ApiJson(body): $crate::api::extract::ApiJson<$new>,
        ) -> Result<(::axum::http::StatusCode, ::axum::Json<$answer>), $crate::problem::ApiError> {
            let (m, env) = (&caller.merchant_id, caller.env);
            let view = state.app.create_item::<$kind>(m, env, &body.into()).await?;
            Ok((::axum::http::StatusCode::CREATED, ::axum::Json(view.into())))
        }

        #[doc = $list_doc]
        #[utoipa::path(get, path = concat!("/api/v1/", $tag), tag = $tag,
            params(PageParams, $filters),
            security(("basic" = [])),
            responses(
                (status = 200, description = concat!("a page of ", $tag), body = Page<$answer>),
                (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "invalid filters or paging parameters", body = Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $list(
            ::axum::extract::State(state): ::axum::extract::State<$crate::state::AppState>,
            $crate::api::auth::Caller(caller): $crate::api::auth::Caller,
            $crate::api::extract::ApiQuery(params): $crate::api::extract::ApiQuery<PageParams>,
            $crate::api::extract::ApiQuery(query): $crate::api::extract::ApiQuery<<$kind as ::punchcard_app::catalog_kind::CatalogKind>::Query>,
        ) -> Result<::axum::Json<Page<$answer>>, $crate::problem::ApiError> {
            use ::punchcard_app::catalog_kind::CatalogKind;
            let page = params.parse()?;
            let filter = <$kind>::filter(&query)?;
            let (m, env, after) = (&caller.merchant_id, caller.env, page.after.as_deref());
            let rows = state.app.list_items::<$kind>(m, env, &filter, after, page.fetch_limit());
            let page = page.page(rows.await?, |v| <$kind>::id(&v.row).to_string());
            Ok(::axum::Json(Page {
                data: page.data.into_iter().map(<$answer>::from).collect(),
                next_cursor: page.next_cursor,
            }))
        }

        #[doc = $get_doc]
        #[utoipa::path(get, path = concat!("/api/v1/", $tag, "/{id}"), tag = $tag,
            params(("id" = String, Path, description = concat!("the ", $one, " id"))),
            security(("basic" = [])),
            responses(
                (status = 200, description = concat!("the ", $one), body = $answer),
                (status = 404, description = concat!("no such ", $one, " in this environment"), body = Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $get(
            ::axum::extract::State(state): ::axum::extract::State<$crate::state::AppState>,
            $crate::api::auth::Caller(caller): $crate::api::auth::Caller,
            $crate::api::extract::ApiPath(id): $crate::api::extract::ApiPath<<$kind as ::punchcard_app::catalog_kind::CatalogKind>::Id>,
        ) -> Result<::axum::Json<$answer>, $crate::problem::ApiError> {
            let view = state.app.item::<$kind>(&caller.merchant_id, caller.env, &id).await?;
            Ok(::axum::Json(view.into()))
        }

        #[doc = $update_doc]
        #[utoipa::path(patch, path = concat!("/api/v1/", $tag, "/{id}"), tag = $tag,
            params(("id" = String, Path, description = concat!("the ", $one, " id"))),
            request_body = $changes,
            security(("basic" = [])),
            responses(
                (status = 200, description = concat!("the changed ", $one), body = $answer),
                (status = 404, description = concat!("no such ", $one, " in this environment"), body = Problem, content_type = "application/problem+json"),
                (status = 422, description = $change_422, body = Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $update(
            ::axum::extract::State(state): ::axum::extract::State<$crate::state::AppState>,
            $crate::api::auth::Caller(caller): $crate::api::auth::Caller,
            $crate::api::extract::ApiPath(id): $crate::api::extract::ApiPath<<$kind as ::punchcard_app::catalog_kind::CatalogKind>::Id>,
            $crate::api::extract::ApiJson(body): $crate::api::extract::ApiJson<$changes>,
        ) -> Result<::axum::Json<$answer>, $crate::problem::ApiError> {
            let (m, env) = (&caller.merchant_id, caller.env);
            let view = state.app.update_item::<$kind>(m, env, &id, body.into()).await?;
            Ok(::axum::Json(view.into()))
        }

        #[doc = $delete_doc]
        #[utoipa::path(delete, path = concat!("/api/v1/", $tag, "/{id}"), tag = $tag,
            params(("id" = String, Path, description = concat!("the ", $one, " id"))),
            security(("basic" = [])),
            responses(
                (status = 204, description = "deleted"),
                (status = 404, description = concat!("no such ", $one, " in this environment"), body = Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $delete(
            ::axum::extract::State(state): ::axum::extract::State<$crate::state::AppState>,
            $crate::api::auth::Caller(caller): $crate::api::auth::Caller,
            $crate::api::extract::ApiPath(id): $crate::api::extract::ApiPath<<$kind as ::punchcard_app::catalog_kind::CatalogKind>::Id>,
        ) -> Result<::axum::http::StatusCode, $crate::problem::ApiError> {
            state.app.delete_item::<$kind>(&caller.merchant_id, caller.env, &id).await?;
            Ok(::axum::http::StatusCode::NO_CONTENT)
        }

        #[doc = $upload_doc]
        #[utoipa::path(post, path = concat!("/api/v1/", $tag, "/{id}/images"), tag = $tag,
            params(("id" = String, Path, description = concat!("the ", $one, " id"))),
            request_body(content = ImageUpload, content_type = "multipart/form-data"),
            security(("basic" = [])),
            responses(
                (status = 201, description = "the image", body = Image),
                (status = 404, description = concat!("no such ", $one, " in this environment"), body = Problem, content_type = "application/problem+json"),
                (status = 413, description = "the body is larger than 6 MiB", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "not a PNG, JPEG, WebP or GIF, over 5 MiB (`validation_failed`), or already 3 images (`limit_reached`)", body = Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $upload(
            ::axum::extract::State(state): ::axum::extract::State<$crate::state::AppState>,
            $crate::api::auth::Caller(caller): $crate::api::auth::Caller,
            $crate::api::extract::ApiPath(id): $crate::api::extract::ApiPath<<$kind as ::punchcard_app::catalog_kind::CatalogKind>::Id>,
            multipart: Result<::axum::extract::Multipart, ::axum::extract::multipart::MultipartRejection>,
        ) -> Result<(::axum::http::StatusCode, ::axum::Json<Image>), ::axum::response::Response> {
            $crate::api::catalog::upload_image::<$kind>(&state, &caller, &id, $tag, multipart).await
        }

        #[doc = $image_doc]
        #[utoipa::path(get, path = concat!("/api/v1/", $tag, "/{id}/images/{image_id}"), tag = $tag,
            params(
                ("id" = String, Path, description = concat!("the ", $one, " id")),
                ("image_id" = String, Path, description = "the image id"),
            ),
            security(("basic" = [])),
            responses(
                (status = 200, description = "the image, in its own content type", content(("image/png"), ("image/jpeg"), ("image/webp"), ("image/gif"))),
                (status = 404, description = concat!("no such ", $one, " or image"), body = Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $image(
            ::axum::extract::State(state): ::axum::extract::State<$crate::state::AppState>,
            $crate::api::auth::Caller(caller): $crate::api::auth::Caller,
            $crate::api::extract::ApiPath((id, image_id)): $crate::api::extract::ApiPath<(<$kind as ::punchcard_app::catalog_kind::CatalogKind>::Id, ::punchcard_domain::UploadId)>,
        ) -> Result<::axum::response::Response, $crate::problem::ApiError> {
            let (m, env) = (&caller.merchant_id, caller.env);
            Ok($crate::api::catalog::image_answer::<$kind>(&state, m, env, &id, &image_id).await?)
        }

        #[doc = $remove_doc]
        #[utoipa::path(delete, path = concat!("/api/v1/", $tag, "/{id}/images/{image_id}"), tag = $tag,
            params(
                ("id" = String, Path, description = concat!("the ", $one, " id")),
                ("image_id" = String, Path, description = "the image id"),
            ),
            security(("basic" = [])),
            responses(
                (status = 204, description = "removed"),
                (status = 404, description = concat!("no such ", $one, " or image"), body = Problem, content_type = "application/problem+json"),
            ))]
        pub async fn $remove(
            ::axum::extract::State(state): ::axum::extract::State<$crate::state::AppState>,
            $crate::api::auth::Caller(caller): $crate::api::auth::Caller,
            $crate::api::extract::ApiPath((id, image_id)): $crate::api::extract::ApiPath<(<$kind as ::punchcard_app::catalog_kind::CatalogKind>::Id, ::punchcard_domain::UploadId)>,
        ) -> Result<::axum::http::StatusCode, $crate::problem::ApiError> {
            let (m, env) = (&caller.merchant_id, caller.env);
            state.app.delete_catalog_image::<$kind, _>(&state.storage, m, env, &id, &image_id).await?;
            Ok(::axum::http::StatusCode::NO_CONTENT)
        }
    };
}
pub(crate) use catalog_routes;
