//! Coupons: the list (by deal, lead, status, code), marking one used, cancelling one (points
//! refunded), and issuing one by hand for support cases, in the dashboard's environment.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use punchcard_app::coupons::NewCoupon;
use punchcard_app::deals::DealView;
use punchcard_app::ledger::Scope;
use punchcard_app::AppError;
use punchcard_domain::coupons::{CouponMode, CouponStatus};
use punchcard_domain::limits::Quota;
use punchcard_domain::{FieldError, LeadId, ValidationErrors};
use punchcard_store::coupons::{CouponFilter, CouponRow};
use punchcard_store::currencies::CurrencyRow;
use punchcard_store::leads::{LeadFilter, LeadRow};

use super::chrome::{render, render_with, Chrome, Flash, FormErrors, Nav, PageError};
use super::kit::{
    back_to, checked_after_of, deal_name, deal_options, found, list_href, live_deals, non_empty,
    retry_key, safe_back, short_time, Currencies, CurrencyOption, DealOption, Pager,
};
use super::session::ActiveMerchant;
use crate::api::pagination::encode_cursor;
use crate::state::AppState;

/// Coupons per page of the list.
pub const PAGE_SIZE: i64 = 50;

const LIST: &str = "/dashboard/coupons";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LIST, get(list).post(create))
        .route("/dashboard/coupons/{id}/use", post(use_coupon))
        .route("/dashboard/coupons/{id}/cancel", post(cancel_coupon))
}

/// A lead named by its lead id or its customer id, if one exists in the environment.
async fn find_lead(
    state: &AppState,
    scope: &Scope,
    text: &str,
) -> Result<Option<LeadRow>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.parse::<LeadId>().is_ok() {
        if let Some(lead) = found(state.app.lead(scope, text).await)? {
            return Ok(Some(lead));
        }
    }
    let filter = LeadFilter {
        customer_id: Some(text.to_string()),
        ..LeadFilter::default()
    };
    Ok(state
        .app
        .list_leads(scope, &filter, None, 1)
        .await?
        .into_iter()
        .next())
}

/// One line of the coupon list.
pub struct CouponLine {
    pub id: String,
    pub code: String,
    pub is_link: bool,
    pub deal: String,
    pub lead_id: String,
    /// The lead's customer id, or its lead id once the lead is gone.
    pub customer: String,
    /// `Redeemed: 4 GEM` or `Reward`.
    pub paid: String,
    pub status: &'static str,
    pub issued: bool,
    pub created: String,
    /// When it was used or cancelled.
    pub finished: String,
    /// What cancelling does, for the confirmation.
    pub cancel_note: String,
}

/// The list's filters and page, as query parameters.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct CouponQuery {
    pub deal_id: String,
    /// A lead id or a customer id.
    pub lead: String,
    /// `issued`, `used` or `cancelled`.
    pub status: String,
    pub code: String,
    pub cursor: String,
}

impl CouponQuery {
    fn pairs(&self) -> [(&'static str, &str); 4] {
        [
            ("deal_id", &self.deal_id),
            ("lead", &self.lead),
            ("status", &self.status),
            ("code", &self.code),
        ]
    }

    fn href(&self, cursor: Option<&str>) -> String {
        list_href(LIST, &self.pairs(), cursor)
    }

    fn filtered(&self) -> bool {
        [&self.deal_id, &self.lead, &self.status, &self.code]
            .iter()
            .any(|v| !v.trim().is_empty())
    }
}

/// The manual issue form.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct CouponForm {
    pub deal_id: String,
    /// A lead id or a customer id.
    pub lead: String,
    pub currency_id: String,
    /// `redeem` or `reward`.
    pub mode: String,
    /// The retry key: a random one per rendered form, so a double submit issues once.
    pub hash: String,
}

impl CouponForm {
    fn fresh(currencies: &[CurrencyRow]) -> Self {
        Self {
            mode: CouponMode::Redeem.as_str().to_string(),
            currency_id: currencies
                .first()
                .map(|c| c.id.to_string())
                .unwrap_or_default(),
            ..Self::default()
        }
    }
}

