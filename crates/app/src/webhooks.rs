//! Webhooks: the endpoints a merchant registers per env, the outbox (a delivery row per event
//! and subscribed endpoint, written in the transaction of the change it reports, with the job
//! that sends it) and the delivery itself, signed the Standard Webhooks way and retried with
//! exponential backoff for up to a day.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use punchcard_domain::time::Timestamp;
use punchcard_domain::{
    Env, FieldError, MerchantId, ValidationErrors, WebhookDeliveryId, WebhookEndpointId,
};
use punchcard_store::cache::Cache;
use punchcard_store::campaigns::InteractionRow;
use punchcard_store::changes::{publish, Topic};
use punchcard_store::coupons::CouponRow;
use punchcard_store::leads::LeadRow;
use punchcard_store::wallets::TransactionRow;
use punchcard_store::webhooks::{self as store, DeliveryRow, DeliveryStatus, EndpointRow};
use punchcard_store::{commit, Conn, Db, StoreError};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::callbacks::{callback_target, check_callback_host};
use crate::campaigns::vouchers::Voucher;
use crate::input::named;
use crate::jobs::{Job, JobFuture, JobOutcome, NewJob};
use crate::ledger::Scope;
use crate::swaps::SwapView;
use crate::{App, AppError};

/// The queue's kind of the jobs that deliver webhooks.
pub const DELIVERY_JOB: &str = "webhook_delivery";

/// Endpoints a merchant may register in each env.
pub const MAX_ENDPOINTS: i64 = 10;

/// The longest endpoint URL.
pub const MAX_URL_LEN: usize = 2000;

/// How long the delivery log keeps a delivery that was delivered or given up, when the
/// operator sets nothing else; pending deliveries stay until they end.
pub const DEFAULT_RETENTION: std::time::Duration =
    std::time::Duration::from_secs(30 * 24 * 60 * 60);

/// How much of a receiver's answer the delivery log keeps.
const ANSWER_SNIPPET: usize = 500;

/// The events a merchant can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    LeadCreated,
    WalletTransactionCreated,
    CouponIssued,
    CouponUsed,
    CouponCancelled,
    TaskCompleted,
    SurpriseClaimed,
    RuleTriggered,
    VoucherAwarded,
    SwapCompleted,
}

