//! A merchant's currencies.

use punchcard_domain::currency::CoinsPerUnit;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{CurrencyId, MerchantId};

use crate::{Backend, Conn, StoreError};

#[derive(Debug, Clone)]
pub struct CurrencyRow {
    pub merchant_id: MerchantId,
    pub id: CurrencyId,
    pub code: String,
    pub name: String,
    pub coins_per_unit: CoinsPerUnit,
    pub created_at: Timestamp,
}

fn from_row(row: &crate::DbRow) -> Result<CurrencyRow, StoreError> {
    Ok(CurrencyRow {
        merchant_id: crate::db::parsed::<MerchantId>(row, "merchant_id")?,
        id: crate::db::parsed::<CurrencyId>(row, "id")?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        coins_per_unit: {
            // An exact NUMERIC on PostgreSQL, its decimal text on SQLite.
            let text: String = row.try_get("coins_per_unit")?;
            CoinsPerUnit::parse(&text).map_err(|_| {
                StoreError::from(sqlx::Error::Decode(
                    format!("bad coins_per_unit `{text}`").into(),
                ))
            })?
        },
        created_at: row.try_get::<Timestamp>("created_at")?,
    })
}

pub async fn insert(conn: &mut Conn, c: &CurrencyRow) -> Result<(), StoreError> {
    let rate = match conn.backend() {
        Backend::Postgres => "CAST($5 AS NUMERIC)",
        Backend::Sqlite => "$5",
    };
    crate::query(format!(
        "INSERT INTO currencies (merchant_id, id, code, name, coins_per_unit, created_at) \
         VALUES ($1, $2, $3, $4, {rate}, $6)"
    ))
    .bind(c.merchant_id.as_str())
    .bind(c.id.as_str())
    .bind(&c.code)
    .bind(&c.name)
    .bind(c.coins_per_unit.to_string())
    .bind(c.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// One page of currencies in id order, starting after `after`.
pub async fn list(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<CurrencyRow>, StoreError> {
    let rows = crate::query(
        "SELECT merchant_id, id, code, name, CAST(coins_per_unit AS TEXT) AS coins_per_unit, created_at FROM currencies \
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
    conn: &mut Conn,
    merchant_id: &MerchantId,
    id: &str,
) -> Result<Option<CurrencyRow>, StoreError> {
    let row = crate::query(
        "SELECT merchant_id, id, code, name, CAST(coins_per_unit AS TEXT) AS coins_per_unit, created_at FROM currencies \
         WHERE merchant_id = $1 AND id = $2",
    )
    .bind(merchant_id.as_str())
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The codes of currencies named by id, whichever merchant's they are: a swap contract names
/// a currency of each side, and each side shows the other's by its code.
pub async fn codes_of(
    conn: &mut Conn,
    ids: &[&str],
) -> Result<Vec<(CurrencyId, String)>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    use sea_query::{Alias, Expr};
    let select = sea_query::Query::select()
        .columns(["id", "code"].map(Alias::new))
        .from(Alias::new("currencies"))
        .and_where(Expr::col(Alias::new("id")).is_in(ids.iter().copied()))
        .to_owned();
    let rows = crate::statement(&select).fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            Ok((
                crate::db::parsed::<CurrencyId>(r, "id")?,
                r.try_get("code")?,
            ))
        })
        .collect()
}
