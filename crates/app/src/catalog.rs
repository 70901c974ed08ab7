//! What deals, offers and stores share: prices per currency, attached stores, list filters,
//! counts against their caps, and their images (at most three each, through the uploads layer).

use std::collections::{BTreeSet, HashMap};

use punchcard_domain::catalog::{points_for, SellPrice, IMAGE_CAP};
use punchcard_domain::currency::CoinsPerUnit;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{
    CurrencyId, Env, FieldError, MerchantId, StoreId, UploadId, ValidationErrors,
};
use punchcard_store::catalog::{live_ids, Columns};
use punchcard_store::stores::StoreRow;
use punchcard_store::uploads::{self, UploadRow};
use punchcard_store::{accounts, commit, currencies, limits, Conn};

use crate::catalog_kind::{live_row, Cap, CatalogKind};
use crate::uploads::{check_image, display_name, storage_key, BlobStore, UploadContent};
use crate::{App, AppError};

/// What a price costs in one of the merchant's currencies.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Price {
    pub currency_id: CurrencyId,
    pub code: String,
    /// `ceil(sell_price / coins_per_unit)`.
    pub points: i64,
}

/// The merchant's currencies with their rates, to price many items with one read.
#[derive(Debug, Clone, Default)]
pub struct Rates(Vec<(CurrencyId, String, CoinsPerUnit)>);

impl Rates {
    pub(crate) async fn load(conn: &mut Conn, merchant_id: &MerchantId) -> Result<Self, AppError> {
        let rows = currencies::list(conn, merchant_id, None, 500).await?;
        Ok(Self(
            rows.into_iter()
                .map(|c| (c.id, c.code, c.coins_per_unit))
                .collect(),
        ))
    }

    /// The price in every currency, in currency order.
    pub fn prices(&self, sell_price: i64) -> Vec<Price> {
        let Ok(price) = SellPrice::new(sell_price) else {
            return Vec::new();
        };
        self.0
            .iter()
            .map(|(id, code, rate)| Price {
                currency_id: id.clone(),
                code: code.clone(),
                points: points_for(price, *rate),
            })
            .collect()
    }
}

/// At most this many stores carry one deal or offer (every store a merchant may have).
const MAX_ATTACHED_STORES: usize = 100;

/// Store ids as typed, without duplicates, in the order given. An empty text is refused like
/// any other text that is not a store id (it must not clear the stores by accident).
pub(crate) fn parse_store_ids(raw: &[String]) -> Result<Vec<StoreId>, FieldError> {
    let mut seen = BTreeSet::new();
    let mut ids = Vec::new();
    for s in raw.iter().map(|s| s.trim()) {
        if s.is_empty() {
            return Err(FieldError::new(
                "store_ids",
                "holds an empty text, which is not a store id",
            ));
        }
        let id: StoreId = s.parse().map_err(|_| {
            FieldError::new(
                "store_ids",
                format!("`{}` is not a store id", s.escape_debug()),
            )
        })?;
        if seen.insert(id.clone()) {
            ids.push(id);
        }
    }
    if ids.len() > MAX_ATTACHED_STORES {
        return Err(FieldError::new(
            "store_ids",
            format!("must list at most {MAX_ATTACHED_STORES} stores"),
        ));
    }
    Ok(ids)
}

/// Records an error for every id that is not a live store of this merchant and environment.
pub(crate) async fn check_stores_exist(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    ids: &[StoreId],
    errors: &mut ValidationErrors,
) -> Result<(), AppError> {
    let live = live_ids::<StoreRow>(conn, merchant_id, env, ids).await?;
    let missing: Vec<&str> = ids
        .iter()
        .filter(|id| !live.contains(*id))
        .map(StoreId::as_str)
        .collect();
    if !missing.is_empty() {
        errors.push(FieldError::new(
            "store_ids",
            format!("no such store: {}", missing.join(", ")),
        ));
    }
    Ok(())
}

/// A yes/no list filter: `true`/`false` (also `1`/`0`, `yes`/`no`); empty means no filter.
pub(crate) fn parse_flag(field: &str, s: &str) -> Result<Option<bool>, FieldError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "true" | "1" | "yes" | "on" => Ok(Some(true)),
        "false" | "0" | "no" | "off" => Ok(Some(false)),
        _ => Err(FieldError::new(field, "must be `true` or `false`")),
    }
}

