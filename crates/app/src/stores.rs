//! Stores: where deals and offers are honoured, online or at an address, under the store cap.

use std::collections::HashMap;

use punchcard_domain::catalog::{parse_name, GeoPoint, StoreMode};
use punchcard_domain::limits::Resource;
use punchcard_domain::net::CallbackUrl;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{
    accounts::parse_label, DealId, Env, FieldError, MerchantId, OfferId, StoreId, ValidationErrors,
};
use punchcard_store::stores::{self, StoreFilter, StoreRow};
use punchcard_store::uploads::UploadRow;
use punchcard_store::{Conn, StoreError};

use crate::catalog::{group, parse_opt, parse_search, CatalogItem, Rates};
use crate::catalog_kind::{drafts, kind_items, named_use_cases, Cap, CatalogKind};
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

/// A store's fields once valid.
pub struct ParsedStore {
    name: String,
    mode: StoreMode,
    url: Option<String>,
    address_line: Option<String>,
    city: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    location: Option<GeoPoint>,
}

/// A text field that offline stores must fill and online stores may.
fn address_part(
    field: &str,
    s: &str,
    max: usize,
    required: bool,
) -> Result<Option<String>, FieldError> {
    if s.trim().is_empty() {
        if required {
            return Err(FieldError::new(field, "is required for an offline store"));
        }
        return Ok(None);
    }
    parse_label(field, s, max).map(Some)
}

/// A store with what answers show about it.
#[derive(Debug, Clone)]
pub struct StoreView {
    pub store: StoreRow,
    /// The live deals and offers it carries.
    pub deal_ids: Vec<DealId>,
    pub offer_ids: Vec<OfferId>,
    pub images: Vec<UploadRow>,
}

fn location(s: &StoreRow) -> Option<GeoPoint> {
    match (s.latitude_e7, s.longitude_e7) {
        (Some(la), Some(lo)) => Some(GeoPoint::from_e7(la, lo)),
        _ => None,
    }
}

impl StoreView {
    pub fn location(&self) -> Option<GeoPoint> {
        location(&self.store)
    }
}

/// Store list filters as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct StoreQuery {
    pub mode: Option<String>,
    pub city: Option<String>,
    pub q: Option<String>,
}

/// Stores: every one counts against the store cap; they carry deals and offers.
pub struct Stores;

impl CatalogKind for Stores {
    const NAME: &'static str = "store";
    const CAP: Cap = Cap::FromCreation(Resource::Stores);
    type Id = StoreId;
    type Row = StoreRow;
    type Draft = StoreDraft;
    type Filter = StoreFilter;
    type Query = StoreQuery;
    type Parsed = ParsedStore;
    /// The live deals and offers it carries.
    type Links = (Vec<DealId>, Vec<OfferId>);
    type View = StoreView;

