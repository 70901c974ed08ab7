//! Offers: public promo codes with a price in coins, under the active-offer cap.

use punchcard_domain::catalog::{parse_name, parse_text, PromoCode, Schedule, SellPrice};
use punchcard_domain::limits::Resource;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{Env, MerchantId, OfferId, StoreId, ValidationErrors};
use punchcard_store::offers::{self, OfferFilter, OfferRow};
use punchcard_store::uploads::UploadRow;
use punchcard_store::{Conn, StoreError, UniqueKey};

use crate::catalog::{parse_flag, parse_opt, parse_search, CatalogItem, Price};
use crate::catalog_kind::{drafts, kind_items, named_use_cases, parse_schedule, Cap, CatalogKind};

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

/// An offer's fields once valid.
pub struct ParsedOffer {
    code: PromoCode,
    name: String,
    description: String,
    sell_price: SellPrice,
    available: bool,
    schedule: Schedule,
}

/// An offer with what answers show about it.
#[derive(Debug, Clone)]
pub struct OfferView {
    pub offer: OfferRow,
    pub store_ids: Vec<StoreId>,
    pub prices: Vec<Price>,
    pub images: Vec<UploadRow>,
}

/// Offer list filters as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct OfferQuery {
    pub available: Option<String>,
    pub code: Option<String>,
    pub store_id: Option<String>,
    pub q: Option<String>,
}

/// Offers: like deals, carried by stores and priced, and each code free among live offers.
pub struct Offers;

impl CatalogKind for Offers {
    const NAME: &'static str = "offer";
    const CAP: Cap = Cap::WhileAvailable(Resource::ActiveOffers);
    type Id = OfferId;
    type Row = OfferRow;
    type Draft = OfferDraft;
    type Filter = OfferFilter;
    type Query = OfferQuery;
    type Parsed = ParsedOffer;
    type View = OfferView;

    fn filter(query: &OfferQuery) -> Result<OfferFilter, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let available = e.check(parse_flag("available", query.available.as_deref()));
        let code = e.check(parse_opt(query.code.as_deref(), PromoCode::parse));
        let store_id = e.check(parse_opt(query.store_id.as_deref(), |s| {
            s.parse::<StoreId>().map_err(|err| err.at("store_id"))
        }));
        let q = e.check(parse_search(query.q.as_deref()));
        e.into_result()?;
        Ok(OfferFilter {
            available: available.flatten(),
            code: code.flatten().map(|c| c.as_str().to_string()),
            store_id: store_id.flatten(),
            name_contains: q.flatten(),
        })
    }

    fn parent(id: OfferId) -> CatalogItem {
        CatalogItem::Offer(id)
    }

    fn parse(_env: Env, d: &OfferDraft, e: &mut ValidationErrors) -> Option<ParsedOffer> {
        let code = e.check(PromoCode::parse(&d.code));
        let name = e.check(parse_name(&d.name, 100));
        let description = e.check(parse_text("description", &d.description, 2000));
        let sell_price = e.check(SellPrice::parse(&d.sell_price));
        let schedule = parse_schedule(&d.starts_at, &d.ends_at, e);
        Some(ParsedOffer {
            code: code?,
            name: name?,
            description: description?,
            sell_price: sell_price?,
            available: d.available,
            schedule: schedule?,
        })
    }

    fn new_row(merchant_id: &MerchantId, env: Env, p: ParsedOffer, now: Timestamp) -> OfferRow {
        let blank = OfferRow {
            merchant_id: merchant_id.clone(),
            env,
            id: OfferId::new(),
            code: String::new(),
            name: String::new(),
            description: String::new(),
            sell_price: 0,
            available: false,
            starts_at: None,
            ends_at: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        Self::changed_row(blank, p, now)
    }

    fn changed_row(current: OfferRow, p: ParsedOffer, now: Timestamp) -> OfferRow {
        OfferRow {
            code: p.code.as_str().to_string(),
            name: p.name,
            description: p.description,
            sell_price: p.sell_price.coins(),
            available: p.available,
            starts_at: p.schedule.starts_at,
            ends_at: p.schedule.ends_at,
            updated_at: now,
            ..current
        }
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

    kind_items!(offers, offer, carried: OfferView);

    /// The code must be free among the environment's live offers (a change keeping its own
    /// code is not checked).
    async fn check_unique(
        c: &mut Conn,
        m: &MerchantId,
        env: Env,
        p: &ParsedOffer,
        current: Option<&OfferRow>,
        e: &mut ValidationErrors,
    ) -> Result<(), StoreError> {
        let code = p.code.as_str();
        if current.is_some_and(|o| o.code == code) {
            return Ok(());
        }
        if offers::code_taken(c, m, env, code, current.map(|o| &o.id)).await? {
            e.push(
                crate::error::duplicate_field(UniqueKey::OfferLiveCode)
                    .expect("the promo code is a field"),
            );
        }
        Ok(())
    }
}

named_use_cases!(Offers: create_offer, offer, list_offers);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_parse_and_report_every_field() {
        let d = OfferDraft {
            code: "first100".into(),
            name: "First order".into(),
            sell_price: "0".into(),
            ..OfferDraft::default()
        };
        let mut e = ValidationErrors::new();
        let p = Offers::parse(Env::Dev, &d, &mut e).unwrap();
        assert_eq!(p.code.as_str(), "FIRST100");
        let bad = OfferDraft {
            code: "50% OFF".into(),
            sell_price: "x".into(),
            starts_at: "soon".into(),
            ..OfferDraft::default()
        };
        let mut e = ValidationErrors::new();
        assert!(Offers::parse(Env::Dev, &bad, &mut e).is_none());
        for f in ["code", "name", "sell_price", "starts_at"] {
            assert!(e.for_field(f).is_some(), "{f}: {e}");
        }
    }
}
