//! API keys: the secret only as a hash, the signing secret kept to sign callbacks.

use crate::changes::{publish, Topic};
use crate::{Conn, Tx};
use punchcard_domain::time::Timestamp;
use punchcard_domain::{ApiKeyId, Env, MerchantId};

use crate::StoreError;

#[derive(Debug, Clone)]
pub struct ApiKeyRow {
    pub merchant_id: MerchantId,
    pub id: ApiKeyId,
    pub env: Env,
    pub name: String,
    pub secret_hash: String,
    pub signing_secret: String,
    pub callback_url: Option<String>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// An API key together with its merchant's status, as authentication needs them.
#[derive(Debug, Clone)]
pub struct KeyWithMerchant {
    pub key: ApiKeyRow,
    pub merchant_status: String,
    /// The plan's API calls per minute, when the merchant has a plan row.
    pub plan_rate_limit: Option<i64>,
}

const COLUMNS: &str = "k.merchant_id, k.id, k.env, k.name, k.secret_hash, k.signing_secret, \
                       k.callback_url, k.created_at, k.revoked_at";

fn from_row(row: &crate::DbRow) -> Result<ApiKeyRow, StoreError> {
    Ok(ApiKeyRow {
        merchant_id: crate::db::parsed::<MerchantId>(row, "merchant_id")?,
        id: crate::db::parsed::<ApiKeyId>(row, "id")?,
        env: crate::env_of(row)?,
        name: row.try_get("name")?,
        secret_hash: row.try_get("secret_hash")?,
        signing_secret: row.try_get("signing_secret")?,
        callback_url: row.try_get("callback_url")?,
        created_at: row.try_get::<Timestamp>("created_at")?,
        revoked_at: row.try_get::<Option<Timestamp>>("revoked_at")?,
    })
}

pub async fn count_live(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
) -> Result<i64, StoreError> {
    let n: i64 = crate::query(
        "SELECT COUNT(*) FROM api_keys WHERE merchant_id = $1 AND env = $2 AND revoked_at IS NULL",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .scalar(conn)
    .await?;
    Ok(n)
}

/// Adds a key; the merchant's servers hear of it when the transaction commits.
pub async fn insert(tx: &mut Tx, k: &ApiKeyRow) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO api_keys (merchant_id, id, env, name, secret_hash, signing_secret, callback_url, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(k.merchant_id.as_str())
    .bind(k.id.as_str())
    .bind(k.env.as_str())
    .bind(&k.name)
    .bind(&k.secret_hash)
    .bind(&k.signing_secret)
    .bind(k.callback_url.as_deref())
    .bind(k.created_at)
    .execute(tx)
    .await?;
    publish(tx, Topic::ApiKeys(k.merchant_id.clone())).await
}

/// The key named by a Basic-auth username, with its merchant's status.
pub async fn find_for_auth(
    conn: &mut Conn,
    id: &ApiKeyId,
) -> Result<Option<KeyWithMerchant>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS}, m.status AS merchant_status, p.rate_limit_per_minute AS plan_rate_limit \
         FROM api_keys k JOIN merchants m ON m.id = k.merchant_id \
         LEFT JOIN plans p ON p.merchant_id = k.merchant_id WHERE k.id = $1"
    );
    let row = crate::query(&sql)
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    row.map(|r| {
        Ok(KeyWithMerchant {
            key: from_row(&r)?,
            merchant_status: r.try_get("merchant_status")?,
            plan_rate_limit: r.try_get("plan_rate_limit")?,
        })
    })
    .transpose()
}

pub async fn list(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
) -> Result<Vec<ApiKeyRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM api_keys k WHERE k.merchant_id = $1 AND k.env = $2 ORDER BY k.id"
    );
    let rows = crate::query(&sql)
        .bind(merchant_id.as_str())
        .bind(env.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter().map(from_row).collect()
}

pub async fn find(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &ApiKeyId,
) -> Result<Option<ApiKeyRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM api_keys k WHERE k.merchant_id = $1 AND k.env = $2 AND k.id = $3"
    );
    let row = crate::query(&sql)
        .bind(merchant_id.as_str())
        .bind(env.as_str())
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Revokes a live key; answers whether one was revoked. Every server forgets the key when the
/// transaction commits.
pub async fn revoke(
    tx: &mut Tx,
    merchant_id: &MerchantId,
    env: Env,
    id: &ApiKeyId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE api_keys SET revoked_at = $4 WHERE merchant_id = $1 AND env = $2 AND id = $3 AND revoked_at IS NULL",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(id.as_str())
    .bind(now)
    .execute(tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    publish(tx, Topic::ApiKeys(merchant_id.clone())).await?;
    Ok(true)
}
