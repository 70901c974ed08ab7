//! `/api/v1/coupon_codes` (a deal's vault) and `/api/v1/coupons` (codes issued to leads).

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use punchcard_app::coupons::NewCoupon;
use punchcard_app::input::filter_id;
use punchcard_app::ledger::Scope;
use punchcard_app::AppError;
use punchcard_domain::coupons::{parse_code_filter, CodeKind, CouponStatus};
use punchcard_domain::{CouponId, DealId, FieldError, LeadId, ValidationErrors};
use punchcard_store::coupons::{CodeFilter, CodeRow, CouponFilter, CouponRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageParams};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// The largest CSV upload: 10000 links of up to 2048 characters.
pub const MAX_UPLOAD_BYTES: usize = 24 * 1024 * 1024;

/// A code (or link) in a deal's vault or in a standalone vault.
#[derive(Debug, Serialize, ToSchema)]
pub struct CouponCode {
    #[schema(example = "code_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    /// The deal it belongs to (absent for a vault's code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deal_id: Option<String>,
    /// The standalone vault it belongs to (absent for a deal's code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vault_id: Option<String>,
    /// `code`, `generic_code`, `link` or `generic_link`.
    #[schema(example = "code")]
    pub kind: String,
    #[schema(example = "KX7RM4QPTA")]
    pub value: String,
    /// `available`, or `issued` once a unique code was handed out (generic codes stay available).
    #[schema(example = "available")]
    pub status: String,
    pub issued_at: Option<String>,
    pub created_at: String,
}

impl From<CodeRow> for CouponCode {
    fn from(r: CodeRow) -> Self {
        Self {
            id: r.id.to_string(),
            deal_id: r.owner.deal_id().map(|d| d.to_string()),
            vault_id: r.owner.vault_id().map(|v| v.to_string()),
            kind: r.kind.as_str().to_string(),
            value: r.value,
            status: if r.issued { "issued" } else { "available" }.to_string(),
            issued_at: r.issued_at.map(|t| t.to_rfc3339()),
            created_at: r.created_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCouponCode {
    /// The deal whose vault takes the code; give this or `vault_id`.
    pub deal_id: Option<String>,
    /// The standalone vault that takes the code; give this or `deal_id`.
    pub vault_id: Option<String>,
    /// `code` (default), `generic_code`, `link` or `generic_link`.
    #[schema(pattern = "^(code|generic_code|link|generic_link)$")]
    pub kind: Option<String>,
    /// The code (1-64 characters, no spaces), or the http(s) link (up to 2048) for link kinds.
    #[serde(default)]
    #[schema(required = true, min_length = 1, max_length = 2048)]
    pub value: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateCouponCodes {
    /// The deal whose vault takes the codes; give this or `vault_id`.
    pub deal_id: Option<String>,
    /// The standalone vault that takes the codes; give this or `deal_id`.
    pub vault_id: Option<String>,
    /// How many unique codes to generate: 1-1000.
    #[schema(example = 100, minimum = 1, maximum = 1000)]
    pub count: i64,
}

/// How many codes were added.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    #[schema(example = 100)]
    pub created: u64,
}

/// How many codes were imported.
#[derive(Debug, Serialize, ToSchema)]
pub struct Imported {
    #[schema(example = 2500)]
    pub imported: u64,
}

/// The multipart form of a CSV upload.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadCouponCodes {
    /// The deal whose vault takes the codes; give this or `vault_id`.
    deal_id: Option<String>,
    /// The standalone vault that takes the codes; give this or `deal_id`.
    vault_id: Option<String>,
    /// `code` (default), `generic_code`, `link` or `generic_link`.
    kind: Option<String>,
    /// One code or link per row (first column), optional header row `code`, at most 10000 rows.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CodeListParams {
    pub deal_id: Option<String>,
    pub vault_id: Option<String>,
    #[param(pattern = "^(code|generic_code|link|generic_link)$")]
    pub kind: Option<String>,
    /// `available` or `issued`.
    #[param(pattern = "^(available|issued)$")]
    pub status: Option<String>,
}

/// The vault a code request names: exactly one of `deal_id` (a deal's own vault) and
/// `vault_id` (a standalone vault).
fn code_owner<'a>(
    deal_id: Option<&'a str>,
    vault_id: Option<&'a str>,
) -> Result<&'a str, AppError> {
    let given = |v: Option<&'a str>| v.map(str::trim).filter(|s| !s.is_empty());
    match (given(deal_id), given(vault_id)) {
        (Some(d), None) => Ok(d),
        (None, Some(v)) => Ok(v),
        (Some(_), Some(_)) => Err(AppError::field(
            "vault_id",
            "give deal_id or vault_id, not both",
        )),
        (None, None) => Err(AppError::field(
            "deal_id",
            "is required (or give vault_id for a standalone vault)",
        )),
    }
}

