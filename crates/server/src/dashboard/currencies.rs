//! The Currencies page: the merchant's currencies and their rates, read-only (the operator
//! creates and changes them).

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::chrome::{render, Chrome, Nav, PageError};
use super::kit::{short_time, Currencies};
use super::session::ActiveMerchant;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/dashboard/currencies", get(list))
}

/// What a deal priced at this many coins is shown to cost, as an example of the rate.
const EXAMPLE_PRICE: u64 = 100;

/// One currency as the table shows it.
pub struct CurrencyLine {
    pub id: String,
    pub code: String,
    pub name: String,
    pub coins_per_unit: String,
    /// Points a deal priced at [`EXAMPLE_PRICE`] coins costs.
    pub example_points: u64,
    pub created: String,
}

#[derive(Template)]
#[template(path = "dashboard/currencies.html")]
struct CurrenciesPage {
    chrome: Chrome,
    currencies: Vec<CurrencyLine>,
    example_price: u64,
}

pub async fn list(
    State(state): State<AppState>,
    user: ActiveMerchant,
) -> Result<Response, PageError> {
    let currencies = Currencies::load(&state, &user.merchant.id).await?;
    Ok(render(&CurrenciesPage {
        chrome: Chrome::new(&user, Nav::Currencies),
        currencies: currencies
            .0
            .iter()
            .map(|c| CurrencyLine {
                id: c.id.to_string(),
                code: c.code.clone(),
                name: c.name.clone(),
                coins_per_unit: c.coins_per_unit.to_string(),
                example_points: c.coins_per_unit.points_for_price(EXAMPLE_PRICE),
                created: short_time(c.created_at),
            })
            .collect(),
        example_price: EXAMPLE_PRICE,
    }))
}
