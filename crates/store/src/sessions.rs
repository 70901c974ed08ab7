//! Dashboard sessions (stored by token hash) and the instance secrets that sign dashboard cookies.

use crate::Conn;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{Env, MemberId, MerchantId, SessionId};

use crate::StoreError;

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub merchant_id: MerchantId,
    pub id: SessionId,
    pub member_id: MemberId,
    /// SHA-256 of the cookie token; the token itself is never stored.
    pub token_hash: String,
    pub env: Env,
    /// Per-session anti-forgery token, useless without the session cookie.
    pub csrf_token: String,
    pub ip: String,
    pub user_agent: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// Absolute end of the session, whatever the activity.
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

const COLUMNS: &str = "merchant_id, id, member_id, token_hash, env, csrf_token, ip, user_agent, \
                       created_at, last_seen_at, expires_at, revoked_at";

fn from_row(row: &crate::DbRow) -> Result<SessionRow, StoreError> {
    let env: String = row.try_get("env")?;
    let revoked: Option<Timestamp> = row.try_get("revoked_at")?;
    Ok(SessionRow {
        merchant_id: crate::db::parsed::<MerchantId>(row, "merchant_id")?,
        id: crate::db::parsed::<SessionId>(row, "id")?,
        member_id: crate::db::parsed::<MemberId>(row, "member_id")?,
        token_hash: row.try_get("token_hash")?,
        env: if env == "dev" { Env::Dev } else { Env::Prod },
        csrf_token: row.try_get("csrf_token")?,
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
        created_at: row.try_get::<Timestamp>("created_at")?,
        last_seen_at: row.try_get::<Timestamp>("last_seen_at")?,
        expires_at: row.try_get::<Timestamp>("expires_at")?,
        revoked_at: revoked,
    })
}

pub async fn insert(conn: &mut Conn, s: &SessionRow) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO sessions (merchant_id, id, member_id, token_hash, env, csrf_token, ip, user_agent, \
         created_at, last_seen_at, expires_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(s.merchant_id.as_str())
    .bind(s.id.as_str())
    .bind(s.member_id.as_str())
    .bind(s.token_hash.as_str())
    .bind(s.env.as_str())
    .bind(s.csrf_token.as_str())
    .bind(s.ip.as_str())
    .bind(s.user_agent.as_str())
    .bind(s.created_at)
    .bind(s.last_seen_at)
    .bind(s.expires_at)
    .bind(s.revoked_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The session a cookie token hash names, revoked or not (the caller judges expiry).
pub async fn find_by_token_hash(
    conn: &mut Conn,
    token_hash: &str,
) -> Result<Option<SessionRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM sessions WHERE token_hash = $1");
    let row = crate::query(&sql)
        .bind(token_hash)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Slides the idle expiry: records activity when the last record is older than `stale_before`.
pub async fn touch(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    id: &SessionId,
    now: Timestamp,
    stale_before: Timestamp,
) -> Result<(), StoreError> {
    crate::query(
        "UPDATE sessions SET last_seen_at = $3 \
         WHERE merchant_id = $1 AND id = $2 AND last_seen_at < $4 AND revoked_at IS NULL",
    )
    .bind(merchant_id.as_str())
    .bind(id.as_str())
    .bind(now)
    .bind(stale_before)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_env(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    id: &SessionId,
    env: Env,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE sessions SET env = $3 WHERE merchant_id = $1 AND id = $2 AND revoked_at IS NULL",
    )
    .bind(merchant_id.as_str())
    .bind(id.as_str())
    .bind(env.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn revoke(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    id: &SessionId,
    now: Timestamp,
) -> Result<(), StoreError> {
    crate::query(
        "UPDATE sessions SET revoked_at = $3 WHERE merchant_id = $1 AND id = $2 AND revoked_at IS NULL",
    )
    .bind(merchant_id.as_str())
    .bind(id.as_str())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends every live session of a merchant (freeze, reported login); answers how many ended.
pub async fn revoke_all_for_merchant(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    now: Timestamp,
) -> Result<u64, StoreError> {
    let done = crate::query(
        "UPDATE sessions SET revoked_at = $2 WHERE merchant_id = $1 AND revoked_at IS NULL",
    )
    .bind(merchant_id.as_str())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The instance-wide secret called `name`: the first server to ask stores `candidate`, every
/// later one (on any node) reads the same value back.
pub async fn instance_secret(
    conn: &mut Conn,
    name: &str,
    candidate: &str,
    now: Timestamp,
) -> Result<String, StoreError> {
    crate::query(
        "INSERT INTO instance_secrets (name, value, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(candidate)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let row = crate::query("SELECT value FROM instance_secrets WHERE name = $1")
        .bind(name)
        .fetch_one(conn)
        .await?;
    row.try_get("value")
}

/// Ends every live session of one member but `keep` (the browser that changed the password);
/// answers how many ended.
pub async fn revoke_all_for_member(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    member_id: &MemberId,
    keep: Option<&SessionId>,
    now: Timestamp,
) -> Result<u64, StoreError> {
    let done = crate::query(
        "UPDATE sessions SET revoked_at = $3 WHERE merchant_id = $1 AND member_id = $2 \
         AND revoked_at IS NULL AND id <> $4",
    )
    .bind(merchant_id.as_str())
    .bind(member_id.as_str())
    .bind(now)
    .bind(keep.map_or("", |k| k.as_str()))
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