/// A search text for names: trimmed, at most 100 characters; empty means no filter.
pub(crate) fn parse_search(s: Option<&str>) -> Result<Option<String>, FieldError> {
    let s = s.map(str::trim).unwrap_or("");
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars().count() > 100 || s.chars().any(char::is_control) {
        return Err(FieldError::new(
            "q",
            "must be at most 100 printable characters",
        ));
    }
    Ok(Some(s.to_string()))
}

/// An optional field parsed by `parse` when given (not blank).
pub(crate) fn parse_opt<T>(
    s: &str,
    parse: impl Fn(&str) -> Result<T, FieldError>,
) -> Result<Option<T>, FieldError> {
    match s.trim() {
        "" => Ok(None),
        s => parse(s).map(Some),
    }
}

/// A store filter: only items carried by this store.
pub(crate) fn parse_store_filter(s: &str) -> Result<Option<StoreId>, FieldError> {
    parse_opt(s, |s| {
        s.parse::<StoreId>().map_err(|err| err.at("store_id"))
    })
}

/// Groups `(owner, item)` pairs by owner.
pub(crate) fn group<K: std::hash::Hash + Eq, V>(pairs: Vec<(K, V)>) -> HashMap<K, Vec<V>> {
    let mut map: HashMap<K, Vec<V>> = HashMap::new();
    for (k, v) in pairs {
        map.entry(k).or_default().push(v);
    }
    map
}

/// The images of many items of one parent type, by parent id.
pub(crate) async fn images_of(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    parent_type: &str,
    ids: &[&str],
) -> Result<HashMap<String, Vec<UploadRow>>, AppError> {
    let rows = uploads::list_for_parents(conn, merchant_id, parent_type, ids).await?;
    Ok(group(
        rows.into_iter().map(|u| (u.parent_id.clone(), u)).collect(),
    ))
}

/// Refuses an image for an item that is gone or already has its three.
async fn check_room<K: CatalogKind>(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &K::Id,
) -> Result<(), AppError> {
    live_row::<K>(conn, merchant_id, env, id).await?;
    if uploads::count_for_parent(conn, merchant_id, K::NAME, K::Row::id_text(id)).await?
        >= IMAGE_CAP
    {
        return Err(AppError::LimitReached(format!(
            "at most {IMAGE_CAP} images per {}; delete one before adding another",
            K::NAME
        )));
    }
    Ok(())
}

/// An image of a live item of this environment; anything else is `NotFound`.
async fn image_of<K: CatalogKind>(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &K::Id,
    image_id: &UploadId,
) -> Result<UploadRow, AppError> {
    live_row::<K>(conn, merchant_id, env, id).await?;
    uploads::find(conn, merchant_id, image_id)
        .await?
        .filter(|u| u.parent_type == K::NAME && u.parent_id == K::Row::id_text(id))
        .ok_or(AppError::NotFound("image"))
}

/// How many items of a kind count against its cap in an environment, and the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapUse {
    pub used: i64,
    pub cap: i64,
}

impl App {
    pub async fn cap_use<K: CatalogKind>(
        &self,
        merchant_id: &MerchantId,
        env: Env,
    ) -> Result<CapUse, AppError> {
        let resource = match K::CAP {
            Cap::WhileAvailable(r) | Cap::FromCreation(r) => r,
        };
        let mut conn = self.db.conn().await?;
        Ok(CapUse {
            used: limits::count(&mut conn, resource, merchant_id, env).await?,
            cap: resource.cap(env).unwrap_or(i64::MAX),
        })
    }

