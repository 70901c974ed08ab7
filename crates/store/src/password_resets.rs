//! Password resets of dashboard members: an emailed link whose token is stored only as a hash,
//! good once and until it expires.

use crate::Conn;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{MemberId, MerchantId, PasswordResetId};

use crate::StoreError;

#[derive(Debug, Clone)]
pub struct PasswordResetRow {
    pub merchant_id: MerchantId,
    pub id: PasswordResetId,
    pub member_id: MemberId,
    pub token_hash: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
}

const COLUMNS: &str = "merchant_id, id, member_id, token_hash, created_at, expires_at, used_at";

fn from_row(row: &crate::DbRow) -> Result<PasswordResetRow, StoreError> {
    Ok(PasswordResetRow {
        merchant_id: crate::db::parsed::<MerchantId>(row, "merchant_id")?,
        id: crate::db::parsed::<PasswordResetId>(row, "id")?,
        member_id: crate::db::parsed::<MemberId>(row, "member_id")?,
        token_hash: row.try_get("token_hash")?,
        created_at: row.try_get::<Timestamp>("created_at")?,
        expires_at: row.try_get::<Timestamp>("expires_at")?,
        used_at: row.try_get::<Option<Timestamp>>("used_at")?,
    })
}

pub async fn insert(conn: &mut Conn, r: &PasswordResetRow) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO password_resets (merchant_id, id, member_id, token_hash, created_at, \
         expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(r.merchant_id.as_str())
    .bind(r.id.as_str())
    .bind(r.member_id.as_str())
    .bind(&r.token_hash)
    .bind(r.created_at)
    .bind(r.expires_at)
    .bind(r.used_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The reset whose link carries the token hashed to `token_hash`, used or not.
pub async fn find_by_token_hash(
    conn: &mut Conn,
    token_hash: &str,
) -> Result<Option<PasswordResetRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM password_resets WHERE token_hash = $1");
    let row = crate::query(&sql)
        .bind(token_hash)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Marks an unused, unexpired reset used; answers whether this call did (exactly once, even
/// when two requests race with the same link).
pub async fn use_once(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    id: &PasswordResetId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE password_resets SET used_at = $3 WHERE merchant_id = $1 AND id = $2 \
         AND used_at IS NULL AND expires_at > $3",
    )
    .bind(merchant_id.as_str())
    .bind(id.as_str())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends every unused reset of a member (a newer link, or the password changed another way).
pub async fn end_all_for_member(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    member_id: &MemberId,
    now: Timestamp,
) -> Result<u64, StoreError> {
    let done = crate::query(
        "UPDATE password_resets SET used_at = $3 WHERE merchant_id = $1 AND member_id = $2 \
         AND used_at IS NULL",
    )
    .bind(merchant_id.as_str())
    .bind(member_id.as_str())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
