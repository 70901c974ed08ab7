//! Idempotency records: the first request with a key claims it under a lease, its answer is
//! kept for replays, and a claim whose server died is taken over by the next retry.
//!
//! A claim names its holder (a token unique to one attempt) and how long it holds
//! (`lease_until`, renewed while the request runs). The action's own transaction records
//! `applied_by` through the [`Fence`] (see [`crate::commit`]), and only while the attempt still
//! holds the key: so an attempt that lost its claim can never commit, and a retry that takes a
//! claim over knows whether the earlier attempt's action was applied.

use crate::Conn;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{Env, MerchantId};

use crate::StoreError;

/// What a key already holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This request claimed the key and must run.
    Claimed,
    /// This request took over a claim whose holder stopped renewing it. `applied` tells
    /// whether the earlier attempt's action committed (its answer was lost).
    TakenOver { applied: bool },
    /// An earlier request with the key is still running.
    InFlight { request_hash: String },
    /// An earlier request finished; its answer.
    Done {
        request_hash: String,
        status: i64,
        body: String,
    },
}

/// The claim an attempt holds, checked by every transaction the attempt commits.
#[derive(Debug, Clone)]
pub struct Fence {
    pub merchant_id: MerchantId,
    pub env: Env,
    pub key: String,
    pub holder: String,
}

tokio::task_local! {
    /// The claim of the idempotent request this task runs, if any.
    pub static FENCE: Fence;
}

/// Claims `key` for a request whose method, path and body hash to `request_hash`, holding it
/// as `holder` until `lease_until`; an expired claim is taken over.
#[allow(clippy::too_many_arguments)]
pub async fn claim(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    key: &str,
    request_hash: &str,
    holder: &str,
    now: Timestamp,
    lease_until: Timestamp,
) -> Result<Claim, StoreError> {
    let inserted = crate::query(
        "INSERT INTO idempotency_keys \
         (merchant_id, env, idem_key, request_hash, created_at, holder, lease_until) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (merchant_id, env, idem_key) DO NOTHING",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(key)
    .bind(request_hash)
    .bind(now)
    .bind(holder)
    .bind(lease_until)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::Claimed);
    }
    let row = crate::query(
        "SELECT request_hash, status_code, response_body, holder, lease_until, applied_by \
         FROM idempotency_keys WHERE merchant_id = $1 AND env = $2 AND idem_key = $3",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        // Released between our insert and read: the caller may simply retry.
        return Ok(Claim::InFlight {
            request_hash: request_hash.to_string(),
        });
    };
    let stored_hash: String = row.try_get("request_hash")?;
    let status: Option<i64> = row.try_get("status_code")?;
    let body: Option<String> = row.try_get("response_body")?;
    if let (Some(status), Some(body)) = (status, body) {
        return Ok(Claim::Done {
            request_hash: stored_hash,
            status,
            body,
        });
    }
    let previous_holder: Option<String> = row.try_get("holder")?;
    let previous_lease: Option<Timestamp> = row.try_get("lease_until")?;
    let applied_by: Option<String> = row.try_get("applied_by")?;
    // A claim made before leases existed has none: it is treated as expired.
    let expired = previous_lease.is_none_or(|l| l < now);
    if stored_hash != request_hash || !expired {
        return Ok(Claim::InFlight {
            request_hash: stored_hash,
        });
    }
    // Take the claim over, unless another retry did so first.
    let taken = crate::query(
        "UPDATE idempotency_keys SET holder = $4, lease_until = $5 \
         WHERE merchant_id = $1 AND env = $2 AND idem_key = $3 AND status_code IS NULL \
         AND holder IS NOT DISTINCT FROM $6 AND lease_until IS NOT DISTINCT FROM $7",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(key)
    .bind(holder)
    .bind(lease_until)
    .bind(previous_holder)
    .bind(previous_lease)
    .execute(&mut *conn)
    .await?;
    if taken.rows_affected() == 1 {
        Ok(Claim::TakenOver {
            applied: applied_by.is_some(),
        })
    } else {
        Ok(Claim::InFlight {
            request_hash: stored_hash,
        })
    }
}

/// Extends the lease of a claim that `holder` still holds; false when it holds it no longer.
pub async fn renew(
    conn: &mut Conn,
    fence: &Fence,
    lease_until: Timestamp,
) -> Result<bool, StoreError> {
    let renewed = crate::query(
        "UPDATE idempotency_keys SET lease_until = $5 \
         WHERE merchant_id = $1 AND env = $2 AND idem_key = $3 AND holder = $4 \
         AND status_code IS NULL",
    )
    .bind(fence.merchant_id.as_str())
    .bind(fence.env.as_str())
    .bind(&fence.key)
    .bind(&fence.holder)
    .bind(lease_until)
    .execute(conn)
    .await?;
    Ok(renewed.rows_affected() == 1)
}

/// Inside an action's transaction: records that the holder's action is applied, provided it
/// still holds the claim and no earlier attempt applied one. False means the transaction must
/// not commit.
pub async fn mark_applied(conn: &mut Conn, fence: &Fence) -> Result<bool, StoreError> {
    let marked = crate::query(
        "UPDATE idempotency_keys SET applied_by = $4 \
         WHERE merchant_id = $1 AND env = $2 AND idem_key = $3 AND holder = $4 \
         AND status_code IS NULL AND COALESCE(applied_by, $4) = $4",
    )
    .bind(fence.merchant_id.as_str())
    .bind(fence.env.as_str())
    .bind(&fence.key)
    .bind(&fence.holder)
    .execute(conn)
    .await?;
    Ok(marked.rows_affected() == 1)
}

/// Stores the answer of a claim `holder` still holds; false when another attempt took it over.
pub async fn complete(
    conn: &mut Conn,
    fence: &Fence,
    status: i64,
    body: &str,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE idempotency_keys SET status_code = $5, response_body = $6, lease_until = NULL \
         WHERE merchant_id = $1 AND env = $2 AND idem_key = $3 AND holder = $4",
    )
    .bind(fence.merchant_id.as_str())
    .bind(fence.env.as_str())
    .bind(&fence.key)
    .bind(&fence.holder)
    .bind(status)
    .bind(body)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Frees a claim whose request failed on the server side, so a retry can run at once: the
/// record goes if no action was applied, otherwise its lease ends and a retry takes it over.
pub async fn release(conn: &mut Conn, fence: &Fence) -> Result<(), StoreError> {
    crate::query(
        "DELETE FROM idempotency_keys WHERE merchant_id = $1 AND env = $2 AND idem_key = $3 \
         AND holder = $4 AND status_code IS NULL AND applied_by IS NULL",
    )
    .bind(fence.merchant_id.as_str())
    .bind(fence.env.as_str())
    .bind(&fence.key)
    .bind(&fence.holder)
    .execute(&mut *conn)
    .await?;
    crate::query(
        "UPDATE idempotency_keys SET lease_until = NULL WHERE merchant_id = $1 AND env = $2 \
         AND idem_key = $3 AND holder = $4 AND status_code IS NULL",
    )
    .bind(fence.merchant_id.as_str())
    .bind(fence.env.as_str())
    .bind(&fence.key)
    .bind(&fence.holder)
    .execute(conn)
    .await?;
    Ok(())
}
