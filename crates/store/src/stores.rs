//! Stores: where deals and offers are honoured, online or at an address, per merchant and
//! environment. Deletion only marks a store and detaches it from its deals and offers.

use punchcard_domain::{MerchantId, StoreId};
use sea_query::{Cond, Expr, Func};

use crate::catalog::{catalog_row, contains, is, Kind, Links, DEAL_STORES, OFFER_STORES};

catalog_row! {
    blank
    /// A store as stored.
    pub struct StoreRow(StoreId) in "stores" {
        name: String,
        /// `online` or `offline`.
        mode: String,
        url: Option<String>,
        address_line: Option<String>,
        city: Option<String>,
        postal_code: Option<String>,
        /// ISO 3166-1 alpha-2.
        country: Option<String>,
        /// Units of 10^-7 degree; both or neither.
        latitude_e7: Option<i64>,
        longitude_e7: Option<i64>,
    }
}

impl Kind for StoreRow {
    type Filter = StoreFilter;
    const DETACH: &'static [(Links, &'static str)] =
        &[(DEAL_STORES, "store_id"), (OFFER_STORES, "store_id")];

    fn condition(f: &StoreFilter, _merchant_id: &MerchantId) -> Cond {
        Cond::all()
            .add_option(f.mode.as_deref().map(|m| is("mode", m)))
            .add_option(f.city.as_deref().map(|c| {
                Expr::expr(Func::lower(Expr::col(sea_query::Alias::new("city"))))
                    .eq(c.to_lowercase())
            }))
            .add_option(f.name_contains.as_deref().map(|q| contains(&["name"], q)))
    }
}

/// Optional conditions of a store list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreFilter {
    pub mode: Option<String>,
    /// The city, any case.
    pub city: Option<String>,
    /// Part of the name, any case.
    pub name_contains: Option<String>,
}