/// A `vlt_…` id given as `deal_id` (or a deal's as `vault_id`) names no such thing.
fn owner_in_its_field(owner: &str, vault_field: bool) -> Result<(), AppError> {
    let is_vault = owner.starts_with(punchcard_domain::VaultId::PREFIX);
    match (is_vault, vault_field) {
        (true, false) => Err(AppError::field("deal_id", "no such deal")),
        (false, true) => Err(AppError::field("vault_id", "no such vault")),
        _ => Ok(()),
    }
}

/// Checks the owner fields of a code request and answers the id the app takes.
fn owner_of<'a>(deal_id: Option<&'a str>, vault_id: Option<&'a str>) -> Result<&'a str, AppError> {
    let owner = code_owner(deal_id, vault_id)?;
    let vault_field = vault_id.map(str::trim).is_some_and(|v| !v.is_empty());
    owner_in_its_field(owner, vault_field)?;
    Ok(owner)
}

/// Adds one code or link to a deal's vault or to a standalone vault.
#[utoipa::path(post, path = "/api/v1/coupon_codes", tag = "coupon codes",
    request_body = CreateCouponCode,
    security(("basic" = [])),
    responses(
        (status = 201, description = "the code", body = CouponCode),
        (status = 422, description = "`validation_failed`: neither or both of `deal_id` and `vault_id`, unknown deal or vault, bad or existing value", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_code(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateCouponCode>,
) -> Result<(StatusCode, Json<CouponCode>), ApiError> {
    let row = state
        .app
        .create_code(
            &Scope::from(&caller),
            owner_of(body.deal_id.as_deref(), body.vault_id.as_deref())?,
            body.kind.as_deref(),
            &body.value,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// Generates up to 1000 unique codes from letters and digits that cannot be mistaken for each
/// other, never colliding with existing codes.
#[utoipa::path(post, path = "/api/v1/coupon_codes/bulk_generate", tag = "coupon codes",
    request_body = GenerateCouponCodes,
    security(("basic" = [])),
    responses(
        (status = 201, description = "how many were created", body = Created),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn bulk_generate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<GenerateCouponCodes>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let created = state
        .app
        .generate_codes(
            &Scope::from(&caller),
            owner_of(body.deal_id.as_deref(), body.vault_id.as_deref())?,
            body.count,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(Created { created })))
}

/// Imports a CSV of codes: all rows or none. Every bad row (empty, too long, duplicated in the
/// file, already existing) is reported in `errors` with its row number as `row N`.
#[utoipa::path(post, path = "/api/v1/coupon_codes/bulk_upload", tag = "coupon codes",
    request_body(content = UploadCouponCodes, content_type = "multipart/form-data"),
    security(("basic" = [])),
    responses(
        (status = 201, description = "how many were imported", body = Imported),
        (status = 413, description = "the file is too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` listing every bad row; nothing imported", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn bulk_upload(
    State(state): State<AppState>,
    Caller(caller): Caller,
    form: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Imported>), Response> {
    let mut form = form.map_err(|_| {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the codes as multipart/form-data with `deal_id` (or `vault_id`) and a `file` part",
        )
        .into_response()
    })?;
    let mut deal_id = None;
    let mut vault_id = None;
    let mut kind = None;
    let mut file: Option<Vec<u8>> = None;
    let bad_form = |detail: String| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            detail,
        )
        .into_response()
    };
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the file is too large",
                )
                .into_response())
            }
            Err(e) => return Err(bad_form(format!("the multipart form cannot be read: {e}"))),
        };
        let name = field.name().unwrap_or("").to_string();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| bad_form(format!("the multipart form cannot be read: {e}")))?;
        match name.as_str() {
            "deal_id" => deal_id = Some(String::from_utf8_lossy(&bytes).trim().to_string()),
            "vault_id" => vault_id = Some(String::from_utf8_lossy(&bytes).trim().to_string()),
            "kind" => kind = Some(String::from_utf8_lossy(&bytes).trim().to_string()),
            "file" => file = Some(bytes.to_vec()),
            _ => {}
        }
    }
    let Some(file) = file else {
        return Err(
            ApiError(AppError::field("file", "is required: a CSV of codes")).into_response(),
        );
    };
    let owner = owner_of(deal_id.as_deref(), vault_id.as_deref())
        .map_err(|e| ApiError(e).into_response())?;
    let imported = state
        .app
        .upload_codes(&Scope::from(&caller), owner, kind.as_deref(), &file)
        .await
        .map_err(|e| ApiError(e).into_response())?;
    Ok((StatusCode::CREATED, Json(Imported { imported })))
}