fn fresh_hash() -> String {
    retry_key("dashboard")
}

#[derive(Template)]
#[template(path = "dashboard/coupons.html")]
struct CouponsPage {
    chrome: Chrome,
    deals: Vec<DealOption>,
    currencies: Vec<CurrencyOption>,
    coupons: Vec<CouponLine>,
    query: CouponQuery,
    filtered: bool,
    /// The lead filter names no lead.
    unknown_lead: bool,
    pager: Pager,
    /// This list's address, where use and cancel come back to.
    back: String,
    form: CouponForm,
    errors: FormErrors,
}

/// Each deal with what it costs in points, for the issue form.
fn priced_options(deals: &[DealView]) -> Vec<DealOption> {
    deal_options(deals)
        .into_iter()
        .zip(deals)
        .map(|(mut o, v)| {
            let prices: Vec<String> = v
                .prices
                .iter()
                .map(|p| format!("{} {}", p.points, p.code))
                .collect();
            if !prices.is_empty() {
                o.label = format!("{} · {}", o.label, prices.join(" / "));
            }
            o
        })
        .collect()
}

async fn coupons_page(
    state: &AppState,
    user: &ActiveMerchant,
    query: CouponQuery,
    form: Option<CouponForm>,
    errors: FormErrors,
) -> Result<CouponsPage, PageError> {
    let scope = user.scope();
    let mut invalid = ValidationErrors::new();
    let status = match query.status.trim() {
        "" => None,
        s => {
            let parsed = CouponStatus::parse(s);
            if parsed.is_none() {
                invalid.push(FieldError::new(
                    "status",
                    "must be issued, used or cancelled",
                ));
            }
            parsed
        }
    };
    let before = checked_after_of(&query.cursor, &mut invalid);
    invalid.into_result()?;
    let lead_filter = match non_empty(&query.lead) {
        None => None,
        Some(text) => Some(find_lead(state, &scope, &text).await?),
    };
    let unknown_lead = matches!(lead_filter, Some(None));
    let filter = CouponFilter {
        lead_id: lead_filter.flatten().map(|l| l.id.to_string()),
        deal_id: non_empty(&query.deal_id),
        status,
        code: non_empty(&query.code),
    };
    let mut rows = if unknown_lead {
        Vec::new()
    } else {
        state
            .app
            .list_coupons_newest(&scope, &filter, before.as_deref(), PAGE_SIZE + 1)
            .await?
    };
    let pager = Pager::cut(
        &mut rows,
        PAGE_SIZE,
        before.is_some(),
        |r| r.id.to_string(),
        LIST,
        &query.pairs(),
    );

    let deals = live_deals(state, user).await?;
    let currencies = Currencies::load(state, &user.merchant.id).await?;
    // Customer ids of the leads on this page (at most one read per lead).
    let mut customers: HashMap<String, String> = HashMap::new();
    for r in &rows {
        let id = r.lead_id.to_string();
        if customers.contains_key(&id) {
            continue;
        }
        let customer = match found(state.app.lead(&scope, &id).await)? {
            Some(l) => l.customer_id,
            None => id.clone(),
        };
        customers.insert(id, customer);
    }
    let coupons = rows
        .iter()
        .map(|r| line(r, &deals, &customers, &currencies))
        .collect();
    let form = match form {
        Some(f) => f,
        None => CouponForm::fresh(&currencies.0),
    };
    let form = CouponForm {
        hash: if form.hash.trim().is_empty() {
            fresh_hash()
        } else {
            form.hash
        },
        ..form
    };
    Ok(CouponsPage {
        chrome: Chrome::new(user, Nav::Coupons),
        deals: priced_options(&deals),
        currencies: currencies.0.iter().map(CurrencyOption::named).collect(),
        coupons,
        filtered: query.filtered(),
        unknown_lead,
        back: query.href(before.as_deref().map(encode_cursor).as_deref()),
        query,
        pager,
        form,
        errors,
    })
}

