//! Webhooks of the current environment: endpoints (create with the events wanted, the secret
//! shown once; edit, disable, delete) and each endpoint's delivery log with redelivery.

use askama::Template;
use axum::extract::{Path, RawForm, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use punchcard_app::webhooks::{EndpointInput, EventType, MAX_ENDPOINTS};
use punchcard_domain::{WebhookDeliveryId, WebhookEndpointId};
use punchcard_store::webhooks::{DeliveryRow, DeliveryStatus, EndpointRow};

use super::chrome::{render, render_with, Chrome, Flash, FormErrors, Nav, PageError};
use super::kit::{back_to, path_id, short_time, FormFields};
use super::session::ActiveMerchant;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/webhooks", get(list).post(create))
        .route("/dashboard/webhooks/{id}", get(show).post(update))
        .route("/dashboard/webhooks/{id}/delete", post(delete))
        .route(
            "/dashboard/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            post(redeliver),
        )
}

/// An event's checkbox.
pub struct EventChoice {
    pub name: &'static str,
    pub checked: bool,
}

fn choices(checked: &[String]) -> Vec<EventChoice> {
    EventType::ALL
        .iter()
        .map(|e| EventChoice {
            name: e.as_str(),
            checked: checked.iter().any(|c| c == e.as_str()),
        })
        .collect()
}

pub struct EndpointLine {
    pub id: String,
    pub url: String,
    pub events: String,
    pub enabled: bool,
    pub created: String,
}

impl EndpointLine {
    fn of(e: &EndpointRow) -> Self {
        Self {
            id: e.id.to_string(),
            url: e.url.clone(),
            events: e.events.join(", "),
            enabled: e.enabled,
            created: short_time(e.created_at),
        }
    }
}

pub struct DeliveryLine {
    pub id: String,
    pub event: String,
    pub status: &'static str,
    pub attempts: i64,
    pub last_status: String,
    pub last_response: String,
    pub created: String,
    pub next: String,
}

impl DeliveryLine {
    fn of(d: &DeliveryRow) -> Self {
        Self {
            id: d.id.to_string(),
            event: d.event_type.clone(),
            status: d.status.as_str(),
            attempts: d.attempts,
            last_status: d.last_status.map(|s| s.to_string()).unwrap_or_default(),
            last_response: d
                .last_response
                .as_deref()
                .unwrap_or_default()
                .chars()
                .take(120)
                .collect(),
            created: short_time(d.created_at),
            next: match (d.status, d.next_attempt_at) {
                (DeliveryStatus::Pending, Some(t)) => short_time(t),
                _ => String::new(),
            },
        }
    }
}

/// What the create and edit forms hold.
#[derive(Debug, Default)]
pub struct EndpointForm {
    pub url: String,
    pub events: Vec<String>,
    pub enabled: bool,
}

impl EndpointForm {
    fn of(f: &FormFields) -> Self {
        Self {
            url: f.get("url"),
            events: f.all("events"),
            enabled: f.ticked("enabled"),
        }
    }

