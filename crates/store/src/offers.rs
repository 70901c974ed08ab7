//! Offers: public promo codes with a price in coins, per merchant and environment. Deletion
//! only marks an offer; every query here sees live offers only.

use crate::Conn;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{Env, MerchantId, OfferId, StoreId};

use crate::catalog::{contains_pattern, Args, OFFER_STORES};
use crate::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferRow {
    pub merchant_id: MerchantId,
    pub env: Env,
    pub id: OfferId,
    /// The promo code, upper-case.
    pub code: String,
    pub name: String,
    pub description: String,
    pub sell_price: i64,
    pub available: bool,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
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

const COLUMNS: &str = "o.merchant_id, o.env, o.id, o.code, o.name, o.description, o.sell_price, \
                       o.available, o.starts_at, o.ends_at, o.created_at, o.updated_at, o.deleted_at";

fn from_row(row: &crate::DbRow) -> Result<OfferRow, StoreError> {
    let env: String = row.try_get("env")?;
    Ok(OfferRow {
        merchant_id: MerchantId::from_trusted(row.try_get("merchant_id")?),
        env: env.parse().unwrap_or(Env::Dev),
        id: OfferId::from_trusted(row.try_get("id")?),
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        sell_price: row.try_get("sell_price")?,
        available: row.try_get::<bool>("available")?,
        starts_at: row.try_get::<Option<Timestamp>>("starts_at")?,
        ends_at: row.try_get::<Option<Timestamp>>("ends_at")?,
        created_at: row.try_get::<Timestamp>("created_at")?,
        updated_at: row.try_get::<Timestamp>("updated_at")?,
        deleted_at: row.try_get::<Option<Timestamp>>("deleted_at")?,
    })
}

/// Inserts an offer; a live offer with the same code is
/// `StoreError::Unique(UniqueKey::OfferLiveCode)`.
pub async fn insert(conn: &mut Conn, o: &OfferRow) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO offers (merchant_id, env, id, code, name, description, sell_price, available, \
         starts_at, ends_at, created_at, updated_at, deleted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL)",
    )
    .bind(o.merchant_id.as_str())
    .bind(o.env.as_str())
    .bind(o.id.as_str())
    .bind(&o.code)
    .bind(&o.name)
    .bind(&o.description)
    .bind(o.sell_price)
    .bind(o.available)
    .bind(o.starts_at)
    .bind(o.ends_at)
    .bind(o.created_at)
    .bind(o.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &OfferId,
) -> Result<Option<OfferRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM offers o WHERE o.merchant_id = $1 AND o.env = $2 AND o.id = $3 \
         AND o.deleted_at IS NULL"
    );
    let row = crate::query(&sql)
        .bind(merchant_id.as_str())
        .bind(env.as_str())
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Whether another live offer of this merchant and environment uses `code`.
pub async fn code_taken(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    code: &str,
    except: Option<&OfferId>,
) -> Result<bool, StoreError> {
    let n: i64 = crate::query(
        "SELECT COUNT(*) FROM offers WHERE merchant_id = $1 AND env = $2 AND code = $3 \
         AND deleted_at IS NULL AND id <> $4",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(code)
    .bind(except.map(OfferId::as_str).unwrap_or(""))
    .scalar(conn)
    .await?;
    Ok(n > 0)
}

/// One page of live offers in id (creation) order, after `after`, matching `filter`.
pub async fn list(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    filter: &OfferFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<OfferRow>, StoreError> {
    let mut args = Args::default();
    let mut sql = format!(
        "SELECT {COLUMNS} FROM offers o WHERE o.merchant_id = {} AND o.env = {} AND o.deleted_at IS NULL AND o.id > {}",
        args.text(merchant_id.as_str()),
        args.text(env.as_str()),
        args.text(after.unwrap_or("")),
    );
    if let Some(available) = filter.available {
        sql.push_str(&format!(" AND o.available = {}", args.flag(available)));
    }
    if let Some(code) = &filter.code {
        sql.push_str(&format!(" AND o.code = {}", args.text(code.as_str())));
    }
    if let Some(store_id) = &filter.store_id {
        let store = args.text(store_id.as_str());
        sql.push_str(&format!(" AND {}", OFFER_STORES.carried_by("o", &store)));
    }
    if let Some(q) = &filter.name_contains {
        let pattern = args.text(contains_pattern(q));
        sql.push_str(&format!(
            " AND (LOWER(o.name) LIKE {pattern} ESCAPE '\\' OR LOWER(o.code) LIKE {pattern} ESCAPE '\\')"
        ));
    }
    sql.push_str(&format!(" ORDER BY o.id LIMIT {}", args.int(limit)));
    let rows = args.bind(crate::query(&sql)).fetch_all(conn).await?;
    rows.iter().map(from_row).collect()
}

/// Writes every changeable field of a live offer; answers whether it was found. A code taken
/// by another live offer is `StoreError::Unique(UniqueKey::OfferLiveCode)`.
pub async fn update(conn: &mut Conn, o: &OfferRow) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE offers SET code = $4, name = $5, description = $6, sell_price = $7, available = $8, \
         starts_at = $9, ends_at = $10, updated_at = $11 \
         WHERE merchant_id = $1 AND env = $2 AND id = $3 AND deleted_at IS NULL",
    )
    .bind(o.merchant_id.as_str())
    .bind(o.env.as_str())
    .bind(o.id.as_str())
    .bind(&o.code)
    .bind(&o.name)
    .bind(&o.description)
    .bind(o.sell_price)
    .bind(o.available)
    .bind(o.starts_at)
    .bind(o.ends_at)
    .bind(o.updated_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a live offer deleted (its code becomes free again) and detaches its stores.
pub async fn soft_delete(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &OfferId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE offers SET deleted_at = $4, updated_at = $4, available = FALSE \
         WHERE merchant_id = $1 AND env = $2 AND id = $3 AND deleted_at IS NULL",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(id.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 1 {
        OFFER_STORES
            .remove_owner(conn, merchant_id, id.as_str())
            .await?;
        Ok(true)
    } else {
        Ok(false)
    }
}

pub async fn set_stores(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &OfferId,
    store_ids: &[StoreId],
) -> Result<(), StoreError> {
    let ids: Vec<&str> = store_ids.iter().map(StoreId::as_str).collect();
    OFFER_STORES
        .replace(conn, merchant_id, env, id.as_str(), &ids)
        .await
}

pub async fn store_links(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    ids: &[OfferId],
) -> Result<Vec<(OfferId, StoreId)>, StoreError> {
    let ids: Vec<&str> = ids.iter().map(OfferId::as_str).collect();
    Ok(OFFER_STORES
        .stores_of(conn, merchant_id, env, &ids)
        .await?
        .into_iter()
        .map(|(o, s)| (OfferId::from_trusted(o), StoreId::from_trusted(s)))
        .collect())
}
