//! The member page at `/m/{token}`: a lead's own page on a phone, reached without a password
//! by the long random token of its link. It shows the merchant's name, the lead's balances,
//! its ID QR and its coupons with their QRs; nothing of any other lead. Any other token is a
//! plain 404.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use punchcard_app::deals::Deals;
use punchcard_app::ledger::Scope;
use punchcard_app::AppError;
use punchcard_domain::coupons::CouponStatus;
use punchcard_store::coupons::CouponFilter;
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/m/{token}", get(member_page))
        .route("/m/{token}/surprises/{id}", post(surprise_me))
        .route("/m/{token}/claim", post(claim))
        .route(
            "/m/{token}/frame",
            post(frame).layer(axum::extract::DefaultBodyLimit::max(
                crate::partner::frames::MAX_FRAME_BYTES,
            )),
        )
}

/// A QR code of `text` as an inline SVG drawing (no XML prolog), `px` wide at least.
pub fn qr_svg(text: &str, px: u32) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    let drawn = code
        .render::<svg::Color>()
        .min_dimensions(px, px)
        .quiet_zone(true)
        .dark_color(svg::Color("#111827"))
        .light_color(svg::Color("#ffffff"))
        .build();
    let start = drawn.find("<svg")?;
    Some(drawn[start..].to_string())
}

/// One balance: the currency and the points.
pub struct Balance {
    pub currency: String,
    pub points: i64,
}

/// One coupon on the member page.
pub struct CouponCard {
    pub deal: String,
    pub code: String,
    pub status: &'static str,
    pub status_class: &'static str,
    /// Issued coupons only: the QR a counter scans.
    pub qr: Option<String>,
    pub issued: String,
}

/// A task and the lead's progress in its current period.
pub struct TaskLine {
    pub name: String,
    pub progress: i64,
    pub count: i64,
    /// Out of 100, for the bar.
    pub percent: i64,
    pub period: &'static str,
}

/// A message or promo the lead received.
pub struct MessageCard {
    pub promo: bool,
    pub title: String,
    pub text: String,
    pub url: Option<String>,
    pub image_url: Option<String>,
    pub video_url: Option<String>,
    pub when: String,
}

/// A surprise the lead can claim today.
pub struct SurpriseLine {
    pub id: String,
    pub name: String,
    pub left: i64,
    /// The retry key of this page's *Surprise me* button: a second tap replays the first.
    pub hash: String,
}

#[derive(Template)]
#[template(path = "member/page.html")]
pub struct MemberPage {
    token: String,
    merchant: String,
    name: String,
    customer_id: String,
    balances: Vec<Balance>,
    id_qr: String,
    coupons: Vec<CouponCard>,
    tasks: Vec<TaskLine>,
    surprises: Vec<SurpriseLine>,
    messages: Vec<MessageCard>,
    /// What the last *Surprise me* did, in words.
    notice: Option<(&'static str, String)>,
}

/// What the page says after a *Surprise me*.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct Notice {
    pub done: String,
}

fn notice_of(n: &Notice) -> Option<(&'static str, String)> {
    match n.done.as_str() {
        "claimed" => Some((
            "success",
            "Surprise! Your new coupon is below: show its code at the counter.".to_string(),
        )),
        "limit" => Some((
            "info",
            "You have already claimed this surprise today.".to_string(),
        )),
        "over" => Some((
            "info",
            "This surprise is no longer available today.".to_string(),
        )),
        "joined" => Some((
            "success",
            "Welcome! This is your card: add this page to your home screen to find it again."
                .to_string(),
        )),
        "claimed-code" => Some(("success", "Claimed! It is on your card now.".to_string())),
        "taken" => Some((
            "error",
            "This code was already claimed or has expired: ask at the counter for a new one."
                .to_string(),
        )),
        "bad-code" => Some((
            "error",
            "This code can't be claimed here: scan the code the counter shows you.".to_string(),
        )),
        "refused" => Some((
            "error",
            "Nothing was claimed: the shop can't give this just now.".to_string(),
        )),
        _ => None,
    }
}

