//! CSV downloads of leads, wallet transactions and coupons from their list pages, streamed
//! like the API's exports, for the environment the dashboard shows.

use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use punchcard_app::exports::ExportKind;
use punchcard_domain::exports::ExportRange;

use super::chrome::{Flash, PageError};
use super::kit::back_to;
use super::session::ActiveMerchant;
use crate::api::exports::ExportParams;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/leads/export.csv", get(leads))
        .route(
            "/dashboard/wallet-transactions/export.csv",
            get(wallet_transactions),
        )
        .route("/dashboard/coupons/export.csv", get(coupons))
}

async fn export(
    state: AppState,
    user: ActiveMerchant,
    kind: ExportKind,
    list: &str,
    params: ExportParams,
) -> Result<Response, PageError> {
    let range = match ExportRange::parse(params.from.as_deref(), params.to.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            let words: Vec<String> =
                e.0.iter()
                    .map(|f| {
                        let field = if f.field == "from" { "From" } else { "To" };
                        format!("{field} {}.", f.message)
                    })
                    .collect();
            return Ok(back_to(&state, list, Flash::error(words.join(" "))));
        }
    };
    Ok(crate::exports::csv_response(
        state.app.clone(),
        user.scope(),
        kind,
        range,
    ))
}

pub async fn leads(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Query(params): Query<ExportParams>,
) -> Result<Response, PageError> {
    export(state, user, ExportKind::Leads, "/dashboard/leads", params).await
}

pub async fn wallet_transactions(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Query(params): Query<ExportParams>,
) -> Result<Response, PageError> {
    let list = "/dashboard/wallet-transactions";
    export(state, user, ExportKind::WalletTransactions, list, params).await
}

pub async fn coupons(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Query(params): Query<ExportParams>,
) -> Result<Response, PageError> {
    export(
        state,
        user,
        ExportKind::Coupons,
        "/dashboard/coupons",
        params,
    )
    .await
}