    /// Adds an image (PNG, JPEG, WebP or GIF up to 5 MiB) to a live deal, offer or store of
    /// this environment; at most three each.
    pub async fn add_catalog_image<K: CatalogKind, B: BlobStore>(
        &self,
        blobs: &B,
        merchant_id: &MerchantId,
        env: Env,
        item: &K::Id,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<UploadRow, AppError> {
        let kind = check_image(&bytes)?;
        let id = UploadId::new();
        let row = UploadRow {
            merchant_id: merchant_id.clone(),
            id: id.clone(),
            parent_type: K::NAME.to_string(),
            parent_id: item.to_string(),
            name: display_name(file_name),
            content_type: kind.content_type().to_string(),
            size_bytes: bytes.len() as i64,
            storage_key: storage_key(merchant_id, K::NAME, &id, kind),
            created_at: Timestamp::now(),
        };
        // Quick refusals before the bytes travel; the transaction below decides for real.
        {
            let mut conn = self.db.conn().await?;
            check_room::<K>(&mut conn, merchant_id, env, item).await?;
        }
        blobs.put(&row.storage_key, bytes).await?;
        let inserted = async {
            let mut tx = self.db.begin_write().await?;
            // The merchant's lock makes the count and the insert one step for concurrent uploads.
            if !accounts::lock_merchant(&mut tx, merchant_id).await? {
                return Err(AppError::NotFound("merchant"));
            }
            check_room::<K>(&mut tx, merchant_id, env, item).await?;
            uploads::insert(&mut tx, &row).await?;
            commit(tx).await?;
            Ok(())
        }
        .await;
        match inserted {
            Ok(()) => {
                tracing::info!(merchant_id = %merchant_id, upload_id = %row.id, parent = %item, "catalog image added");
                Ok(row)
            }
            Err(e) => {
                if let Err(cleanup) = blobs.delete(&row.storage_key).await {
                    tracing::warn!(error = %cleanup, key = %row.storage_key, "cannot remove a refused upload");
                }
                Err(e)
            }
        }
    }

    /// An image of a live item of this environment with its bytes; anything else is `NotFound`.
    pub async fn catalog_image<K: CatalogKind, B: BlobStore>(
        &self,
        blobs: &B,
        merchant_id: &MerchantId,
        env: Env,
        item: &K::Id,
        image_id: &UploadId,
    ) -> Result<UploadContent, AppError> {
        let mut conn = self.db.conn().await?;
        let upload = image_of::<K>(&mut conn, merchant_id, env, item, image_id).await?;
        drop(conn);
        let bytes = blobs
            .get(&upload.storage_key)
            .await?
            .ok_or(AppError::NotFound("image"))?;
        Ok(UploadContent { upload, bytes })
    }

    /// Removes an image of a live item of this environment.
    pub async fn delete_catalog_image<K: CatalogKind, B: BlobStore>(
        &self,
        blobs: &B,
        merchant_id: &MerchantId,
        env: Env,
        item: &K::Id,
        image_id: &UploadId,
    ) -> Result<(), AppError> {
        let mut tx = self.db.begin_write().await?;
        let upload = image_of::<K>(&mut tx, merchant_id, env, item, image_id).await?;
        uploads::delete(&mut tx, merchant_id, image_id).await?;
        commit(tx).await?;
        // The record is gone; a leftover object is only wasted space, so log and go on.
        if let Err(e) = blobs.delete(&upload.storage_key).await {
            tracing::warn!(error = %e, key = %upload.storage_key, "cannot remove a deleted image's bytes");
        }
        tracing::info!(merchant_id = %merchant_id, upload_id = %image_id, parent = %item, "catalog image deleted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_ids_are_parsed_and_deduplicated() {
        let a = StoreId::new();
        let b = StoreId::new();
        let ids = parse_store_ids(&[a.to_string(), format!(" {b} "), a.to_string()]).unwrap();
        assert_eq!(ids, vec![a.clone(), b]);
        assert!(parse_store_ids(&[]).unwrap().is_empty());
        let e = parse_store_ids(&[a.to_string(), String::new()]).unwrap_err();
        assert_eq!(e.field, "store_ids");
        assert!(parse_store_ids(&[" ".to_string()]).is_err());
        let e = parse_store_ids(&["deal_x".to_string()]).unwrap_err();
        assert_eq!(e.field, "store_ids");
        let many: Vec<String> = (0..101).map(|_| StoreId::new().to_string()).collect();
        assert!(parse_store_ids(&many).is_err());
    }

    #[test]
    fn flags_and_searches() {
        assert_eq!(parse_flag("available", "true").unwrap(), Some(true));
        assert_eq!(parse_flag("available", "0").unwrap(), Some(false));
        assert_eq!(parse_flag("available", " ").unwrap(), None);
        assert!(parse_flag("available", "maybe").is_err());
        assert_eq!(
            parse_search(Some("  café ")).unwrap().as_deref(),
            Some("café")
        );
        assert_eq!(parse_search(Some(" ")).unwrap(), None);
        assert!(parse_search(Some(&"x".repeat(101))).is_err());
    }

    #[test]
    fn prices_round_up_per_currency() {
        let rate = |code: &str, r| {
            (
                CurrencyId::new(),
                code.into(),
                CoinsPerUnit::parse(r).unwrap(),
            )
        };
        let rates = Rates(vec![
            rate("PTS", "1"),
            rate("GEM", "0.3"),
            rate("BIG", "40"),
        ]);
        let p: Vec<i64> = rates.prices(100).iter().map(|p| p.points).collect();
        assert_eq!(p, vec![100, 334, 3]);
        assert!(rates.prices(-1).is_empty());
    }
}
