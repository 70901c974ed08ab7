//! Swaps in the dashboard: the merchant id and currency ids partners need, the switch for
//! swaps between the merchant's own leads, the swap contracts with their state (propose one,
//! accept one proposed to you, suspend one), and the swaps made, sent or received.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use punchcard_app::swaps::{NewContract, SwapView};
use punchcard_app::AppError;
use punchcard_domain::swaps::ContractStatus;
use punchcard_store::leads::LeadLabel;
use punchcard_store::swaps::ContractRow;
use std::collections::HashMap;

use super::chrome::{render, render_with, Chrome, Flash, FormErrors, Nav, PageError};
use super::kit::{back_to, short_time, Currencies, CurrencyOption};
use super::session::ActiveMerchant;
use crate::state::AppState;

const LIST: &str = "/dashboard/swaps";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LIST, get(list).post(propose))
        .route("/dashboard/swaps/lead-swaps", post(switch_lead_swaps))
        .route("/dashboard/swaps/{id}/accept", post(accept))
        .route("/dashboard/swaps/{id}/suspend", post(suspend))
}

/// One contract as the list shows it, from this merchant's side.
pub struct ContractLine {
    pub id: String,
    /// `Proposed by you` or `Proposed to you`.
    pub side: &'static str,
    /// The other merchant's id.
    pub other: String,
    /// What one of the proposer's points buys, in words.
    pub terms: String,
    pub per_swap_max: i64,
    pub daily_max: i64,
    pub status: &'static str,
    pub status_class: &'static str,
    pub suspended_by: &'static str,
    pub can_accept: bool,
    pub can_suspend: bool,
}

impl ContractLine {
    fn of(
        c: &ContractRow,
        user: &ActiveMerchant,
        currencies: &Currencies,
        codes: &HashMap<String, String>,
    ) -> Self {
        let mine = c.merchant_id == user.merchant.id;
        let code = |id: &str| codes.get(id).cloned().unwrap_or_else(|| id.to_string());
        let (own, theirs) = if mine {
            (
                currencies.code(c.currency_id.as_str()),
                code(c.partner_currency_id.as_str()),
            )
        } else {
            (
                currencies.code(c.partner_currency_id.as_str()),
                code(c.currency_id.as_str()),
            )
        };
        let terms = if mine {
            format!("1 {own} buys {} of {theirs}", c.rate)
        } else {
            format!("1 of {theirs} buys {} {own}", c.rate)
        };
        Self {
            id: c.id.to_string(),
            side: if mine {
                "Proposed by you"
            } else {
                "Proposed to you"
            },
            other: if mine {
                c.partner_merchant_id.to_string()
            } else {
                c.merchant_id.to_string()
            },
            terms,
            per_swap_max: c.per_swap_max,
            daily_max: c.daily_max,
            status: c.status.as_str(),
            status_class: match c.status {
                ContractStatus::Active => "badge-ok",
                ContractStatus::Suspended => "badge-danger",
                _ => "badge-muted",
            },
            suspended_by: c.suspended_by.map(|s| s.as_str()).unwrap_or(""),
            can_accept: !mine && c.status == ContractStatus::Proposed,
            can_suspend: c.status != ContractStatus::Suspended,
        }
    }
}

/// A lead of a swap: one's own is named; the partner's lead is none of one's business.
pub struct LeadCell {
    /// Empty for the partner's lead.
    pub lead_id: String,
    pub customer_id: String,
    pub lead_name: String,
}

impl LeadCell {
    fn of(
        merchant: &punchcard_domain::MerchantId,
        lead: &punchcard_domain::LeadId,
        user: &ActiveMerchant,
        labels: &HashMap<String, LeadLabel>,
    ) -> Self {
        if *merchant != user.merchant.id {
            return Self {
                lead_id: String::new(),
                customer_id: String::new(),
                lead_name: String::new(),
            };
        }
        let label = labels.get(lead.as_str());
        Self {
            lead_id: lead.to_string(),
            customer_id: label
                .map(|l| l.customer_id.clone())
                .unwrap_or_else(|| lead.to_string()),
            lead_name: label.and_then(|l| l.name.clone()).unwrap_or_default(),
        }
    }

    pub fn is_partner(&self) -> bool {
        self.lead_id.is_empty()
    }
}

/// One swap as the list shows it.
pub struct SwapLine {
    pub id: String,
    pub when: String,
    /// `Sent`, `Received` or `Between your leads`.
    pub direction: &'static str,
    pub from_lead: LeadCell,
    pub to_lead: LeadCell,
    pub amount_out: i64,
    pub amount_in: i64,
    pub contract: String,
}

impl SwapLine {
    fn of(v: &SwapView, user: &ActiveMerchant, labels: &HashMap<String, LeadLabel>) -> Self {
        let s = &v.swap;
        let direction = match (
            s.merchant_id == user.merchant.id,
            s.to_merchant_id == user.merchant.id,
        ) {
            (true, true) => "Between your leads",
            (true, false) => "Sent",
            _ => "Received",
        };
        Self {
            id: s.id.to_string(),
            when: short_time(s.created_at),
            direction,
            from_lead: LeadCell::of(&s.merchant_id, &s.from_lead_id, user, labels),
            to_lead: LeadCell::of(&s.to_merchant_id, &s.to_lead_id, user, labels),
            amount_out: s.amount_out,
            amount_in: s.amount_in,
            contract: s
                .contract_id
                .as_ref()
                .map(|c| c.to_string())
                .unwrap_or_default(),
        }
    }
}

