//! `/api/v1/vaults`: standalone vaults of vouchers (one vendor, one amount, test or live) that
//! voucher campaigns draw from. Their codes go in through `/api/v1/coupon_codes` with
//! `vault_id` in place of `deal_id`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use punchcard_app::campaigns::vouchers::{VaultDraft, VaultView};
use punchcard_app::ledger::Scope;
use punchcard_domain::VaultId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageParams};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// A vault with its stock.
#[derive(Debug, Serialize, ToSchema)]
pub struct Vault {
    #[schema(example = "vlt_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    pub name: String,
    /// The brand whose vouchers it holds.
    #[schema(example = "Bookshop")]
    pub vendor: String,
    /// The voucher's value in the smallest unit of money (cents).
    #[schema(example = 1000)]
    pub amount: i64,
    /// Test vouchers: awarded to test integrations only.
    pub test: bool,
    /// Unique codes not handed out yet.
    pub available: i64,
    /// Unique codes handed out.
    pub issued: i64,
    /// Generic codes, handed out again and again.
    pub generic: i64,
    pub created_at: String,
}

impl From<VaultView> for Vault {
    fn from(v: VaultView) -> Self {
        let (vault, stock) = (v.vault, v.stock);
        Self {
            id: vault.id.to_string(),
            name: vault.name,
            vendor: vault.vendor,
            amount: vault.amount,
            test: vault.test,
            available: stock.unique_available,
            issued: stock.unique_issued,
            generic: stock.generic,
            created_at: vault.created_at.to_rfc3339(),
        }
    }
}

/// A new, empty vault.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVault {
    #[schema(required = true, value_type = String, example = "Bookshop 10", min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[schema(required = true, value_type = String, example = "Bookshop", min_length = 1, max_length = 64)]
    pub vendor: Option<String>,
    /// In the smallest unit of money (cents), 1 to 1000000000.
    #[schema(required = true, value_type = i64, example = 1000, minimum = 1, maximum = 1000000000)]
    pub amount: Option<i64>,
    /// Test vouchers (default `false`).
    pub test: Option<bool>,
}

/// Creates an empty vault; add codes with `vault_id` on the coupon-code endpoints.
#[utoipa::path(post, path = "/api/v1/vaults", tag = "vaults",
    request_body = NewVault,
    security(("basic" = [])),
    responses(
        (status = 201, description = "the vault", body = Vault),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_vault(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewVault>,
) -> Result<(StatusCode, Json<Vault>), ApiError> {
    let draft = VaultDraft {
        name: body.name.unwrap_or_default(),
        vendor: body.vendor.unwrap_or_default(),
        amount: body.amount,
        test: body.test.unwrap_or(false),
    };
    let view = state
        .app
        .create_vault(&Scope::from(&caller), &draft)
        .await?;
    Ok((StatusCode::CREATED, Json(Vault::from(view))))
}

/// Lists the environment's vaults in creation order, with their stock.
#[utoipa::path(get, path = "/api/v1/vaults", tag = "vaults",
    params(PageParams),
    security(("basic" = [])),
    responses(
        (status = 200, description = "a page of vaults", body = Page<Vault>),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid paging parameters", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_vaults(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<Page<Vault>>, ApiError> {
    let page = params.parse()?;
    let rows = state
        .app
        .list_vaults(
            &Scope::from(&caller),
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
    let page = page.page(rows, |v| v.vault.id.to_string());
    Ok(Json(Page {
        data: page.data.into_iter().map(Vault::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One vault with its stock.
#[utoipa::path(get, path = "/api/v1/vaults/{id}", tag = "vaults",
    params(("id" = String, Path, description = "the vault id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the vault", body = Vault),
        (status = 404, description = "no such vault in this environment", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_vault(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<VaultId>,
) -> Result<Json<Vault>, ApiError> {
    let view = state.app.vault(&Scope::from(&caller), id.as_str()).await?;
    Ok(Json(Vault::from(view)))
}