    fn input(&self) -> EndpointInput {
        EndpointInput {
            url: Some(self.url.clone()),
            events: Some(self.events.clone()),
            enabled: Some(self.enabled),
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/webhooks.html")]
struct ListPage {
    chrome: Chrome,
    endpoints: Vec<EndpointLine>,
    cap: i64,
    form: EndpointForm,
    events: Vec<EventChoice>,
    errors: FormErrors,
    /// Days ended deliveries are kept.
    retention_days: u64,
}

#[derive(Template)]
#[template(path = "dashboard/webhook_created.html")]
struct CreatedPage {
    chrome: Chrome,
    endpoint: EndpointLine,
    secret: String,
}

#[derive(Template)]
#[template(path = "dashboard/webhook.html")]
struct ShowPage {
    chrome: Chrome,
    endpoint: EndpointLine,
    form: EndpointForm,
    events: Vec<EventChoice>,
    errors: FormErrors,
    deliveries: Vec<DeliveryLine>,
    /// Days ended deliveries are kept.
    retention_days: u64,
}

async fn list_page(
    state: &AppState,
    user: &ActiveMerchant,
    form: EndpointForm,
    errors: FormErrors,
) -> Result<ListPage, PageError> {
    let rows = state.app.webhook_endpoints(&user.scope()).await?;
    let events = choices(&form.events);
    Ok(ListPage {
        chrome: Chrome::new(user, Nav::Webhooks),
        endpoints: rows.iter().map(EndpointLine::of).collect(),
        cap: MAX_ENDPOINTS,
        form,
        events,
        errors,
        retention_days: state.app.webhook_retention_days(),
    })
}

async fn list(State(state): State<AppState>, user: ActiveMerchant) -> Result<Response, PageError> {
    let form = EndpointForm {
        enabled: true,
        ..Default::default()
    };
    Ok(render(
        &list_page(&state, &user, form, FormErrors::none()).await?,
    ))
}

/// Creates an endpoint and shows its secret on this answer only.
async fn create(
    State(state): State<AppState>,
    user: ActiveMerchant,
    RawForm(body): RawForm,
) -> Result<Response, PageError> {
    let mut form = EndpointForm::of(&FormFields::parse(&body));
    form.enabled = true;
    match state
        .app
        .create_webhook_endpoint(&user.scope(), form.input())
        .await
    {
        Ok(created) => Ok(render(&CreatedPage {
            chrome: Chrome::new(&user, Nav::Webhooks),
            endpoint: EndpointLine::of(&created.endpoint),
            secret: created.secret,
        })),
        Err(e) => {
            let (status, errors) = FormErrors::refusal(e)?;
            Ok(render_with(
                status,
                &list_page(&state, &user, form, errors).await?,
            ))
        }
    }
}

async fn show_page(
    state: &AppState,
    user: &ActiveMerchant,
    endpoint: &EndpointRow,
    form: EndpointForm,
    errors: FormErrors,
) -> Result<ShowPage, PageError> {
    let deliveries = state
        .app
        .webhook_deliveries(&user.scope(), endpoint.id.as_str(), None, 100)
        .await?;
    let events = choices(&form.events);
    Ok(ShowPage {
        chrome: Chrome::new(user, Nav::Webhooks),
        endpoint: EndpointLine::of(endpoint),
        form,
        events,
        errors,
        deliveries: deliveries.iter().map(DeliveryLine::of).collect(),
        retention_days: state.app.webhook_retention_days(),
    })
}

async fn show(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: WebhookEndpointId = path_id(&id, "webhook endpoint")?;
    let endpoint = state
        .app
        .webhook_endpoint(&user.scope(), id.as_str())
        .await?;
    let form = EndpointForm {
        url: endpoint.url.clone(),
        events: endpoint.events.clone(),
        enabled: endpoint.enabled,
    };
    Ok(render(
        &show_page(&state, &user, &endpoint, form, FormErrors::none()).await?,
    ))
}

async fn update(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Result<Response, PageError> {
    let id: WebhookEndpointId = path_id(&id, "webhook endpoint")?;
    let form = EndpointForm::of(&FormFields::parse(&body));
    match state
        .app
        .update_webhook_endpoint(&user.scope(), id.as_str(), form.input())
        .await
    {
        Ok(_) => Ok(back_to(
            &state,
            &format!("/dashboard/webhooks/{id}"),
            Flash::success("Endpoint saved."),
        )),
        Err(e) => {
            let (status, errors) = FormErrors::refusal(e)?;
            let endpoint = state
                .app
                .webhook_endpoint(&user.scope(), id.as_str())
                .await?;
            Ok(render_with(
                status,
                &show_page(&state, &user, &endpoint, form, errors).await?,
            ))
        }
    }
}

async fn delete(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id: WebhookEndpointId = path_id(&id, "webhook endpoint")?;
    state
        .app
        .delete_webhook_endpoint(&user.scope(), id.as_str())
        .await?;
    Ok(back_to(
        &state,
        "/dashboard/webhooks",
        Flash::success("Endpoint deleted, with its delivery log."),
    ))
}

async fn redeliver(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id: WebhookEndpointId = path_id(&id, "webhook endpoint")?;
    let delivery_id: WebhookDeliveryId = path_id(&delivery_id, "webhook delivery")?;
    let delivery = state
        .app
        .webhook_delivery(&user.scope(), delivery_id.as_str())
        .await?;
    if delivery.endpoint_id != id {
        return Err(PageError(punchcard_app::AppError::NotFound(
            "webhook delivery",
        )));
    }
    state
        .app
        .redeliver_webhook(&user.scope(), delivery_id.as_str())
        .await?;
    Ok(back_to(
        &state,
        &format!("/dashboard/webhooks/{id}"),
        Flash::success(format!("Delivery {delivery_id} queued to be sent again.")),
    ))
}
