//! Uploaded files' records; the bytes live in object storage under `storage_key`.

use crate::Conn;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{MerchantId, UploadId};

use crate::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRow {
    pub merchant_id: MerchantId,
    pub id: UploadId,
    /// What the file is attached to: `kyc`, later `deal`, `offer`, `store` …
    pub parent_type: String,
    pub parent_id: String,
    /// The name the person gave the file; shown, never used as a storage path.
    pub name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub storage_key: String,
    pub created_at: Timestamp,
}

const COLUMNS: &str =
    "merchant_id, id, parent_type, parent_id, name, content_type, size_bytes, storage_key, created_at";

fn from_row(row: &crate::DbRow) -> Result<UploadRow, StoreError> {
    Ok(UploadRow {
        merchant_id: crate::db::parsed::<MerchantId>(row, "merchant_id")?,
        id: crate::db::parsed::<UploadId>(row, "id")?,
        parent_type: row.try_get("parent_type")?,
        parent_id: row.try_get("parent_id")?,
        name: row.try_get("name")?,
        content_type: row.try_get("content_type")?,
        size_bytes: row.try_get("size_bytes")?,
        storage_key: row.try_get("storage_key")?,
        created_at: row.try_get::<Timestamp>("created_at")?,
    })
}

pub async fn count_for_parent(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    parent_type: &str,
    parent_id: &str,
) -> Result<i64, StoreError> {
    let n: i64 = crate::query(
        "SELECT COUNT(*) FROM uploads WHERE merchant_id = $1 AND parent_type = $2 AND parent_id = $3",
    )
    .bind(merchant_id.as_str())
    .bind(parent_type)
    .bind(parent_id)
    .scalar(conn)
    .await?;
    Ok(n)
}

pub async fn insert(conn: &mut Conn, u: &UploadRow) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO uploads (merchant_id, id, parent_type, parent_id, name, content_type, size_bytes, storage_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(u.merchant_id.as_str())
    .bind(u.id.as_str())
    .bind(&u.parent_type)
    .bind(&u.parent_id)
    .bind(&u.name)
    .bind(&u.content_type)
    .bind(u.size_bytes)
    .bind(&u.storage_key)
    .bind(u.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn list_for_parent(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    parent_type: &str,
    parent_id: &str,
) -> Result<Vec<UploadRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM uploads WHERE merchant_id = $1 AND parent_type = $2 AND parent_id = $3 \
         ORDER BY created_at, id"
    );
    let rows = crate::query(&sql)
        .bind(merchant_id.as_str())
        .bind(parent_type)
        .bind(parent_id)
        .fetch_all(conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// The uploads of several parents of one type, in upload order.
pub async fn list_for_parents(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    parent_type: &str,
    parent_ids: &[&str],
) -> Result<Vec<UploadRow>, StoreError> {
    if parent_ids.is_empty() {
        return Ok(Vec::new());
    }
    use sea_query::{Alias, Expr, Order};
    let select = sea_query::Query::select()
        .columns(COLUMNS.split(", ").map(Alias::new))
        .from(Alias::new("uploads"))
        .and_where(Expr::col(Alias::new("merchant_id")).eq(merchant_id.as_str()))
        .and_where(Expr::col(Alias::new("parent_type")).eq(parent_type))
        .and_where(Expr::col(Alias::new("parent_id")).is_in(parent_ids.iter().copied()))
        .order_by(Alias::new("created_at"), Order::Asc)
        .order_by(Alias::new("id"), Order::Asc)
        .to_owned();
    let rows = crate::statement(&select).fetch_all(conn).await?;
    rows.iter().map(from_row).collect()
}

pub async fn find(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    id: &UploadId,
) -> Result<Option<UploadRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM uploads WHERE merchant_id = $1 AND id = $2");
    let row = crate::query(&sql)
        .bind(merchant_id.as_str())
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Deletes one record; answers whether it existed.
pub async fn delete(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    id: &UploadId,
) -> Result<bool, StoreError> {
    let done = crate::query("DELETE FROM uploads WHERE merchant_id = $1 AND id = $2")
        .bind(merchant_id.as_str())
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// An upload with the name of what it is attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadWithParent {
    pub upload: UploadRow,
    /// The deal's, offer's or store's name; `None` for KYC documents.
    pub parent_name: Option<String>,
}

/// Every upload of a merchant that the dashboard of `env` shows: the KYC documents (shared by
/// both environments) and the images of the environment's live deals, offers and stores,
/// grouped by parent (type, name, id), each parent's files in upload order.
pub async fn list_with_parents(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: punchcard_domain::Env,
) -> Result<Vec<UploadWithParent>, StoreError> {
    let columns: Vec<String> = COLUMNS.split(", ").map(|c| format!("u.{c}")).collect();
    let sql = format!(
        "SELECT {}, COALESCE(d.name, o.name, s.name) AS parent_name FROM uploads u \
         LEFT JOIN deals d ON u.parent_type = 'deal' AND d.merchant_id = u.merchant_id \
           AND d.id = u.parent_id AND d.env = $2 AND d.deleted_at IS NULL \
         LEFT JOIN offers o ON u.parent_type = 'offer' AND o.merchant_id = u.merchant_id \
           AND o.id = u.parent_id AND o.env = $2 AND o.deleted_at IS NULL \
         LEFT JOIN stores s ON u.parent_type = 'store' AND s.merchant_id = u.merchant_id \
           AND s.id = u.parent_id AND s.env = $2 AND s.deleted_at IS NULL \
         WHERE u.merchant_id = $1 AND (u.parent_type = 'kyc' \
           OR d.id IS NOT NULL OR o.id IS NOT NULL OR s.id IS NOT NULL) \
         ORDER BY u.parent_type, parent_name, u.parent_id, u.created_at, u.id",
        columns.join(", ")
    );
    let rows = crate::query(&sql)
        .bind(merchant_id.as_str())
        .bind(env.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(UploadWithParent {
                upload: from_row(r)?,
                parent_name: r.try_get("parent_name")?,
            })
        })
        .collect()
}