impl EventType {
    pub const ALL: [EventType; 10] = [
        EventType::LeadCreated,
        EventType::WalletTransactionCreated,
        EventType::CouponIssued,
        EventType::CouponUsed,
        EventType::CouponCancelled,
        EventType::TaskCompleted,
        EventType::SurpriseClaimed,
        EventType::RuleTriggered,
        EventType::VoucherAwarded,
        EventType::SwapCompleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::LeadCreated => "lead.created",
            EventType::WalletTransactionCreated => "wallet_transaction.created",
            EventType::CouponIssued => "coupon.issued",
            EventType::CouponUsed => "coupon.used",
            EventType::CouponCancelled => "coupon.cancelled",
            EventType::TaskCompleted => "task.completed",
            EventType::SurpriseClaimed => "surprise.claimed",
            EventType::RuleTriggered => "rule.triggered",
            EventType::VoucherAwarded => "voucher.awarded",
            EventType::SwapCompleted => "swap.completed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// The object an event reports, as the use case has it; [`RenderEvent`] turns it into the JSON
/// the API answers for it.
#[derive(Debug, Clone, Copy)]
pub enum EventObject<'a> {
    Lead(&'a LeadRow),
    WalletTransaction(&'a TransactionRow),
    Coupon(&'a CouponRow),
    TaskActivity(&'a InteractionRow),
    SurpriseActivity(&'a InteractionRow),
    RuleTriggered {
        interaction: &'a InteractionRow,
        transaction: Option<&'a TransactionRow>,
    },
    VoucherAwarded {
        interaction: &'a InteractionRow,
        voucher: &'a Voucher,
    },
    Swap(&'a SwapView),
}

/// One event: its type and its object.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub kind: EventType,
    pub object: EventObject<'a>,
}

impl<'a> Event<'a> {
    pub fn new(kind: EventType, object: EventObject<'a>) -> Self {
        Self { kind, object }
    }
}

/// Renders an event's object as the API answers it (the server knows those shapes).
pub trait RenderEvent: Send + Sync {
    fn data(&self, object: &EventObject<'_>) -> serde_json::Value;
}

/// An enabled endpoint and the events it wants.
#[derive(Debug, Clone)]
struct Subscription {
    endpoint_id: WebhookEndpointId,
    events: Vec<String>,
}

/// Writes events into the outbox. Which endpoints of a merchant's env want what is cached
/// (forgotten on every server when an endpoint changes), so a change of a merchant without
/// webhooks costs no query at all.
pub struct Outbox {
    subscriptions: Cache<(MerchantId, Env), Arc<[Subscription]>>,
    renderer: OnceLock<Arc<dyn RenderEvent>>,
    retry_window: time::Duration,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("subscriptions", &self.subscriptions)
            .finish()
    }
}

impl Outbox {
    pub(crate) fn new(db: &Db, retry_window: std::time::Duration) -> Self {
        Self {
            subscriptions: Cache::new(db, |t| matches!(t, Topic::WebhookEndpoints(_))),
            renderer: OnceLock::new(),
            retry_window: time::Duration::try_from(retry_window)
                .unwrap_or(time::Duration::hours(24)),
        }
    }

    /// The enabled endpoints of a merchant's env, read on `conn` when not cached.
    async fn subscriptions(
        &self,
        conn: &mut Conn,
        merchant_id: &MerchantId,
        env: Env,
    ) -> Result<Arc<[Subscription]>, StoreError> {
        let key = (merchant_id.clone(), env);
        let loaded = self
            .subscriptions
            .get_or_load(&key, move || async move {
                let rows = store::list_endpoints(conn, merchant_id, env).await?;
                let subs: Arc<[Subscription]> = rows
                    .into_iter()
                    .filter(|e| e.enabled)
                    .map(|e| Subscription {
                        endpoint_id: e.id,
                        events: e.events,
                    })
                    .collect();
                Ok::<_, StoreError>(Some((merchant_id.clone(), subs)))
            })
            .await?;
        Ok(loaded.unwrap_or_else(|| Arc::from(Vec::new())))
    }

    /// Whether some enabled endpoint of the merchant's env wants any of `kinds`: callers check
    /// it before reading what only an event needs.
    pub async fn wants(
        &self,
        conn: &mut Conn,
        merchant_id: &MerchantId,
        env: Env,
        kinds: &[EventType],
    ) -> Result<bool, StoreError> {
        let subs = self.subscriptions(conn, merchant_id, env).await?;
        Ok(subs.iter().any(|s| {
            kinds
                .iter()
                .any(|k| s.events.iter().any(|e| e == k.as_str()))
        }))
    }

    /// Writes `events` of a merchant's env on `conn` (the transaction of the change they
    /// report): one delivery and its job per subscribed endpoint; nothing at all when no
    /// endpoint wants them.
    pub async fn emit(
        &self,
        conn: &mut Conn,
        merchant_id: &MerchantId,
        env: Env,
        events: &[Event<'_>],
    ) -> Result<(), AppError> {
        if events.is_empty() {
            return Ok(());
        }
        let subs = self.subscriptions(conn, merchant_id, env).await?;
        if subs.is_empty() {
            return Ok(());
        }
        let now = Timestamp::now();
        for event in events {
            let wanted: Vec<&Subscription> = subs
                .iter()
                .filter(|s| s.events.iter().any(|e| e == event.kind.as_str()))
                .collect();
            if wanted.is_empty() {
                continue;
            }
            let data = match self.renderer.get() {
                Some(r) => r.data(&event.object),
                None => serde_json::Value::Null,
            };
            let body = serde_json::json!({
                "type": event.kind.as_str(),
                "timestamp": now.to_rfc3339(),
                "data": data,
            })
            .to_string();
            for sub in wanted {
                let delivery = DeliveryRow {
                    merchant_id: merchant_id.clone(),
                    env,
                    id: WebhookDeliveryId::new(),
                    endpoint_id: sub.endpoint_id.clone(),
                    event_type: event.kind.as_str().to_string(),
                    payload: body.clone(),
                    status: DeliveryStatus::Pending,
                    attempts: 0,
                    last_status: None,
                    last_response: None,
                    last_attempt_at: None,
                    next_attempt_at: Some(now),
                    delivered_at: None,
                    retry_until: now.plus(self.retry_window),
                    created_at: now,
                };
                store::insert_delivery(&mut *conn, &delivery).await?;
                enqueue_delivery(&mut *conn, &delivery, now).await?;
            }
        }
        Ok(())
    }
}

/// What a delivery job carries.
#[derive(Debug, Serialize, Deserialize)]
struct DeliveryJob {
    delivery_id: WebhookDeliveryId,
}

async fn enqueue_delivery(
    conn: &mut Conn,
    delivery: &DeliveryRow,
    at: Timestamp,
) -> Result<(), AppError> {
    let job = NewJob::now(
        DELIVERY_JOB,
        &DeliveryJob {
            delivery_id: delivery.id.clone(),
        },
    )?
    .for_tenant(&delivery.merchant_id, delivery.env)
    .at(at)
    // The delivery keeps its own schedule; the queue's attempts only count crashes.
    .max_attempts(1000);
    crate::jobs::enqueue(conn, job).await
}

/// The queue's handler of [`DELIVERY_JOB`].
pub(crate) fn delivery_handler<'a>(app: &'a App, job: &'a Job) -> JobFuture<'a> {
    Box::pin(app.deliver(job))
}

/// An endpoint as created: the secret is shown this once.
#[derive(Debug, Clone)]
pub struct CreatedEndpoint {
    pub endpoint: EndpointRow,
    /// `whsec_` + base64 of the key.
    pub secret: String,
}

/// What a merchant sends to create or change an endpoint.
#[derive(Debug, Clone, Default)]
pub struct EndpointInput {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// The signing secret of a key, as Standard Webhooks writes it.
pub fn secret_of(signing_key: &str) -> String {
    format!("whsec_{signing_key}")
}

/// `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, the `webhook-signature` header.
pub fn sign(signing_key: &str, id: &str, timestamp: i64, body: &str) -> Result<String, AppError> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(signing_key)
        .map_err(AppError::internal)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(AppError::internal)?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Exponential backoff: `base` after the first failure, doubling, at most 6 hours apart.
fn retry_delay(base: std::time::Duration, failures: i64) -> time::Duration {
    let base = time::Duration::try_from(base).unwrap_or(time::Duration::seconds(30));
    let factor = 1i32 << failures.clamp(1, 20).saturating_sub(1);
    (base * factor).min(time::Duration::hours(6))
}

fn checked_events(raw: &[String]) -> Result<Vec<String>, FieldError> {
    let err = |m: String| FieldError::new("events", &m);
    if raw.is_empty() {
        return Err(err("must name at least one event".to_string()));
    }
    let mut events: Vec<String> = Vec::new();
    for e in raw {
        let Some(kind) = EventType::parse(e.trim()) else {
            let known: Vec<&str> = EventType::ALL.iter().map(|k| k.as_str()).collect();
            return Err(err(format!(
                "`{}` is not an event; events are {}",
                e.chars().take(60).collect::<String>(),
                known.join(", ")
            )));
        };
        if !events.iter().any(|x| x == kind.as_str()) {
            events.push(kind.as_str().to_string());
        }
    }
    Ok(events)
}

impl App {
    /// Lets the outbox render events as the API answers their objects (set once, by the
    /// server; without it an event's `data` is null).
    pub fn set_event_renderer(&self, renderer: Arc<dyn RenderEvent>) {
        let _ = self.outbox.renderer.set(renderer);
    }

    /// Whole days a delivered or given-up delivery stays in the delivery log.
    pub fn webhook_retention_days(&self) -> u64 {
        self.settings.webhook_retention.as_secs() / (24 * 60 * 60)
    }

    /// The outbox the use cases write events into.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Writes events of `scope` in the transaction on `conn`.
    pub(crate) async fn emit(
        &self,
        conn: &mut Conn,
        scope: &Scope,
        events: &[Event<'_>],
    ) -> Result<(), AppError> {
        self.outbox
            .emit(conn, &scope.merchant_id, scope.env, events)
            .await
    }

    async fn checked_url(&self, url: &str, env: Env) -> Result<String, FieldError> {
        let as_url = |e: FieldError| FieldError::new("url", &e.message);
        if url.trim().is_empty() {
            return Err(FieldError::new("url", "is required"));
        }
        if url.chars().any(char::is_control) {
            return Err(FieldError::new(
                "url",
                "must not contain control characters",
            ));
        }
        if url.len() > MAX_URL_LEN {
            return Err(FieldError::new(
                "url",
                format!("must be at most {MAX_URL_LEN} characters"),
            ));
        }
        let allow = self.settings.allow_private_callbacks;
        let target = callback_target(url.trim(), env, allow).map_err(as_url)?;
        check_callback_host(&target, allow).await.map_err(as_url)?;
        Ok(target.to_string())
    }

    /// Registers an endpoint: `{url, events}` -> the endpoint and its secret, shown once.
    pub async fn create_webhook_endpoint(
        &self,
        scope: &Scope,
        input: EndpointInput,
    ) -> Result<CreatedEndpoint, AppError> {
        let mut errors = ValidationErrors::new();
        let url = match input.url.as_deref() {
            None => errors.check::<String>(Err(FieldError::new("url", "is required"))),
            Some(u) => errors.check(self.checked_url(u, scope.env).await),
        };
        let events = match input.events.as_deref() {
            None => errors.check::<Vec<String>>(Err(FieldError::new("events", "is required"))),
            Some(e) => errors.check(checked_events(e)),
        };
        errors.into_result()?;
        let (url, events) = (url.expect("checked"), events.expect("checked"));
        let key: [u8; 32] = rand::random();
        let now = Timestamp::now();
        let endpoint = EndpointRow {
            merchant_id: scope.merchant_id.clone(),
            env: scope.env,
            id: WebhookEndpointId::new(),
            url,
            events,
            signing_key: base64::engine::general_purpose::STANDARD.encode(key),
            enabled: input.enabled.unwrap_or(true),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.db.begin_write().await?;
        let count = store::count_endpoints(&mut tx, &scope.merchant_id, scope.env).await?;
        if count >= MAX_ENDPOINTS {
            return Err(AppError::LimitReached(format!(
                "at most {MAX_ENDPOINTS} webhook endpoints per environment; delete one first"
            )));
        }
        store::insert_endpoint(&mut tx, &endpoint).await?;
        publish(&mut tx, Topic::WebhookEndpoints(scope.merchant_id.clone())).await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %scope.merchant_id, env = %scope.env, endpoint_id = %endpoint.id, "webhook endpoint created");
        let secret = secret_of(&endpoint.signing_key);
        Ok(CreatedEndpoint { endpoint, secret })
    }

    pub async fn webhook_endpoints(&self, scope: &Scope) -> Result<Vec<EndpointRow>, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(store::list_endpoints(&mut conn, &scope.merchant_id, scope.env).await?)
    }

    pub async fn webhook_endpoint(&self, scope: &Scope, id: &str) -> Result<EndpointRow, AppError> {
        let id: WebhookEndpointId = named(id, "webhook endpoint")?;
        let mut conn = self.db.conn().await?;
        store::find_endpoint(&mut conn, &scope.merchant_id, scope.env, &id)
            .await?
            .ok_or(AppError::NotFound("webhook endpoint"))
    }

    /// Changes an endpoint's URL, events or enabled flag (what is not given stays).
    pub async fn update_webhook_endpoint(
        &self,
        scope: &Scope,
        id: &str,
        input: EndpointInput,
    ) -> Result<EndpointRow, AppError> {
        let mut endpoint = self.webhook_endpoint(scope, id).await?;
        let mut errors = ValidationErrors::new();
        if let Some(u) = input.url.as_deref() {
            if let Some(url) = errors.check(self.checked_url(u, scope.env).await) {
                endpoint.url = url;
            }
        }
        if let Some(e) = input.events.as_deref() {
            if let Some(events) = errors.check(checked_events(e)) {
                endpoint.events = events;
            }
        }
        errors.into_result()?;
        if let Some(enabled) = input.enabled {
            endpoint.enabled = enabled;
        }
        endpoint.updated_at = Timestamp::now();
        let mut tx = self.db.begin_write().await?;
        if !store::update_endpoint(&mut tx, &endpoint).await? {
            return Err(AppError::NotFound("webhook endpoint"));
        }
        publish(&mut tx, Topic::WebhookEndpoints(scope.merchant_id.clone())).await?;
        commit(tx).await?;
        Ok(endpoint)
    }

    /// Deletes an endpoint with its delivery log; what it had pending is not sent.
    pub async fn delete_webhook_endpoint(&self, scope: &Scope, id: &str) -> Result<(), AppError> {
        let id: WebhookEndpointId = named(id, "webhook endpoint")?;
        let mut tx = self.db.begin_write().await?;
        if !store::delete_endpoint(&mut tx, &scope.merchant_id, scope.env, &id).await? {
            return Err(AppError::NotFound("webhook endpoint"));
        }
        publish(&mut tx, Topic::WebhookEndpoints(scope.merchant_id.clone())).await?;
        commit(tx).await?;
        Ok(())
    }

    /// An endpoint's deliveries, newest first.
    pub async fn webhook_deliveries(
        &self,
        scope: &Scope,
        endpoint_id: &str,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, AppError> {
        let endpoint = self.webhook_endpoint(scope, endpoint_id).await?;
        let before: Option<WebhookDeliveryId> = match before {
            Some(b) => Some(named(b, "cursor")?),
            None => None,
        };
        let mut conn = self.db.conn().await?;
        Ok(store::list_deliveries(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            &endpoint.id,
            before.as_ref(),
            limit,
        )
        .await?)
    }

    pub async fn webhook_delivery(&self, scope: &Scope, id: &str) -> Result<DeliveryRow, AppError> {
        let id: WebhookDeliveryId = named(id, "webhook delivery")?;
        let mut conn = self.db.conn().await?;
        store::find_delivery(&mut conn, &scope.merchant_id, scope.env, &id)
            .await?
            .ok_or(AppError::NotFound("webhook delivery"))
    }

    /// Sends a delivery again, now, with the same `webhook-id` and body, retried as a new
    /// event would be.
    pub async fn redeliver_webhook(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<DeliveryRow, AppError> {
        let delivery = self.webhook_delivery(scope, id).await?;
        let now = Timestamp::now();
        let until = now.plus(self.outbox.retry_window);
        let mut tx = self.db.begin_write().await?;
        store::reopen(
            &mut tx,
            &scope.merchant_id,
            scope.env,
            &delivery.id,
            now,
            until,
        )
        .await?;
        enqueue_delivery(&mut tx, &delivery, now).await?;
        let reopened = store::find_delivery(&mut tx, &scope.merchant_id, scope.env, &delivery.id)
            .await?
            .ok_or(AppError::NotFound("webhook delivery"))?;
        commit(tx).await?;
        Ok(reopened)
    }

    /// One attempt at a delivery (the job of [`DELIVERY_JOB`]).
    async fn deliver(&self, job: &Job) -> Result<JobOutcome, AppError> {
        let what: DeliveryJob = serde_json::from_str(&job.payload)
            .map_err(|e| AppError::internal(std::io::Error::other(e.to_string())))?;
        let (Some(merchant_id), Some(env)) = (&job.merchant_id, job.env) else {
            return Ok(JobOutcome::Failed("the job names no merchant".to_string()));
        };
        let mut conn = self.db.conn().await?;
        let Some(delivery) =
            store::find_delivery(&mut conn, merchant_id, env, &what.delivery_id).await?
        else {
            // Its endpoint was deleted with its log.
            return Ok(JobOutcome::Done);
        };
        if delivery.status != DeliveryStatus::Pending {
            return Ok(JobOutcome::Done);
        }
        let endpoint =
            store::find_endpoint(&mut conn, merchant_id, env, &delivery.endpoint_id).await?;
        drop(conn);
        let now = Timestamp::now();
        let attempt = match &endpoint {
            None => Attempt::refused("the endpoint was deleted"),
            Some(e) if !e.enabled => Attempt::refused("the endpoint is disabled"),
            Some(e) => self.post_delivery(e, &delivery).await?,
        };
        let failures = delivery.attempts + 1;
        let (status, next) = if attempt.delivered {
            (DeliveryStatus::Delivered, None)
        } else {
            let next = now.plus(retry_delay(self.settings.webhook_retry_base, failures));
            if attempt.final_ || next > delivery.retry_until {
                (DeliveryStatus::Failed, None)
            } else {
                (DeliveryStatus::Pending, Some(next))
            }
        };
        let mut conn = self.db.conn().await?;
        store::record_attempt(
            &mut conn,
            merchant_id,
            env,
            &delivery.id,
            status,
            attempt.status,
            &attempt.answer,
            next,
            now,
        )
        .await?;
        self.delivery_outcomes.count(status);
        tracing::info!(
            merchant_id = %merchant_id,
            env = %env,
            delivery_id = %delivery.id,
            event = delivery.event_type,
            status = status.as_str(),
            http_status = attempt.status,
            "webhook delivery attempted"
        );
        Ok(match next {
            Some(at) => JobOutcome::RetryAt(at, attempt.answer),
            None => JobOutcome::Done,
        })
    }

    async fn post_delivery(
        &self,
        endpoint: &EndpointRow,
        delivery: &DeliveryRow,
    ) -> Result<Attempt, AppError> {
        let target = match callback_target(
            &endpoint.url,
            endpoint.env,
            self.settings.allow_private_callbacks,
        ) {
            Ok(t) => t,
            Err(e) => return Ok(Attempt::refused(&format!("the URL {}", e.message))),
        };
        let timestamp = Timestamp::now().unix();
        let signature = sign(
            &endpoint.signing_key,
            delivery.id.as_str(),
            timestamp,
            &delivery.payload,
        )?;
        let started = Instant::now();
        let sent = self
            .callback_client
            .post(target)
            .timeout(self.settings.webhook_timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", delivery.id.as_str())
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.payload.clone())
            .send()
            .await;
        let took = started.elapsed().as_millis();
        Ok(match sent {
            Ok(res) => {
                let status = res.status();
                let text = res.text().await.unwrap_or_default();
                let snippet: String = text.chars().take(ANSWER_SNIPPET).collect();
                Attempt {
                    delivered: status.is_success(),
                    final_: false,
                    status: Some(i64::from(status.as_u16())),
                    answer: if snippet.is_empty() {
                        format!("HTTP {} in {took} ms", status.as_u16())
                    } else {
                        snippet
                    },
                }
            }
            Err(e) => Attempt {
                delivered: false,
                final_: false,
                status: None,
                answer: if e.is_timeout() {
                    format!(
                        "no answer within {} s",
                        self.settings.webhook_timeout.as_secs_f64()
                    )
                } else if e.is_connect() {
                    "the endpoint is unreachable".to_string()
                } else {
                    "the request failed".to_string()
                },
            },
        })
    }
}

/// One attempt's result.
struct Attempt {
    delivered: bool,
    /// No use retrying.
    final_: bool,
    status: Option<i64>,
    answer: String,
}

impl Attempt {
    fn refused(why: &str) -> Self {
        Self {
            delivered: false,
            final_: true,
            status: None,
            answer: why.to_string(),
        }
    }
}

/// Deliveries made since the server started, by outcome, for the metrics endpoint.
#[derive(Debug, Default)]
pub struct DeliveryOutcomes {
    pub delivered: std::sync::atomic::AtomicU64,
    /// Failed attempts that will be retried.
    pub retrying: std::sync::atomic::AtomicU64,
    pub failed: std::sync::atomic::AtomicU64,
}

impl DeliveryOutcomes {
    fn count(&self, status: DeliveryStatus) {
        use std::sync::atomic::Ordering::Relaxed;
        match status {
            DeliveryStatus::Delivered => self.delivered.fetch_add(1, Relaxed),
            DeliveryStatus::Pending => self.retrying.fetch_add(1, Relaxed),
            DeliveryStatus::Failed => self.failed.fetch_add(1, Relaxed),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_standard_webhooks() {
        // The example of the Standard Webhooks specification.
        let key = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn retries_back_off() {
        let base = std::time::Duration::from_secs(30);
        assert_eq!(retry_delay(base, 1), time::Duration::seconds(30));
        assert_eq!(retry_delay(base, 2), time::Duration::seconds(60));
        assert_eq!(retry_delay(base, 5), time::Duration::seconds(480));
        assert_eq!(retry_delay(base, 40), time::Duration::hours(6));
    }

    #[test]
    fn events_are_checked() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            checked_events(&s(&["lead.created", "lead.created", "coupon.used"])).unwrap(),
            s(&["lead.created", "coupon.used"])
        );
        assert!(checked_events(&[]).is_err());
        assert!(checked_events(&s(&["lead.deleted"]))
            .unwrap_err()
            .message
            .contains("is not an event"));
    }
}
