//! Stores: where deals and offers are honoured, online or at an address, per merchant and
//! environment. Deletion only marks a store and detaches it from its deals and offers.

use punchcard_domain::{DealId, Env, MerchantId, OfferId, StoreId};
use sea_query::{Cond, Expr, Func};

use crate::catalog::{
    self, catalog_row, contains, is, kind_functions, Kind, Links, DEAL_STORES, OFFER_STORES,
};
use crate::{Conn, StoreError};

catalog_row! {
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

kind_functions!(StoreRow, StoreId, StoreFilter, "store");

/// Which of `ids` are live stores of this merchant and environment.
pub async fn live_ids(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    ids: &[StoreId],
) -> Result<Vec<StoreId>, StoreError> {
    let ids: Vec<&str> = ids.iter().map(StoreId::as_str).collect();
    catalog::live_ids::<StoreRow, _>(conn, merchant_id, env, &ids).await
}

/// The live deals each of `ids` carries, as `(store, deal)` pairs.
pub async fn deal_links(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    ids: &[StoreId],
) -> Result<Vec<(StoreId, DealId)>, StoreError> {
    let ids: Vec<&str> = ids.iter().map(StoreId::as_str).collect();
    DEAL_STORES.pairs(conn, merchant_id, env, true, &ids).await
}

/// The live offers each of `ids` carries, as `(store, offer)` pairs.
pub async fn offer_links(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    ids: &[StoreId],
) -> Result<Vec<(StoreId, OfferId)>, StoreError> {
    let ids: Vec<&str> = ids.iter().map(StoreId::as_str).collect();
    OFFER_STORES.pairs(conn, merchant_id, env, true, &ids).await
}
