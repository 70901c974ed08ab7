//! Offers: public promo codes with a price in coins, under the active-offer cap.

use punchcard_domain::catalog::{
    parse_moment, parse_name, parse_text, PromoCode, Schedule, SellPrice,
};
use punchcard_domain::limits::Resource;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{Env, MerchantId, OfferId, StoreId, ValidationErrors};
use punchcard_store::offers::{self, OfferFilter, OfferRow};
use punchcard_store::uploads::UploadRow;
use punchcard_store::{accounts, commit, Conn, UniqueKey};

use crate::catalog::{
    check_stores_exist, group, images_of, parse_flag, parse_opt, parse_search, parse_store_ids,
    Price, Rates,
};
use crate::limits::check_cap;
use crate::{App, AppError};

/// The parent type of offer images in `uploads`.
pub const OFFER_PARENT: &str = "offer";

/// An offer as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfferDraft {
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

/// A change to an offer: only the fields given change. An empty date clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfferPatch {
    pub code: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub sell_price: Option<String>,
    pub available: Option<bool>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub store_ids: Option<Vec<String>>,
}

impl OfferDraft {
    pub fn of(offer: &OfferRow, store_ids: &[StoreId]) -> Self {
        Self {
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

    fn apply(&mut self, p: OfferPatch) {
        let set = |field: &mut String, v: Option<String>| {
            if let Some(v) = v {
                *field = v;
            }
        };
        set(&mut self.code, p.code);
        set(&mut self.name, p.name);
        set(&mut self.description, p.description);
        set(&mut self.sell_price, p.sell_price);
        set(&mut self.starts_at, p.starts_at);
        set(&mut self.ends_at, p.ends_at);
        if let Some(a) = p.available {
            self.available = a;
        }
        if let Some(ids) = p.store_ids {
            self.store_ids = ids;
        }
    }
}

struct ParsedOffer {
    code: PromoCode,
    name: String,
    description: String,
    sell_price: SellPrice,
    available: bool,
    schedule: Schedule,
}

fn parse_offer(d: &OfferDraft, e: &mut ValidationErrors) -> Option<ParsedOffer> {
    let code = e.check(PromoCode::parse(&d.code));
    let name = e.check(parse_name(&d.name, 100));
    let description = e.check(parse_text("description", &d.description, 2000));
    let sell_price = e.check(SellPrice::parse(&d.sell_price));
    let starts_at = e.check(parse_moment("starts_at", &d.starts_at));
    let ends_at = e.check(parse_moment("ends_at", &d.ends_at));
    let schedule = match (starts_at, ends_at) {
        (Some(s), Some(t)) => e.check(Schedule::new(s, t)),
        _ => None,
    };
    Some(ParsedOffer {
        code: code?,
        name: name?,
        description: description?,
        sell_price: sell_price?,
        available: d.available,
        schedule: schedule?,
    })
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

impl OfferQuery {
    pub fn parse(&self) -> Result<OfferFilter, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let available = e.check(parse_flag("available", self.available.as_deref()));
        let code = e.check(parse_opt(self.code.as_deref(), PromoCode::parse));
        let store_id = e.check(parse_opt(self.store_id.as_deref(), |s| {
            s.parse::<StoreId>().map_err(|err| err.at("store_id"))
        }));
        let q = e.check(parse_search(self.q.as_deref()));
        e.into_result()?;
        Ok(OfferFilter {
            available: available.flatten(),
            code: code.flatten().map(|c| c.as_str().to_string()),
            store_id: store_id.flatten(),
            name_contains: q.flatten(),
        })
    }
}

async fn views(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    rows: Vec<OfferRow>,
) -> Result<Vec<OfferView>, AppError> {
    let ids: Vec<OfferId> = rows.iter().map(|o| o.id.clone()).collect();
    let mut stores = group(offers::store_links(conn, merchant_id, env, &ids).await?);
    let id_strs: Vec<&str> = ids.iter().map(OfferId::as_str).collect();
    let mut images = images_of(conn, merchant_id, OFFER_PARENT, &id_strs).await?;
    let rates = Rates::load(conn, merchant_id).await?;
    Ok(rows
        .into_iter()
        .map(|offer| OfferView {
            store_ids: stores.remove(&offer.id).unwrap_or_default(),
            images: images.remove(offer.id.as_str()).unwrap_or_default(),
            prices: rates.prices(offer.sell_price),
            offer,
        })
        .collect())
}

async fn view(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    offer: OfferRow,
) -> Result<OfferView, AppError> {
    views(conn, merchant_id, env, vec![offer])
        .await?
        .pop()
        .ok_or(AppError::NotFound("offer"))
}

impl App {
    /// Creates an offer; its code must be free among the environment's live offers.
    pub async fn create_offer(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        draft: &OfferDraft,
    ) -> Result<OfferView, AppError> {
        let mut errors = ValidationErrors::new();
        let parsed = parse_offer(draft, &mut errors);
        let store_ids = errors.check(parse_store_ids(&draft.store_ids));
        let mut tx = self.db.begin_write().await?;
        if let Some(ids) = &store_ids {
            check_stores_exist(&mut tx, merchant_id, env, ids, &mut errors).await?;
        }
        if let Some(p) = &parsed {
            if offers::code_taken(&mut tx, merchant_id, env, p.code.as_str(), None).await? {
                errors.push(code_taken_field());
            }
        }
        errors.into_result()?;
        let (p, store_ids) = (parsed.expect("checked"), store_ids.expect("checked"));
        if p.available {
            check_cap(&mut tx, merchant_id, env, Resource::ActiveOffers).await?;
        }
        let now = Timestamp::now();
        let row = OfferRow {
            merchant_id: merchant_id.clone(),
            env,
            id: OfferId::new(),
            code: p.code.as_str().to_string(),
            name: p.name,
            description: p.description,
            sell_price: p.sell_price.coins(),
            available: p.available,
            starts_at: p.schedule.starts_at,
            ends_at: p.schedule.ends_at,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        offers::insert(&mut tx, &row).await?;
        offers::set_stores(&mut tx, merchant_id, env, &row.id, &store_ids).await?;
        let answer = view(&mut tx, merchant_id, env, row).await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %merchant_id, env = %env, offer_id = %answer.offer.id, "offer created");
        Ok(answer)
    }

    pub async fn offer(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        id: &OfferId,
    ) -> Result<OfferView, AppError> {
        let mut conn = self.db.conn().await?;
        let offer = offers::find(&mut conn, merchant_id, env, id)
            .await?
            .ok_or(AppError::NotFound("offer"))?;
        view(&mut conn, merchant_id, env, offer).await
    }

    pub async fn list_offers(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        filter: &OfferFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<OfferView>, AppError> {
        let mut conn = self.db.conn().await?;
        let rows = offers::list(&mut conn, merchant_id, env, filter, after, limit).await?;
        views(&mut conn, merchant_id, env, rows).await
    }

    /// Changes the fields a patch gives. Making an offer available counts against the cap.
    pub async fn update_offer(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        id: &OfferId,
        patch: OfferPatch,
    ) -> Result<OfferView, AppError> {
        let mut tx = self.db.begin_write().await?;
        if !accounts::lock_merchant(&mut tx, merchant_id).await? {
            return Err(AppError::NotFound("merchant"));
        }
        let current = offers::find(&mut tx, merchant_id, env, id)
            .await?
            .ok_or(AppError::NotFound("offer"))?;
        let current_stores: Vec<StoreId> =
            offers::store_links(&mut tx, merchant_id, env, std::slice::from_ref(id))
                .await?
                .into_iter()
                .map(|(_, s)| s)
                .collect();
        let stores_change = patch.store_ids.is_some();
        let mut draft = OfferDraft::of(&current, &current_stores);
        draft.apply(patch);
        let mut errors = ValidationErrors::new();
        let parsed = parse_offer(&draft, &mut errors);
        let store_ids = if stores_change {
            let ids = errors.check(parse_store_ids(&draft.store_ids));
            if let Some(ids) = &ids {
                check_stores_exist(&mut tx, merchant_id, env, ids, &mut errors).await?;
            }
            ids
        } else {
            None
        };
        if let Some(p) = &parsed {
            if p.code.as_str() != current.code
                && offers::code_taken(&mut tx, merchant_id, env, p.code.as_str(), Some(id)).await?
            {
                errors.push(code_taken_field());
            }
        }
        errors.into_result()?;
        let p = parsed.expect("checked");
        if p.available && !current.available {
            check_cap(&mut tx, merchant_id, env, Resource::ActiveOffers).await?;
        }
        let row = OfferRow {
            code: p.code.as_str().to_string(),
            name: p.name,
            description: p.description,
            sell_price: p.sell_price.coins(),
            available: p.available,
            starts_at: p.schedule.starts_at,
            ends_at: p.schedule.ends_at,
            updated_at: Timestamp::now(),
            ..current
        };
        if !offers::update(&mut tx, &row).await? {
            return Err(AppError::NotFound("offer"));
        }
        if let Some(ids) = store_ids {
            offers::set_stores(&mut tx, merchant_id, env, id, &ids).await?;
        }
        let answer = view(&mut tx, merchant_id, env, row).await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %merchant_id, env = %env, offer_id = %id, "offer updated");
        Ok(answer)
    }

    /// Deletes an offer; its promo code becomes free for a new offer.
    pub async fn delete_offer(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        id: &OfferId,
    ) -> Result<(), AppError> {
        let mut tx = self.db.begin_write().await?;
        if !offers::soft_delete(&mut tx, merchant_id, env, id, Timestamp::now()).await? {
            return Err(AppError::NotFound("offer"));
        }
        commit(tx).await?;
        tracing::info!(merchant_id = %merchant_id, env = %env, offer_id = %id, "offer deleted");
        Ok(())
    }
}

fn code_taken_field() -> punchcard_domain::FieldError {
    crate::error::duplicate_field(UniqueKey::OfferLiveCode).expect("the promo code is a field")
}

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
        let p = parse_offer(&d, &mut e).unwrap();
        assert_eq!(p.code.as_str(), "FIRST100");
        let bad = OfferDraft {
            code: "50% OFF".into(),
            sell_price: "x".into(),
            starts_at: "soon".into(),
            ..OfferDraft::default()
        };
        let mut e = ValidationErrors::new();
        assert!(parse_offer(&bad, &mut e).is_none());
        for f in ["code", "name", "sell_price", "starts_at"] {
            assert!(e.for_field(f).is_some(), "{f}: {e}");
        }
    }
}
