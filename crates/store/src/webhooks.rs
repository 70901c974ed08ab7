//! Webhooks: the endpoints a merchant registers per env, and the deliveries of each event to
//! each subscribed endpoint (the outbox and its delivery log in one row).

use punchcard_domain::time::Timestamp;
use punchcard_domain::{Env, MerchantId, WebhookDeliveryId, WebhookEndpointId};

use crate::{Conn, StoreError};

#[derive(Debug, Clone)]
pub struct EndpointRow {
    pub merchant_id: MerchantId,
    pub env: Env,
    pub id: WebhookEndpointId,
    pub url: String,
    /// Event types, in the order they were given.
    pub events: Vec<String>,
    /// The signing key, base64.
    pub signing_key: String,
    pub enabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const ENDPOINT_COLUMNS: &str =
    "merchant_id, env, id, url, events, signing_key, enabled, created_at, updated_at";

fn endpoint_from_row(row: &crate::DbRow) -> Result<EndpointRow, StoreError> {
    let events: String = row.try_get("events")?;
    Ok(EndpointRow {
        merchant_id: crate::db::parsed(row, "merchant_id")?,
        env: crate::env_of(row)?,
        id: crate::db::parsed(row, "id")?,
        url: row.try_get("url")?,
        events: events.split_whitespace().map(str::to_string).collect(),
        signing_key: row.try_get("signing_key")?,
        enabled: row.try_get("enabled")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub async fn insert_endpoint(conn: &mut Conn, e: &EndpointRow) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO webhook_endpoints (merchant_id, env, id, url, events, signing_key, enabled, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(e.merchant_id.as_str())
    .bind(e.env.as_str())
    .bind(e.id.as_str())
    .bind(e.url.as_str())
    .bind(e.events.join(" "))
    .bind(e.signing_key.as_str())
    .bind(e.enabled)
    .bind(e.created_at)
    .bind(e.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets the URL, events and enabled flag of an endpoint; false when there is none.
pub async fn update_endpoint(conn: &mut Conn, e: &EndpointRow) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE webhook_endpoints SET url = $4, events = $5, enabled = $6, updated_at = $7 \
         WHERE merchant_id = $1 AND env = $2 AND id = $3",
    )
    .bind(e.merchant_id.as_str())
    .bind(e.env.as_str())
    .bind(e.id.as_str())
    .bind(e.url.as_str())
    .bind(e.events.join(" "))
    .bind(e.enabled)
    .bind(e.updated_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes an endpoint and its delivery log; false when there is none. Its pending
/// deliveries' jobs find nothing to send and end.
pub async fn delete_endpoint(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &WebhookEndpointId,
) -> Result<bool, StoreError> {
    crate::query(
        "DELETE FROM webhook_deliveries WHERE merchant_id = $1 AND env = $2 AND endpoint_id = $3",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(id.as_str())
    .execute(&mut *conn)
    .await?;
    let done = crate::query(
        "DELETE FROM webhook_endpoints WHERE merchant_id = $1 AND env = $2 AND id = $3",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(id.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn find_endpoint(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &WebhookEndpointId,
) -> Result<Option<EndpointRow>, StoreError> {
    let sql = format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE merchant_id = $1 AND env = $2 AND id = $3"
    );
    let row = crate::query(sql)
        .bind(merchant_id.as_str())
        .bind(env.as_str())
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(endpoint_from_row).transpose()
}

/// Every endpoint of a merchant's env, oldest first.
pub async fn list_endpoints(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
) -> Result<Vec<EndpointRow>, StoreError> {
    let sql = format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE merchant_id = $1 AND env = $2 ORDER BY id"
    );
    let rows = crate::query(sql)
        .bind(merchant_id.as_str())
        .bind(env.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter().map(endpoint_from_row).collect()
}

pub async fn count_endpoints(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
) -> Result<i64, StoreError> {
    crate::query("SELECT COUNT(*) FROM webhook_endpoints WHERE merchant_id = $1 AND env = $2")
        .bind(merchant_id.as_str())
        .bind(env.as_str())
        .scalar(conn)
        .await
}

/// `pending`, `delivered` or `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

impl std::str::FromStr for DeliveryStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "pending" => Ok(DeliveryStatus::Pending),
            "delivered" => Ok(DeliveryStatus::Delivered),
            "failed" => Ok(DeliveryStatus::Failed),
            _ => Err(()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub merchant_id: MerchantId,
    pub env: Env,
    pub id: WebhookDeliveryId,
    pub endpoint_id: WebhookEndpointId,
    pub event_type: String,
    /// The body, exactly as sent.
    pub payload: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_response: Option<String>,
    pub last_attempt_at: Option<Timestamp>,
    pub next_attempt_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
    pub retry_until: Timestamp,
    pub created_at: Timestamp,
}

const DELIVERY_COLUMNS: &str = "merchant_id, env, id, endpoint_id, event_type, payload, status, \
     attempts, last_status, last_response, last_attempt_at, next_attempt_at, delivered_at, \
     retry_until, created_at";

fn delivery_from_row(row: &crate::DbRow) -> Result<DeliveryRow, StoreError> {
    Ok(DeliveryRow {
        merchant_id: crate::db::parsed(row, "merchant_id")?,
        env: crate::env_of(row)?,
        id: crate::db::parsed(row, "id")?,
        endpoint_id: crate::db::parsed(row, "endpoint_id")?,
        event_type: row.try_get("event_type")?,
        payload: row.try_get("payload")?,
        status: crate::db::parsed(row, "status")?,
        attempts: row.try_get("attempts")?,
        last_status: row.try_get("last_status")?,
        last_response: row.try_get("last_response")?,
        last_attempt_at: row.try_get("last_attempt_at")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        delivered_at: row.try_get("delivered_at")?,
        retry_until: row.try_get("retry_until")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn insert_delivery(conn: &mut Conn, d: &DeliveryRow) -> Result<(), StoreError> {
    crate::query(
        "INSERT INTO webhook_deliveries (merchant_id, env, id, endpoint_id, event_type, payload, \
         status, attempts, next_attempt_at, retry_until, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(d.merchant_id.as_str())
    .bind(d.env.as_str())
    .bind(d.id.as_str())
    .bind(d.endpoint_id.as_str())
    .bind(d.event_type.as_str())
    .bind(d.payload.as_str())
    .bind(d.status.as_str())
    .bind(d.attempts)
    .bind(d.next_attempt_at)
    .bind(d.retry_until)
    .bind(d.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find_delivery(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &WebhookDeliveryId,
) -> Result<Option<DeliveryRow>, StoreError> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE merchant_id = $1 AND env = $2 AND id = $3"
    );
    let row = crate::query(sql)
        .bind(merchant_id.as_str())
        .bind(env.as_str())
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(delivery_from_row).transpose()
}

/// An endpoint's deliveries, newest first, before the cursor id.
pub async fn list_deliveries(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    endpoint_id: &WebhookEndpointId,
    before: Option<&WebhookDeliveryId>,
    limit: i64,
) -> Result<Vec<DeliveryRow>, StoreError> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE merchant_id = $1 AND env = $2 \
         AND endpoint_id = $3 AND ($4 IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
    );
    let rows = crate::query(sql)
        .bind(merchant_id.as_str())
        .bind(env.as_str())
        .bind(endpoint_id.as_str())
        .bind(before.map(|b| b.as_str()))
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(delivery_from_row).collect()
}

/// Records one attempt: its outcome, the status and answer it got, and when the next one is
/// due (`None`: no more).
#[allow(clippy::too_many_arguments)]
pub async fn record_attempt(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &WebhookDeliveryId,
    status: DeliveryStatus,
    last_status: Option<i64>,
    last_response: &str,
    next_attempt_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<(), StoreError> {
    crate::query(
        "UPDATE webhook_deliveries SET status = $4, attempts = attempts + 1, last_status = $5, \
         last_response = $6, last_attempt_at = $7, next_attempt_at = $8, \
         delivered_at = CASE WHEN $4 = 'delivered' THEN $7 ELSE delivered_at END \
         WHERE merchant_id = $1 AND env = $2 AND id = $3",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(id.as_str())
    .bind(status.as_str())
    .bind(last_status)
    .bind(last_response)
    .bind(now)
    .bind(next_attempt_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Makes a delivery pending again, retried until `retry_until` (a manual redelivery).
pub async fn reopen(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    id: &WebhookDeliveryId,
    now: Timestamp,
    retry_until: Timestamp,
) -> Result<bool, StoreError> {
    let done = crate::query(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $4, retry_until = $5 \
         WHERE merchant_id = $1 AND env = $2 AND id = $3",
    )
    .bind(merchant_id.as_str())
    .bind(env.as_str())
    .bind(id.as_str())
    .bind(now)
    .bind(retry_until)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes at most `limit` deliveries that ended (delivered, or given up) before `before`;
/// answers how many. Pending deliveries are never touched, however old.
pub async fn purge_ended(
    conn: &mut Conn,
    before: Timestamp,
    limit: i64,
) -> Result<u64, StoreError> {
    Ok(crate::query(
        "DELETE FROM webhook_deliveries WHERE (merchant_id, id) IN (SELECT merchant_id, id \
         FROM webhook_deliveries WHERE status IN ('delivered', 'failed') AND last_attempt_at < $1 \
         LIMIT $2)",
    )
    .bind(before)
    .bind(limit)
    .execute(conn)
    .await?
    .rows_affected())
}
