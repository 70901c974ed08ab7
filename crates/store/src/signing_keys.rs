//! The server's keys that sign QR tokens, and the hashes of leads' member-page tokens.

use punchcard_domain::time::Timestamp;
use punchcard_domain::{Env, LeadId, MerchantId};

use crate::leads::LeadRow;
use crate::{Conn, StoreError};

/// A signing key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRow {
    pub id: String,
    pub secret: String,
    pub created_at: Timestamp,
    pub retires_at: Option<Timestamp>,
}

/// The keys that still verify at `now`, newest first (the first one signs).
pub async fn valid_at(conn: &mut Conn, now: Timestamp) -> Result<Vec<SigningKeyRow>, StoreError> {
    crate::query(
        "SELECT id, secret, created_at, retires_at FROM signing_keys \
         WHERE retires_at IS NULL OR retires_at > $1 ORDER BY created_at DESC, id DESC",
    )
    .bind(now)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        Ok(SigningKeyRow {
            id: r.try_get("id")?,
            secret: r.try_get("secret")?,
            created_at: r.try_get("created_at")?,
            retires_at: r.try_get("retires_at")?,
        })
    })
    .collect()
}

/// Adds a key; it signs from now on. Keys in use before it retire at `others_retire_at`.
pub async fn rotate(
    conn: &mut Conn,
    key: &SigningKeyRow,
    others_retire_at: Timestamp,
) -> Result<(), StoreError> {
    crate::query(
        "UPDATE signing_keys SET retires_at = $1 WHERE retires_at IS NULL OR retires_at > $1",
    )
    .bind(others_retire_at)
    .execute(&mut *conn)
    .await?;
    crate::query(
        "INSERT INTO signing_keys (id, secret, created_at, retires_at) VALUES ($1, $2, $3, NULL)",
    )
    .bind(key.id.as_str())
    .bind(key.secret.as_str())
    .bind(key.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds the first key, unless there is one already (another server may add its own at the
/// same moment: both then verify, and the newer signs).
pub async fn insert_first(conn: &mut Conn, key: &SigningKeyRow) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO signing_keys (id, secret, created_at, retires_at) \
         SELECT $1, $2, $3, NULL WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE retires_at IS NULL)",
    )
    .bind(key.id.as_str())
    .bind(key.secret.as_str())
    .bind(key.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives a lead a new member-page token (its hash); the old one stops reaching it. `false`
/// when no such live lead.
pub async fn set_member_token(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    lead_id: &LeadId,
    token_hash: &str,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE leads SET member_token_hash = $4 \
         WHERE merchant_id = $1 AND env = $2 AND id = $3 AND deleted_at IS NULL",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(lead_id.as_str())
    .bind(token_hash)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The live lead whose member-page token has this hash.
pub async fn lead_of_member_token(
    conn: &mut Conn,
    token_hash: &str,
) -> Result<Option<LeadRow>, StoreError> {
    let row = crate::query(format!(
        "SELECT {} FROM leads WHERE member_token_hash = $1 AND deleted_at IS NULL",
        crate::leads::COLUMNS
    ))
    .bind(token_hash)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(crate::leads::from_row).transpose()
}
