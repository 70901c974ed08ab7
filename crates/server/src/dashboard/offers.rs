//! Offers (public promo codes) of the session's environment: their filters, table, form and
//! words; the pages themselves come from `kind`.

use askama::Template;
use axum::Router;
use punchcard_app::catalog::Price;
use punchcard_app::offers::{OfferDraft, OfferQuery, OfferView, Offers};

use super::catalog::{opt, price_line, short_moment, store_choices, StoreChoice};
use super::chrome::{Nav, PageError};
use super::kind::{page_parts, FormParts, ListParts, PageKind};
use super::kit::{to_local_input, FormFields};
use super::session::ActiveMerchant;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    super::kind::routes::<Offers>()
}

/// The filter form as typed, to fill it again.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct Filters {
    pub available: String,
    pub store_id: String,
    pub q: String,
    pub cursor: String,
}

pub struct OfferLine {
    pub id: String,
    pub code: String,
    pub name: String,
    pub sell_price: i64,
    pub prices: String,
    pub available: bool,
    pub starts: String,
    pub ends: String,
    pub stores: usize,
    pub images: usize,
}

#[derive(Template)]
#[template(path = "dashboard/offers.html")]
pub struct ListPage {
    parts: ListParts<Offers>,
    stores: Vec<StoreChoice>,
}
page_parts!(ListPage => ListParts<Offers>);

#[derive(Template)]
#[template(path = "dashboard/offer_form.html")]
pub struct FormPage {
    parts: FormParts,
    /// The form as typed, its dates as the date inputs take them.
    form: OfferDraft,
    stores: Vec<StoreChoice>,
    prices: Vec<Price>,
}
page_parts!(FormPage => FormParts);

impl PageKind for Offers {
    const LIST: &'static str = "/dashboard/offers";
    const NAV: Nav = Nav::Offers;
    const TITLE: &'static str = "Offer";
    const DELETED: &'static str = "Offer deleted.";
    type Filters = Filters;
    type Line = OfferLine;
    type ListPage = ListPage;
    type FormPage = FormPage;

    fn filter_pairs(f: &Filters) -> Vec<(&'static str, &str)> {
        vec![
            ("available", &f.available),
            ("store_id", &f.store_id),
            ("q", &f.q),
        ]
    }

    fn cursor(f: &Filters) -> &str {
        &f.cursor
    }

    fn query(f: &Filters) -> OfferQuery {
        OfferQuery {
            available: opt(&f.available),
            code: None,
            store_id: opt(&f.store_id),
            q: opt(&f.q),
        }
    }

    fn line(v: &OfferView) -> OfferLine {
        let o = &v.offer;
        OfferLine {
            id: o.id.to_string(),
            code: o.code.clone(),
            name: o.name.clone(),
            sell_price: o.sell_price,
            prices: price_line(&v.prices),
            available: o.available,
            starts: short_moment(o.starts_at),
            ends: short_moment(o.ends_at),
            stores: v.store_ids.len(),
            images: v.images.len(),
        }
    }

    fn draft_of(f: &FormFields) -> OfferDraft {
        OfferDraft {
            code: f.get("code"),
            name: f.get("name"),
            description: f.get("description"),
            sell_price: f.get("sell_price"),
            available: f.ticked("available"),
            starts_at: f.moment("starts_at"),
            ends_at: f.moment("ends_at"),
            store_ids: f.all("store_ids"),
        }
    }

    fn name(v: &OfferView) -> &str {
        &v.offer.name
    }

    async fn list_page(
        state: &AppState,
        user: &ActiveMerchant,
        parts: ListParts<Offers>,
    ) -> Result<ListPage, PageError> {
        let stores = state.app.all_stores(&user.merchant.id, user.env).await?;
        Ok(ListPage {
            stores: store_choices(&stores, std::slice::from_ref(&parts.filters.store_id)),
            parts,
        })
    }

    async fn form_page(
        state: &AppState,
        user: &ActiveMerchant,
        parts: FormParts,
        saved: Option<&OfferView>,
        d: &OfferDraft,
    ) -> Result<FormPage, PageError> {
        let stores = state.app.all_stores(&user.merchant.id, user.env).await?;
        Ok(FormPage {
            parts,
            form: OfferDraft {
                starts_at: to_local_input(&d.starts_at),
                ends_at: to_local_input(&d.ends_at),
                ..d.clone()
            },
            stores: store_choices(&stores, &d.store_ids),
            prices: saved.map(|v| v.prices.clone()).unwrap_or_default(),
        })
    }
}
