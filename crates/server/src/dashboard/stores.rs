//! Stores of the session's environment: their filters, table, form and words, and the deals
//! and offers each carries; the pages themselves come from `kind`.

use askama::Template;
use axum::Router;
use punchcard_app::catalog_kind::CatalogKind;
use punchcard_app::deals::{DealQuery, Deals};
use punchcard_app::offers::{OfferQuery, Offers};
use punchcard_app::stores::{StoreDraft, StoreQuery, StoreView, Stores};

use super::catalog::opt;
use super::chrome::{Nav, PageError};
use super::kind::{page_parts, FormParts, ListParts, PageKind};
use super::kit::FormFields;
use super::session::ActiveMerchant;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    super::kind::routes::<Stores>()
}

/// The filter form as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct Filters {
    pub mode: String,
    pub city: String,
    pub q: String,
    pub cursor: String,
}

pub struct StoreLine {
    pub id: String,
    pub name: String,
    pub online: bool,
    pub url: String,
    pub address: String,
    pub located: bool,
    pub deals: usize,
    pub offers: usize,
    pub images: usize,
}

fn address_of(v: &StoreView) -> String {
    let s = &v.store;
    [&s.address_line, &s.postal_code, &s.city, &s.country]
        .iter()
        .filter_map(|p| p.as_deref())
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Template)]
#[template(path = "dashboard/stores.html")]
pub struct ListPage {
    parts: ListParts<Stores>,
}
page_parts!(ListPage => ListParts<Stores>);

/// A deal or offer a store carries, for its page.
pub struct Carried {
    pub href: String,
    pub label: String,
    pub available: bool,
}

#[derive(Template)]
#[template(path = "dashboard/store_form.html")]
pub struct FormPage {
    parts: FormParts,
    form: StoreDraft,
    deals: Vec<Carried>,
    offers: Vec<Carried>,
}
page_parts!(FormPage => FormParts);

impl PageKind for Stores {
    const LIST: &'static str = "/dashboard/stores";
    const NAV: Nav = Nav::Stores;
    const TITLE: &'static str = "Store";
    const DELETED: &'static str = "Store deleted; its deals and offers no longer list it.";
    type Filters = Filters;
    type Line = StoreLine;
    type ListPage = ListPage;
    type FormPage = FormPage;

    fn filter_pairs(f: &Filters) -> Vec<(&'static str, &str)> {
        vec![("mode", &f.mode), ("city", &f.city), ("q", &f.q)]
    }

    fn cursor(f: &Filters) -> &str {
        &f.cursor
    }

    fn query(f: &Filters) -> StoreQuery {
        StoreQuery {
            mode: opt(&f.mode),
            city: opt(&f.city),
            q: opt(&f.q),
        }
    }

    fn line(v: &StoreView) -> StoreLine {
        StoreLine {
            id: v.store.id.to_string(),
            name: v.store.name.clone(),
            online: v.store.mode == "online",
            url: v.store.url.clone().unwrap_or_default(),
            address: address_of(v),
            located: v.location().is_some(),
            deals: v.deal_ids.len(),
            offers: v.offer_ids.len(),
            images: v.images.len(),
        }
    }

    fn blank() -> StoreDraft {
        StoreDraft {
            mode: "offline".into(),
            ..StoreDraft::default()
        }
    }

    fn draft_of(f: &FormFields) -> StoreDraft {
        StoreDraft {
            name: f.get("name"),
            mode: f.get("mode"),
            url: f.get("url"),
            address_line: f.get("address_line"),
            city: f.get("city"),
            postal_code: f.get("postal_code"),
            country: f.get("country"),
            latitude: f.get("latitude"),
            longitude: f.get("longitude"),
        }
    }

    fn created(_v: &StoreView) -> String {
        "Store created. Attach it to deals and offers from their pages.".into()
    }

    fn name(v: &StoreView) -> &str {
        &v.store.name
    }

    async fn list_page(
        _state: &AppState,
        _user: &ActiveMerchant,
        parts: ListParts<Stores>,
    ) -> Result<ListPage, PageError> {
        Ok(ListPage { parts })
    }

    async fn form_page(
        state: &AppState,
        user: &ActiveMerchant,
        parts: FormParts,
        saved: Option<&StoreView>,
        d: &StoreDraft,
    ) -> Result<FormPage, PageError> {
        let (mut deals, mut offers) = (Vec::new(), Vec::new());
        if let Some(v) = saved {
            // The same filtered lists the API offers, so the page shows what `store_id=` finds.
            let (m, env, by_store) = (&user.merchant.id, user.env, Some(v.store.id.to_string()));
            let deal_filter = Deals::filter(&DealQuery {
                store_id: by_store.clone(),
                ..DealQuery::default()
            })?;
            for d in state
                .app
                .list_items::<Deals>(m, env, &deal_filter, None, 500)
                .await?
            {
                deals.push(Carried {
                    href: format!("{}/{}", Deals::LIST, d.deal.id),
                    label: d.deal.name,
                    available: d.deal.available,
                });
            }
            let offer_filter = Offers::filter(&OfferQuery {
                store_id: by_store,
                ..OfferQuery::default()
            })?;
            for o in state
                .app
                .list_items::<Offers>(m, env, &offer_filter, None, 500)
                .await?
            {
                offers.push(Carried {
                    href: format!("{}/{}", Offers::LIST, o.offer.id),
                    label: format!("{} ({})", o.offer.name, o.offer.code),
                    available: o.offer.available,
                });
            }
        }
        Ok(FormPage {
            parts,
            form: d.clone(),
            deals,
            offers,
        })
    }
}
