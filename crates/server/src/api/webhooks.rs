//! `/api/v1/webhook_endpoints` and `/api/v1/webhook_deliveries`: the endpoints a merchant's
//! env sends events to, their delivery log and manual redelivery; and how each event's object
//! is rendered (as the API answers it).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use punchcard_app::campaigns::vouchers::Awarded;
use punchcard_app::campaigns::Triggered;
use punchcard_app::ledger::Scope;
use punchcard_app::webhooks::{EndpointInput, EventObject, EventType, RenderEvent};
use punchcard_domain::{WebhookDeliveryId, WebhookEndpointId};
use punchcard_store::webhooks::{DeliveryRow, EndpointRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageParams};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// A webhook endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpoint {
    #[schema(example = "whe_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    #[schema(example = "https://shop.example.com/punchcard/events")]
    pub url: String,
    /// The events sent to it.
    #[schema(example = json!(["lead.created", "wallet_transaction.created"]))]
    pub events: Vec<String>,
    /// A disabled endpoint gets nothing, and its pending deliveries fail.
    pub enabled: bool,
    pub env: String,
    /// Only in the answer to its creation: `whsec_` and the base64 key that signs deliveries.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<EndpointRow> for WebhookEndpoint {
    fn from(e: EndpointRow) -> Self {
        Self {
            id: e.id.to_string(),
            url: e.url,
            events: e.events,
            enabled: e.enabled,
            env: e.env.as_str().to_string(),
            secret: None,
            created_at: e.created_at.to_rfc3339(),
            updated_at: e.updated_at.to_rfc3339(),
        }
    }
}

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookEndpoint {
    /// https in prod; private or loopback hosts are refused unless the operator allows them.
    #[schema(required = true, value_type = String, example = "https://shop.example.com/punchcard/events", max_length = 2000)]
    pub url: Option<String>,
    /// One or more of `lead.created`, `wallet_transaction.created`, `coupon.issued`,
    /// `coupon.used`, `coupon.cancelled`, `task.completed`, `surprise.claimed`,
    /// `rule.triggered`, `voucher.awarded`, `swap.completed`.
    #[schema(required = true, value_type = Vec<String>, example = json!(["lead.created"]))]
    pub events: Option<Vec<String>>,
    /// Default `true`.
    pub enabled: Option<bool>,
}

/// Changes to an endpoint; what is left out stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointChanges {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// One event's delivery to an endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDelivery {
    /// Also the `webhook-id` header, the same on every attempt.
    #[schema(example = "msg_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    pub endpoint_id: String,
    #[schema(example = "lead.created")]
    pub event: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// The HTTP status of the last answer (null: none, e.g. a timeout).
    pub last_status: Option<i64>,
    /// The start of the last answer, or why there was none.
    pub last_response: Option<String>,
    pub last_attempt_at: Option<String>,
    pub next_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
    pub created_at: String,
    /// The body sent: `{"type", "timestamp", "data"}`.
    pub payload: serde_json::Value,
}

