//! `GET /api/v1/exports/{leads,wallet_transactions,coupons}.csv`: streamed CSV exports.

use axum::extract::State;
use axum::response::Response;
use punchcard_app::exports::ExportKind;
use punchcard_app::ledger::Scope;
use punchcard_domain::exports::ExportRange;
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Caller;
use super::extract::ApiQuery;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// Which rows to export, by the day they were created (UTC, both ends included).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ExportParams {
    /// The first day, `YYYY-MM-DD`; open when left out.
    #[param(example = "2026-01-01")]
    pub from: Option<String>,
    /// The last day, `YYYY-MM-DD`; open when left out.
    #[param(example = "2026-01-31")]
    pub to: Option<String>,
}

impl ExportParams {
    pub fn range(&self) -> Result<ExportRange, ApiError> {
        Ok(ExportRange::parse(
            self.from.as_deref(),
            self.to.as_deref(),
        )?)
    }
}

async fn export(
    state: AppState,
    caller: &punchcard_app::api_keys::ApiPrincipal,
    kind: ExportKind,
    params: ExportParams,
) -> Result<Response, ApiError> {
    let range = params.range()?;
    Ok(crate::exports::csv_response(
        state.app.clone(),
        Scope::from(caller),
        kind,
        range,
    ))
}

/// Every live lead of the key's environment created in the range, as CSV with a header row
/// (`id, customer_id, name, email, mobile, country, dob, created_at, updated_at`), streamed.
/// Text that a spreadsheet would read as a formula starts with `'`.
#[utoipa::path(get, path = "/api/v1/exports/leads.csv", tag = "exports",
    params(ExportParams),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the leads as CSV", body = String, content_type = "text/csv"),
        (status = 422, description = "a date is not YYYY-MM-DD, or `to` is before `from`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn export_leads(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    export(state, &caller, ExportKind::Leads, params).await
}

/// Every wallet transaction of the key's environment written in the range, as CSV with a
/// header row (`id, wallet_id, lead_id, kind, amount, balance_after, hash, description,
/// reference, created_at`), streamed.
#[utoipa::path(get, path = "/api/v1/exports/wallet_transactions.csv", tag = "exports",
    params(ExportParams),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the wallet transactions as CSV", body = String, content_type = "text/csv"),
        (status = 422, description = "a date is not YYYY-MM-DD, or `to` is before `from`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn export_wallet_transactions(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    export(state, &caller, ExportKind::WalletTransactions, params).await
}

/// Every coupon of the key's environment issued in the range, as CSV with a header row
/// (`id, deal_id, lead_id, code, status, mode, points, currency_id, created_at, used_at,
/// cancelled_at`), streamed.
#[utoipa::path(get, path = "/api/v1/exports/coupons.csv", tag = "exports",
    params(ExportParams),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the coupons as CSV", body = String, content_type = "text/csv"),
        (status = 422, description = "a date is not YYYY-MM-DD, or `to` is before `from`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn export_coupons(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    export(state, &caller, ExportKind::Coupons, params).await
}