fn line(
    r: &CouponRow,
    deals: &[DealView],
    customers: &HashMap<String, String>,
    currencies: &Currencies,
) -> CouponLine {
    let currency = r
        .currency_id
        .as_deref()
        .and_then(|c| currencies.known_code(c))
        .unwrap_or("points")
        .to_string();
    let paid = match r.mode {
        CouponMode::Reward => "Reward".to_string(),
        CouponMode::Redeem if r.points > 0 => format!("Redeemed: {} {currency}", r.points),
        CouponMode::Redeem => "Redeemed: free".to_string(),
    };
    let cancel_note = if r.points > 0 {
        format!(
            "Cancel coupon {}? The {} {currency} paid for it are refunded to the lead's wallet, and the code is not handed out again.",
            r.code, r.points
        )
    } else {
        format!(
            "Cancel coupon {}? It was not paid with points, so nothing is refunded.",
            r.code
        )
    };
    let lead_id = r.lead_id.to_string();
    CouponLine {
        id: r.id.to_string(),
        code: r.code.clone(),
        is_link: r.code_kind.is_link(),
        deal: deal_name(deals, &r.deal_id),
        customer: customers
            .get(&lead_id)
            .cloned()
            .unwrap_or_else(|| lead_id.clone()),
        lead_id,
        paid,
        status: r.status.as_str(),
        issued: r.status == CouponStatus::Issued,
        created: short_time(r.created_at),
        finished: r
            .used_at
            .or(r.cancelled_at)
            .map(short_time)
            .unwrap_or_default(),
        cancel_note,
    }
}

pub async fn list(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Query(query): Query<CouponQuery>,
) -> Result<Response, PageError> {
    Ok(render(
        &coupons_page(&state, &user, query, None, FormErrors::none()).await?,
    ))
}

/// What a refused issue means, in the merchant's words.
fn refusal_words(e: &AppError) -> Option<FormErrors> {
    Some(FormErrors::form(match e {
        AppError::InsufficientBalance { balance, requested } => format!(
            "Insufficient balance: the lead's wallet holds {balance} points and this deal costs {requested}. Nothing was debited and no coupon was issued."
        ),
        AppError::OutOfStock(_) => "Out of stock: this deal has no coupon codes left to hand out. Add codes on the Coupon codes page, then try again.".to_string(),
        AppError::QuotaExhausted(q) => {
            let what = match q {
                Quota::Rewards => "reward",
                Quota::Redeems => "redeem",
                Quota::Leads => "lead",
                Quota::Swaps => "swap",
            };
            format!("Quota exhausted: the plan's {what} quota is used up, so no coupon was issued. A redeem uses 1 redeem; a reward uses 1 redeem and 1 reward. Ask the operator for a larger plan.")
        }
        AppError::IdempotencyMismatch(_) => "This form was already used to issue a different coupon. The form has been reset; check the fields and submit it again to issue another.".to_string(),
        AppError::CallbackRejected(m) => format!("Your callback refused the coupon: {m}"),
        AppError::LimitReached(m) | AppError::Conflict(m) => m.clone(),
        _ => return None,
    }))
}

