//! Idempotency records: the first request with a key claims it, its answer is kept for replays.

use punchcard_domain::time::Timestamp;
use punchcard_domain::{Env, MerchantId};
use sqlx::{AnyConnection, Row};

use crate::StoreError;

/// What a key already holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This request claimed the key and must run.
    Claimed,
    /// An earlier request with the key is still running.
    InFlight { request_hash: String },
    /// An earlier request finished; its answer.
    Done {
        request_hash: String,
        status: i64,
        body: String,
    },
}

/// Claims `key` for a request whose method, path and body hash to `request_hash`.
pub async fn claim(
    conn: &mut AnyConnection,
    merchant_id: &MerchantId,
    env: Env,
    key: &str,
    request_hash: &str,
    now: Timestamp,
) -> Result<Claim, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (merchant_id, env, idem_key, request_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (merchant_id, env, idem_key) DO NOTHING",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(key)
    .bind(request_hash)
    .bind(now.to_db())
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::Claimed);
    }
    let row = sqlx::query(
        "SELECT request_hash, status_code, response_body FROM idempotency_keys \
         WHERE merchant_id = $1 AND env = $2 AND idem_key = $3",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(key)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else {
        // Released between our insert and read: the caller may simply retry.
        return Ok(Claim::InFlight {
            request_hash: request_hash.to_string(),
        });
    };
    let request_hash: String = row.try_get("request_hash")?;
    let status: Option<i64> = row.try_get("status_code")?;
    let body: Option<String> = row.try_get("response_body")?;
    Ok(match (status, body) {
        (Some(status), Some(body)) => Claim::Done {
            request_hash,
            status,
            body,
        },
        _ => Claim::InFlight { request_hash },
    })
}

/// Stores the answer of a claimed key.
pub async fn complete(
    conn: &mut AnyConnection,
    merchant_id: &MerchantId,
    env: Env,
    key: &str,
    status: i64,
    body: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE idempotency_keys SET status_code = $4, response_body = $5 \
         WHERE merchant_id = $1 AND env = $2 AND idem_key = $3",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(key)
    .bind(status)
    .bind(body)
    .execute(conn)
    .await?;
    Ok(())
}

/// Frees a claimed key whose request failed on the server side, so a retry can run.
pub async fn release(
    conn: &mut AnyConnection,
    merchant_id: &MerchantId,
    env: Env,
    key: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE merchant_id = $1 AND env = $2 AND idem_key = $3 AND status_code IS NULL",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(key)
    .execute(conn)
    .await?;
    Ok(())
}
