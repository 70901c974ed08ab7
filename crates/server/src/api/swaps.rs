//! `/api/v1/swap_contracts` and `/api/v1/swaps`: contracts between two merchants' currencies,
//! and swaps of a lead's points to another lead of the merchant or of a partner.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use punchcard_app::ledger::Scope;
use punchcard_app::swaps::{NewContract, NewSwap, SwapView};
use punchcard_domain::{SwapContractId, SwapId};
use punchcard_store::swaps::ContractRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::campaigns::rate_text;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageParams};
use super::wallets::WalletTransaction;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// A swap contract between the proposer's currency and the partner's.
#[derive(Debug, Serialize, ToSchema)]
pub struct SwapContract {
    #[schema(example = "swc_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    /// The proposer.
    pub merchant_id: String,
    pub partner_merchant_id: String,
    /// The proposer's currency.
    pub currency_id: String,
    pub partner_currency_id: String,
    /// Partner points one of the proposer's points buys, an exact decimal. A swap from the
    /// partner's side credits `floor(amount ÷ rate)`, from the proposer's `floor(amount × rate)`.
    #[schema(example = "1.5")]
    pub rate: String,
    /// The most of the sender's points in one swap.
    pub per_swap_max: i64,
    /// The most of the sender's points one lead swaps per UTC day.
    pub daily_max: i64,
    /// `proposed`, `accepted` (by the partner), `active` (approved by the operator) or
    /// `suspended`.
    #[schema(
        example = "proposed",
        pattern = "^(proposed|accepted|active|suspended)$"
    )]
    pub status: String,
    /// Who suspended it: `proposer`, `partner` or `operator`.
    pub suspended_by: Option<String>,
    /// This merchant's side: `proposer` or `partner`.
    #[schema(example = "proposer")]
    pub role: String,
    pub env: String,
    pub created_at: String,
    pub updated_at: String,
}

impl SwapContract {
    fn of(c: ContractRow, viewer: &punchcard_domain::MerchantId) -> Self {
        Self {
            role: if &c.merchant_id == viewer {
                "proposer"
            } else {
                "partner"
            }
            .to_string(),
            id: c.id.to_string(),
            merchant_id: c.merchant_id.to_string(),
            partner_merchant_id: c.partner_merchant_id.to_string(),
            currency_id: c.currency_id.to_string(),
            partner_currency_id: c.partner_currency_id.to_string(),
            rate: c.rate.to_string(),
            per_swap_max: c.per_swap_max,
            daily_max: c.daily_max,
            status: c.status.as_str().to_string(),
            suspended_by: c.suspended_by.map(|s| s.as_str().to_string()),
            env: c.env.as_str().to_string(),
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
        }
    }
}

/// A contract to propose to another merchant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSwapContract {
    /// The partner's merchant id, as its dashboard's profile page shows it.
    #[serde(default)]
    #[schema(required = true, example = "mer_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub partner_merchant_id: String,
    /// Your currency.
    #[serde(default)]
    #[schema(required = true)]
    pub currency_id: String,
    /// The partner's currency.
    #[serde(default)]
    #[schema(required = true)]
    pub partner_currency_id: String,
    /// Partner points one of your points buys: an exact decimal (at most 6 decimal places, up
    /// to 1000000) as a string (`"1.5"`) or a number.
    #[schema(required = true, value_type = String, example = "1.5")]
    pub rate: Option<serde_json::Value>,
    /// The most of the sender's points in one swap, 1 to 1000000000000.
    #[schema(required = true, value_type = i64, example = 500, minimum = 1, maximum = 1_000_000_000_000i64)]
    pub per_swap_max: Option<i64>,
    /// The most of the sender's points one lead swaps per UTC day, 1 to 1000000000000.
    #[schema(required = true, value_type = i64, example = 2000, minimum = 1, maximum = 1_000_000_000_000i64)]
    pub daily_max: Option<i64>,
}

