//! Allowed IP entries: per merchant, per source (`api` or `dashboard`), an address or CIDR.
//! Servers cache them, so the writes here take the transaction and publish
//! [`Topic::AllowedIps`] with it.

use crate::Conn;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{AllowedIpId, MerchantId};

use crate::changes::{publish, Topic};
use crate::{StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedIpRow {
    pub merchant_id: MerchantId,
    pub id: AllowedIpId,
    pub source: String,
    pub cidr: String,
    pub created_at: Timestamp,
}

fn from_row(row: &crate::DbRow) -> Result<AllowedIpRow, StoreError> {
    Ok(AllowedIpRow {
        merchant_id: crate::db::parsed::<MerchantId>(row, "merchant_id")?,
        id: crate::db::parsed::<AllowedIpId>(row, "id")?,
        source: row.try_get("source")?,
        cidr: row.try_get("cidr")?,
        created_at: row.try_get::<Timestamp>("created_at")?,
    })
}

pub async fn count(conn: &mut Conn, merchant_id: &MerchantId) -> Result<i64, StoreError> {
    let n: i64 = crate::query("SELECT COUNT(*) FROM allowed_ips WHERE merchant_id = $1")
        .bind(merchant_id.as_str())
        .scalar(conn)
        .await?;
    Ok(n)
}

pub async fn exists(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    source: &str,
    cidr: &str,
) -> Result<bool, StoreError> {
    let n: i64 = crate::query(
        "SELECT COUNT(*) FROM allowed_ips WHERE merchant_id = $1 AND source = $2 AND cidr = $3",
    )
    .bind(merchant_id.as_str())
    .bind(source)
    .bind(cidr)
    .scalar(conn)
    .await?;
    Ok(n > 0)
}

pub async fn insert(tx: &mut Tx, r: &AllowedIpRow) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO allowed_ips (merchant_id, id, source, cidr, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(r.merchant_id.as_str())
    .bind(r.id.as_str())
    .bind(&r.source)
    .bind(&r.cidr)
    .bind(r.created_at)
    .execute(tx)
    .await?;
    publish(tx, Topic::AllowedIps(r.merchant_id.clone())).await
}

pub async fn list(
    conn: &mut Conn,
    merchant_id: &MerchantId,
) -> Result<Vec<AllowedIpRow>, StoreError> {
    let rows = crate::query(
        "SELECT merchant_id, id, source, cidr, created_at FROM allowed_ips WHERE merchant_id = $1 \
         ORDER BY source, created_at, id",
    )
    .bind(merchant_id.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// The CIDRs of one source, as stored.
pub async fn cidrs_for_source(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    source: &str,
) -> Result<Vec<String>, StoreError> {
    let rows: Vec<String> =
        crate::query("SELECT cidr FROM allowed_ips WHERE merchant_id = $1 AND source = $2")
            .bind(merchant_id.as_str())
            .bind(source)
            .scalars(conn)
            .await?;
    Ok(rows)
}

/// Deletes one entry; answers whether it existed.
pub async fn delete(
    tx: &mut Tx,
    merchant_id: &MerchantId,
    id: &AllowedIpId,
) -> Result<bool, StoreError> {
    let done = crate::query("DELETE FROM allowed_ips WHERE merchant_id = $1 AND id = $2")
        .bind(merchant_id.as_str())
        .bind(id.as_str())
        .execute(tx)
        .await?;
    let deleted = done.rows_affected() == 1;
    if deleted {
        publish(tx, Topic::AllowedIps(merchant_id.clone())).await?;
    }
    Ok(deleted)
}
