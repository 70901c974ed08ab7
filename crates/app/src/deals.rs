//! Deals: what leads spend points on, under the active-deal cap.

use punchcard_domain::catalog::{parse_name, parse_text, DealKind, SellPrice, Visibility};
use punchcard_domain::limits::Resource;
use punchcard_domain::{DealId, Env, StoreId, ValidationErrors};
use punchcard_store::deals::{DealFilter, DealRow};

use crate::catalog::{parse_flag, parse_opt, parse_search, parse_store_filter};
use crate::catalog_kind::{carried_items, drafts, parse_schedule, query, Cap, CatalogKind, View};

drafts! {
    /// A deal as typed: every field as text, so the API and the dashboard share one parser.
    pub struct DealDraft;
    /// A change to a deal: only the fields given change. An empty `starts_at`/`ends_at` clears it.
    pub struct DealPatch;
    {
        pub name: String,
        pub description: String,
        pub kind: String,
        /// Coins, as digits.
        pub sell_price: String,
        /// A new deal is live at once only when this is set.
        pub available: bool,
        /// `private` (the default) or `partner` (prod only).
        pub visibility: String,
        /// RFC 3339, or empty for none.
        pub starts_at: String,
        pub ends_at: String,
        pub store_ids: Vec<String>,
    }
}

/// A deal with its stores, prices and images.
pub type DealView = View<Deals>;

query! {
    /// Deal list filters as typed.
    pub struct DealQuery { kind, available, visibility, store_id, q, }
}

/// Deals: stores carry them, they are priced, and available ones count against a cap.
#[derive(Debug, Clone)]
pub struct Deals;

impl CatalogKind for Deals {
    const NAME: &'static str = "deal";
    const CAP: Cap = Cap::WhileAvailable(Resource::ActiveDeals);
    type Id = DealId;
    type Row = DealRow;
    type Draft = DealDraft;
    type Filter = DealFilter;
    type Query = DealQuery;

    fn filter(query: &DealQuery) -> Result<DealFilter, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let kind = e.check(parse_opt(&query.kind, DealKind::parse));
        let available = e.check(parse_flag("available", &query.available));
        let visibility = e.check(parse_opt(&query.visibility, Visibility::parse));
        let store_id = e.check(parse_store_filter(&query.store_id));
        let q = e.check(parse_search(Some(query.q.as_str())));
        e.into_result()?;
        Ok(DealFilter {
            kind: kind.flatten().map(|k| k.as_str().to_string()),
            available: available.flatten(),
            visibility: visibility.flatten().map(|v| v.as_str().to_string()),
            store_id: store_id.flatten(),
            name_contains: q.flatten(),
        })
    }

    fn parse(env: Env, d: &DealDraft, e: &mut ValidationErrors, row: DealRow) -> Option<DealRow> {
        let name = e.check(parse_name(&d.name, 100));
        let description = e.check(parse_text("description", &d.description, 2000));
        let kind = e.check(DealKind::parse(&d.kind));
        let sell_price = e.check(SellPrice::parse(&d.sell_price));
        let visibility = e.check(Visibility::parse_for(env, &d.visibility));
        let schedule = parse_schedule(&d.starts_at, &d.ends_at, e)?;
        Some(DealRow {
            name: name?,
            description: description?,
            kind: kind?.as_str().to_string(),
            sell_price: sell_price?.coins(),
            available: d.available,
            visibility: visibility?.as_str().to_string(),
            starts_at: schedule.starts_at,
            ends_at: schedule.ends_at,
            ..row
        })
    }

    fn draft(deal: &DealRow, store_ids: &Vec<StoreId>) -> DealDraft {
        DealDraft {
            name: deal.name.clone(),
            description: deal.description.clone(),
            kind: deal.kind.clone(),
            sell_price: deal.sell_price.to_string(),
            available: deal.available,
            visibility: deal.visibility.clone(),
            starts_at: deal.starts_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            ends_at: deal.ends_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            store_ids: store_ids.iter().map(StoreId::to_string).collect(),
        }
    }

    carried_items!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog_kind::Draft;
    use punchcard_domain::time::Timestamp;
    use punchcard_domain::MerchantId;
    use punchcard_store::catalog::Blank;

    fn blank() -> DealRow {
        DealRow::blank(&MerchantId::new(), Env::Dev, Timestamp::now())
    }

    fn draft() -> DealDraft {
        DealDraft {
            name: "Free coffee".into(),
            kind: "voucher".into(),
            sell_price: "150".into(),
            ..DealDraft::default()
        }
    }

    #[test]
    fn a_minimal_deal_parses_private_and_unavailable() {
        let mut e = ValidationErrors::new();
        let p = Deals::parse(Env::Dev, &draft(), &mut e, blank()).unwrap();
        assert!(e.is_empty());
        assert_eq!(p.visibility, "private");
        assert!(!p.available);
        assert_eq!((p.starts_at, p.ends_at), (None, None));
    }

    #[test]
    fn every_bad_field_is_reported() {
        let d = DealDraft {
            name: " ".into(),
            kind: "gift".into(),
            sell_price: "-3".into(),
            visibility: "partner".into(),
            starts_at: "2026-02-01T00:00:00Z".into(),
            ends_at: "2026-01-01T00:00:00Z".into(),
            ..DealDraft::default()
        };
        let mut e = ValidationErrors::new();
        assert!(Deals::parse(Env::Dev, &d, &mut e, blank()).is_none());
        for f in ["name", "kind", "sell_price", "visibility", "ends_at"] {
            assert!(e.for_field(f).is_some(), "{f}: {e}");
        }
        let mut e = ValidationErrors::new();
        let prod = DealDraft {
            visibility: "partner".into(),
            ..draft()
        };
        assert!(Deals::parse(Env::Prod, &prod, &mut e, blank()).is_some());
    }

    #[test]
    fn patches_change_only_what_they_name() {
        let mut d = draft();
        d.starts_at = "2026-01-01T00:00:00Z".into();
        d.apply(DealPatch {
            available: Some(true),
            starts_at: Some(String::new()),
            ..DealPatch::default()
        });
        assert!(d.available);
        assert_eq!(d.starts_at, "");
        assert_eq!(d.name, "Free coffee");
    }

    #[test]
    fn queries_parse_or_name_the_field() {
        let f = Deals::filter(&DealQuery {
            kind: "Cash".into(),
            available: "true".into(),
            q: " tea ".into(),
            ..DealQuery::default()
        })
        .unwrap();
        assert_eq!(f.kind.as_deref(), Some("cash"));
        assert_eq!(f.available, Some(true));
        assert_eq!(f.name_contains.as_deref(), Some("tea"));
        let e = Deals::filter(&DealQuery {
            kind: "x".into(),
            store_id: "deal_1".into(),
            available: "perhaps".into(),
            ..DealQuery::default()
        })
        .unwrap_err();
        for f in ["kind", "store_id", "available"] {
            assert!(e.for_field(f).is_some(), "{f}: {e}");
        }
    }
}
