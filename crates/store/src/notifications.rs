//! Notifications shown to a merchant in the dashboard.

use crate::Conn;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{MerchantId, NotificationId};

use crate::StoreError;

#[derive(Debug, Clone)]
pub struct NotificationRow {
    pub merchant_id: MerchantId,
    pub id: NotificationId,
    /// A stable machine name (`kyc_approved`, `api_key_created`, `new_login_ip` …).
    pub kind: String,
    pub title: String,
    pub body: String,
    pub created_at: Timestamp,
    pub read_at: Option<Timestamp>,
}

fn from_row(row: &crate::DbRow) -> Result<NotificationRow, StoreError> {
    let read: Option<Timestamp> = row.try_get("read_at")?;
    Ok(NotificationRow {
        merchant_id: crate::db::parsed::<MerchantId>(row, "merchant_id")?,
        id: crate::db::parsed::<NotificationId>(row, "id")?,
        kind: row.try_get("kind")?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        created_at: row.try_get::<Timestamp>("created_at")?,
        read_at: read,
    })
}

pub async fn insert(conn: &mut Conn, n: &NotificationRow) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO notifications (merchant_id, id, kind, title, body, created_at, read_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(n.merchant_id.as_str())
    .bind(n.id.as_str())
    .bind(n.kind.as_str())
    .bind(n.title.as_str())
    .bind(n.body.as_str())
    .bind(n.created_at)
    .bind(n.read_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Newest first, at most `limit`.
pub async fn list(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    limit: i64,
) -> Result<Vec<NotificationRow>, StoreError> {
    let rows = crate::query(
        "SELECT merchant_id, id, kind, title, body, created_at, read_at FROM notifications \
         WHERE merchant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(merchant_id.as_str())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn count_unread(conn: &mut Conn, merchant_id: &MerchantId) -> Result<i64, StoreError> {
    let row = crate::query(
        "SELECT COUNT(*) AS n FROM notifications WHERE merchant_id = $1 AND read_at IS NULL",
    )
    .bind(merchant_id.as_str())
    .fetch_one(conn)
    .await?;
    row.try_get("n")
}

/// Marks as read every notification created up to `up_to` (the ones the member was shown).
pub async fn mark_read(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    up_to: Timestamp,
    now: Timestamp,
) -> Result<u64, StoreError> {
    let done = crate::query(
        "UPDATE notifications SET read_at = $3 \
         WHERE merchant_id = $1 AND read_at IS NULL AND created_at <= $2",
    )
    .bind(merchant_id.as_str())
    .bind(up_to)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
