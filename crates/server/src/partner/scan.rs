//! *Scan code* and *Enter code ID*: a scanned token shows what it stands for (a coupon to mark
//! used, a lead to give something to); a typed coupon code and customer id mark a coupon used.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use punchcard_app::counter::Gift;
use punchcard_app::deals::Deals;
use punchcard_app::tokens::Resolved;
use punchcard_app::AppError;
use punchcard_domain::coupons::CouponStatus;
use punchcard_store::coupons::CouponRow;
use punchcard_store::leads::LeadRow;

use super::frames::{read_qr, NoCode};
use super::{done, Done, PartnerChrome, Staff, Tab};
use crate::dashboard::chrome::{render, render_with, FormErrors, PageError};
use crate::dashboard::kit::{retry_key, short_time};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/partner/scan", get(scan_page))
        .route(
            "/partner/scan/frame",
            post(read_frame).layer(axum::extract::DefaultBodyLimit::max(
                super::frames::MAX_FRAME_BYTES,
            )),
        )
        .route("/partner/code", get(code_page))
        .route("/partner/coupons/{id}/use", post(use_coupon))
        .route("/partner/leads/{id}/give", post(give))
        .route("/partner/enter", get(enter_form).post(enter_submit))
}

#[derive(Template)]
#[template(path = "partner/scan.html")]
struct ScanPage {
    chrome: PartnerChrome,
    /// `server` forces frames to the server even where the browser has a detector.
    decoder: String,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct ScanQuery {
    decoder: String,
}

async fn scan_page(staff: Staff, Query(q): Query<ScanQuery>) -> Response {
    render(&ScanPage {
        chrome: staff.chrome(Tab::Scan),
        decoder: if q.decoder == "server" {
            "server".into()
        } else {
            "auto".into()
        },
    })
}

/// A frame read: the code's text, or why none.
#[derive(serde::Serialize)]
struct FrameAnswer {
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
}

/// Reads a camera frame (JPEG or PNG) posted by the scanner script.
async fn read_frame(_staff: Staff, body: Bytes) -> Response {
    frame_answer(body).await
}

/// The answer to a posted frame (also the member page's scanner).
pub async fn frame_answer(body: Bytes) -> Response {
    let read = tokio::task::spawn_blocking(move || read_qr(&body)).await;
    match read {
        Ok(Ok(token)) => Json(FrameAnswer {
            token: Some(token),
            error: None,
        })
        .into_response(),
        Ok(Err(NoCode::NotFound)) => Json(FrameAnswer {
            token: None,
            error: Some("no_code"),
        })
        .into_response(),
        Ok(Err(NoCode::Unreadable)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(FrameAnswer {
                token: None,
                error: Some("unreadable_image"),
            }),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "reading a frame failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A balance in words.
pub struct BalanceLine {
    pub currency: String,
    pub points: i64,
}

/// Something staff can give, as a button.
pub struct GiftButton {
    pub id: String,
    pub label: String,
    pub points: bool,
}

/// A coupon as the counter sees it.
pub struct CouponCard {
    pub id: String,
    pub deal: String,
    pub code: String,
    pub holder: String,
    pub status: &'static str,
    pub usable: bool,
    pub when: String,
}

#[derive(Template)]
#[template(path = "partner/code.html")]
struct CodePage {
    chrome: PartnerChrome,
    coupon: Option<CouponCard>,
    lead: Option<LeadCard>,
    /// For a code that is neither: what to do instead.
    note: Option<(String, String)>,
}

/// A lead as the counter sees it, with what staff may give.
pub struct LeadCard {
    pub id: String,
    pub name: String,
    pub customer_id: String,
    pub balances: Vec<BalanceLine>,
    pub gifts: Vec<GiftButton>,
    pub hash: String,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct CodeQuery {
    token: String,
}

fn holder(lead: Option<&LeadRow>) -> String {
    match lead {
        Some(l) => match &l.name {
            Some(n) => format!("{n} ({})", l.customer_id),
            None => l.customer_id.clone(),
        },
        None => "a customer".to_string(),
    }
}

async fn coupon_card(
    state: &AppState,
    staff: &Staff,
    c: &CouponRow,
) -> Result<CouponCard, AppError> {
    let scope = staff.scope();
    let deal = match state
        .app
        .item::<Deals>(&scope.merchant_id, scope.env, &c.deal_id)
        .await
    {
        Ok(d) => d.row.name,
        Err(AppError::NotFound(_)) => "A deal".to_string(),
        Err(e) => return Err(e),
    };
    let lead = match state.app.lead(&scope, c.lead_id.as_str()).await {
        Ok(l) => Some(l),
        Err(AppError::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let (status, when) = match c.status {
        CouponStatus::Issued => ("Ready to use", short_time(c.created_at)),
        CouponStatus::Used => (
            "Already used",
            c.used_at.map(short_time).unwrap_or_default(),
        ),
        CouponStatus::Cancelled => (
            "Cancelled",
            c.cancelled_at.map(short_time).unwrap_or_default(),
        ),
    };
    Ok(CouponCard {
        id: c.id.to_string(),
        deal,
        code: c.code.clone(),
        holder: holder(lead.as_ref()),
        status,
        usable: c.status == CouponStatus::Issued,
        when,
    })
}

async fn lead_card(state: &AppState, staff: &Staff, lead: &LeadRow) -> Result<LeadCard, AppError> {
    let scope = staff.scope();
    let currencies = state
        .app
        .list_currencies(&scope.merchant_id, None, 100)
        .await?;
    let name_of = |id: &punchcard_domain::CurrencyId| {
        currencies
            .iter()
            .find(|c| &c.id == id)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let balances = state
        .app
        .list_wallets(&scope, Some(lead.id.as_str()), None, None, 100)
        .await?
        .iter()
        .map(|w| BalanceLine {
            currency: name_of(&w.currency_id),
            points: w.balance,
        })
        .collect();
    let gifts = state
        .app
        .gifts(&scope)
        .await?
        .into_iter()
        .map(|(id, g)| GiftButton {
            id,
            points: matches!(g, Gift::Grant(_)),
            label: match &g {
                Gift::Grant(grant) => format!(
                    "{} · {} {}",
                    grant.name,
                    grant.points,
                    name_of(&grant.currency_id)
                ),
                Gift::Deal(d) => d.name.clone(),
            },
        })
        .collect();
    Ok(LeadCard {
        id: lead.id.to_string(),
        name: lead.name.clone().unwrap_or_else(|| "No name".to_string()),
        customer_id: lead.customer_id.clone(),
        balances,
        gifts,
        hash: retry_key("counter"),
    })
}

async fn code_page(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<CodeQuery>,
) -> Result<Response, PageError> {
    let mut page = CodePage {
        chrome: staff.chrome(Tab::Scan),
        coupon: None,
        lead: None,
        note: None,
    };
    match state.app.resolve_token(&staff.scope(), &q.token).await {
        Ok(Resolved::Coupon(c)) => page.coupon = Some(coupon_card(&state, &staff, &c).await?),
        Ok(Resolved::Lead(l)) => page.lead = Some(lead_card(&state, &staff, &l).await?),
        Ok(Resolved::Claim(_)) => {
            page.note = Some((
                "This is a code to claim".into(),
                "Codes shown at the counter are scanned by customers from their own card page, not here.".into(),
            ))
        }
        Ok(Resolved::Join(_)) => {
            page.note = Some((
                "This is a join code".into(),
                "New customers scan it with their phone's camera to join.".into(),
            ))
        }
        Err(AppError::InvalidToken(why)) => {
            page.note = Some(("This code can't be used here".into(), sentence(&why)));
            return Ok(render_with(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
        Err(AppError::Validation(_)) => {
            page.note = Some((
                "No code read".into(),
                "Scan a customer's card or coupon, or type the code.".into(),
            ));
            return Ok(render_with(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
        Err(e) => return Err(PageError(e)),
    }
    Ok(render(&page))
}

fn sentence(s: &str) -> String {
    let mut chars = s.chars();
    let first: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    format!("{first}{}.", chars.as_str().trim_end_matches('.'))
}

async fn use_coupon(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let chrome = staff.chrome(Tab::Scan);
    match state.app.use_coupon_at_counter(&staff.counter(), &id).await {
        Ok(c) => {
            let card = coupon_card(&state, &staff, &c).await?;
            Ok(done(
                StatusCode::OK,
                Done {
                    chrome,
                    kind: "success",
                    title: "Coupon used".into(),
                    lines: vec![
                        format!("{} for {}.", card.deal, card.holder),
                        format!("Code {}.", card.code),
                        "Hand over the reward.".into(),
                    ],
                    next: "/partner/scan",
                    next_label: "Scan the next code",
                },
            ))
        }
        Err(AppError::Conflict(_)) => {
            let c = state.app.coupon(&staff.scope(), &id).await?;
            let card = coupon_card(&state, &staff, &c).await?;
            Ok(done(
                StatusCode::CONFLICT,
                Done {
                    chrome,
                    kind: "error",
                    title: "Not used: this coupon was used before".into(),
                    lines: vec![
                        format!("{} for {}.", card.deal, card.holder),
                        format!("{} {}.", card.status, card.when),
                        "Do not hand over the reward again.".into(),
                    ],
                    next: "/partner/scan",
                    next_label: "Scan another code",
                },
            ))
        }
        Err(e) => Err(PageError(e)),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct GiveForm {
    gift: String,
    hash: String,
}

async fn give(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<GiveForm>,
) -> Result<Response, PageError> {
    let chrome = staff.chrome(Tab::Scan);
    let lead = state.app.lead(&staff.scope(), &id).await?;
    let who = holder(Some(&lead));
    match state
        .app
        .give_at_counter(&staff.counter(), &id, &form.gift, &form.hash)
        .await
    {
        Ok(given) => {
            let mut lines = vec![if given.replayed {
                format!("This was already given to {who}: nothing more was given.")
            } else {
                format!("{} given to {who}.", given.label)
            }];
            if let Some(t) = &given.transaction {
                lines.push(format!("New balance: {} points.", t.balance_after));
            }
            if let Some(c) = &given.coupon {
                lines.push(format!(
                    "The coupon (code {}) is on the customer's card.",
                    c.code
                ));
            }
            Ok(done(
                StatusCode::OK,
                Done {
                    chrome,
                    kind: "success",
                    title: "Given".into(),
                    lines,
                    next: "/partner/scan",
                    next_label: "Scan the next code",
                },
            ))
        }
        Err(
            e @ (AppError::Validation(_)
            | AppError::OutOfStock(_)
            | AppError::QuotaExhausted(_)
            | AppError::LimitReached(_)
            | AppError::Conflict(_)),
        ) => Ok(done(
            StatusCode::UNPROCESSABLE_ENTITY,
            Done {
                chrome,
                kind: "error",
                title: "Nothing was given".into(),
                lines: vec![refusal_words(&e)],
                next: "/partner/scan",
                next_label: "Back to scanning",
            },
        )),
        Err(e) => Err(PageError(e)),
    }
}

/// Why the app refused, in a sentence.
pub fn refusal_words(e: &AppError) -> String {
    match e {
        AppError::Validation(v) => {
            v.0.iter()
                .map(|f| sentence(&f.message))
                .collect::<Vec<_>>()
                .join(" ")
        }
        AppError::OutOfStock(_) => "This deal has no coupons left.".into(),
        AppError::QuotaExhausted(_) | AppError::LimitReached(_) => {
            "The business has reached a limit of its plan. Ask the account owner.".into()
        }
        other => sentence(&other.to_string()),
    }
}

#[derive(Template)]
#[template(path = "partner/enter.html")]
struct EnterPage {
    chrome: PartnerChrome,
    code: String,
    customer_id: String,
    errors: FormErrors,
}

async fn enter_form(staff: Staff) -> Response {
    render(&EnterPage {
        chrome: staff.chrome(Tab::Enter),
        code: String::new(),
        customer_id: String::new(),
        errors: FormErrors::none(),
    })
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct EnterForm {
    code: String,
    customer_id: String,
}

async fn enter_submit(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<EnterForm>,
) -> Result<Response, PageError> {
    let result = state
        .app
        .use_coupon_by_code_at(
            &staff.scope(),
            &form.code,
            &form.customer_id,
            Some(&staff.counter()),
        )
        .await;
    let refused = |errors: FormErrors| EnterPage {
        chrome: staff.chrome(Tab::Enter),
        code: form.code.clone(),
        customer_id: form.customer_id.clone(),
        errors,
    };
    match result {
        Ok(c) => {
            let card = coupon_card(&state, &staff, &c).await?;
            Ok(done(
                StatusCode::OK,
                Done {
                    chrome: staff.chrome(Tab::Enter),
                    kind: "success",
                    title: "Coupon used".into(),
                    lines: vec![
                        format!("{} for {}.", card.deal, card.holder),
                        format!("Code {}.", card.code),
                        "Hand over the reward.".into(),
                    ],
                    next: "/partner/enter",
                    next_label: "Enter another code",
                },
            ))
        }
        Err(AppError::Validation(v)) => Ok(render_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &refused(v.into()),
        )),
        Err(AppError::Conflict(m)) => Ok(render_with(
            StatusCode::CONFLICT,
            &refused(FormErrors::form(sentence(&m))),
        )),
        Err(e) => Err(PageError(e)),
    }
}
