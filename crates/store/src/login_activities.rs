//! Recorded dashboard sign-ins of a merchant's members.

use crate::Conn;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{LoginActivityId, MemberId, MerchantId};

use crate::StoreError;

#[derive(Debug, Clone)]
pub struct LoginActivityRow {
    pub merchant_id: MerchantId,
    pub id: LoginActivityId,
    pub member_id: MemberId,
    pub ip: String,
    pub user_agent: String,
    pub created_at: Timestamp,
    pub reported_at: Option<Timestamp>,
}

/// A login activity with the email of the member who signed in.
#[derive(Debug, Clone)]
pub struct LoginActivityView {
    pub activity: LoginActivityRow,
    pub email: Option<String>,
}

fn from_row(row: &crate::DbRow) -> Result<LoginActivityRow, StoreError> {
    let reported: Option<Timestamp> = row.try_get("reported_at")?;
    Ok(LoginActivityRow {
        merchant_id: crate::db::parsed::<MerchantId>(row, "merchant_id")?,
        id: crate::db::parsed::<LoginActivityId>(row, "id")?,
        member_id: crate::db::parsed::<MemberId>(row, "member_id")?,
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
        created_at: row.try_get::<Timestamp>("created_at")?,
        reported_at: reported,
    })
}

pub async fn insert(conn: &mut Conn, a: &LoginActivityRow) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO login_activities (merchant_id, id, member_id, ip, user_agent, created_at, reported_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(a.merchant_id.as_str())
    .bind(a.id.as_str())
    .bind(a.member_id.as_str())
    .bind(a.ip.as_str())
    .bind(a.user_agent.as_str())
    .bind(a.created_at)
    .bind(a.reported_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The distinct addresses earlier sign-ins to this merchant came from.
pub async fn known_ips(
    conn: &mut Conn,
    merchant_id: &MerchantId,
) -> Result<Vec<String>, StoreError> {
    let rows = crate::query("SELECT DISTINCT ip FROM login_activities WHERE merchant_id = $1")
        .bind(merchant_id.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter().map(|r| r.try_get("ip")).collect()
}

/// Newest first, at most `limit`.
pub async fn list(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    limit: i64,
) -> Result<Vec<LoginActivityView>, StoreError> {
    let rows = crate::query(
        "SELECT a.merchant_id, a.id, a.member_id, a.ip, a.user_agent, a.created_at, a.reported_at, \
           m.email AS email \
         FROM login_activities a \
         LEFT JOIN members m ON m.merchant_id = a.merchant_id AND m.id = a.member_id \
         WHERE a.merchant_id = $1 ORDER BY a.created_at DESC, a.id DESC LIMIT $2",
    )
    .bind(merchant_id.as_str())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(LoginActivityView {
                activity: from_row(r)?,
                email: r.try_get("email")?,
            })
        })
        .collect()
}

/// Marks an activity reported; answers whether it belongs to the merchant.
pub async fn mark_reported(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    id: &LoginActivityId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE login_activities SET reported_at = COALESCE(reported_at, $3) \
         WHERE merchant_id = $1 AND id = $2",
    )
    .bind(merchant_id.as_str())
    .bind(id.as_str())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