/// The propose-a-contract form as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct ContractForm {
    pub partner_merchant_id: String,
    pub currency_id: String,
    pub partner_currency_id: String,
    pub rate: String,
    pub per_swap_max: String,
    pub daily_max: String,
}

#[derive(Template)]
#[template(path = "dashboard/swaps.html")]
struct ListPage {
    chrome: Chrome,
    merchant_id: String,
    currencies: Vec<CurrencyOption>,
    lead_swaps: bool,
    contracts: Vec<ContractLine>,
    swaps: Vec<SwapLine>,
    form: ContractForm,
    errors: FormErrors,
}

async fn list_page(
    state: &AppState,
    user: &ActiveMerchant,
    form: ContractForm,
    errors: FormErrors,
) -> Result<ListPage, PageError> {
    let scope = user.scope();
    let currencies = Currencies::load(state, &user.merchant.id).await?;
    let contracts = state.app.list_contracts(&scope, None, 500).await?;
    let codes = state
        .app
        .contract_currency_codes(&scope, &contracts)
        .await?;
    let contracts = contracts
        .iter()
        .map(|c| ContractLine::of(c, user, &currencies, &codes))
        .collect();
    let swaps = state.app.list_swaps(&scope, None, 100, true).await?;
    let own_leads: Vec<&str> = swaps
        .iter()
        .flat_map(|v| {
            let s = &v.swap;
            [
                (s.merchant_id == user.merchant.id).then_some(s.from_lead_id.as_str()),
                (s.to_merchant_id == user.merchant.id).then_some(s.to_lead_id.as_str()),
            ]
        })
        .flatten()
        .collect();
    let labels = state.app.lead_labels(&scope, &own_leads).await?;
    let swaps = swaps
        .iter()
        .map(|s| SwapLine::of(s, user, &labels))
        .collect();
    Ok(ListPage {
        chrome: Chrome::new(user, Nav::Swaps),
        merchant_id: user.merchant.id.to_string(),
        currencies: currencies.0.iter().map(CurrencyOption::named).collect(),
        lead_swaps: state.app.lead_swaps(&user.merchant.id).await?,
        contracts,
        swaps,
        form,
        errors,
    })
}

pub async fn list(
    State(state): State<AppState>,
    user: ActiveMerchant,
) -> Result<Response, PageError> {
    Ok(render(
        &list_page(&state, &user, ContractForm::default(), FormErrors::none()).await?,
    ))
}

/// A whole number as typed: `None` when empty, and the field's error when it is not one.
fn whole(field: &str, typed: &str, errors: &mut Vec<punchcard_domain::FieldError>) -> Option<i64> {
    let typed = typed.trim();
    if typed.is_empty() {
        return None;
    }
    match typed.parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.push(punchcard_domain::FieldError::new(
                field,
                "must be a whole number of points",
            ));
            Some(0)
        }
    }
}

pub async fn propose(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Form(form): Form<ContractForm>,
) -> Result<Response, PageError> {
    let mut typed = Vec::new();
    let per_swap_max = whole("per_swap_max", &form.per_swap_max, &mut typed);
    let daily_max = whole("daily_max", &form.daily_max, &mut typed);
    let new = NewContract {
        partner_merchant_id: form.partner_merchant_id.trim().to_string(),
        currency_id: form.currency_id.clone(),
        partner_currency_id: form.partner_currency_id.trim().to_string(),
        rate: Some(form.rate.clone()),
        per_swap_max,
        daily_max,
    };
    let result = state.app.propose_contract(&user.scope(), &new).await;
    let result = match result {
        Err(AppError::Validation(mut e)) if !typed.is_empty() => {
            e.0.retain(|f| !typed.iter().any(|t| t.field == f.field));
            e.0.extend(typed);
            Err(AppError::Validation(e))
        }
        other => other,
    };
    match result {
        Ok(c) => Ok(back_to(
            &state,
            LIST,
            Flash::success(format!(
                "Contract {} proposed. It becomes active once the partner accepts it and the operator approves it.",
                c.id
            )),
        )),
        Err(e) => {
            let (status, errors) = FormErrors::refusal(e)?;
            Ok(render_with(
                status,
                &list_page(&state, &user, form, errors).await?,
            ))
        }
    }
}

/// What an action refused because of where the contract stands shows on the list.
fn refused(e: AppError) -> Result<Flash, PageError> {
    match e {
        AppError::Forbidden(m) | AppError::Conflict(m) => Ok(Flash::error(m)),
        other => Err(PageError(other)),
    }
}

pub async fn accept(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let flash = match state.app.accept_contract(&user.scope(), &id).await {
        Ok(c) => Flash::success(format!(
            "Contract {} accepted. It becomes active once the operator approves it.",
            c.id
        )),
        Err(e) => refused(e)?,
    };
    Ok(back_to(&state, LIST, flash))
}

pub async fn suspend(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let flash = match state.app.suspend_contract(&user.scope(), &id).await {
        Ok(c) => Flash::success(format!(
            "Contract {} suspended: no swap goes through it until the operator approves it again.",
            c.id
        )),
        Err(e) => refused(e)?,
    };
    Ok(back_to(&state, LIST, flash))
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct SwitchForm {
    /// `on` or `off`.
    pub lead_swaps: String,
}

pub async fn switch_lead_swaps(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Form(form): Form<SwitchForm>,
) -> Result<Response, PageError> {
    let on = form.lead_swaps == "on";
    state.app.set_lead_swaps(&user.merchant.id, on).await?;
    let flash = Flash::success(if on {
        "Swaps between your leads are on."
    } else {
        "Swaps between your leads are off."
    });
    Ok(back_to(&state, LIST, flash))
}
