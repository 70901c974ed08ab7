//! Offers: public promo codes with a price in coins, per merchant and environment. Deletion
//! only marks an offer; every query here sees live offers only. A live offer's code is unique
//! in its environment: a clash is `StoreError::Unique(UniqueKey::OfferLiveCode)`.

use punchcard_domain::time::Timestamp;
use punchcard_domain::{MerchantId, OfferId, StoreId};
use sea_query::Cond;

use crate::catalog::{catalog_row, contains, is, Kind, Links, OFFER_STORES};

catalog_row! {
    blank
    /// An offer as stored.
    pub struct OfferRow(OfferId) in "offers" {
        /// The promo code, upper-case.
        code: String,
        name: String,
        description: String,
        sell_price: i64,
        available: bool,
        starts_at: Option<Timestamp>,
        ends_at: Option<Timestamp>,
    }
}

impl Kind for OfferRow {
    type Filter = OfferFilter;
    const ON_DELETE: &'static [(&'static str, bool)] = &[("available", false)];
    const DETACH: &'static [(Links, &'static str)] = &[(OFFER_STORES, "offer_id")];
    const STORES: Option<Links> = Some(OFFER_STORES);

    fn condition(f: &OfferFilter, merchant_id: &MerchantId) -> Cond {
        Cond::all()
            .add_option(f.available.map(|a| is("available", a)))
            .add_option(f.code.as_deref().map(|c| is("code", c)))
            .add_option(
                f.store_id
                    .as_ref()
                    .map(|s| OFFER_STORES.carried_by(merchant_id, s.as_str())),
            )
            .add_option(
                f.name_contains
                    .as_deref()
                    .map(|q| contains(&["name", "code"], q)),
            )
    }
}

/// Optional conditions of an offer list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfferFilter {
    pub available: Option<bool>,
    /// Exactly this promo code.
    pub code: Option<String>,
    pub store_id: Option<StoreId>,
    /// Part of the name or of the code, any case.
    pub name_contains: Option<String>,
}
