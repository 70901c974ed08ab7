//! Deals: create, read, list, change, toggle and delete, under the active-deal cap.

use punchcard_domain::catalog::{
    parse_moment, parse_name, parse_text, DealKind, Schedule, SellPrice, Visibility,
};
use punchcard_domain::limits::Resource;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{DealId, Env, MerchantId, StoreId, ValidationErrors};
use punchcard_store::deals::{self, DealFilter, DealRow};
use punchcard_store::uploads::UploadRow;
use punchcard_store::{accounts, commit, Conn};

use crate::catalog::{
    check_stores_exist, group, images_of, parse_flag, parse_opt, parse_search, parse_store_ids,
    Price, Rates,
};
use crate::limits::check_cap;
use crate::{App, AppError};

/// The parent type of deal images in `uploads`.
pub const DEAL_PARENT: &str = "deal";

/// A deal as typed: every field as text, so the API and the dashboard share one parser.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DealDraft {
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

/// A change to a deal: only the fields given change. An empty `starts_at`/`ends_at` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DealPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub kind: Option<String>,
    pub sell_price: Option<String>,
    pub available: Option<bool>,
    pub visibility: Option<String>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub store_ids: Option<Vec<String>>,
}

impl DealDraft {
    /// The draft of a saved deal, to edit it.
    pub fn of(deal: &DealRow, store_ids: &[StoreId]) -> Self {
        Self {
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

    fn apply(&mut self, p: DealPatch) {
        let set = |field: &mut String, v: Option<String>| {
            if let Some(v) = v {
                *field = v;
            }
        };
        set(&mut self.name, p.name);
        set(&mut self.description, p.description);
        set(&mut self.kind, p.kind);
        set(&mut self.sell_price, p.sell_price);
        set(&mut self.visibility, p.visibility);
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

/// A deal's fields once valid.
struct ParsedDeal {
    name: String,
    description: String,
    kind: DealKind,
    sell_price: SellPrice,
    available: bool,
    visibility: Visibility,
    schedule: Schedule,
}

/// Parses every field but the stores, recording each error.
fn parse_deal(env: Env, d: &DealDraft, e: &mut ValidationErrors) -> Option<ParsedDeal> {
    let name = e.check(parse_name(&d.name, 100));
    let description = e.check(parse_text("description", &d.description, 2000));
    let kind = e.check(DealKind::parse(&d.kind));
    let sell_price = e.check(SellPrice::parse(&d.sell_price));
    let visibility = e.check(Visibility::parse_for(env, &d.visibility));
    let starts_at = e.check(parse_moment("starts_at", &d.starts_at));
    let ends_at = e.check(parse_moment("ends_at", &d.ends_at));
    let schedule = match (starts_at, ends_at) {
        (Some(s), Some(t)) => e.check(Schedule::new(s, t)),
        _ => None,
    };
    Some(ParsedDeal {
        name: name?,
        description: description?,
        kind: kind?,
        sell_price: sell_price?,
        available: d.available,
        visibility: visibility?,
        schedule: schedule?,
    })
}

/// A deal with what answers show about it.
#[derive(Debug, Clone)]
pub struct DealView {
    pub deal: DealRow,
    pub store_ids: Vec<StoreId>,
    /// The price in each of the merchant's currencies.
    pub prices: Vec<Price>,
    pub images: Vec<UploadRow>,
}

/// Deal list filters as typed (query parameters or a filter form).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct DealQuery {
    pub kind: Option<String>,
    pub available: Option<String>,
    pub visibility: Option<String>,
    pub store_id: Option<String>,
    pub q: Option<String>,
}

impl DealQuery {
    pub fn parse(&self) -> Result<DealFilter, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let kind = e.check(parse_opt(self.kind.as_deref(), DealKind::parse));
        let available = e.check(parse_flag("available", self.available.as_deref()));
        let visibility = e.check(parse_opt(self.visibility.as_deref(), Visibility::parse));
        let store_id = e.check(parse_opt(self.store_id.as_deref(), |s| {
            s.parse::<StoreId>().map_err(|err| err.at("store_id"))
        }));
        let q = e.check(parse_search(self.q.as_deref()));
        e.into_result()?;
        Ok(DealFilter {
            kind: kind.flatten().map(|k| k.as_str().to_string()),
            available: available.flatten(),
            visibility: visibility.flatten().map(|v| v.as_str().to_string()),
            store_id: store_id.flatten(),
            name_contains: q.flatten(),
        })
    }
}

/// Adds stores, prices and images to deals read in one go.
async fn views(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    rows: Vec<DealRow>,
) -> Result<Vec<DealView>, AppError> {
    let ids: Vec<DealId> = rows.iter().map(|d| d.id.clone()).collect();
    let mut stores = group(deals::store_links(conn, merchant_id, env, &ids).await?);
    let id_strs: Vec<&str> = ids.iter().map(DealId::as_str).collect();
    let mut images = images_of(conn, merchant_id, DEAL_PARENT, &id_strs).await?;
    let rates = Rates::load(conn, merchant_id).await?;
    Ok(rows
        .into_iter()
        .map(|deal| DealView {
            store_ids: stores.remove(&deal.id).unwrap_or_default(),
            images: images.remove(deal.id.as_str()).unwrap_or_default(),
            prices: rates.prices(deal.sell_price),
            deal,
        })
        .collect())
}

async fn view(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    deal: DealRow,
) -> Result<DealView, AppError> {
    views(conn, merchant_id, env, vec![deal])
        .await?
        .pop()
        .ok_or(AppError::NotFound("deal"))
}

impl App {
    /// Creates a deal; an available one counts against the active-deal cap at once.
    pub async fn create_deal(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        draft: &DealDraft,
    ) -> Result<DealView, AppError> {
        let mut errors = ValidationErrors::new();
        let parsed = parse_deal(env, draft, &mut errors);
        let store_ids = errors.check(parse_store_ids(&draft.store_ids));
        let mut tx = self.db.begin_write().await?;
        if let Some(ids) = &store_ids {
            check_stores_exist(&mut tx, merchant_id, env, ids, &mut errors).await?;
        }
        errors.into_result()?;
        let (p, store_ids) = (parsed.expect("checked"), store_ids.expect("checked"));
        if p.available {
            check_cap(&mut tx, merchant_id, env, Resource::ActiveDeals).await?;
        }
        let now = Timestamp::now();
        let row = DealRow {
            merchant_id: merchant_id.clone(),
            env,
            id: DealId::new(),
            name: p.name,
            description: p.description,
            kind: p.kind.as_str().to_string(),
            sell_price: p.sell_price.coins(),
            available: p.available,
            visibility: p.visibility.as_str().to_string(),
            starts_at: p.schedule.starts_at,
            ends_at: p.schedule.ends_at,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        deals::insert(&mut tx, &row).await?;
        deals::set_stores(&mut tx, merchant_id, env, &row.id, &store_ids).await?;
        let answer = view(&mut tx, merchant_id, env, row).await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %merchant_id, env = %env, deal_id = %answer.deal.id, "deal created");
        Ok(answer)
    }

    pub async fn deal(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        id: &DealId,
    ) -> Result<DealView, AppError> {
        let mut conn = self.db.conn().await?;
        let deal = deals::find(&mut conn, merchant_id, env, id)
            .await?
            .ok_or(AppError::NotFound("deal"))?;
        view(&mut conn, merchant_id, env, deal).await
    }

    /// One page of live deals, in creation order.
    pub async fn list_deals(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        filter: &DealFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<DealView>, AppError> {
        let mut conn = self.db.conn().await?;
        let rows = deals::list(&mut conn, merchant_id, env, filter, after, limit).await?;
        views(&mut conn, merchant_id, env, rows).await
    }

    /// Changes the fields a patch gives. Making a deal available counts against the cap.
    pub async fn update_deal(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        id: &DealId,
        patch: DealPatch,
    ) -> Result<DealView, AppError> {
        let mut tx = self.db.begin_write().await?;
        // Reads below happen under the merchant's lock, so a concurrent toggle cannot slip by.
        if !accounts::lock_merchant(&mut tx, merchant_id).await? {
            return Err(AppError::NotFound("merchant"));
        }
        let current = deals::find(&mut tx, merchant_id, env, id)
            .await?
            .ok_or(AppError::NotFound("deal"))?;
        let current_stores: Vec<StoreId> =
            deals::store_links(&mut tx, merchant_id, env, std::slice::from_ref(id))
                .await?
                .into_iter()
                .map(|(_, s)| s)
                .collect();
        let stores_change = patch.store_ids.is_some();
        let mut draft = DealDraft::of(&current, &current_stores);
        draft.apply(patch);
        let mut errors = ValidationErrors::new();
        let parsed = parse_deal(env, &draft, &mut errors);
        let store_ids = if stores_change {
            let ids = errors.check(parse_store_ids(&draft.store_ids));
            if let Some(ids) = &ids {
                check_stores_exist(&mut tx, merchant_id, env, ids, &mut errors).await?;
            }
            ids
        } else {
            None
        };
        errors.into_result()?;
        let p = parsed.expect("checked");
        if p.available && !current.available {
            check_cap(&mut tx, merchant_id, env, Resource::ActiveDeals).await?;
        }
        let row = DealRow {
            name: p.name,
            description: p.description,
            kind: p.kind.as_str().to_string(),
            sell_price: p.sell_price.coins(),
            available: p.available,
            visibility: p.visibility.as_str().to_string(),
            starts_at: p.schedule.starts_at,
            ends_at: p.schedule.ends_at,
            updated_at: Timestamp::now(),
            ..current
        };
        if !deals::update(&mut tx, &row).await? {
            return Err(AppError::NotFound("deal"));
        }
        if let Some(ids) = store_ids {
            deals::set_stores(&mut tx, merchant_id, env, id, &ids).await?;
        }
        let answer = view(&mut tx, merchant_id, env, row).await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %merchant_id, env = %env, deal_id = %id, "deal updated");
        Ok(answer)
    }

    /// Deletes a deal: it disappears from lists and answers, but coupons keep pointing at it.
    pub async fn delete_deal(
        &self,
        merchant_id: &MerchantId,
        env: Env,
        id: &DealId,
    ) -> Result<(), AppError> {
        let mut tx = self.db.begin_write().await?;
        if !deals::soft_delete(&mut tx, merchant_id, env, id, Timestamp::now()).await? {
            return Err(AppError::NotFound("deal"));
        }
        commit(tx).await?;
        tracing::info!(merchant_id = %merchant_id, env = %env, deal_id = %id, "deal deleted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let p = parse_deal(Env::Dev, &draft(), &mut e).unwrap();
        assert!(e.is_empty());
        assert_eq!(p.visibility, Visibility::Private);
        assert!(!p.available);
        assert_eq!(p.schedule, Schedule::default());
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
        assert!(parse_deal(Env::Dev, &d, &mut e).is_none());
        for f in ["name", "kind", "sell_price", "visibility", "ends_at"] {
            assert!(e.for_field(f).is_some(), "{f}: {e}");
        }
        let mut e = ValidationErrors::new();
        let prod = DealDraft {
            visibility: "partner".into(),
            ..draft()
        };
        assert!(parse_deal(Env::Prod, &prod, &mut e).is_some());
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
        let f = DealQuery {
            kind: Some("Cash".into()),
            available: Some("true".into()),
            q: Some(" tea ".into()),
            ..DealQuery::default()
        }
        .parse()
        .unwrap();
        assert_eq!(f.kind.as_deref(), Some("cash"));
        assert_eq!(f.available, Some(true));
        assert_eq!(f.name_contains.as_deref(), Some("tea"));
        let e = DealQuery {
            kind: Some("x".into()),
            store_id: Some("deal_1".into()),
            available: Some("perhaps".into()),
            ..DealQuery::default()
        }
        .parse()
        .unwrap_err();
        for f in ["kind", "store_id", "available"] {
            assert!(e.for_field(f).is_some(), "{f}: {e}");
        }
    }
}