impl From<DeliveryRow> for WebhookDelivery {
    fn from(d: DeliveryRow) -> Self {
        Self {
            id: d.id.to_string(),
            endpoint_id: d.endpoint_id.to_string(),
            event: d.event_type,
            status: d.status.as_str().to_string(),
            attempts: d.attempts,
            last_status: d.last_status,
            last_response: d.last_response,
            last_attempt_at: d.last_attempt_at.map(|t| t.to_rfc3339()),
            next_attempt_at: d.next_attempt_at.map(|t| t.to_rfc3339()),
            delivered_at: d.delivered_at.map(|t| t.to_rfc3339()),
            created_at: d.created_at.to_rfc3339(),
            payload: serde_json::from_str(&d.payload).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// Registers an endpoint for events of this environment (at most 10 per environment).
#[utoipa::path(post, path = "/api/v1/webhook_endpoints", tag = "webhooks",
    request_body = NewWebhookEndpoint,
    security(("basic" = [])),
    responses(
        (status = 201, description = "the endpoint, with its signing secret (shown only now)", body = WebhookEndpoint),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid URL or events (`validation_failed`), or already 10 endpoints in the environment (`limit_reached`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_endpoint(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewWebhookEndpoint>,
) -> Result<(StatusCode, Json<WebhookEndpoint>), ApiError> {
    let created = state
        .app
        .create_webhook_endpoint(
            &Scope::from(&caller),
            EndpointInput {
                url: body.url,
                events: body.events,
                enabled: body.enabled,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookEndpoint {
            secret: Some(created.secret),
            ..WebhookEndpoint::from(created.endpoint)
        }),
    ))
}

/// Lists the environment's endpoints, oldest first.
#[utoipa::path(get, path = "/api/v1/webhook_endpoints", tag = "webhooks",
    security(("basic" = [])),
    responses(
        (status = 200, description = "every endpoint of the environment", body = Page<WebhookEndpoint>),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_endpoints(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Page<WebhookEndpoint>>, ApiError> {
    let rows = state.app.webhook_endpoints(&Scope::from(&caller)).await?;
    Ok(Json(Page {
        data: rows.into_iter().map(WebhookEndpoint::from).collect(),
        next_cursor: None,
    }))
}

/// One endpoint (without its secret).
#[utoipa::path(get, path = "/api/v1/webhook_endpoints/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "the endpoint id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the endpoint", body = WebhookEndpoint),
        (status = 404, description = "no such endpoint in this environment", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_endpoint(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<WebhookEndpointId>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    let row = state
        .app
        .webhook_endpoint(&Scope::from(&caller), id.as_str())
        .await?;
    Ok(Json(WebhookEndpoint::from(row)))
}

/// Changes an endpoint's URL, events or `enabled`.
#[utoipa::path(patch, path = "/api/v1/webhook_endpoints/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "the endpoint id")),
    request_body = WebhookEndpointChanges,
    security(("basic" = [])),
    responses(
        (status = 200, description = "the endpoint", body = WebhookEndpoint),
        (status = 404, description = "no such endpoint in this environment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid URL or events (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_endpoint(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<WebhookEndpointId>,
    ApiJson(body): ApiJson<WebhookEndpointChanges>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    let row = state
        .app
        .update_webhook_endpoint(
            &Scope::from(&caller),
            id.as_str(),
            EndpointInput {
                url: body.url,
                events: body.events,
                enabled: body.enabled,
            },
        )
        .await?;
    Ok(Json(WebhookEndpoint::from(row)))
}

/// Deletes an endpoint and its delivery log; what it had pending is not sent.
#[utoipa::path(delete, path = "/api/v1/webhook_endpoints/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "the endpoint id")),
    security(("basic" = [])),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, description = "no such endpoint in this environment", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_endpoint(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<WebhookEndpointId>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .delete_webhook_endpoint(&Scope::from(&caller), id.as_str())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An endpoint's deliveries, newest first. Delivered and failed deliveries are kept for 30
/// days after their last attempt (the operator may set another period); pending ones stay
/// until they end.
#[utoipa::path(get, path = "/api/v1/webhook_endpoints/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path, description = "the endpoint id"), PageParams),
    security(("basic" = [])),
    responses(
        (status = 200, description = "a page of deliveries", body = Page<WebhookDelivery>),
        (status = 404, description = "no such endpoint in this environment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid paging parameters", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<WebhookEndpointId>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<Page<WebhookDelivery>>, ApiError> {
    let page = params.parse()?;
    let rows = state
        .app
        .webhook_deliveries(
            &Scope::from(&caller),
            id.as_str(),
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
    let page = page.page(rows, |d| d.id.to_string());
    Ok(Json(Page {
        data: page.data.into_iter().map(WebhookDelivery::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Sends a delivery again now (same `webhook-id` and body), retried for another 24 hours.
#[utoipa::path(post, path = "/api/v1/webhook_deliveries/{id}/redeliver", tag = "webhooks",
    params(("id" = String, Path, description = "the delivery id")),
    security(("basic" = [])),
    responses(
        (status = 202, description = "the delivery, pending again", body = WebhookDelivery),
        (status = 404, description = "no such delivery in this environment", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn redeliver(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<WebhookDeliveryId>,
) -> Result<(StatusCode, Json<WebhookDelivery>), ApiError> {
    let row = state
        .app
        .redeliver_webhook(&Scope::from(&caller), id.as_str())
        .await?;
    Ok((StatusCode::ACCEPTED, Json(WebhookDelivery::from(row))))
}

/// Renders each event's object with the API's own answer types.
pub struct ApiEvents;

fn to_json(v: impl Serialize) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

impl RenderEvent for ApiEvents {
    fn data(&self, object: &EventObject<'_>) -> serde_json::Value {
        use super::{campaigns, coupons, leads, surprises, swaps, tasks, wallets};
        match *object {
            EventObject::Lead(r) => to_json(leads::Lead::from(r.clone())),
            EventObject::WalletTransaction(r) => {
                to_json(wallets::WalletTransaction::from(r.clone()))
            }
            EventObject::Coupon(r) => to_json(coupons::Coupon::from(r.clone())),
            EventObject::TaskActivity(i) => to_json(tasks::TaskActivity::from(i.clone())),
            EventObject::SurpriseActivity(i) => {
                to_json(surprises::SurpriseActivity::from(i.clone()))
            }
            EventObject::RuleTriggered {
                interaction,
                transaction,
            } => to_json(campaigns::TriggerResult::from(Triggered {
                interaction: interaction.clone(),
                transaction: transaction.cloned(),
                replayed: false,
            })),
            EventObject::VoucherAwarded {
                interaction,
                voucher,
            } => to_json(super::award::Award::from(Awarded {
                interaction: interaction.clone(),
                voucher: voucher.clone(),
                replayed: false,
            })),
            EventObject::Swap(v) => to_json(swaps::Swap::from(v.clone())),
        }
    }
}

/// The schema (in `components`) of each event's `data`.
fn data_schema(kind: EventType) -> &'static str {
    match kind {
        EventType::LeadCreated => "Lead",
        EventType::WalletTransactionCreated => "WalletTransaction",
        EventType::CouponIssued | EventType::CouponUsed | EventType::CouponCancelled => "Coupon",
        EventType::TaskCompleted => "TaskActivity",
        EventType::SurpriseClaimed => "SurpriseActivity",
        EventType::RuleTriggered => "TriggerResult",
        EventType::VoucherAwarded => "Award",
        EventType::SwapCompleted => "Swap",
    }
}

fn describe(kind: EventType) -> &'static str {
    match kind {
        EventType::LeadCreated => "A lead was created.",
        EventType::WalletTransactionCreated => {
            "A wallet transaction was written: a reward, a redemption, an adjustment, a reversal or either side of a swap."
        }
        EventType::CouponIssued => "A coupon was issued to a lead (redeemed with points or given as a reward).",
        EventType::CouponUsed => "A coupon was used. `qr_token` is null in events.",
        EventType::CouponCancelled => "A coupon was cancelled (its points, if any, refunded).",
        EventType::TaskCompleted => "A lead's activity completed a task and got its reward.",
        EventType::SurpriseClaimed => "A lead claimed a surprise.",
        EventType::RuleTriggered => "An earn or redeem rule was triggered and moved points.",
        EventType::VoucherAwarded => "A voucher campaign awarded a voucher.",
        EventType::SwapCompleted => "A lead's points were swapped.",
    }
}

/// The document's `webhooks`: each event's POST with its body.
pub struct WebhookEvents;

impl utoipa::Modify for WebhookEvents {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let mut hooks = serde_json::Map::new();
        for kind in EventType::ALL {
            let schema = serde_json::json!({
                "type": "object",
                "required": ["type", "timestamp", "data"],
                "properties": {
                    "type": {"type": "string", "enum": [kind.as_str()]},
                    "timestamp": {"type": "string", "format": "date-time"},
                    "data": {"$ref": format!("#/components/schemas/{}", data_schema(kind))},
                },
            });
            hooks.insert(
                kind.as_str().to_string(),
                serde_json::json!({
                    "post": {
                        "operationId": format!("on_{}", kind.as_str().replace('.', "_")),
                        "summary": kind.as_str(),
                        // Signed with the endpoint's secret (see the description), not with
                        // the API's credentials.
                        "security": [{}],
                        "description": format!(
                            "{} Sent signed with the headers `webhook-id`, `webhook-timestamp` and \
                             `webhook-signature` (`v1,<base64 HMAC-SHA256 of \"<id>.<timestamp>.<body>\">`, \
                             keyed with the endpoint secret's bytes after `whsec_`).",
                            describe(kind)
                        ),
                        "requestBody": {
                            "required": true,
                            "content": {"application/json": {"schema": schema}},
                        },
                        "responses": {
                            "2XX": {"description": "received; anything else (or no answer within 10 s) is retried with exponential backoff for up to 24 hours"}
                        },
                    }
                }),
            );
        }
        openapi
            .extensions
            .get_or_insert_with(Default::default)
            .insert("webhooks".to_string(), serde_json::Value::Object(hooks));
    }
}
