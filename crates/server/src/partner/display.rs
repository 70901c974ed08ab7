//! *Display code*: a grant or a deal shown as a QR code for two minutes, claimed once by the
//! first lead who scans it from the member page; and a store's *join* code, which a new
//! customer scans with the phone's camera to become a lead (the form at `/join/{token}`).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use punchcard_app::counter::{Gift, JoinForm};
use punchcard_app::stores::Stores;
use punchcard_app::AppError;
use punchcard_domain::time::Timestamp;

use super::scan::refusal_words;
use super::{PartnerChrome, Staff, Tab};
use crate::dashboard::chrome::{render, render_with, FormErrors, PageError};
use crate::dashboard::session::Visitor;
use crate::member::qr_svg;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/partner/display", get(choose).post(make))
        .route("/partner/display/{id}", get(shown))
        .route("/partner/display/{id}/status", get(status))
        .route("/partner/join-code", get(join_code))
        .route("/join/{token}", get(join_form).post(join_submit))
}

/// A gift in the list to display.
pub struct GiftChoice {
    pub id: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "partner/display.html")]
struct Choose {
    chrome: PartnerChrome,
    gifts: Vec<GiftChoice>,
    error: Option<String>,
}

async fn gift_choices(state: &AppState, staff: &Staff) -> Result<Vec<GiftChoice>, AppError> {
    let scope = staff.scope();
    let currencies = state
        .app
        .list_currencies(&scope.merchant_id, None, 100)
        .await?;
    Ok(state
        .app
        .gifts(&scope)
        .await?
        .into_iter()
        .map(|(id, g)| GiftChoice {
            id,
            label: match &g {
                Gift::Grant(grant) => format!(
                    "{} · {} {}",
                    grant.name,
                    grant.points,
                    currencies
                        .iter()
                        .find(|c| c.id == grant.currency_id)
                        .map(|c| c.name.as_str())
                        .unwrap_or("points")
                ),
                Gift::Deal(d) => d.name.clone(),
            },
        })
        .collect())
}

async fn choose(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    let gifts = gift_choices(&state, &staff).await?;
    Ok(render(&Choose {
        chrome: staff.chrome(Tab::Display),
        gifts,
        error: None,
    }))
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct MakeForm {
    gift: String,
}

async fn make(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<MakeForm>,
) -> Result<Response, PageError> {
    match state.app.display_code(&staff.counter(), &form.gift).await {
        Ok((claim, _)) => {
            Ok(Redirect::to(&format!("/partner/display/{}", claim.claim.id)).into_response())
        }
        Err(e @ (AppError::Validation(_) | AppError::NotFound(_))) => {
            let gifts = gift_choices(&state, &staff).await?;
            Ok(render_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &Choose {
                    chrome: staff.chrome(Tab::Display),
                    gifts,
                    error: Some(refusal_words(&e)),
                },
            ))
        }
        Err(e) => Err(PageError(e)),
    }
}

#[derive(Template)]
#[template(path = "partner/display_code.html")]
struct Shown {
    chrome: PartnerChrome,
    id: String,
    label: String,
    qr: String,
    /// What the QR code says (for a screen reader's "copy" and for scripts).
    token: String,
    /// `open`, `claimed` or `expired`.
    status: &'static str,
    seconds_left: i64,
    claimed_by: String,
}

async fn claimed_by(
    state: &AppState,
    staff: &Staff,
    lead: Option<&punchcard_domain::LeadId>,
) -> String {
    let Some(id) = lead else {
        return String::new();
    };
    match state.app.lead(&staff.scope(), id.as_str()).await {
        Ok(l) => l.name.unwrap_or(l.customer_id),
        Err(_) => "a customer".to_string(),
    }
}

async fn shown(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let view = state.app.claim_view(&staff.scope(), &id).await?;
    let now = Timestamp::now();
    let token = state
        .app
        .sign_token(&punchcard_app::tokens::Token {
            kind: punchcard_app::tokens::TokenKind::Claim,
            merchant_id: view.claim.merchant_id.clone(),
            env: view.claim.env,
            subject: view.claim.id.to_string(),
            expires_at: Some(view.claim.expires_at.unix()),
        })
        .await?;
    let page = Shown {
        chrome: staff.chrome(Tab::Display),
        id: view.claim.id.to_string(),
        label: view.label.clone(),
        qr: qr_svg(&token, 260).unwrap_or_default(),
        token,
        status: view.status(now),
        seconds_left: (view.claim.expires_at.unix() - now.unix()).max(0),
        claimed_by: claimed_by(&state, &staff, view.claim.lead_id.as_ref()).await,
    };
    Ok(render(&page))
}

