//! Stores: where deals and offers are honoured, online or at an address, under the store cap.

use std::collections::HashMap;

use punchcard_domain::catalog::{parse_name, GeoPoint, StoreMode};
use punchcard_domain::limits::Resource;
use punchcard_domain::net::CallbackUrl;
use punchcard_domain::{
    accounts::parse_label, DealId, Env, FieldError, MerchantId, OfferId, StoreId, ValidationErrors,
};
use punchcard_store::deals::DealRow;
use punchcard_store::offers::OfferRow;
use punchcard_store::stores::{StoreFilter, StoreRow};
use punchcard_store::{catalog, Conn, StoreError};

use crate::catalog::{group, parse_opt, parse_search};
use crate::catalog_kind::{drafts, query, Cap, CatalogKind, View};
use crate::kyc::{parse_country, parse_postal_code};
use crate::{App, AppError};

drafts! {
    /// A store as typed; optional fields may be empty.
    pub struct StoreDraft;
    /// A change to a store: only the fields given change; an empty value clears an optional field.
    pub struct StorePatch;
    {
        pub name: String,
        /// `online` or `offline`.
        pub mode: String,
        /// Online stores only.
        pub url: String,
        pub address_line: String,
        pub city: String,
        pub postal_code: String,
        /// ISO 3166-1 alpha-2.
        pub country: String,
        /// Decimal degrees; both or neither.
        pub latitude: String,
        pub longitude: String,
    }
}

/// An optional field: blank is none, unless an offline store requires it; else `parse` reads it.
fn optional(
    field: &str,
    s: &str,
    required: bool,
    parse: impl Fn(&str) -> Result<String, FieldError>,
) -> Result<Option<String>, FieldError> {
    match (s.trim().is_empty(), required) {
        (true, true) => Err(FieldError::new(field, "is required for an offline store")),
        (true, false) => Ok(None),
        (false, _) => parse(s).map(Some),
    }
}

/// The live deals and offers a store carries.
#[derive(Debug, Clone, Default)]
pub struct Carried {
    pub deal_ids: Vec<DealId>,
    pub offer_ids: Vec<OfferId>,
}

/// A store with the deals and offers it carries and its images.
pub type StoreView = View<Stores>;

/// A store's place on the map, if it has one.
pub fn location(s: &StoreRow) -> Option<GeoPoint> {
    match (s.latitude_e7, s.longitude_e7) {
        (Some(la), Some(lo)) => Some(GeoPoint::from_e7(la, lo)),
        _ => None,
    }
}

query! {
    /// Store list filters as typed.
    pub struct StoreQuery { mode, city, q, }
}

/// Stores: every one counts against the store cap; they carry deals and offers.
#[derive(Debug, Clone)]
pub struct Stores;

impl CatalogKind for Stores {
    const NAME: &'static str = "store";
    const CAP: Cap = Cap::FromCreation(Resource::Stores);
    type Id = StoreId;
    type Row = StoreRow;
    type Draft = StoreDraft;
    type Filter = StoreFilter;
    type Query = StoreQuery;
    type Links = Carried;

    fn filter(query: &StoreQuery) -> Result<StoreFilter, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let mode = e.check(parse_opt(&query.mode, StoreMode::parse));
        let city = e.check(parse_opt(&query.city, |s| parse_label("city", s, 100)));
        let q = e.check(parse_search(Some(query.q.as_str())));
        e.into_result()?;
        Ok(StoreFilter {
            mode: mode.flatten().map(|m| m.as_str().to_string()),
            city: city.flatten(),
            name_contains: q.flatten(),
        })
    }

    fn parse(
        _env: Env,
        d: &StoreDraft,
        e: &mut ValidationErrors,
        row: StoreRow,
    ) -> Option<StoreRow> {
        let name = e.check(parse_name(&d.name, 100));
        let mode = e.check(StoreMode::parse(&d.mode));
        let offline = mode == Some(StoreMode::Offline);
        let url = if offline && !d.url.trim().is_empty() {
            e.check(Err(FieldError::new(
                "url",
                "is for online stores only; set `mode` to `online` or leave it empty",
            )))
        } else {
            e.check(optional("url", &d.url, false, |s| {
                let url = CallbackUrl::parse(s, true).map_err(|err| err.at("url"))?;
                Ok(url.as_str().to_string())
            }))
        };
        let label = |field, max| move |s: &str| parse_label(field, s, max);
        let address_line = optional(
            "address_line",
            &d.address_line,
            offline,
            label("address_line", 200),
        );
        let address_line = e.check(address_line);
        let city = e.check(optional("city", &d.city, offline, label("city", 100)));
        let postal_code = e.check(parse_opt(&d.postal_code, parse_postal_code));
        let country = e.check(optional("country", &d.country, offline, parse_country));
        let location = match GeoPoint::parse(&d.latitude, &d.longitude) {
            Ok(p) => Some(p),
            Err(errs) => {
                for err in errs {
                    e.push(err);
                }
                None
            }
        };
        let location = location?;
        Some(StoreRow {
            name: name?,
            mode: mode?.as_str().to_string(),
            url: url?,
            address_line: address_line?,
            city: city?,
            postal_code: postal_code?,
            country: country?,
            latitude_e7: location.map(GeoPoint::latitude_e7),
            longitude_e7: location.map(GeoPoint::longitude_e7),
            ..row
        })
    }

    fn draft(s: &StoreRow, _links: &Self::Links) -> StoreDraft {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let point = location(s);
        StoreDraft {
            name: s.name.clone(),
            mode: s.mode.clone(),
            url: text(&s.url),
            address_line: text(&s.address_line),
            city: text(&s.city),
            postal_code: text(&s.postal_code),
            country: text(&s.country),
            latitude: point.map(|p| p.latitude_text()).unwrap_or_default(),
            longitude: point.map(|p| p.longitude_text()).unwrap_or_default(),
        }
    }

    async fn links(
        c: &mut Conn,
        m: &MerchantId,
        env: Env,
        ids: &[StoreId],
    ) -> Result<HashMap<StoreId, Self::Links>, StoreError> {
        let texts: Vec<&str> = ids.iter().map(StoreId::as_str).collect();
        let mut deals =
            group(catalog::links::<DealRow, StoreId, DealId>(c, m, env, true, &texts).await?);
        let mut offers =
            group(catalog::links::<OfferRow, StoreId, OfferId>(c, m, env, true, &texts).await?);
        let mut links = |id: &StoreId| {
            let deal_ids = deals.remove(id).unwrap_or_default();
            let offer_ids = offers.remove(id).unwrap_or_default();
            (
                id.clone(),
                Carried {
                    deal_ids,
                    offer_ids,
                },
            )
        };
        Ok(ids.iter().map(&mut links).collect())
    }
}

