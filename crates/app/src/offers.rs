//! Offers: public promo codes with a price in coins, under the active-offer cap.

use punchcard_domain::catalog::{parse_name, parse_text, PromoCode, SellPrice};
use punchcard_domain::limits::Resource;
use punchcard_domain::{Env, MerchantId, OfferId, StoreId, ValidationErrors};
use punchcard_store::offers::{OfferFilter, OfferRow};
use punchcard_store::{catalog, Conn, StoreError, UniqueKey};

use crate::catalog::{parse_flag, parse_opt, parse_search, parse_store_filter};
use crate::catalog_kind::{carried_items, drafts, parse_schedule, query, Cap, CatalogKind, View};

drafts! {
    /// An offer as typed.
    pub struct OfferDraft;
    /// A change to an offer: only the fields given change. An empty date clears it.
    pub struct OfferPatch;
    {
        /// The public promo code, e.g. `FIRST100`.
        pub code: String,
        pub name: String,
        pub description: String,
        pub sell_price: String,
        pub available: bool,
        pub starts_at: String,
        pub ends_at: String,
        pub store_ids: Vec<String>,
    }
}

/// An offer with its stores, prices and images.
pub type OfferView = View<Offers>;

query! {
    /// Offer list filters as typed.
    pub struct OfferQuery { available, code, store_id, q, }
}

/// Offers: like deals, carried by stores and priced, and each code free among live offers.
#[derive(Debug, Clone)]
pub struct Offers;

impl CatalogKind for Offers {
    const NAME: &'static str = "offer";
    const CAP: Cap = Cap::WhileAvailable(Resource::ActiveOffers);
    type Id = OfferId;
    type Row = OfferRow;
    type Draft = OfferDraft;
    type Filter = OfferFilter;
    type Query = OfferQuery;

    fn filter(query: &OfferQuery) -> Result<OfferFilter, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let available = e.check(parse_flag("available", &query.available));
        let code = e.check(parse_opt(&query.code, PromoCode::parse));
        let store_id = e.check(parse_store_filter(&query.store_id));
        let q = e.check(parse_search(Some(query.q.as_str())));
        e.into_result()?;
        Ok(OfferFilter {
            available: available.flatten(),
            code: code.flatten().map(|c| c.as_str().to_string()),
            store_id: store_id.flatten(),
            name_contains: q.flatten(),
        })
    }

    fn parse(
        _env: Env,
        d: &OfferDraft,
        e: &mut ValidationErrors,
        row: OfferRow,
    ) -> Option<OfferRow> {
        let code = e.check(PromoCode::parse(&d.code));
        let name = e.check(parse_name(&d.name, 100));
        let description = e.check(parse_text("description", &d.description, 2000));
        let sell_price = e.check(SellPrice::parse(&d.sell_price));
        let schedule = parse_schedule(&d.starts_at, &d.ends_at, e)?;
        Some(OfferRow {
            code: code?.as_str().to_string(),
            name: name?,
            description: description?,
            sell_price: sell_price?.coins(),
            available: d.available,
            starts_at: schedule.starts_at,
            ends_at: schedule.ends_at,
            ..row
        })
    }

    fn draft(offer: &OfferRow, store_ids: &Vec<StoreId>) -> OfferDraft {
        OfferDraft {
            code: offer.code.clone(),
            name: offer.name.clone(),
            description: offer.description.clone(),
            sell_price: offer.sell_price.to_string(),
            available: offer.available,
            starts_at: offer.starts_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            ends_at: offer.ends_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            store_ids: store_ids.iter().map(StoreId::to_string).collect(),
        }
    }

    carried_items!();

    /// The code must be free among the environment's live offers (a change keeping its own
    /// code is not checked).
    async fn check_unique(
        c: &mut Conn,
        m: &MerchantId,
        env: Env,
        row: &OfferRow,
        current: Option<&OfferRow>,
        e: &mut ValidationErrors,
    ) -> Result<(), StoreError> {
        let code = row.code.as_str();
        if current.is_some_and(|o| o.code == code) {
            return Ok(());
        }
        let except = current.map(|o| &o.id);
        if catalog::taken::<OfferRow>(c, m, env, "code", code, except).await? {
            e.push(
                crate::error::duplicate_field(UniqueKey::OfferLiveCode)
                    .expect("the promo code is a field"),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use punchcard_domain::time::Timestamp;
    use punchcard_store::catalog::Blank;

    #[test]
    fn offers_parse_and_report_every_field() {
        let d = OfferDraft {
            code: "first100".into(),
            name: "First order".into(),
            sell_price: "0".into(),
            ..OfferDraft::default()
        };
        let mut e = ValidationErrors::new();
        let blank = || OfferRow::blank(&MerchantId::new(), Env::Dev, Timestamp::now());
        let p = Offers::parse(Env::Dev, &d, &mut e, blank()).unwrap();
        assert_eq!(p.code, "FIRST100");
        let bad = OfferDraft {
            code: "50% OFF".into(),
            sell_price: "x".into(),
            starts_at: "soon".into(),
            ..OfferDraft::default()
        };
        let mut e = ValidationErrors::new();
        assert!(Offers::parse(Env::Dev, &bad, &mut e, blank()).is_none());
        for f in ["code", "name", "sell_price", "starts_at"] {
            assert!(e.for_field(f).is_some(), "{f}: {e}");
        }
    }
}
