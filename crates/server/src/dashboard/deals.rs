//! Deals of the session's environment: their filters, table, form and words; the pages
//! themselves come from `kind`.

use askama::Template;
use axum::Router;
use punchcard_app::catalog::Price;
use punchcard_app::deals::{DealDraft, DealQuery, DealView, Deals};
use punchcard_domain::catalog::DealKind;
use punchcard_domain::Env;

use super::catalog::{opt, price_line, short_moment, store_choices, StoreChoice};
use super::chrome::{Nav, PageError};
use super::kind::{page_parts, FormParts, ListParts, PageKind};
use super::kit::{to_local_input, FormFields};
use super::session::ActiveMerchant;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    super::kind::routes::<Deals>()
}

fn kinds() -> Vec<(&'static str, &'static str)> {
    DealKind::ALL
        .iter()
        .map(|k| (k.as_str(), k.label()))
        .collect()
}

/// The filter form as typed, to fill it again.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct Filters {
    pub kind: String,
    pub available: String,
    pub visibility: String,
    pub store_id: String,
    pub q: String,
    pub cursor: String,
}

pub struct DealLine {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub sell_price: i64,
    pub prices: String,
    pub available: bool,
    pub visibility: String,
    pub starts: String,
    pub ends: String,
    pub stores: usize,
    pub images: usize,
}

#[derive(Template)]
#[template(path = "dashboard/deals.html")]
pub struct ListPage {
    parts: ListParts<Deals>,
    kinds: Vec<(&'static str, &'static str)>,
    stores: Vec<StoreChoice>,
}
page_parts!(ListPage => ListParts<Deals>);

#[derive(Template)]
#[template(path = "dashboard/deal_form.html")]
pub struct FormPage {
    parts: FormParts,
    /// The form as typed, its dates as the date inputs take them.
    form: DealDraft,
    kinds: Vec<(&'static str, &'static str)>,
    stores: Vec<StoreChoice>,
    prices: Vec<Price>,
    partner_allowed: bool,
}
page_parts!(FormPage => FormParts);

impl PageKind for Deals {
    const LIST: &'static str = "/dashboard/deals";
    const NAV: Nav = Nav::Deals;
    const TITLE: &'static str = "Deal";
    const DELETED: &'static str = "Deal deleted.";
    type Filters = Filters;
    type Line = DealLine;
    type ListPage = ListPage;
    type FormPage = FormPage;

    fn filter_pairs(f: &Filters) -> Vec<(&'static str, &str)> {
        vec![
            ("kind", &f.kind),
            ("available", &f.available),
            ("visibility", &f.visibility),
            ("store_id", &f.store_id),
            ("q", &f.q),
        ]
    }

    fn cursor(f: &Filters) -> &str {
        &f.cursor
    }

    fn query(f: &Filters) -> DealQuery {
        DealQuery {
            kind: opt(&f.kind),
            available: opt(&f.available),
            visibility: opt(&f.visibility),
            store_id: opt(&f.store_id),
            q: opt(&f.q),
        }
    }

    fn line(v: &DealView) -> DealLine {
        let d = &v.deal;
        DealLine {
            id: d.id.to_string(),
            name: d.name.clone(),
            kind: DealKind::parse(&d.kind)
                .map(|k| k.label().to_string())
                .unwrap_or_else(|_| d.kind.clone()),
            sell_price: d.sell_price,
            prices: price_line(&v.prices),
            available: d.available,
            visibility: d.visibility.clone(),
            starts: short_moment(d.starts_at),
            ends: short_moment(d.ends_at),
            stores: v.store_ids.len(),
            images: v.images.len(),
        }
    }

    fn blank() -> DealDraft {
        DealDraft {
            kind: "voucher".into(),
            visibility: "private".into(),
            ..DealDraft::default()
        }
    }

    fn draft_of(f: &FormFields) -> DealDraft {
        DealDraft {
            name: f.get("name"),
            description: f.get("description"),
            kind: f.get("kind"),
            sell_price: f.get("sell_price"),
            available: f.ticked("available"),
            visibility: f.get("visibility"),
            starts_at: f.moment("starts_at"),
            ends_at: f.moment("ends_at"),
            store_ids: f.all("store_ids"),
        }
    }

    fn name(v: &DealView) -> &str {
        &v.deal.name
    }

    async fn list_page(
        state: &AppState,
        user: &ActiveMerchant,
        parts: ListParts<Deals>,
    ) -> Result<ListPage, PageError> {
        let stores = state.app.all_stores(&user.merchant.id, user.env).await?;
        Ok(ListPage {
            stores: store_choices(&stores, std::slice::from_ref(&parts.filters.store_id)),
            kinds: kinds(),
            parts,
        })
    }

    async fn form_page(
        state: &AppState,
        user: &ActiveMerchant,
        parts: FormParts,
        saved: Option<&DealView>,
        d: &DealDraft,
    ) -> Result<FormPage, PageError> {
        let stores = state.app.all_stores(&user.merchant.id, user.env).await?;
        Ok(FormPage {
            parts,
            form: DealDraft {
                starts_at: to_local_input(&d.starts_at),
                ends_at: to_local_input(&d.ends_at),
                ..d.clone()
            },
            kinds: kinds(),
            stores: store_choices(&stores, &d.store_ids),
            prices: saved.map(|v| v.prices.clone()).unwrap_or_default(),
            partner_allowed: user.env == Env::Prod,
        })
    }
}
