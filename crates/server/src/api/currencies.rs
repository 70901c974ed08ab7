//! `GET /api/v1/currencies`: the merchant's currencies.

use axum::extract::State;
use axum::Json;
use punchcard_store::currencies::CurrencyRow;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Caller;
use super::extract::ApiQuery;
use super::pagination::{Page, PageParams};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// A currency of the merchant; points convert to coins at `coins_per_unit`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Currency {
    #[schema(example = "cur_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    #[schema(example = "PTS")]
    pub code: String,
    #[schema(example = "Points")]
    pub name: String,
    /// Coins one point is worth, as an exact decimal string.
    #[schema(example = "1")]
    pub coins_per_unit: String,
    /// RFC 3339 UTC.
    pub created_at: String,
}

impl From<CurrencyRow> for Currency {
    fn from(r: CurrencyRow) -> Self {
        Self {
            id: r.id.to_string(),
            code: r.code,
            name: r.name,
            coins_per_unit: r.coins_per_unit.to_string(),
            created_at: r.created_at.to_rfc3339(),
        }
    }
}

/// Lists the merchant's currencies (shared by both environments).
#[utoipa::path(get, path = "/api/v1/currencies", tag = "currencies",
    params(PageParams),
    security(("basic" = [])),
    responses(
        (status = 200, description = "a page of currencies", body = Page<Currency>),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "account frozen or IP not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid paging parameters", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_currencies(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<Page<Currency>>, ApiError> {
    let page = params.parse()?;
    let rows = state
        .app
        .list_currencies(
            &caller.merchant_id,
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
    let page = page.page(rows, |r| r.id.to_string());
    Ok(Json(Page {
        data: page.data.into_iter().map(Currency::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