/// Lists coupon codes, by deal or vault, kind and status.
#[utoipa::path(get, path = "/api/v1/coupon_codes", tag = "coupon codes",
    params(PageParams, CodeListParams),
    security(("basic" = [])),
    responses((status = 200, description = "a page of codes", body = Page<CouponCode>)))]
pub async fn list_codes(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(page): ApiQuery<PageParams>,
    ApiQuery(params): ApiQuery<CodeListParams>,
) -> Result<Json<Page<CouponCode>>, ApiError> {
    let page = page.parse()?;
    let mut e = ValidationErrors::new();
    let kind = non_empty(&params.kind).and_then(|k| e.check(CodeKind::parse(k)));
    let issued = match non_empty(&params.status) {
        None => None,
        Some("available") => Some(false),
        Some("issued") => Some(true),
        Some(_) => {
            e.push(FieldError::new("status", "must be available or issued"));
            None
        }
    };
    let deal_id = e
        .check(filter_id::<DealId>("deal_id", params.deal_id.as_deref()))
        .flatten();
    let vault_id = e
        .check(filter_id::<punchcard_domain::VaultId>(
            "vault_id",
            params.vault_id.as_deref(),
        ))
        .flatten();
    e.into_result()?;
    let filter = CodeFilter {
        deal_id: deal_id.map(|d| d.to_string()),
        vault_id: vault_id.map(|v| v.to_string()),
        kind,
        issued,
    };
    let rows = state
        .app
        .list_codes(
            &Scope::from(&caller),
            &filter,
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
    let page = page.page(rows, |r| r.id.to_string());
    Ok(Json(Page {
        data: page.data.into_iter().map(CouponCode::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A coupon: a code issued to a lead.
#[derive(Debug, Serialize, ToSchema)]
pub struct Coupon {
    #[schema(example = "cpn_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    pub deal_id: String,
    pub lead_id: String,
    /// The code (or link) handed to the lead.
    #[schema(example = "KX7RM4QPTA")]
    pub code: String,
    /// The kind of that code.
    pub code_kind: String,
    /// `redeem` (paid with points) or `reward` (free).
    pub mode: String,
    /// `issued`, `used` or `cancelled`.
    pub status: String,
    pub currency_id: Option<String>,
    pub wallet_id: Option<String>,
    /// Points paid (refunded on cancel); 0 for a reward.
    pub points: i64,
    pub hash: String,
    pub env: String,
    pub created_at: String,
    pub used_at: Option<String>,
    pub cancelled_at: Option<String>,
    /// The signed token the coupon's QR carries: draw it as a QR code for the customer; a
    /// counter scans it and resolves it with `POST /api/v1/qr/resolve`.
    #[schema(
        example = "pc1.c.mer_01jd3x1m2n3p4q5r6s7t8v9w0x.p.cpn_01jd3x1m2n3p4q5r6s7t8v9w0x.0.k1a2b3c4d5.q1Xb0aZ9kq3vV5nT2mYw8A"
    )]
    pub qr_token: Option<String>,
}

/// A coupon as answered, with the token its QR carries.
pub(crate) async fn answered(state: &AppState, row: CouponRow) -> Result<Coupon, ApiError> {
    let qr_token = state.app.coupon_token(&row).await?;
    Ok(Coupon {
        qr_token: Some(qr_token),
        ..Coupon::from(row)
    })
}

impl From<CouponRow> for Coupon {
    fn from(r: CouponRow) -> Self {
        Self {
            id: r.id.to_string(),
            deal_id: r.deal_id.to_string(),
            lead_id: r.lead_id.to_string(),
            code: r.code,
            code_kind: r.code_kind.as_str().to_string(),
            mode: r.mode.as_str().to_string(),
            status: r.status.as_str().to_string(),
            currency_id: r.currency_id,
            wallet_id: r.wallet_id,
            points: r.points,
            hash: r.hash,
            env: r.env.as_str().to_string(),
            created_at: r.created_at.to_rfc3339(),
            used_at: r.used_at.map(|t| t.to_rfc3339()),
            cancelled_at: r.cancelled_at.map(|t| t.to_rfc3339()),
            qr_token: None,
        }
    }
}

/// Issue a coupon of a deal to a lead: `redeem` pays the deal's price (`ceil(sell_price /
/// coins_per_unit)` points) from the lead's wallet in `currency_id`; `reward` gives it free.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCoupon {
    #[serde(default)]
    #[schema(required = true)]
    pub deal_id: String,
    #[serde(default)]
    #[schema(required = true)]
    pub lead_id: String,
    /// Required for `redeem`.
    pub currency_id: Option<String>,
    /// Your retry key, unique per environment.
    #[serde(default)]
    #[schema(
        required = true,
        example = "order-8812-coupon",
        pattern = "^[A-Za-z0-9._:-]{1,128}$"
    )]
    pub hash: String,
    /// `redeem` (default) or `reward`.
    #[schema(example = "redeem", pattern = "^(redeem|reward)$")]
    pub mode: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CouponListParams {
    pub lead_id: Option<String>,
    pub deal_id: Option<String>,
    /// `issued`, `used` or `cancelled`.
    #[param(pattern = "^(issued|used|cancelled)$")]
    pub status: Option<String>,
    /// The exact code handed out.
    #[param(max_length = 2048)]
    pub code: Option<String>,
}

/// Issues a coupon: the debit (redeem), one code out of the deal's vault and the coupon are
/// written together. Prod burns 1 redeem quota (redeem) or 1 redeem + 1 reward (reward).
#[utoipa::path(post, path = "/api/v1/coupons", tag = "coupons",
    request_body = CreateCoupon,
    security(("basic" = [])),
    responses(
        (status = 201, description = "the coupon (a replay of the same hash and body answers the first one)", body = Coupon),
        (status = 403, description = "`quota_exhausted`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`insufficient_balance` or `out_of_stock`; nothing was debited", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `idempotency_mismatch` or `callback_rejected`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_coupon(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateCoupon>,
) -> Result<Response, ApiError> {
    let issued = state
        .app
        .create_coupon_for(
            &caller,
            &NewCoupon {
                deal_id: body.deal_id,
                lead_id: body.lead_id,
                currency_id: body.currency_id,
                hash: body.hash,
                mode: body.mode,
            },
        )
        .await?;
    let mut res = (
        StatusCode::CREATED,
        Json(answered(&state, issued.coupon).await?),
    )
        .into_response();
    if issued.replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(res)
}

/// Lists the coupons issued to leads.
#[utoipa::path(get, path = "/api/v1/coupons", tag = "coupons",
    params(PageParams, CouponListParams),
    security(("basic" = [])),
    responses((status = 200, description = "a page of coupons", body = Page<Coupon>)))]
pub async fn list_coupons(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(page): ApiQuery<PageParams>,
    ApiQuery(params): ApiQuery<CouponListParams>,
) -> Result<Json<Page<Coupon>>, ApiError> {
    let page = page.parse()?;
    let mut e = ValidationErrors::new();
    let status = non_empty(&params.status).and_then(|s| {
        e.check(
            CouponStatus::parse(s)
                .ok_or_else(|| FieldError::new("status", "must be issued, used or cancelled")),
        )
    });
    let lead_id = e
        .check(filter_id::<LeadId>("lead_id", params.lead_id.as_deref()))
        .flatten();
    let deal_id = e
        .check(filter_id::<DealId>("deal_id", params.deal_id.as_deref()))
        .flatten();
    let code = e.check(parse_code_filter(params.code.as_deref())).flatten();
    e.into_result()?;
    let filter = CouponFilter {
        lead_id: lead_id.map(|l| l.to_string()),
        deal_id: deal_id.map(|d| d.to_string()),
        status,
        code,
    };
    let rows = state
        .app
        .list_coupons(
            &Scope::from(&caller),
            &filter,
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
    let page = page.page(rows, |r| r.id.to_string());
    let mut data = Vec::with_capacity(page.data.len());
    for row in page.data {
        data.push(answered(&state, row).await?);
    }
    Ok(Json(Page {
        data,
        next_cursor: page.next_cursor,
    }))
}

/// Reads a coupon.
#[utoipa::path(get, path = "/api/v1/coupons/{id}", tag = "coupons",
    params(("id" = String, Path, description = "coupon id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the coupon", body = Coupon),
        (status = 404, description = "no such coupon", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_coupon(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<CouponId>,
) -> Result<Json<Coupon>, ApiError> {
    let row = state.app.coupon(&Scope::from(&caller), id.as_str()).await?;
    Ok(Json(answered(&state, row).await?))
}

/// Marks an issued coupon used (at a store), exactly once.
#[utoipa::path(post, path = "/api/v1/coupons/{id}/use", tag = "coupons",
    params(("id" = String, Path, description = "coupon id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the used coupon", body = Coupon),
        (status = 404, description = "no such coupon", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: already used or cancelled", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn use_coupon(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<CouponId>,
) -> Result<Json<Coupon>, ApiError> {
    let row = state
        .app
        .use_coupon(&Scope::from(&caller), id.as_str())
        .await?;
    Ok(Json(answered(&state, row).await?))
}

/// Cancels an unused coupon; points paid for it come back with a `reversal` transaction.
#[utoipa::path(post, path = "/api/v1/coupons/{id}/cancel", tag = "coupons",
    params(("id" = String, Path, description = "coupon id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the cancelled coupon", body = Coupon),
        (status = 404, description = "no such coupon", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: already used or cancelled", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel_coupon(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<CouponId>,
) -> Result<Json<Coupon>, ApiError> {
    let row = state
        .app
        .cancel_coupon(&Scope::from(&caller), id.as_str())
        .await?;
    Ok(Json(answered(&state, row).await?))
}

/// Marks used the coupon with this code that the lead with this customer id holds: the
/// counter's *Enter code* when a QR cannot be scanned.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UseByCode {
    /// The coupon's code as the customer reads it out.
    #[serde(default)]
    #[schema(required = true, example = "KX7RM4QPTA")]
    pub code: String,
    /// The customer id of the lead holding it.
    #[serde(default)]
    #[schema(required = true, example = "cust-42")]
    pub customer_id: String,
}

/// Marks a lead's coupon used, found by its code and the customer id.
#[utoipa::path(post, path = "/api/v1/coupons/use_by_code", tag = "coupons",
    request_body = UseByCode,
    security(("basic" = [])),
    responses(
        (status = 200, description = "the used coupon", body = Coupon),
        (status = 409, description = "`conflict`: already used or cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: no such customer, or no unused coupon with this code", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn use_coupon_by_code(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<UseByCode>,
) -> Result<Json<Coupon>, ApiError> {
    let row = state
        .app
        .use_coupon_by_code(&Scope::from(&caller), &body.code, &body.customer_id)
        .await?;
    Ok(Json(answered(&state, row).await?))
}
