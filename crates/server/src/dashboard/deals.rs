//! Deals of the session's environment: their filters, table, form and words; the pages
//! themselves come from `kind`.

use askama::Template;
use punchcard_app::deals::{DealDraft, DealView, Deals};
use punchcard_domain::catalog::DealKind;
use punchcard_domain::Env;

use super::catalog::{price_line, short_moment};
use super::chrome::{Nav, PageError};
use super::kind::{page_parts, FormParts, ListParts, PageKind};
use super::kit::to_local_input;
use super::session::ActiveMerchant;
use crate::state::AppState;

fn kinds() -> Vec<(&'static str, &'static str)> {
    DealKind::ALL
        .iter()
        .map(|k| (k.as_str(), k.label()))
        .collect()
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
}
page_parts!(ListPage => ListParts<Deals>);

#[derive(Template)]
#[template(path = "dashboard/deal_form.html")]
pub struct FormPage {
    parts: FormParts,
    /// The form as typed, its dates as the date inputs take them.
    form: DealDraft,
    kinds: Vec<(&'static str, &'static str)>,
    partner_allowed: bool,
}
page_parts!(FormPage => FormParts);

impl PageKind for Deals {
    const LIST: &'static str = "/dashboard/deals";
    const NAV: Nav = Nav::Deals;
    const TITLE: &'static str = "Deal";
    const DELETED: &'static str = "Deal deleted.";
    type Line = DealLine;
    type ListPage = ListPage;
    type FormPage = FormPage;

    fn line(v: &DealView) -> DealLine {
        let d = &v.row;
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
            stores: v.links.len(),
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

    fn name(v: &DealView) -> &str {
        &v.row.name
    }

    fn list_page(parts: ListParts<Deals>) -> ListPage {
        ListPage {
            kinds: kinds(),
            parts,
        }
    }

    async fn form_page(
        _state: &AppState,
        user: &ActiveMerchant,
        parts: FormParts,
        _saved: Option<&DealView>,
        d: &DealDraft,
    ) -> Result<FormPage, PageError> {
        Ok(FormPage {
            parts,
            form: DealDraft {
                starts_at: to_local_input(&d.starts_at),
                ends_at: to_local_input(&d.ends_at),
                ..d.clone()
            },
            kinds: kinds(),
            partner_allowed: user.env == Env::Prod,
        })
    }
}