impl App {
    /// Every live store of an environment (at most the cap), for pickers.
    pub async fn all_stores(
        &self,
        merchant_id: &MerchantId,
        env: Env,
    ) -> Result<Vec<StoreRow>, AppError> {
        let mut conn = self.db.conn().await?;
        let all = StoreFilter::default();
        Ok(catalog::list(&mut conn, merchant_id, env, &all, None, 500).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog_kind::Draft;
    use punchcard_domain::time::Timestamp;
    use punchcard_store::catalog::Blank;

    fn blank() -> StoreRow {
        StoreRow::blank(&MerchantId::new(), Env::Dev, Timestamp::now())
    }

    fn offline() -> StoreDraft {
        StoreDraft {
            name: "High Street".into(),
            mode: "offline".into(),
            address_line: "1 High Street".into(),
            city: "Leeds".into(),
            postal_code: "ls1 4ab".into(),
            country: "gb".into(),
            latitude: "53.7997".into(),
            longitude: "-1.5492".into(),
            ..StoreDraft::default()
        }
    }

    #[test]
    fn offline_stores_need_an_address() {
        let mut e = ValidationErrors::new();
        let p = Stores::parse(Env::Dev, &offline(), &mut e, blank()).unwrap();
        assert_eq!(p.country.as_deref(), Some("GB"));
        assert_eq!(p.postal_code.as_deref(), Some("LS1 4AB"));
        assert_eq!(p.latitude_e7, Some(537_997_000));
        let mut e = ValidationErrors::new();
        let d = StoreDraft {
            name: "Pop-up".into(),
            mode: "offline".into(),
            url: "https://shop.example".into(),
            latitude: "95".into(),
            ..StoreDraft::default()
        };
        assert!(Stores::parse(Env::Dev, &d, &mut e, blank()).is_none());
        for f in ["url", "address_line", "city", "country", "longitude"] {
            assert!(e.for_field(f).is_some(), "{f}: {e}");
        }
    }

    #[test]
    fn online_stores_may_carry_a_url_and_no_address() {
        let d = StoreDraft {
            name: "Web shop".into(),
            mode: "online".into(),
            url: "https://shop.example/deals".into(),
            ..StoreDraft::default()
        };
        let mut e = ValidationErrors::new();
        let p = Stores::parse(Env::Dev, &d, &mut e, blank()).unwrap();
        assert_eq!(p.url.as_deref(), Some("https://shop.example/deals"));
        assert_eq!(p.city, None);
        let bad = StoreDraft {
            url: "shop dot example".into(),
            country: "XX".into(),
            ..d
        };
        let mut e = ValidationErrors::new();
        assert!(Stores::parse(Env::Dev, &bad, &mut e, blank()).is_none());
        assert!(e.for_field("url").is_some());
        assert!(e.for_field("country").is_some());
    }

    #[test]
    fn patches_clear_optional_fields() {
        let mut d = offline();
        d.apply(StorePatch {
            latitude: Some(String::new()),
            longitude: Some(String::new()),
            postal_code: Some(String::new()),
            ..StorePatch::default()
        });
        let mut e = ValidationErrors::new();
        let p = Stores::parse(Env::Dev, &d, &mut e, blank()).unwrap();
        assert_eq!((p.latitude_e7, p.longitude_e7), (None, None));
        assert_eq!(p.postal_code, None);
    }
}