/// The form of *Surprise me*.
#[derive(Debug, Default, serde::Deserialize)]
pub struct SurpriseForm {
    #[serde(default)]
    pub hash: String,
}

async fn surprise_me(
    State(state): State<AppState>,
    Path((token, id)): Path<(String, String)>,
    Form(form): Form<SurpriseForm>,
) -> Response {
    let lead = match state.app.member_of_token(&token).await {
        Ok(l) => l,
        Err(AppError::NotFound(_)) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "the member page failed");
            return failed();
        }
    };
    let done = match state
        .app
        .claim_surprise_as_member(&lead, &id, &form.hash)
        .await
    {
        Ok(_) => "claimed",
        Err(AppError::LimitReached(_)) => "limit",
        Err(
            AppError::NotOnOccasion(_)
            | AppError::CampaignNotLive(_)
            | AppError::Validation(_)
            | AppError::OutOfStock(_)
            | AppError::QuotaExhausted(_)
            | AppError::Conflict(_),
        ) => "over",
        Err(e) => {
            tracing::error!(error = %e, "a surprise claim failed");
            return failed();
        }
    };
    Redirect::to(&format!("/m/{token}?done={done}#surprises")).into_response()
}

/// The form of the scanner: the code read (or typed).
#[derive(Debug, Default, serde::Deserialize)]
pub struct ClaimForm {
    #[serde(default)]
    pub code: String,
}

/// Claims a code displayed at the counter.
async fn claim(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Form(form): Form<ClaimForm>,
) -> Response {
    let lead = match state.app.member_of_token(&token).await {
        Ok(l) => l,
        Err(AppError::NotFound(_)) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "the member page failed");
            return failed();
        }
    };
    let done = match state.app.claim_displayed(&lead, &form.code).await {
        Ok(_) => "claimed-code",
        Err(AppError::Conflict(_)) => "taken",
        Err(AppError::InvalidToken(_) | AppError::Validation(_) | AppError::NotFound(_)) => {
            "bad-code"
        }
        Err(AppError::OutOfStock(_) | AppError::QuotaExhausted(_) | AppError::LimitReached(_)) => {
            "refused"
        }
        Err(e) => {
            tracing::error!(error = %e, "a code claim failed");
            return failed();
        }
    };
    Redirect::to(&format!("/m/{token}?done={done}#scan")).into_response()
}

/// Reads a camera frame for the member page's scanner.
async fn frame(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    match state.app.member_of_token(&token).await {
        Ok(_) => crate::partner::frame_answer(body).await,
        Err(AppError::NotFound(_)) => not_found(),
        Err(e) => {
            tracing::error!(error = %e, "the member page failed");
            failed()
        }
    }
}

async fn member_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(notice): Query<Notice>,
) -> Response {
    match render(&state, &token, notice_of(&notice)).await {
        Ok(html) => (
            [
                (axum::http::header::CACHE_CONTROL, "no-store"),
                // Messages may show the merchant's pictures from its own https site.
                (
                    axum::http::header::CONTENT_SECURITY_POLICY,
                    "default-src 'self'; img-src 'self' data: https:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
                ),
            ],
            Html(html),
        )
            .into_response(),
        Err(AppError::NotFound(_)) => not_found(),
        Err(e) => {
            tracing::error!(error = %e, "the member page failed");
            failed()
        }
    }
}

/// The page of a link that opens nothing, or of a failure: a title and a sentence.
#[derive(Template)]
#[template(path = "member/message.html")]
struct Message {
    title: &'static str,
    text: &'static str,
}

fn message(status: StatusCode, title: &'static str, text: &'static str) -> Response {
    match (Message { title, text }).render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => status.into_response(),
    }
}

fn not_found() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "This link does not open a page",
        "Ask the shop for a new link to your card.",
    )
}

fn failed() -> Response {
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Please try again in a moment.",
    )
}

