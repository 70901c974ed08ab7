//! Deals: what leads spend points on, per merchant and environment. Deletion only marks a
//! deal, so coupons issued from it keep their deal; every query here sees live deals only.

use crate::Conn;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{DealId, Env, MerchantId, StoreId};

use crate::catalog::{contains_pattern, Args, DEAL_STORES};
use crate::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealRow {
    pub merchant_id: MerchantId,
    pub env: Env,
    pub id: DealId,
    pub name: String,
    pub description: String,
    /// `voucher`, `cash`, `merchandise` or `meetup`.
    pub kind: String,
    /// The price in coins.
    pub sell_price: i64,
    pub available: bool,
    /// `private` or `partner`.
    pub visibility: String,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
}

/// Optional conditions of a deal list; `None` leaves a condition out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DealFilter {
    pub kind: Option<String>,
    pub available: Option<bool>,
    pub visibility: Option<String>,
    /// Only deals carried by this store.
    pub store_id: Option<StoreId>,
    /// Part of the name, any case.
    pub name_contains: Option<String>,
}

const COLUMNS: &str = "d.merchant_id, d.env, d.id, d.name, d.description, d.kind, d.sell_price, \
                       d.available, d.visibility, d.starts_at, d.ends_at, d.created_at, d.updated_at, d.deleted_at";

fn from_row(row: &crate::DbRow) -> Result<DealRow, StoreError> {
    let env: String = row.try_get("env")?;
    Ok(DealRow {
        merchant_id: MerchantId::from_trusted(row.try_get("merchant_id")?),
        env: env.parse().unwrap_or(Env::Dev),
        id: DealId::from_trusted(row.try_get("id")?),
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        kind: row.try_get("kind")?,
        sell_price: row.try_get("sell_price")?,
        available: row.try_get::<bool>("available")?,
        visibility: row.try_get("visibility")?,
        starts_at: row.try_get::<Option<Timestamp>>("starts_at")?,
        ends_at: row.try_get::<Option<Timestamp>>("ends_at")?,
        created_at: row.try_get::<Timestamp>("created_at")?,
        updated_at: row.try_get::<Timestamp>("updated_at")?,
        deleted_at: row.try_get::<Option<Timestamp>>("deleted_at")?,
    })
}

pub async fn insert(conn: &mut Conn, d: &DealRow) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO deals (merchant_id, env, id, name, description, kind, sell_price, available, \
         visibility, starts_at, ends_at, created_at, updated_at, deleted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL)",
    )
    .bind(d.merchant_id.as_str())
    .bind(d.env.as_str())
    .bind(d.id.as_str())
    .bind(&d.name)
    .bind(&d.description)
    .bind(&d.kind)
    .bind(d.sell_price)
    .bind(d.available)
    .bind(&d.visibility)
    .bind(d.starts_at)
    .bind(d.ends_at)
    .bind(d.created_at)
    .bind(d.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A live deal of this merchant and environment.
pub async fn find(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &DealId,
) -> Result<Option<DealRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM deals d WHERE d.merchant_id = $1 AND d.env = $2 AND d.id = $3 \
         AND d.deleted_at IS NULL"
    );
    let row = crate::query(&sql)
        .bind(merchant_id.as_str())
        .bind(env.as_str())
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// One page of live deals in id (creation) order, after `after`, matching `filter`.
pub async fn list(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    filter: &DealFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<DealRow>, StoreError> {
    let mut args = Args::default();
    let mut sql = format!(
        "SELECT {COLUMNS} FROM deals d WHERE d.merchant_id = {} AND d.env = {} AND d.deleted_at IS NULL AND d.id > {}",
        args.text(merchant_id.as_str()),
        args.text(env.as_str()),
        args.text(after.unwrap_or("")),
    );
    if let Some(kind) = &filter.kind {
        sql.push_str(&format!(" AND d.kind = {}", args.text(kind.as_str())));
    }
    if let Some(available) = filter.available {
        sql.push_str(&format!(" AND d.available = {}", args.flag(available)));
    }
    if let Some(visibility) = &filter.visibility {
        sql.push_str(&format!(
            " AND d.visibility = {}",
            args.text(visibility.as_str())
        ));
    }
    if let Some(store_id) = &filter.store_id {
        let store = args.text(store_id.as_str());
        sql.push_str(&format!(" AND {}", DEAL_STORES.carried_by("d", &store)));
    }
    if let Some(q) = &filter.name_contains {
        sql.push_str(&format!(
            " AND LOWER(d.name) LIKE {} ESCAPE '\\'",
            args.text(contains_pattern(q))
        ));
    }
    sql.push_str(&format!(" ORDER BY d.id LIMIT {}", args.int(limit)));
    let rows = args.bind(crate::query(&sql)).fetch_all(conn).await?;
    rows.iter().map(from_row).collect()
}

/// Writes every changeable field of a live deal; answers whether it was found.
pub async fn update(conn: &mut Conn, d: &DealRow) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE deals SET name = $4, description = $5, kind = $6, sell_price = $7, available = $8, \
         visibility = $9, starts_at = $10, ends_at = $11, updated_at = $12 \
         WHERE merchant_id = $1 AND env = $2 AND id = $3 AND deleted_at IS NULL",
    )
    .bind(d.merchant_id.as_str())
    .bind(d.env.as_str())
    .bind(d.id.as_str())
    .bind(&d.name)
    .bind(&d.description)
    .bind(&d.kind)
    .bind(d.sell_price)
    .bind(d.available)
    .bind(&d.visibility)
    .bind(d.starts_at)
    .bind(d.ends_at)
    .bind(d.updated_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a live deal deleted (and no longer available) and detaches its stores; answers
/// whether one was deleted.
pub async fn soft_delete(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &DealId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE deals SET deleted_at = $4, updated_at = $4, available = FALSE \
         WHERE merchant_id = $1 AND env = $2 AND id = $3 AND deleted_at IS NULL",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(id.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 1 {
        DEAL_STORES
            .remove_owner(conn, merchant_id, id.as_str())
            .await?;
        Ok(true)
    } else {
        Ok(false)
    }
}

/// Makes `store_ids` (live stores of the same environment, checked by the caller) the
/// stores that carry the deal.
pub async fn set_stores(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &DealId,
    store_ids: &[StoreId],
) -> Result<(), StoreError> {
    let ids: Vec<&str> = store_ids.iter().map(StoreId::as_str).collect();
    DEAL_STORES
        .replace(conn, merchant_id, env, id.as_str(), &ids)
        .await
}

/// The live stores carrying each of `ids`, as `(deal, store)` pairs.
pub async fn store_links(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    ids: &[DealId],
) -> Result<Vec<(DealId, StoreId)>, StoreError> {
    let ids: Vec<&str> = ids.iter().map(DealId::as_str).collect();
    Ok(DEAL_STORES
        .stores_of(conn, merchant_id, env, &ids)
        .await?
        .into_iter()
        .map(|(d, s)| (DealId::from_trusted(d), StoreId::from_trusted(s)))
        .collect())
}
