//! Merchants and their members.

use crate::changes::{publish, Topic};
use crate::{Conn, Tx};
use punchcard_domain::accounts::{Email, MerchantStatus, Role};
use punchcard_domain::time::Timestamp;
use punchcard_domain::{MemberId, MerchantId};

use crate::StoreError;

#[derive(Debug, Clone)]
pub struct MerchantRow {
    pub id: MerchantId,
    pub name: String,
    pub status: MerchantStatus,
    pub rejection_reason: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct MemberRow {
    pub merchant_id: MerchantId,
    pub id: MemberId,
    pub email: Email,
    pub password_hash: Option<String>,
    pub role: Role,
    pub status: String,
    pub created_at: Timestamp,
}

fn merchant_from_row(row: &crate::DbRow) -> Result<MerchantRow, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(MerchantRow {
        id: crate::db::parsed::<MerchantId>(row, "id")?,
        name: row.try_get("name")?,
        status: MerchantStatus::parse(&status)
            .ok_or_else(|| crate::db::bad_value("status", &status))?,
        rejection_reason: row.try_get("rejection_reason")?,
        created_at: row.try_get::<Timestamp>("created_at")?,
    })
}

fn member_from_row(row: &crate::DbRow) -> Result<MemberRow, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(MemberRow {
        merchant_id: crate::db::parsed::<MerchantId>(row, "merchant_id")?,
        id: crate::db::parsed::<MemberId>(row, "id")?,
        email: Email::from_trusted(row.try_get("email")?),
        password_hash: row.try_get("password_hash")?,
        role: Role::parse(&role).ok_or_else(|| crate::db::bad_value("role", &role))?,
        status: row.try_get("status")?,
        created_at: row.try_get::<Timestamp>("created_at")?,
    })
}

const MERCHANT_COLUMNS: &str = "id, name, status, rejection_reason, created_at";
const MEMBER_COLUMNS: &str = "merchant_id, id, email, password_hash, role, status, created_at";