async fn render(
    state: &AppState,
    token: &str,
    notice: Option<(&'static str, String)>,
) -> Result<String, AppError> {
    let app = &state.app;
    let lead = app.member_of_token(token).await?;
    let scope = Scope::new(&lead.merchant_id, lead.env);
    let merchant = app.merchant(&lead.merchant_id).await?;
    let currencies = app.list_currencies(&lead.merchant_id, None, 100).await?;
    let wallets = app
        .list_wallets(&scope, Some(lead.id.as_str()), None, None, 100)
        .await?;
    let balances = wallets
        .iter()
        .map(|w| Balance {
            currency: currencies
                .iter()
                .find(|c| c.id == w.currency_id)
                .map(|c| c.name.clone())
                .unwrap_or_else(|| w.currency_id.to_string()),
            points: w.balance,
        })
        .collect();
    let id_token = app.lead_id_token(&scope, lead.id.as_str()).await?;
    let filter = CouponFilter {
        lead_id: Some(lead.id.to_string()),
        ..Default::default()
    };
    let rows = app.list_coupons_newest(&scope, &filter, None, 50).await?;
    let mut coupons = Vec::with_capacity(rows.len());
    let mut deals: Vec<(punchcard_domain::DealId, String)> = Vec::new();
    for c in rows {
        let deal = match deals.iter().find(|(id, _)| *id == c.deal_id) {
            Some((_, name)) => name.clone(),
            None => {
                let name = match app
                    .item::<Deals>(&lead.merchant_id, lead.env, &c.deal_id)
                    .await
                {
                    Ok(d) => d.row.name,
                    Err(AppError::NotFound(_)) => "A deal".to_string(),
                    Err(e) => return Err(e),
                };
                deals.push((c.deal_id.clone(), name.clone()));
                name
            }
        };
        let (status, status_class) = match c.status {
            CouponStatus::Issued => ("Ready to use", "badge-ok"),
            CouponStatus::Used => ("Used", "badge-muted"),
            CouponStatus::Cancelled => ("Cancelled", "badge-muted"),
        };
        let qr = if c.status == CouponStatus::Issued {
            qr_svg(&app.coupon_token(&c).await?, 180)
        } else {
            None
        };
        coupons.push(CouponCard {
            deal,
            code: c.code.clone(),
            status,
            status_class,
            qr,
            issued: c.created_at.to_rfc3339()[..10].to_string(),
        });
    }
    let tasks = app
        .task_progress(&lead)
        .await?
        .into_iter()
        .map(|(t, progress, count)| TaskLine {
            name: t.campaign.name.clone(),
            progress: progress.min(count),
            count,
            percent: (progress.min(count) * 100) / count.max(1),
            period: match t.campaign.period {
                Some(punchcard_domain::campaigns::Period::Day) => "today",
                Some(punchcard_domain::campaigns::Period::Week) => "this week",
                Some(punchcard_domain::campaigns::Period::Month) => "this month",
                _ => "",
            },
        })
        .collect();
    let surprises = app
        .surprises_today(&lead)
        .await?
        .into_iter()
        .map(|(s, left)| SurpriseLine {
            id: s.campaign.id.to_string(),
            name: s.campaign.name.clone(),
            left,
            hash: format!("member-{}", &punchcard_app::secrets::random_token("")[..32]),
        })
        .collect();
    let messages = app
        .messages_of_lead(&lead)
        .await?
        .into_iter()
        .map(|m| MessageCard {
            promo: m.kind == "promo",
            title: m.title.clone().unwrap_or_default(),
            text: m.text.or(m.body).unwrap_or_default(),
            url: m.url,
            image_url: m.image_url,
            video_url: m.video_url,
            when: m.created_at.to_rfc3339()[..10].to_string(),
        })
        .collect();
    let page = MemberPage {
        token: token.to_string(),
        messages,
        tasks,
        surprises,
        notice,
        merchant: merchant.name,
        name: lead.name.clone().unwrap_or_default(),
        customer_id: lead.customer_id.clone(),
        balances,
        id_qr: qr_svg(&id_token, 220).unwrap_or_default(),
        coupons,
    };
    page.render().map_err(|e| AppError::Internal(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_codes_are_inline_svg_drawings() {
        let svg = qr_svg("pc1.l.mer_x.p.lead_y.0.k1.mac", 100).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(
            !svg.contains("style="),
            "the page's policy refuses inline styles"
        );
    }
}
