//! Invitations to join a merchant as admin or staff.

use crate::Conn;
use punchcard_domain::accounts::{Email, Role};
use punchcard_domain::time::Timestamp;
use punchcard_domain::{InvitationId, MemberId, MerchantId};

use crate::StoreError;

#[derive(Debug, Clone)]
pub struct InvitationRow {
    pub merchant_id: MerchantId,
    pub id: InvitationId,
    pub email: Email,
    pub role: Role,
    pub token_hash: String,
    pub invited_by: MemberId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub accepted_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

const COLUMNS: &str = "merchant_id, id, email, role, token_hash, invited_by, created_at, expires_at, accepted_at, revoked_at";

fn from_row(row: &crate::DbRow) -> Result<InvitationRow, StoreError> {
    let role: String = row.try_get("role")?;
    let ts = |name: &str| -> Result<Option<Timestamp>, StoreError> {
        row.try_get::<Option<Timestamp>>(name)
    };
    Ok(InvitationRow {
        merchant_id: crate::db::parsed::<MerchantId>(row, "merchant_id")?,
        id: crate::db::parsed::<InvitationId>(row, "id")?,
        email: Email::from_trusted(row.try_get("email")?),
        role: Role::parse(&role).ok_or_else(|| crate::db::bad_value("role", &role))?,
        token_hash: row.try_get("token_hash")?,
        invited_by: crate::db::parsed::<MemberId>(row, "invited_by")?,
        created_at: row.try_get::<Timestamp>("created_at")?,
        expires_at: row.try_get::<Timestamp>("expires_at")?,
        accepted_at: ts("accepted_at")?,
        revoked_at: ts("revoked_at")?,
    })
}

pub async fn insert(conn: &mut Conn, i: &InvitationRow) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO invitations (merchant_id, id, email, role, token_hash, invited_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(i.merchant_id.as_str())
    .bind(i.id.as_str())
    .bind(i.email.as_str())
    .bind(i.role.as_str())
    .bind(&i.token_hash)
    .bind(i.invited_by.as_str())
    .bind(i.created_at)
    .bind(i.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Invitations neither accepted nor revoked nor expired, newest first.
pub async fn list_pending(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    now: Timestamp,
) -> Result<Vec<InvitationRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM invitations WHERE merchant_id = $1 AND accepted_at IS NULL \
         AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at DESC, id DESC"
    );
    let rows = crate::query(&sql)
        .bind(merchant_id.as_str())
        .bind(now)
        .fetch_all(conn)
        .await?;
    rows.iter().map(from_row).collect()
}

pub async fn find_by_token_hash(
    conn: &mut Conn,
    token_hash: &str,
) -> Result<Option<InvitationRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM invitations WHERE token_hash = $1");
    let row = crate::query(&sql)
        .bind(token_hash)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Revokes one pending invitation; answers whether it was pending.
pub async fn revoke(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    id: &InvitationId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE invitations SET revoked_at = $3 WHERE merchant_id = $1 AND id = $2 \
         AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(merchant_id.as_str())
    .bind(id.as_str())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes every pending invitation of an email (a new one replaces them).
pub async fn revoke_for_email(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    email: &Email,
    now: Timestamp,
) -> Result<u64, StoreError> {
    let done = crate::query(
        "UPDATE invitations SET revoked_at = $3 WHERE merchant_id = $1 AND email = $2 \
         AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(merchant_id.as_str())
    .bind(email.as_str())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Marks a pending, unexpired invitation accepted; answers whether it was (exactly once).
pub async fn accept(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    id: &InvitationId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE invitations SET accepted_at = $3 WHERE merchant_id = $1 AND id = $2 \
         AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3",
    )
    .bind(merchant_id.as_str())
    .bind(id.as_str())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Members plus pending invitations of a merchant, for its cap.
pub async fn count_seats(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    now: Timestamp,
) -> Result<i64, StoreError> {
    let n: i64 = crate::query(
        "SELECT (SELECT COUNT(*) FROM members WHERE merchant_id = $1) + \
                (SELECT COUNT(*) FROM invitations WHERE merchant_id = $1 AND accepted_at IS NULL \
                 AND revoked_at IS NULL AND expires_at > $2)",
    )
    .bind(merchant_id.as_str())
    .bind(now)
    .scalar(conn)
    .await?;
    Ok(n)
}
