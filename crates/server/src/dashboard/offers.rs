//! Offers (public promo codes) of the session's environment: their filters, table, form and
//! words; the pages themselves come from `kind`.

use askama::Template;
use punchcard_app::offers::{OfferDraft, OfferQuery, OfferView, Offers};

use super::catalog::{price_line, short_moment};
use super::chrome::{Nav, PageError};
use super::kind::{page_parts, FormParts, ListParts, PageKind};
use super::kit::to_local_input;
use super::session::ActiveMerchant;
use crate::state::AppState;

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
}
page_parts!(ListPage => ListParts<Offers>);

#[derive(Template)]
#[template(path = "dashboard/offer_form.html")]
pub struct FormPage {
    parts: FormParts,
    /// The form as typed, its dates as the date inputs take them.
    form: OfferDraft,
}
page_parts!(FormPage => FormParts);

impl PageKind for Offers {
    const LIST: &'static str = "/dashboard/offers";
    const NAV: Nav = Nav::Offers;
    const TITLE: &'static str = "Offer";
    const DELETED: &'static str = "Offer deleted.";
    type Line = OfferLine;
    type ListPage = ListPage;
    type FormPage = FormPage;

    /// The list filters by store and text, not by code.
    fn page_query(query: OfferQuery) -> OfferQuery {
        OfferQuery {
            code: String::new(),
            ..query
        }
    }

    fn line(v: &OfferView) -> OfferLine {
        let o = &v.row;
        OfferLine {
            id: o.id.to_string(),
            code: o.code.clone(),
            name: o.name.clone(),
            sell_price: o.sell_price,
            prices: price_line(&v.prices),
            available: o.available,
            starts: short_moment(o.starts_at),
            ends: short_moment(o.ends_at),
            stores: v.links.len(),
            images: v.images.len(),
        }
    }

    fn name(v: &OfferView) -> &str {
        &v.row.name
    }

    fn list_page(parts: ListParts<Offers>) -> ListPage {
        ListPage { parts }
    }

    async fn form_page(
        _state: &AppState,
        _user: &ActiveMerchant,
        parts: FormParts,
        _saved: Option<&OfferView>,
        d: &OfferDraft,
    ) -> Result<FormPage, PageError> {
        Ok(FormPage {
            parts,
            form: OfferDraft {
                starts_at: to_local_input(&d.starts_at),
                ends_at: to_local_input(&d.ends_at),
                ..d.clone()
            },
        })
    }
}
