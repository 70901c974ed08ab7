//! Deals: what leads spend points on, per merchant and environment. Deletion only marks a
//! deal, so coupons issued from it keep their deal; every query here sees live deals only.

use punchcard_domain::time::Timestamp;
use punchcard_domain::{DealId, MerchantId, StoreId};
use sea_query::Cond;

use crate::catalog::{catalog_row, contains, is, Kind, Links, DEAL_STORES};

catalog_row! {
    blank
    /// A deal as stored.
    pub struct DealRow(DealId) in "deals" {
        name: String,
        description: String,
        /// `voucher`, `cash`, `merchandise` or `meetup`.
        kind: String,
        /// The price in coins.
        sell_price: i64,
        available: bool,
        /// `private` or `partner`.
        visibility: String,
        starts_at: Option<Timestamp>,
        ends_at: Option<Timestamp>,
    }
}

impl Kind for DealRow {
    type Filter = DealFilter;
    const ON_DELETE: &'static [(&'static str, bool)] = &[("available", false)];
    const DETACH: &'static [(Links, &'static str)] = &[(DEAL_STORES, "deal_id")];
    const STORES: Option<Links> = Some(DEAL_STORES);

    fn condition(f: &DealFilter, merchant_id: &MerchantId) -> Cond {
        Cond::all()
            .add_option(f.kind.as_deref().map(|k| is("kind", k)))
            .add_option(f.available.map(|a| is("available", a)))
            .add_option(f.visibility.as_deref().map(|v| is("visibility", v)))
            .add_option(
                f.store_id
                    .as_ref()
                    .map(|s| DEAL_STORES.carried_by(merchant_id, s.as_str())),
            )
            .add_option(f.name_contains.as_deref().map(|q| contains(&["name"], q)))
    }
}

/// Optional conditions of a deal list; `None` leaves a condition out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DealFilter {
    pub kind: Option<String>,
    pub available: Option<bool>,
    pub visibility: Option<String>,
    /// Only deals carried by this store.
    pub store_id: Option<StoreId>,
    /// Part of the name, any case.
    pub name_contains: Option<String>,
}