/// Issues a coupon by hand (a support case): paid with the lead's points, or as a reward.
pub async fn create(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Form(form): Form<CouponForm>,
) -> Result<Response, PageError> {
    let scope = user.scope();
    let lead = find_lead(&state, &scope, &form.lead).await?;
    let new = NewCoupon {
        deal_id: form.deal_id.clone(),
        // An unknown lead goes through as typed, so it is reported with the other fields.
        lead_id: lead
            .as_ref()
            .map(|l| l.id.to_string())
            .unwrap_or_else(|| form.lead.trim().to_string()),
        currency_id: non_empty(&form.currency_id),
        hash: form.hash.trim().to_string(),
        mode: non_empty(&form.mode),
    };
    let again = |form: CouponForm, errors: FormErrors, status: StatusCode| {
        let state = state.clone();
        let user = user.clone();
        async move {
            Ok::<_, PageError>(render_with(
                status,
                &coupons_page(&state, &user, CouponQuery::default(), Some(form), errors).await?,
            ))
        }
    };
    match state.app.create_coupon(&scope, &new).await {
        Ok(issued) => {
            let c = issued.coupon;
            let customer = lead
                .map(|l| l.customer_id)
                .unwrap_or_else(|| c.lead_id.to_string());
            let deals = live_deals(&state, &user).await?;
            let deal = deal_name(&deals, &c.deal_id);
            let flash = if issued.replayed {
                Flash::info(format!(
                    "This form already issued coupon {} to {customer} for {deal}; nothing was issued again.",
                    c.code
                ))
            } else if c.points > 0 {
                Flash::success(format!(
                    "Coupon {} issued to {customer} for {deal}: {} points paid from the lead's wallet.",
                    c.code, c.points
                ))
            } else {
                Flash::success(format!(
                    "Coupon {} issued to {customer} for {deal}{}.",
                    c.code,
                    if c.mode == CouponMode::Reward {
                        " as a reward"
                    } else {
                        ""
                    }
                ))
            };
            let to = CouponQuery {
                lead: customer,
                ..CouponQuery::default()
            }
            .href(None);
            Ok(back_to(&state, &to, flash))
        }
        Err(e) => {
            // A hash used for another coupon: the form comes back with a fresh one.
            let form = if matches!(e, AppError::IdempotencyMismatch(_)) {
                CouponForm {
                    hash: fresh_hash(),
                    ..form
                }
            } else {
                form
            };
            let (status, errors) = FormErrors::refusal_with(e, refusal_words)?;
            // The form names the lead `lead` (a lead id or a customer id).
            again(form, errors.moved("lead_id", "lead"), status).await
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ActionForm {
    /// The list address to come back to.
    pub back: String,
}

pub async fn use_coupon(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    let flash = match state.app.use_coupon(&user.scope(), &id).await {
        Ok(c) => Flash::success(format!("Coupon {} marked used.", c.code)),
        Err(e) => not_changed(e)?,
    };
    Ok(back_to(&state, &safe_back(&form.back, LIST), flash))
}

pub async fn cancel_coupon(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    let scope = user.scope();
    let flash = match state.app.cancel_coupon(&scope, &id).await {
        Ok(c) => match (&c.wallet_id, c.points > 0) {
            (Some(wallet_id), true) => {
                let balance = state.app.wallet(&scope, wallet_id).await?.balance;
                Flash::success(format!(
                    "Coupon {} cancelled: {} points refunded to the lead's wallet (balance now {balance}).",
                    c.code, c.points
                ))
            }
            _ => Flash::success(format!(
                "Coupon {} cancelled; it was not paid with points, so nothing was refunded.",
                c.code
            )),
        },
        Err(e) => not_changed(e)?,
    };
    Ok(back_to(&state, &safe_back(&form.back, LIST), flash))
}

/// A coupon that moved on meanwhile (already used or cancelled) is left as it is.
fn not_changed(e: AppError) -> Result<Flash, PageError> {
    Flash::refusal_with(e, |m| format!("Not changed: {m}."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_come_back_to_the_list_only() {
        assert_eq!(
            safe_back("/dashboard/coupons?status=issued", LIST),
            "/dashboard/coupons?status=issued"
        );
        assert_eq!(safe_back("/dashboard/coupons", LIST), LIST);
        assert_eq!(safe_back("https://evil.example/", LIST), LIST);
        assert_eq!(
            safe_back("/dashboard/coupons?x=1\r\nSet-Cookie: a", LIST),
            LIST
        );
        assert_eq!(safe_back("/dashboard/coupons?//evil", LIST), LIST);
        assert_eq!(
            CouponQuery {
                lead: "cust 1".into(),
                ..CouponQuery::default()
            }
            .href(Some("c")),
            "/dashboard/coupons?lead=cust+1&cursor=c"
        );
    }
}
