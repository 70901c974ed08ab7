//! A merchant's currencies.

use punchcard_domain::time::Timestamp;
use punchcard_domain::{CurrencyId, MerchantId};
use sqlx::{AnyConnection, Row};

use crate::StoreError;

#[derive(Debug, Clone)]
pub struct CurrencyRow {
    pub merchant_id: MerchantId,
    pub id: CurrencyId,
    pub code: String,
    pub name: String,
    pub coins_per_unit: String,
    pub created_at: Timestamp,
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<CurrencyRow, StoreError> {
    Ok(CurrencyRow {
        merchant_id: MerchantId::from_trusted(row.try_get("merchant_id")?),
        id: CurrencyId::from_trusted(row.try_get("id")?),
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        coins_per_unit: row.try_get("coins_per_unit")?,
        created_at: Timestamp::from_db(&row.try_get::<String, _>("created_at")?),
    })
}

pub async fn insert(conn: &mut AnyConnection, c: &CurrencyRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO currencies (merchant_id, id, code, name, coins_per_unit, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(c.merchant_id.as_str())
    .bind(c.id.as_str())
    .bind(&c.code)
    .bind(&c.name)
    .bind(&c.coins_per_unit)
    .bind(c.created_at.to_db())
    .execute(conn)
    .await?;
    Ok(())
}

/// One page of currencies in id order, starting after `after`.
pub async fn list(
    conn: &mut AnyConnection,
    merchant_id: &MerchantId,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<CurrencyRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT merchant_id, id, code, name, coins_per_unit, created_at FROM currencies \
         WHERE merchant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(merchant_id.as_str())
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// One currency of the merchant.
pub async fn find(
    conn: &mut AnyConnection,
    merchant_id: &MerchantId,
    id: &str,
) -> Result<Option<CurrencyRow>, StoreError> {
    let row = sqlx::query(
        "SELECT merchant_id, id, code, name, coins_per_unit, created_at FROM currencies \
         WHERE merchant_id = $1 AND id = $2",
    )
    .bind(merchant_id.as_str())
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}
