//! Messages and promos in the dashboard and the partner app: the compose form (a message or
//! a promo, to all leads or a segment) and the list with each send's progress.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use punchcard_app::ledger::Scope;
use punchcard_app::messages::{NewMessage, SegmentInput, Sender};
use punchcard_app::stores::Stores;
use punchcard_app::AppError;
use punchcard_store::messages::MessageRow;

use super::chrome::{render, render_with, Chrome, Flash, FormErrors, Nav, PageError};
use super::kit::{back_to, non_empty, short_time};
use super::session::ActiveMerchant;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/dashboard/messages", get(page).post(send))
}

/// The compose form as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct MessageForm {
    pub kind: String,
    pub text: String,
    pub title: String,
    pub body: String,
    pub url: String,
    pub image_url: String,
    pub video_url: String,
    pub segment: String,
    pub deal_id: String,
    pub currency_id: String,
    pub min_balance: String,
    pub task_id: String,
    pub store_id: String,
}

impl MessageForm {
    pub fn to_new(&self) -> Result<NewMessage, AppError> {
        let min_balance = match self.min_balance.trim() {
            "" => None,
            s => Some(s.parse::<i64>().map_err(|_| {
                AppError::field(
                    "segment.min_balance",
                    "must be a whole number of at least 0",
                )
            })?),
        };
        Ok(NewMessage {
            kind: self.kind.clone(),
            text: non_empty(&self.text),
            title: non_empty(&self.title),
            body: non_empty(&self.body),
            url: non_empty(&self.url),
            image_url: non_empty(&self.image_url),
            video_url: non_empty(&self.video_url),
            segment: SegmentInput {
                kind: self.segment.clone(),
                deal_id: non_empty(&self.deal_id),
                currency_id: non_empty(&self.currency_id),
                min_balance,
                task_id: non_empty(&self.task_id),
                store_id: non_empty(&self.store_id),
            },
        })
    }
}

/// A choice in one of the form's selects.
pub struct Choice {
    pub id: String,
    pub label: String,
}

/// What the segment selects offer.
pub struct SegmentChoices {
    pub deals: Vec<Choice>,
    pub currencies: Vec<Choice>,
    pub tasks: Vec<Choice>,
    pub stores: Vec<Choice>,
}

impl SegmentChoices {
    pub async fn load(state: &AppState, scope: &Scope) -> Result<Self, AppError> {
        let app = &state.app;
        let now = punchcard_domain::time::Timestamp::now();
        let deals = {
            let mut conn = app.db.conn().await?;
            punchcard_store::coupons::deals_on_offer(
                &mut conn,
                &scope.merchant_id,
                scope.env,
                now,
                200,
            )
            .await?
        };
        Ok(Self {
            deals: deals
                .into_iter()
                .map(|d| Choice {
                    id: d.id.to_string(),
                    label: d.name,
                })
                .collect(),
            currencies: app
                .list_currencies(&scope.merchant_id, None, 100)
                .await?
                .into_iter()
                .map(|c| Choice {
                    id: c.id.to_string(),
                    label: c.name,
                })
                .collect(),
            tasks: app
                .list_campaigns(scope, Some("task"), None, None, 100)
                .await?
                .into_iter()
                .map(|t| Choice {
                    id: t.campaign.id.to_string(),
                    label: t.campaign.name.clone(),
                })
                .collect(),
            stores: app
                .list_items::<Stores>(
                    &scope.merchant_id,
                    scope.env,
                    &punchcard_store::stores::StoreFilter::default(),
                    None,
                    200,
                )
                .await?
                .into_iter()
                .map(|s| Choice {
                    id: s.row.id.to_string(),
                    label: s.row.name,
                })
                .collect(),
        })
    }
}

/// A message in the list, with its progress.
pub struct MessageLine {
    pub id: String,
    pub kind: String,
    pub headline: String,
    pub segment: String,
    pub status: String,
    pub recipients: i64,
    pub delivered: i64,
    /// Out of 100, for the bar.
    pub percent: i64,
    pub created: String,
}

fn segment_words(json: &str) -> String {
    let s: SegmentInput = serde_json::from_str(json).unwrap_or_default();
    match s.kind.as_str() {
        "all" => "All customers".into(),
        "deal_coupon" => "Holders of a deal's coupon".into(),
        "min_balance" => format!("Balance of at least {}", s.min_balance.unwrap_or(0)),
        "task_completed" => "Completed a task".into(),
        "birthday_month" => "Birthday this month".into(),
        "store" => "A store's customers".into(),
        other => other.to_string(),
    }
}

pub fn lines(rows: Vec<MessageRow>) -> Vec<MessageLine> {
    rows.into_iter()
        .map(|m| MessageLine {
            id: m.id.to_string(),
            headline: m
                .title
                .clone()
                .or(m.text.clone())
                .unwrap_or_default()
                .chars()
                .take(80)
                .collect(),
            kind: m.kind,
            segment: segment_words(&m.segment),
            percent: if m.status == "sent" {
                100
            } else if m.recipients > 0 {
                (m.delivered * 100 / m.recipients).min(100)
            } else {
                0
            },
            status: m.status,
            recipients: m.recipients,
            delivered: m.delivered,
            created: short_time(m.created_at),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "dashboard/messages.html")]
struct Page {
    chrome: Chrome,
    form: MessageForm,
    errors: FormErrors,
    choices: SegmentChoices,
    messages: Vec<MessageLine>,
    action: &'static str,
}

async fn build(
    state: &AppState,
    user: &ActiveMerchant,
    form: MessageForm,
    errors: FormErrors,
) -> Result<Page, PageError> {
    let scope = user.scope();
    Ok(Page {
        chrome: Chrome::new(user, Nav::Messages),
        choices: SegmentChoices::load(state, &scope).await?,
        messages: lines(state.app.list_messages(&scope, None, None, 50).await?),
        form: MessageForm {
            kind: if form.kind.is_empty() {
                "message".into()
            } else {
                form.kind
            },
            segment: if form.segment.is_empty() {
                "all".into()
            } else {
                form.segment
            },
            ..form
        },
        errors,
        action: "/dashboard/messages",
    })
}

async fn page(State(state): State<AppState>, user: ActiveMerchant) -> Result<Response, PageError> {
    Ok(render(
        &build(&state, &user, MessageForm::default(), FormErrors::none()).await?,
    ))
}

async fn send(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Form(form): Form<MessageForm>,
) -> Result<Response, PageError> {
    let sender = Sender {
        member_id: Some(user.member.id.clone()),
        ..Sender::default()
    };
    let sent = match form.to_new() {
        Ok(new) => state.app.send_message(&user.scope(), &sender, &new).await,
        Err(e) => Err(e),
    };
    match sent {
        Ok(_) => Ok(back_to(
            &state,
            "/dashboard/messages",
            Flash::success("Queued: it goes out in the background; the list shows how far it got."),
        )),
        Err(e) => {
            let errors = match e {
                AppError::Validation(v) => FormErrors::from(v),
                AppError::LimitReached(m) => FormErrors::form(m),
                other => return Err(PageError(other)),
            };
            let page = build(&state, &user, form, errors).await?;
            Ok(render_with(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}
