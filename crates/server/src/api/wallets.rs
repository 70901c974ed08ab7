//! `/api/v1/wallets` and `/api/v1/wallet_transactions`: balances and the ledger behind them.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use punchcard_app::input::filter_id;
use punchcard_app::ledger::{NewTransaction, Scope};
use punchcard_domain::ledger::TransactionKind;
use punchcard_domain::{
    CurrencyId, FieldError, LeadId, ValidationErrors, WalletId, WalletTransactionId,
};
use punchcard_store::wallets::{TransactionFilter, TransactionRow, WalletRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageParams};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// A lead's wallet in one currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct Wallet {
    #[schema(example = "wal_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    pub lead_id: String,
    pub currency_id: String,
    /// Points held; never negative, always the sum of the wallet's transactions.
    #[schema(example = 120)]
    pub balance: i64,
    pub env: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<WalletRow> for Wallet {
    fn from(r: WalletRow) -> Self {
        Self {
            id: r.id.to_string(),
            lead_id: r.lead_id.to_string(),
            currency_id: r.currency_id.to_string(),
            balance: r.balance,
            env: r.env.as_str().to_string(),
            created_at: r.created_at.to_rfc3339(),
            updated_at: r.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWallet {
    #[serde(default)]
    #[schema(required = true)]
    pub lead_id: String,
    #[serde(default)]
    #[schema(required = true)]
    pub currency_id: String,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WalletListParams {
    /// Only this lead's wallets.
    pub lead_id: Option<String>,
    /// Only wallets in this currency.
    pub currency_id: Option<String>,
}

/// Creates a lead's wallet in a currency (one per lead and currency; dev holds at most 10).
#[utoipa::path(post, path = "/api/v1/wallets", tag = "wallets",
    request_body = CreateWallet,
    security(("basic" = [])),
    responses(
        (status = 201, description = "the wallet", body = Wallet),
        (status = 422, description = "`validation_failed` (unknown lead or currency, a wallet already there) or `limit_reached`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_wallet(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateWallet>,
) -> Result<(StatusCode, Json<Wallet>), ApiError> {
    let row = state
        .app
        .create_wallet(&Scope::from(&caller), &body.lead_id, &body.currency_id)
        .await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// Lists wallets.
#[utoipa::path(get, path = "/api/v1/wallets", tag = "wallets",
    params(PageParams, WalletListParams),
    security(("basic" = [])),
    responses((status = 200, description = "a page of wallets", body = Page<Wallet>)))]
pub async fn list_wallets(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(page): ApiQuery<PageParams>,
    ApiQuery(params): ApiQuery<WalletListParams>,
) -> Result<Json<Page<Wallet>>, ApiError> {
    let page = page.parse()?;
    let mut e = ValidationErrors::new();
    let lead_id = e
        .check(filter_id::<LeadId>("lead_id", params.lead_id.as_deref()))
        .flatten();
    let currency_id = e
        .check(filter_id::<CurrencyId>(
            "currency_id",
            params.currency_id.as_deref(),
        ))
        .flatten();
    e.into_result()?;
    let rows = state
        .app
        .list_wallets(
            &Scope::from(&caller),
            lead_id.as_ref().map(LeadId::as_str),
            currency_id.as_ref().map(CurrencyId::as_str),
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
    let page = page.page(rows, |r| r.id.to_string());
    Ok(Json(Page {
        data: page.data.into_iter().map(Wallet::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Reads a wallet and its balance.
#[utoipa::path(get, path = "/api/v1/wallets/{id}", tag = "wallets",
    params(("id" = String, Path, description = "wallet id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the wallet", body = Wallet),
        (status = 404, description = "no such wallet", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_wallet(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<WalletId>,
) -> Result<Json<Wallet>, ApiError> {
    Ok(Json(
        state
            .app
            .wallet(&Scope::from(&caller), id.as_str())
            .await?
            .into(),
    ))
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// One entry of a wallet's ledger.
#[derive(Debug, Serialize, ToSchema)]
pub struct WalletTransaction {
    #[schema(example = "wtx_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    pub wallet_id: String,
    pub lead_id: String,
    /// `reward`, `adjust`, `redeem`, `reversal`, `swap_in` or `swap_out`.
    #[schema(example = "reward")]
    pub kind: String,
    /// Signed: credits are positive, debits negative.
    #[schema(example = 50)]
    pub amount: i64,
    /// The wallet's balance right after this transaction.
    #[schema(example = 170)]
    pub balance_after: i64,
    #[schema(example = "order-8812")]
    pub hash: String,
    pub description: Option<String>,
    /// What caused it (e.g. the coupon of a redeem), if anything.
    pub reference: Option<String>,
    pub env: String,
    pub created_at: String,
}

impl From<TransactionRow> for WalletTransaction {
    fn from(r: TransactionRow) -> Self {
        Self {
            id: r.id.to_string(),
            wallet_id: r.wallet_id.to_string(),
            lead_id: r.lead_id.to_string(),
            kind: r.kind.as_str().to_string(),
            amount: r.amount,
            balance_after: r.balance_after,
            hash: r.hash,
            description: r.description,
            reference: r.reference,
            env: r.env.as_str().to_string(),
            created_at: r.created_at.to_rfc3339(),
        }
    }
}

/// A reward (positive amount) or an adjustment (either sign). `hash` is your retry key,
/// unique per environment: the same hash with the same body returns the first transaction.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWalletTransaction {
    #[serde(default)]
    #[schema(required = true)]
    pub wallet_id: String,
    /// `reward` or `adjust`.
    #[serde(default)]
    #[schema(required = true, example = "reward", pattern = "^(reward|adjust)$")]
    pub kind: String,
    /// Points: positive for a reward, either sign (not zero) for an adjustment.
    #[schema(example = 50, minimum = -1_000_000_000_000i64, maximum = 1_000_000_000_000i64)]
    pub amount: i64,
    /// Your retry key: 1-128 letters, digits, `.`, `_`, `:` or `-`.
    #[serde(default)]
    #[schema(
        required = true,
        example = "order-8812",
        pattern = "^[A-Za-z0-9._:-]{1,128}$"
    )]
    pub hash: String,
    /// Up to 500 characters; line breaks and tabs allowed.
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TransactionListParams {
    pub wallet_id: Option<String>,
    pub lead_id: Option<String>,
    /// One kind only.
    #[param(pattern = "^(reward|redeem|adjust|swap_in|swap_out|reversal)$")]
    pub kind: Option<String>,
}

/// Writes a reward or adjustment: the balance and the transaction change together or not at
/// all. A debit beyond the balance answers 409 `insufficient_balance`; with a callback URL on
/// the key, the action is confirmed with the merchant first.
#[utoipa::path(post, path = "/api/v1/wallet_transactions", tag = "wallet transactions",
    request_body = CreateWalletTransaction,
    security(("basic" = [])),
    responses(
        (status = 201, description = "the transaction (a replay of the same hash and body answers the first one, with `Idempotent-Replayed: true`)", body = WalletTransaction),
        (status = 403, description = "`quota_exhausted`: the plan's reward quota is used up", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such wallet", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`insufficient_balance`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `idempotency_mismatch` (hash reused with another body) or `callback_rejected`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_transaction(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<CreateWalletTransaction>,
) -> Result<Response, ApiError> {
    let posted = state
        .app
        .create_transaction_for(
            &caller,
            &NewTransaction {
                wallet_id: body.wallet_id,
                kind: body.kind,
                amount: body.amount,
                hash: body.hash,
                description: body.description,
            },
        )
        .await?;
    let mut res = (
        StatusCode::CREATED,
        Json(WalletTransaction::from(posted.transaction)),
    )
        .into_response();
    if posted.replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(res)
}

/// Lists wallet transactions, oldest first.
#[utoipa::path(get, path = "/api/v1/wallet_transactions", tag = "wallet transactions",
    params(PageParams, TransactionListParams),
    security(("basic" = [])),
    responses((status = 200, description = "a page of transactions, oldest first", body = Page<WalletTransaction>)))]
pub async fn list_transactions(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(page): ApiQuery<PageParams>,
    ApiQuery(params): ApiQuery<TransactionListParams>,
) -> Result<Json<Page<WalletTransaction>>, ApiError> {
    let page = page.parse()?;
    let mut e = ValidationErrors::new();
    let kind = match non_empty(&params.kind) {
        None => None,
        Some(k) => e.check(
            TransactionKind::parse(k)
                .ok_or_else(|| FieldError::new("kind", "is not a transaction kind")),
        ),
    };
    let wallet_id = e
        .check(filter_id::<WalletId>(
            "wallet_id",
            params.wallet_id.as_deref(),
        ))
        .flatten();
    let lead_id = e
        .check(filter_id::<LeadId>("lead_id", params.lead_id.as_deref()))
        .flatten();
    e.into_result()?;
    let filter = TransactionFilter {
        wallet_id: wallet_id.map(|w| w.to_string()),
        lead_id: lead_id.map(|l| l.to_string()),
        kind,
    };
    let rows = state
        .app
        .list_transactions(
            &Scope::from(&caller),
            &filter,
            page.after.as_deref(),
            page.fetch_limit(),
            false,
        )
        .await?;
    let page = page.page(rows, |r| r.id.to_string());
    Ok(Json(Page {
        data: page.data.into_iter().map(WalletTransaction::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Reads a wallet transaction.
#[utoipa::path(get, path = "/api/v1/wallet_transactions/{id}", tag = "wallet transactions",
    params(("id" = String, Path, description = "transaction id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the transaction", body = WalletTransaction),
        (status = 404, description = "no such transaction", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_transaction(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<WalletTransactionId>,
) -> Result<Json<WalletTransaction>, ApiError> {
    Ok(Json(
        state
            .app
            .transaction(&Scope::from(&caller), id.as_str())
            .await?
            .into(),
    ))
}