#[derive(serde::Serialize)]
struct StatusAnswer {
    status: &'static str,
    seconds_left: i64,
    claimed_by: String,
}

async fn status(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let view = state.app.claim_view(&staff.scope(), &id).await?;
    let now = Timestamp::now();
    Ok(Json(StatusAnswer {
        status: view.status(now),
        seconds_left: (view.claim.expires_at.unix() - now.unix()).max(0),
        claimed_by: claimed_by(&state, &staff, view.claim.lead_id.as_ref()).await,
    })
    .into_response())
}

#[derive(Template)]
#[template(path = "partner/join_code.html")]
struct JoinCode {
    chrome: PartnerChrome,
    url: String,
    qr: String,
}

async fn join_code(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    let counter = staff.counter();
    let token = state
        .app
        .join_token(&counter.scope, counter.store_id.as_ref())
        .await?;
    let url = format!("{}/join/{token}", state.base_url);
    Ok(render(&JoinCode {
        chrome: staff.chrome(Tab::Display),
        qr: qr_svg(&url, 280).unwrap_or_default(),
        url,
    }))
}

#[derive(Template)]
#[template(path = "partner/join.html")]
struct JoinPage {
    csrf: String,
    merchant: String,
    store: Option<String>,
    name: String,
    email: String,
    mobile: String,
    consent: bool,
    errors: FormErrors,
}

async fn join_target(state: &AppState, token: &str) -> Result<(String, Option<String>), AppError> {
    let (scope, store) = state.app.join_target(token).await?;
    let merchant = state.app.merchant(&scope.merchant_id).await?;
    if merchant.status != punchcard_domain::accounts::MerchantStatus::Active {
        return Err(AppError::InvalidToken("this business is not open".into()));
    }
    let store = match store {
        Some(id) => match state
            .app
            .item::<Stores>(&scope.merchant_id, scope.env, &id)
            .await
        {
            Ok(s) => Some(s.row.name),
            Err(AppError::NotFound(_)) => None,
            Err(e) => return Err(e),
        },
        None => None,
    };
    Ok((merchant.name, store))
}

fn no_such_join() -> Response {
    crate::dashboard::chrome::error_page(
        StatusCode::NOT_FOUND,
        "This code does not open a page",
        "Ask the shop to show its join code again.",
    )
}

async fn join_form(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let (merchant, store) = match join_target(&state, &token).await {
        Ok(t) => t,
        Err(AppError::InvalidToken(_) | AppError::NotFound(_)) => return Ok(no_such_join()),
        Err(e) => return Err(PageError(e)),
    };
    Ok(render(&JoinPage {
        csrf: visitor.csrf,
        merchant,
        store,
        name: String::new(),
        email: String::new(),
        mobile: String::new(),
        consent: false,
        errors: FormErrors::none(),
    }))
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct JoinFields {
    name: String,
    email: String,
    mobile: String,
    consent: String,
}

async fn join_submit(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
    Form(form): Form<JoinFields>,
) -> Result<Response, PageError> {
    let (merchant, store) = match join_target(&state, &token).await {
        Ok(t) => t,
        Err(AppError::InvalidToken(_) | AppError::NotFound(_)) => return Ok(no_such_join()),
        Err(e) => return Err(PageError(e)),
    };
    let answers = JoinForm {
        name: form.name.clone(),
        email: form.email.clone(),
        mobile: form.mobile.clone(),
        consent: !form.consent.is_empty(),
    };
    let refused = |errors: FormErrors| JoinPage {
        csrf: visitor.csrf.clone(),
        merchant: merchant.clone(),
        store: store.clone(),
        name: form.name.clone(),
        email: form.email.clone(),
        mobile: form.mobile.clone(),
        consent: answers.consent,
        errors,
    };
    match state.app.join(&token, &answers).await {
        Ok((_, member)) => Ok(Redirect::to(&format!("/m/{member}?done=joined")).into_response()),
        Err(AppError::Validation(v)) => Ok(render_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &refused(v.into()),
        )),
        Err(AppError::QuotaExhausted(_) | AppError::LimitReached(_)) => Ok(render_with(
            StatusCode::CONFLICT,
            &refused(FormErrors::form(
                "The shop can't take new members just now. Please ask at the counter.",
            )),
        )),
        Err(e) => Err(PageError(e)),
    }
}
