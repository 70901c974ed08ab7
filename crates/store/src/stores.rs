//! Stores: where deals and offers are honoured, online or at an address, per merchant and
//! environment. Deletion only marks a store and detaches it from its deals and offers.

use crate::Conn;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{DealId, Env, MerchantId, OfferId, StoreId};

use crate::catalog::{contains_pattern, Args, DEAL_STORES, OFFER_STORES};
use crate::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreRow {
    pub merchant_id: MerchantId,
    pub env: Env,
    pub id: StoreId,
    pub name: String,
    /// `online` or `offline`.
    pub mode: String,
    pub url: Option<String>,
    pub address_line: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// Units of 10^-7 degree; both or neither.
    pub latitude_e7: Option<i64>,
    pub longitude_e7: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
}

/// Optional conditions of a store list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreFilter {
    pub mode: Option<String>,
    /// The city, any case.
    pub city: Option<String>,
    /// Part of the name, any case.
    pub name_contains: Option<String>,
}

const COLUMNS: &str = "s.merchant_id, s.env, s.id, s.name, s.mode, s.url, s.address_line, s.city, \
                       s.postal_code, s.country, s.latitude_e7, s.longitude_e7, s.created_at, s.updated_at, s.deleted_at";

fn from_row(row: &crate::DbRow) -> Result<StoreRow, StoreError> {
    let env: String = row.try_get("env")?;
    Ok(StoreRow {
        merchant_id: MerchantId::from_trusted(row.try_get("merchant_id")?),
        env: env.parse().unwrap_or(Env::Dev),
        id: StoreId::from_trusted(row.try_get("id")?),
        name: row.try_get("name")?,
        mode: row.try_get("mode")?,
        url: row.try_get("url")?,
        address_line: row.try_get("address_line")?,
        city: row.try_get("city")?,
        postal_code: row.try_get("postal_code")?,
        country: row.try_get("country")?,
        latitude_e7: row.try_get("latitude_e7")?,
        longitude_e7: row.try_get("longitude_e7")?,
        created_at: row.try_get::<Timestamp>("created_at")?,
        updated_at: row.try_get::<Timestamp>("updated_at")?,
        deleted_at: row.try_get::<Option<Timestamp>>("deleted_at")?,
    })
}

pub async fn insert(conn: &mut Conn, s: &StoreRow) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO stores (merchant_id, env, id, name, mode, url, address_line, city, postal_code, \
         country, latitude_e7, longitude_e7, created_at, updated_at, deleted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL)",
    )
    .bind(s.merchant_id.as_str())
    .bind(s.env.as_str())
    .bind(s.id.as_str())
    .bind(&s.name)
    .bind(&s.mode)
    .bind(s.url.as_deref())
    .bind(s.address_line.as_deref())
    .bind(s.city.as_deref())
    .bind(s.postal_code.as_deref())
    .bind(s.country.as_deref())
    .bind(s.latitude_e7)
    .bind(s.longitude_e7)
    .bind(s.created_at)
    .bind(s.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &StoreId,
) -> Result<Option<StoreRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM stores s WHERE s.merchant_id = $1 AND s.env = $2 AND s.id = $3 \
         AND s.deleted_at IS NULL"
    );
    let row = crate::query(&sql)
        .bind(merchant_id.as_str())
        .bind(env.as_str())
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Which of `ids` are live stores of this merchant and environment.
pub async fn live_ids(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    ids: &[StoreId],
) -> Result<Vec<StoreId>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut args = Args::default();
    let sql = format!(
        "SELECT id FROM stores WHERE merchant_id = {} AND env = {} AND deleted_at IS NULL AND id IN ({})",
        args.text(merchant_id.as_str()),
        args.text(env.as_str()),
        args.texts(ids.iter().map(StoreId::as_str)),
    );
    let rows = args.bind(crate::query(&sql)).fetch_all(conn).await?;
    rows.iter()
        .map(|r| Ok(StoreId::from_trusted(r.try_get("id")?)))
        .collect()
}

/// One page of live stores in id (creation) order, after `after`, matching `filter`.
pub async fn list(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    filter: &StoreFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<StoreRow>, StoreError> {
    let mut args = Args::default();
    let mut sql = format!(
        "SELECT {COLUMNS} FROM stores s WHERE s.merchant_id = {} AND s.env = {} AND s.deleted_at IS NULL AND s.id > {}",
        args.text(merchant_id.as_str()),
        args.text(env.as_str()),
        args.text(after.unwrap_or("")),
    );
    if let Some(mode) = &filter.mode {
        sql.push_str(&format!(" AND s.mode = {}", args.text(mode.as_str())));
    }
    if let Some(city) = &filter.city {
        sql.push_str(&format!(
            " AND LOWER(s.city) = {}",
            args.text(city.to_lowercase())
        ));
    }
    if let Some(q) = &filter.name_contains {
        sql.push_str(&format!(
            " AND LOWER(s.name) LIKE {} ESCAPE '\\'",
            args.text(contains_pattern(q))
        ));
    }
    sql.push_str(&format!(" ORDER BY s.id LIMIT {}", args.int(limit)));
    let rows = args.bind(crate::query(&sql)).fetch_all(conn).await?;
    rows.iter().map(from_row).collect()
}

/// Writes every changeable field of a live store; answers whether it was found.
pub async fn update(conn: &mut Conn, s: &StoreRow) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE stores SET name = $4, mode = $5, url = $6, address_line = $7, city = $8, \
         postal_code = $9, country = $10, latitude_e7 = $11, longitude_e7 = $12, updated_at = $13 \
         WHERE merchant_id = $1 AND env = $2 AND id = $3 AND deleted_at IS NULL",
    )
    .bind(s.merchant_id.as_str())
    .bind(s.env.as_str())
    .bind(s.id.as_str())
    .bind(&s.name)
    .bind(&s.mode)
    .bind(s.url.as_deref())
    .bind(s.address_line.as_deref())
    .bind(s.city.as_deref())
    .bind(s.postal_code.as_deref())
    .bind(s.country.as_deref())
    .bind(s.latitude_e7)
    .bind(s.longitude_e7)
    .bind(s.updated_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a live store deleted and detaches it from every deal and offer.
pub async fn soft_delete(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &StoreId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE stores SET deleted_at = $4, updated_at = $4 \
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
            .remove_store(&mut *conn, merchant_id, id.as_str())
            .await?;
        OFFER_STORES
            .remove_store(conn, merchant_id, id.as_str())
            .await?;
        Ok(true)
    } else {
        Ok(false)
    }
}

/// The live deals each of `ids` carries, as `(store, deal)` pairs.
pub async fn deal_links(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    ids: &[StoreId],
) -> Result<Vec<(StoreId, DealId)>, StoreError> {
    let ids: Vec<&str> = ids.iter().map(StoreId::as_str).collect();
    Ok(DEAL_STORES
        .owners_of(conn, merchant_id, env, &ids)
        .await?
        .into_iter()
        .map(|(s, d)| (StoreId::from_trusted(s), DealId::from_trusted(d)))
        .collect())
}

/// The live offers each of `ids` carries, as `(store, offer)` pairs.
pub async fn offer_links(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    ids: &[StoreId],
) -> Result<Vec<(StoreId, OfferId)>, StoreError> {
    let ids: Vec<&str> = ids.iter().map(StoreId::as_str).collect();
    Ok(OFFER_STORES
        .owners_of(conn, merchant_id, env, &ids)
        .await?
        .into_iter()
        .map(|(s, o)| (StoreId::from_trusted(s), OfferId::from_trusted(o)))
        .collect())
}