    fn filter(query: &StoreQuery) -> Result<StoreFilter, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let mode = e.check(parse_opt(query.mode.as_deref(), StoreMode::parse));
        let city = e.check(parse_opt(query.city.as_deref(), |s| {
            parse_label("city", s, 100)
        }));
        let q = e.check(parse_search(query.q.as_deref()));
        e.into_result()?;
        Ok(StoreFilter {
            mode: mode.flatten().map(|m| m.as_str().to_string()),
            city: city.flatten(),
            name_contains: q.flatten(),
        })
    }

    fn parent(id: StoreId) -> CatalogItem {
        CatalogItem::Store(id)
    }

    fn parse(_env: Env, d: &StoreDraft, e: &mut ValidationErrors) -> Option<ParsedStore> {
        let name = e.check(parse_name(&d.name, 100));
        let mode = e.check(StoreMode::parse(&d.mode));
        let offline = mode == Some(StoreMode::Offline);
        let url = if d.url.trim().is_empty() {
            Some(None)
        } else if offline {
            e.check(Err::<Option<String>, _>(FieldError::new(
                "url",
                "is for online stores only; set `mode` to `online` or leave it empty",
            )))
        } else {
            e.check(
                CallbackUrl::parse(&d.url, true)
                    .map(|u| Some(u.as_str().to_string()))
                    .map_err(|err| err.at("url")),
            )
        };
        let address_line = e.check(address_part("address_line", &d.address_line, 200, offline));
        let city = e.check(address_part("city", &d.city, 100, offline));
        let postal_code = e.check(parse_opt(Some(d.postal_code.as_str()), parse_postal_code));
        let country = if d.country.trim().is_empty() {
            if offline {
                e.check(Err::<Option<String>, _>(FieldError::new(
                    "country",
                    "is required for an offline store",
                )))
            } else {
                Some(None)
            }
        } else {
            e.check(parse_country(&d.country).map(Some))
        };
        let location = match GeoPoint::parse(&d.latitude, &d.longitude) {
            Ok(p) => Some(p),
            Err(errs) => {
                for err in errs {
                    e.push(err);
                }
                None
            }
        };
        Some(ParsedStore {
            name: name?,
            mode: mode?,
            url: url?,
            address_line: address_line?,
            city: city?,
            postal_code: postal_code?,
            country: country?,
            location: location?,
        })
    }

    fn new_row(merchant_id: &MerchantId, env: Env, p: ParsedStore, now: Timestamp) -> StoreRow {
        let blank = StoreRow {
            merchant_id: merchant_id.clone(),
            env,
            id: StoreId::new(),
            name: String::new(),
            mode: String::new(),
            url: None,
            address_line: None,
            city: None,
            postal_code: None,
            country: None,
            latitude_e7: None,
            longitude_e7: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        Self::changed_row(blank, p, now)
    }

    fn changed_row(current: StoreRow, p: ParsedStore, now: Timestamp) -> StoreRow {
        StoreRow {
            name: p.name,
            mode: p.mode.as_str().to_string(),
            url: p.url,
            address_line: p.address_line,
            city: p.city,
            postal_code: p.postal_code,
            country: p.country,
            latitude_e7: p.location.map(GeoPoint::latitude_e7),
            longitude_e7: p.location.map(GeoPoint::longitude_e7),
            updated_at: now,
            ..current
        }
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

    fn view(
        store: StoreRow,
        links: Self::Links,
        _rates: &Rates,
        images: Vec<UploadRow>,
    ) -> StoreView {
        let (deal_ids, offer_ids) = links;
        StoreView {
            store,
            deal_ids,
            offer_ids,
            images,
        }
    }

    fn edit_draft(v: &StoreView) -> StoreDraft {
        Self::draft(&v.store, &Default::default())
    }

    kind_items!(stores, store);

    async fn links(
        c: &mut Conn,
        m: &MerchantId,
        env: Env,
        ids: &[StoreId],
    ) -> Result<HashMap<StoreId, Self::Links>, StoreError> {
        let mut deals = group(stores::deal_links(c, m, env, ids).await?);
        let mut offers = group(stores::offer_links(c, m, env, ids).await?);
        Ok(ids
            .iter()
            .map(|id| {
                let links = (
                    deals.remove(id).unwrap_or_default(),
                    offers.remove(id).unwrap_or_default(),
                );
                (id.clone(), links)
            })
            .collect())
    }
}

named_use_cases!(Stores: create_store, store, list_stores);

impl App {
    /// Every live store of an environment (at most the cap), for pickers.
    pub async fn all_stores(
        &self,
        merchant_id: &MerchantId,
        env: Env,
    ) -> Result<Vec<StoreRow>, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(stores::list(
            &mut conn,
            merchant_id,
            env,
            &StoreFilter::default(),
            None,
            500,
        )
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog_kind::Draft;

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
        let p = Stores::parse(Env::Dev, &offline(), &mut e).unwrap();
        assert_eq!(p.country.as_deref(), Some("GB"));
        assert_eq!(p.postal_code.as_deref(), Some("LS1 4AB"));
        assert_eq!(p.location.unwrap().latitude_e7(), 537_997_000);
        let mut e = ValidationErrors::new();
        let d = StoreDraft {
            name: "Pop-up".into(),
            mode: "offline".into(),
            url: "https://shop.example".into(),
            latitude: "95".into(),
            ..StoreDraft::default()
        };
        assert!(Stores::parse(Env::Dev, &d, &mut e).is_none());
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
        let p = Stores::parse(Env::Dev, &d, &mut e).unwrap();
        assert_eq!(p.url.as_deref(), Some("https://shop.example/deals"));
        assert_eq!(p.city, None);
        let bad = StoreDraft {
            url: "shop dot example".into(),
            country: "XX".into(),
            ..d
        };
        let mut e = ValidationErrors::new();
        assert!(Stores::parse(Env::Dev, &bad, &mut e).is_none());
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
        let p = Stores::parse(Env::Dev, &d, &mut e).unwrap();
        assert_eq!(p.location, None);
        assert_eq!(p.postal_code, None);
    }
}
