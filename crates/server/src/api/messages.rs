//! `/api/v1/messages`: messages and promos sent to all of a merchant's leads or a segment,
//! fanned out in the background (`queued`, `sending`, then `sent`, with the leads reached).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use punchcard_app::ledger::Scope;
use punchcard_app::messages::{NewMessage, SegmentInput, Sender};
use punchcard_domain::MessageId;
use punchcard_store::messages::MessageRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageParams};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// Who a message goes to.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageSegment {
    /// `all`, `deal_coupon` (leads holding an unused coupon of `deal_id`), `min_balance`
    /// (leads with at least `min_balance` points of `currency_id`), `task_completed` (leads who
    /// completed `task_id`), `birthday_month` (leads born in the month the message is sent) or
    /// `store` (leads who joined at `store_id`'s join code or were served at its counter).
    #[serde(rename = "type", default)]
    #[schema(
        example = "all",
        pattern = "^(all|deal_coupon|min_balance|task_completed|birthday_month|store)$"
    )]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deal_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_balance: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
}

impl From<MessageSegment> for SegmentInput {
    fn from(s: MessageSegment) -> Self {
        SegmentInput {
            kind: s.kind,
            deal_id: s.deal_id,
            currency_id: s.currency_id,
            min_balance: s.min_balance,
            task_id: s.task_id,
            store_id: s.store_id,
        }
    }
}

/// A message or promo to send.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessageBody {
    /// `message` (needs `text`) or `promo` (needs `title` and `body`).
    #[serde(default)]
    #[schema(required = true, example = "promo", pattern = "^(message|promo)$")]
    pub kind: String,
    /// A message's text (at most 1000 characters).
    pub text: Option<String>,
    /// A promo's title (at most 120 characters).
    pub title: Option<String>,
    /// A promo's body (at most 2000 characters).
    pub body: Option<String>,
    /// A link: a message's, or a promo's call to action (http or https).
    pub url: Option<String>,
    pub image_url: Option<String>,
    pub video_url: Option<String>,
    #[schema(required = true)]
    pub segment: Option<MessageSegment>,
}

/// A message and how far its sending got.
#[derive(Debug, Serialize, ToSchema)]
pub struct Message {
    #[schema(example = "mes_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    #[schema(example = "promo")]
    pub kind: String,
    pub text: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub url: Option<String>,
    pub image_url: Option<String>,
    pub video_url: Option<String>,
    pub segment: serde_json::Value,
    /// `queued`, `sending` or `sent`.
    #[schema(example = "sent", pattern = "^(queued|sending|sent)$")]
    pub status: String,
    /// Leads in the segment when sending started (0 while queued).
    pub recipients: i64,
    /// Leads reached so far.
    pub delivered: i64,
    /// The store whose staff sent it from the partner app, if any.
    pub store_id: Option<String>,
    pub env: String,
    pub created_at: String,
    pub sent_at: Option<String>,
}

impl From<MessageRow> for Message {
    fn from(m: MessageRow) -> Self {
        Self {
            id: m.id.to_string(),
            kind: m.kind,
            text: m.text,
            title: m.title,
            body: m.body,
            url: m.url,
            image_url: m.image_url,
            video_url: m.video_url,
            segment: serde_json::from_str(&m.segment).unwrap_or(serde_json::Value::Null),
            status: m.status,
            recipients: m.recipients,
            delivered: m.delivered,
            store_id: m.store_id.map(|s| s.to_string()),
            env: m.env.to_string(),
            created_at: m.created_at.to_rfc3339(),
            sent_at: m.sent_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// Queues a message or promo for all leads or a segment; it is sent in the background.
#[utoipa::path(post, path = "/api/v1/messages", tag = "messages",
    request_body = NewMessageBody,
    security(("basic" = [])),
    responses(
        (status = 201, description = "the message, `queued`", body = Message),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields (`validation_failed`), or too many messages waiting (`limit_reached`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_message(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewMessageBody>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    let new = NewMessage {
        kind: body.kind,
        text: body.text,
        title: body.title,
        body: body.body,
        url: body.url,
        image_url: body.image_url,
        video_url: body.video_url,
        segment: body.segment.map(Into::into).unwrap_or_default(),
    };
    let sender = Sender {
        api_key_id: Some(caller.key_id.to_string()),
        ..Sender::default()
    };
    let row = state
        .app
        .send_message(&Scope::from(&caller), &sender, &new)
        .await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// The environment's messages, newest first.
#[utoipa::path(get, path = "/api/v1/messages", tag = "messages",
    params(PageParams),
    security(("basic" = [])),
    responses(
        (status = 200, description = "a page of messages", body = Page<Message>),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid paging parameters", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_messages(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<Page<Message>>, ApiError> {
    let page = params.parse()?;
    let rows = state
        .app
        .list_messages(
            &Scope::from(&caller),
            None,
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
    let page = page.page(rows, |m| m.id.to_string());
    Ok(Json(Page {
        data: page.data.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One message and its progress.
#[utoipa::path(get, path = "/api/v1/messages/{id}", tag = "messages",
    params(("id" = String, Path, description = "the message id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the message", body = Message),
        (status = 404, description = "no such message in this environment", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_message(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<MessageId>,
) -> Result<Json<Message>, ApiError> {
    let row = state
        .app
        .message(&Scope::from(&caller), id.as_str())
        .await?;
    Ok(Json(row.into()))
}