pub async fn insert_merchant(
    conn: &mut Conn,
    id: &MerchantId,
    name: &str,
    status: MerchantStatus,
    now: Timestamp,
) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO merchants (id, name, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(id.as_str())
    .bind(name)
    .bind(status.as_str())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find_merchant(
    conn: &mut Conn,
    id: &MerchantId,
) -> Result<Option<MerchantRow>, StoreError> {
    let sql = format!("SELECT {MERCHANT_COLUMNS} FROM merchants WHERE id = $1");
    let row = crate::query(&sql)
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(merchant_from_row).transpose()
}

/// The merchant's time zone: which calendar day it is for its surprises and task periods.
pub async fn time_zone(
    conn: &mut Conn,
    id: &MerchantId,
) -> Result<Option<punchcard_domain::time::TimeZone>, StoreError> {
    let name: Option<String> = crate::query("SELECT time_zone FROM merchants WHERE id = $1")
        .bind(id.as_str())
        .scalar_optional(conn)
        .await?;
    name.map(|n| n.parse().map_err(|_| crate::db::bad_value("time_zone", &n)))
        .transpose()
}

/// Sets the merchant's time zone; answers whether the merchant exists.
pub async fn set_time_zone(
    conn: &mut Conn,
    id: &MerchantId,
    time_zone: &punchcard_domain::time::TimeZone,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = crate::query("UPDATE merchants SET time_zone = $2, updated_at = $3 WHERE id = $1")
        .bind(id.as_str())
        .bind(time_zone.name())
        .bind(now)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves a merchant between statuses when it is in one of `from`; answers whether it moved.
/// Every server hears of the move when the transaction commits.
pub async fn set_merchant_status(
    tx: &mut Tx,
    id: &MerchantId,
    from: &[MerchantStatus],
    to: MerchantStatus,
    rejection_reason: Option<&str>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let from_list: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
    // Freezing remembers where the merchant was; unfreezing goes back there.
    let sql = format!(
        "UPDATE merchants SET \
           status_before_freeze = CASE WHEN $2 = 'frozen' THEN status ELSE NULL END, \
           status = $2, rejection_reason = $3, updated_at = $4 \
         WHERE id = $1 AND status IN ({})",
        from_list.join(", ")
    );
    let done = crate::query(&sql)
        .bind(id.as_str())
        .bind(to.as_str())
        .bind(rejection_reason)
        .bind(now)
        .execute(tx)
        .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    publish(tx, Topic::MerchantStatus(id.clone())).await?;
    Ok(true)
}

/// Unfreezes a frozen merchant back to the status it had; answers whether it was frozen.
pub async fn unfreeze_merchant(
    tx: &mut Tx,
    id: &MerchantId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE merchants SET status = COALESCE(status_before_freeze, 'active'), \
         status_before_freeze = NULL, updated_at = $2 WHERE id = $1 AND status = 'frozen'",
    )
    .bind(id.as_str())
    .bind(now)
    .execute(tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    publish(tx, Topic::MerchantStatus(id.clone())).await?;
    Ok(true)
}

pub async fn list_merchants(conn: &mut Conn) -> Result<Vec<MerchantRow>, StoreError> {
    let sql = format!("SELECT {MERCHANT_COLUMNS} FROM merchants ORDER BY id");
    let rows = crate::query(&sql).fetch_all(conn).await?;
    rows.iter().map(merchant_from_row).collect()
}

pub async fn insert_member(conn: &mut Conn, m: &MemberRow) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO members (merchant_id, id, email, password_hash, role, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(m.merchant_id.as_str())
    .bind(m.id.as_str())
    .bind(m.email.as_str())
    .bind(m.password_hash.as_deref())
    .bind(m.role.as_str())
    .bind(m.status.as_str())
    .bind(m.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find_member_by_email(
    conn: &mut Conn,
    email: &Email,
) -> Result<Option<MemberRow>, StoreError> {
    let sql = format!("SELECT {MEMBER_COLUMNS} FROM members WHERE email = $1");
    let row = crate::query(&sql)
        .bind(email.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(member_from_row).transpose()
}

pub async fn find_member(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    id: &MemberId,
) -> Result<Option<MemberRow>, StoreError> {
    let sql = format!("SELECT {MEMBER_COLUMNS} FROM members WHERE merchant_id = $1 AND id = $2");
    let row = crate::query(&sql)
        .bind(merchant_id.as_str())
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(member_from_row).transpose()
}

pub async fn list_members(
    conn: &mut Conn,
    merchant_id: &MerchantId,
) -> Result<Vec<MemberRow>, StoreError> {
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM members WHERE merchant_id = $1 ORDER BY created_at, id"
    );
    let rows = crate::query(&sql)
        .bind(merchant_id.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter().map(member_from_row).collect()
}

pub async fn set_member_password(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    id: &MemberId,
    password_hash: &str,
    status: &str,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE members SET password_hash = $3, status = $4 WHERE merchant_id = $1 AND id = $2",
    )
    .bind(merchant_id.as_str())
    .bind(id.as_str())
    .bind(password_hash)
    .bind(status)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The merchant's owner (the member who signed up or was created by the operator).
pub async fn find_owner(
    conn: &mut Conn,
    merchant_id: &MerchantId,
) -> Result<Option<MemberRow>, StoreError> {
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM members WHERE merchant_id = $1 AND role = 'owner' ORDER BY created_at LIMIT 1"
    );
    let row = crate::query(&sql)
        .bind(merchant_id.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(member_from_row).transpose()
}

/// Locks the merchant row for the rest of the transaction, serialising counted inserts
/// (API keys, allowed IPs) per merchant; answers whether the merchant exists.
pub async fn lock_merchant(conn: &mut Conn, id: &MerchantId) -> Result<bool, StoreError> {
    let done = crate::query("UPDATE merchants SET updated_at = updated_at WHERE id = $1")
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a member who is not the owner; their sessions end with them. Answers whether one
/// was removed.
pub async fn delete_member(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    id: &MemberId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    crate::query(
        "UPDATE sessions SET revoked_at = $3 WHERE merchant_id = $1 AND member_id = $2 AND revoked_at IS NULL",
    )
    .bind(merchant_id.as_str())
    .bind(id.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let done =
        crate::query("DELETE FROM members WHERE merchant_id = $1 AND id = $2 AND role <> 'owner'")
            .bind(merchant_id.as_str())
            .bind(id.as_str())
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}