/// Proposes a contract to another merchant (same env); it is `proposed` until the partner
/// accepts it and `active` once the operator approves it.
#[utoipa::path(post, path = "/api/v1/swap_contracts", tag = "swaps",
    request_body = NewSwapContract,
    security(("basic" = [])),
    responses(
        (status = 201, description = "the contract, `proposed`", body = SwapContract),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_swap_contract(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewSwapContract>,
) -> Result<(StatusCode, Json<SwapContract>), ApiError> {
    let new = NewContract {
        partner_merchant_id: body.partner_merchant_id,
        currency_id: body.currency_id,
        partner_currency_id: body.partner_currency_id,
        rate: rate_text(body.rate)?,
        per_swap_max: body.per_swap_max,
        daily_max: body.daily_max,
    };
    let scope = Scope::from(&caller);
    let row = state.app.propose_contract(&scope, &new).await?;
    Ok((
        StatusCode::CREATED,
        Json(SwapContract::of(row, &scope.merchant_id)),
    ))
}

/// The contracts this merchant proposed or was proposed, in this env, in creation order.
#[utoipa::path(get, path = "/api/v1/swap_contracts", tag = "swaps",
    params(PageParams),
    security(("basic" = [])),
    responses(
        (status = 200, description = "a page of contracts", body = Page<SwapContract>),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid paging parameters", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_swap_contracts(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<Page<SwapContract>>, ApiError> {
    let page = params.parse()?;
    let scope = Scope::from(&caller);
    let rows = state
        .app
        .list_contracts(&scope, page.after.as_deref(), page.fetch_limit())
        .await?;
    let page = page.page(rows, |c| c.id.to_string());
    Ok(Json(Page {
        data: page
            .data
            .into_iter()
            .map(|c| SwapContract::of(c, &scope.merchant_id))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One contract this merchant is a party to.
#[utoipa::path(get, path = "/api/v1/swap_contracts/{id}", tag = "swaps",
    params(("id" = String, Path, description = "the contract id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the contract", body = SwapContract),
        (status = 404, description = "no such contract in this environment", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_swap_contract(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<SwapContractId>,
) -> Result<Json<SwapContract>, ApiError> {
    let scope = Scope::from(&caller);
    let row = state.app.contract(&scope, id.as_str()).await?;
    Ok(Json(SwapContract::of(row, &scope.merchant_id)))
}

/// The partner accepts a proposed contract; the operator then approves it.
#[utoipa::path(post, path = "/api/v1/swap_contracts/{id}/accept", tag = "swaps",
    params(("id" = String, Path, description = "the contract id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the contract, `accepted`", body = SwapContract),
        (status = 403, description = "`forbidden`: only the partner accepts", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such contract in this environment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the contract is not `proposed`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn accept_swap_contract(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<SwapContractId>,
) -> Result<Json<SwapContract>, ApiError> {
    let scope = Scope::from(&caller);
    let row = state.app.accept_contract(&scope, id.as_str()).await?;
    Ok(Json(SwapContract::of(row, &scope.merchant_id)))
}

/// Either merchant suspends a contract: no swap goes through it, either way, until the
/// operator approves it again. Suspending a suspended contract answers it unchanged.
#[utoipa::path(post, path = "/api/v1/swap_contracts/{id}/suspend", tag = "swaps",
    params(("id" = String, Path, description = "the contract id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the contract, `suspended`", body = SwapContract),
        (status = 404, description = "no such contract in this environment", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn suspend_swap_contract(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<SwapContractId>,
) -> Result<Json<SwapContract>, ApiError> {
    let scope = Scope::from(&caller);
    let row = state.app.suspend_contract(&scope, id.as_str()).await?;
    Ok(Json(SwapContract::of(row, &scope.merchant_id)))
}

/// A swap: points out of one lead's wallet and into another lead's.
#[derive(Debug, Serialize, ToSchema)]
pub struct Swap {
    #[schema(example = "swp_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    /// The sender's merchant (whose key asked).
    pub merchant_id: String,
    /// The contract it went through; null between two leads of one merchant.
    pub contract_id: Option<String>,
    pub from_wallet_id: String,
    pub from_lead_id: String,
    pub to_merchant_id: String,
    pub to_wallet_id: String,
    pub to_lead_id: String,
    /// The sender's points taken.
    #[schema(example = 100)]
    pub amount_out: i64,
    /// The receiver's points given: the contract's rate applied exactly, rounded down.
    #[schema(example = 150)]
    pub amount_in: i64,
    /// The `swap_out` entry; null for the receiving merchant of a partner swap.
    pub out_transaction: Option<WalletTransaction>,
    /// The `swap_in` entry; null for the sending merchant of a partner swap.
    pub in_transaction: Option<WalletTransaction>,
    #[schema(example = "swap-8812")]
    pub hash: String,
    pub env: String,
    pub created_at: String,
}

impl From<SwapView> for Swap {
    fn from(v: SwapView) -> Self {
        let s = v.swap;
        Self {
            id: s.id.to_string(),
            merchant_id: s.merchant_id.to_string(),
            contract_id: s.contract_id.map(|c| c.to_string()),
            from_wallet_id: s.from_wallet_id.to_string(),
            from_lead_id: s.from_lead_id.to_string(),
            to_merchant_id: s.to_merchant_id.to_string(),
            to_wallet_id: s.to_wallet_id.to_string(),
            to_lead_id: s.to_lead_id.to_string(),
            amount_out: s.amount_out,
            amount_in: s.amount_in,
            out_transaction: v.out_transaction.map(WalletTransaction::from),
            in_transaction: v.in_transaction.map(WalletTransaction::from),
            hash: s.hash,
            env: s.env.as_str().to_string(),
            created_at: s.created_at.to_rfc3339(),
        }
    }
}

/// A swap to a lead of your own (`to_lead_id`; lead-to-lead swaps must be switched on) or to
/// a partner's lead (`contract_id` and the partner's `to_customer_id`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSwapRequest {
    #[serde(default)]
    #[schema(required = true)]
    pub from_wallet_id: String,
    /// The sender's points, 1 to 1000000000000.
    #[schema(required = true, value_type = i64, example = 100, minimum = 1, maximum = 1_000_000_000_000i64)]
    pub amount: Option<i64>,
    /// Your retry key, shared with wallet transactions: 1-128 letters, digits, `.`, `_`, `:`
    /// or `-`.
    #[serde(default)]
    #[schema(
        required = true,
        example = "swap-8812",
        pattern = "^[A-Za-z0-9._:-]{1,128}$"
    )]
    pub hash: String,
    /// A lead of your own.
    pub to_lead_id: Option<String>,
    /// An active contract, for a partner's lead.
    pub contract_id: Option<String>,
    /// The partner's customer id of the receiving lead (with `contract_id`).
    #[schema(example = "C-1042")]
    pub to_customer_id: Option<String>,
}

/// Moves points from one lead's wallet to another lead's: `swap_out` and `swap_in` are written
/// together or not at all, the receiver's wallet is created if missing, and one swap quota is
/// burned (prod). With a contract, the rate applies (rounded down) and the limits count the
/// sender's points per sending lead, inclusive, per UTC day. With a callback URL on the key,
/// or on the receiving merchant's keys, the swap is confirmed with them first.
#[utoipa::path(post, path = "/api/v1/swaps", tag = "swaps",
    request_body = NewSwapRequest,
    security(("basic" = [])),
    responses(
        (status = 201, description = "the swap (a replay of the same hash and body answers the first one, with `Idempotent-Replayed: true`)", body = Swap),
        (status = 403, description = "`forbidden` (lead-to-lead swaps switched off, or the partner cannot take swaps) or `quota_exhausted`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`insufficient_balance`, or `conflict` (the contract is not active)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `limit_reached` (over the per-swap or daily maximum), `idempotency_mismatch` or `callback_rejected`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_swap(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewSwapRequest>,
) -> Result<Response, ApiError> {
    let view = state
        .app
        .create_swap_for(
            &caller,
            &NewSwap {
                from_wallet_id: body.from_wallet_id,
                amount: body.amount,
                hash: body.hash,
                to_lead_id: body.to_lead_id,
                contract_id: body.contract_id,
                to_customer_id: body.to_customer_id,
            },
        )
        .await?;
    let replayed = view.replayed;
    let mut res = (StatusCode::CREATED, Json(Swap::from(view))).into_response();
    if replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(res)
}

/// The swaps this merchant sent or received in this env, oldest first.
#[utoipa::path(get, path = "/api/v1/swaps", tag = "swaps",
    params(PageParams),
    security(("basic" = [])),
    responses(
        (status = 200, description = "a page of swaps", body = Page<Swap>),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid paging parameters", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_swaps(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<Page<Swap>>, ApiError> {
    let page = params.parse()?;
    let rows = state
        .app
        .list_swaps(
            &Scope::from(&caller),
            page.after.as_deref(),
            page.fetch_limit(),
            false,
        )
        .await?;
    let page = page.page(rows, |s| s.swap.id.to_string());
    Ok(Json(Page {
        data: page.data.into_iter().map(Swap::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One swap this merchant sent or received.
#[utoipa::path(get, path = "/api/v1/swaps/{id}", tag = "swaps",
    params(("id" = String, Path, description = "the swap id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the swap", body = Swap),
        (status = 404, description = "no such swap in this environment", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_swap(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<SwapId>,
) -> Result<Json<Swap>, ApiError> {
    let view = state.app.swap(&Scope::from(&caller), id.as_str()).await?;
    Ok(Json(Swap::from(view)))
}
