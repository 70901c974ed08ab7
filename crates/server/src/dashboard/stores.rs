//! Stores of the session's environment: their filters, table, form and words, and the deals
//! and offers each carries; the pages themselves come from `kind`.

use askama::Template;
use punchcard_app::catalog_kind::View;
use punchcard_app::deals::{DealQuery, Deals};
use punchcard_app::offers::{OfferQuery, OfferView, Offers};
use punchcard_app::stores::{location, StoreDraft, StoreView, Stores};

use super::chrome::{Nav, PageError};
use super::kind::{page_parts, FormParts, ListParts, PageKind};
use super::session::ActiveMerchant;
use crate::state::AppState;

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
    let s = &v.row;
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
    type Line = StoreLine;
    type ListPage = ListPage;
    type FormPage = FormPage;

    fn line(v: &StoreView) -> StoreLine {
        StoreLine {
            id: v.row.id.to_string(),
            name: v.row.name.clone(),
            online: v.row.mode == "online",
            url: v.row.url.clone().unwrap_or_default(),
            address: address_of(v),
            located: location(&v.row).is_some(),
            deals: v.links.deal_ids.len(),
            offers: v.links.offer_ids.len(),
            images: v.images.len(),
        }
    }

    fn blank() -> StoreDraft {
        StoreDraft {
            mode: "offline".into(),
            ..StoreDraft::default()
        }
    }

    fn created(_v: &StoreView) -> String {
        "Store created. Attach it to deals and offers from their pages.".into()
    }

    fn name(v: &StoreView) -> &str {
        &v.row.name
    }

    fn list_page(parts: ListParts<Stores>) -> ListPage {
        ListPage { parts }
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
            let store_id = v.row.id.to_string();
            let query = DealQuery {
                store_id: store_id.clone(),
                ..DealQuery::default()
            };
            deals = carried::<Deals>(state, user, &query, |d| d.row.name.clone()).await?;
            let query = OfferQuery {
                store_id,
                ..OfferQuery::default()
            };
            let label = |o: &OfferView| format!("{} ({})", o.row.name, o.row.code);
            offers = carried::<Offers>(state, user, &query, label).await?;
        }
        Ok(FormPage {
            parts,
            form: d.clone(),
            deals,
            offers,
        })
    }
}

/// The live items of a kind a store carries, found by the same filtered list the API offers,
/// so the page shows what `store_id=` finds.
async fn carried<K: PageKind>(
    state: &AppState,
    user: &ActiveMerchant,
    query: &K::Query,
    label: impl Fn(&View<K>) -> String,
) -> Result<Vec<Carried>, PageError> {
    let (m, env, filter) = (&user.merchant.id, user.env, K::filter(query)?);
    let views = state
        .app
        .list_items::<K>(m, env, &filter, None, 500)
        .await?;
    let carried = |v: &View<K>| Carried {
        href: format!("{}/{}", K::LIST, K::id(&v.row)),
        label: label(v),
        available: K::available(&v.row),
    };
    Ok(views.iter().map(carried).collect())
}
