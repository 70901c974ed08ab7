//! Leads of the current environment: search and create; one lead's details, edit and
//! delete; its wallets (create one per currency) and its transactions, with a manual reward
//! or adjustment for support cases. Everything goes through the same use cases as the API.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use punchcard_app::ledger::{LeadPatch, NewLead, NewTransaction};
use punchcard_app::AppError;
use punchcard_domain::limits::{Quota, Resource};
use punchcard_domain::Env;
use punchcard_store::leads::{LeadFilter, LeadRow};
use punchcard_store::wallets::{TransactionFilter, WalletRow};

use super::chrome::{render, render_with, Chrome, Flash, FormErrors, Nav, PageError};
use super::kit::{
    after_of, back_to, non_empty, retry_key, short_time, Currencies, CurrencyOption, Pager,
};
use super::session::ActiveMerchant;
use super::wallets::{TransactionLine, WalletLine};
use crate::api::leads::LeadListParams;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/leads", get(list).post(create))
        .route("/dashboard/leads/{id}", get(show).post(update))
        .route("/dashboard/leads/{id}/delete", post(delete))
        .route("/dashboard/leads/{id}/member-link", post(member_link))
        .route("/dashboard/leads/{id}/wallets", post(create_wallet))
        .route(
            "/dashboard/leads/{id}/transactions",
            post(create_transaction),
        )
}

/// Leads per page of the list.
const LEADS_PER_PAGE: i64 = 50;
/// Transactions per page on a lead's page.
const TRANSACTIONS_PER_PAGE: i64 = 20;

/// One lead as the list shows it.
pub struct LeadLine {
    pub id: String,
    pub customer_id: String,
    pub name: String,
    pub email: String,
    pub mobile: String,
    pub country: String,
    pub created: String,
}

impl LeadLine {
    fn of(l: &LeadRow) -> Self {
        Self {
            id: l.id.to_string(),
            customer_id: l.customer_id.clone(),
            name: l.name.clone().unwrap_or_default(),
            email: l.email.clone().unwrap_or_default(),
            mobile: l.mobile.clone().unwrap_or_default(),
            country: l.country.clone().unwrap_or_default(),
            created: short_time(l.created_at),
        }
    }
}

/// The search form of the list (a GET form: its values are the query string).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct LeadSearch {
    pub q: String,
    pub customer_id: String,
    pub email: String,
    pub mobile: String,
    pub cursor: String,
}

impl LeadSearch {
    /// The filter of the API's `GET /api/v1/leads` from these fields, where a value that
    /// cannot match finds no lead rather than answering an error.
    fn filter(&self) -> LeadFilter {
        LeadListParams {
            customer_id: Some(self.customer_id.clone()),
            email: Some(self.email.clone()),
            mobile: Some(self.mobile.clone()),
            q: Some(self.q.clone()),
        }
        .lenient_filter()
    }

    fn pairs(&self) -> [(&'static str, &str); 4] {
        [
            ("q", &self.q),
            ("customer_id", &self.customer_id),
            ("email", &self.email),
            ("mobile", &self.mobile),
        ]
    }
}

/// The fields of a lead, as typed into the create and edit forms.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct LeadForm {
    pub customer_id: String,
    pub name: String,
    pub email: String,
    pub mobile: String,
    pub country: String,
    pub dob: String,
}

impl LeadForm {
    fn of(l: &LeadRow) -> Self {
        Self {
            customer_id: l.customer_id.clone(),
            name: l.name.clone().unwrap_or_default(),
            email: l.email.clone().unwrap_or_default(),
            mobile: l.mobile.clone().unwrap_or_default(),
            country: l.country.clone().unwrap_or_default(),
            dob: l.dob.clone().unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/leads.html")]
struct ListPage {
    chrome: Chrome,
    leads: Vec<LeadLine>,
    search: LeadSearch,
    searching: bool,
    pager: Pager,
    /// How many leads the environment may still take: the DEV cap or the PROD quota.
    usage: String,
    form: LeadForm,
    errors: FormErrors,
}

async fn list_page(
    state: &AppState,
    user: &ActiveMerchant,
    search: LeadSearch,
    form: LeadForm,
    errors: FormErrors,
) -> Result<ListPage, PageError> {
    let scope = user.scope();
    let filter = search.filter();
    let after = after_of(&search.cursor);
    let mut rows = state
        .app
        .list_leads(&scope, &filter, after.as_deref(), LEADS_PER_PAGE + 1)
        .await?;
    let pager = Pager::cut(
        &mut rows,
        LEADS_PER_PAGE,
        after.is_some(),
        |l| l.id.to_string(),
        "/dashboard/leads",
        &search.pairs(),
    );
    let usage = match Resource::Leads.cap(user.env) {
        Some(cap) => {
            let held = state
                .app
                .list_leads(&scope, &LeadFilter::default(), None, cap + 1)
                .await?
                .len();
            format!("{held} of {cap} leads in DEV.")
        }
        None => quota_line(state, user, Quota::Leads, "lead").await?,
    };
    Ok(ListPage {
        chrome: Chrome::new(user, Nav::Leads),
        leads: rows.iter().map(LeadLine::of).collect(),
        searching: filter.customer_id.is_some()
            || filter.email.is_some()
            || filter.mobile.is_some()
            || filter.query.is_some(),
        search,
        pager,
        usage,
        form,
        errors,
    })
}

/// "12 of 1000 lead quota used in PROD." (quotas are burned in PROD only).
async fn quota_line(
    state: &AppState,
    user: &ActiveMerchant,
    quota: Quota,
    what: &str,
) -> Result<String, PageError> {
    let usage = state.app.quota_usage(&user.merchant.id).await?;
    Ok(match usage.iter().find(|q| q.quota == quota) {
        Some(q) => format!(
            "{} of {} {what} quota used in PROD; {} left.",
            q.used,
            q.total,
            q.remaining()
        ),
        None => String::new(),
    })
}

pub async fn list(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Query(search): Query<LeadSearch>,
) -> Result<Response, PageError> {
    Ok(render(
        &list_page(
            &state,
            &user,
            search,
            LeadForm::default(),
            FormErrors::none(),
        )
        .await?,
    ))
}

/// The message for a refused create when the environment holds all it may.
fn limit_message(detail: &str) -> String {
    format!("Limit reached: {detail}.")
}

fn quota_message(quota: Quota) -> String {
    match quota {
        Quota::Leads => "The plan's lead quota is used up, so no lead was created. Ask the operator to raise it.".to_string(),
        Quota::Rewards => "The plan's reward quota is used up, so nothing was rewarded. Ask the operator to raise it; adjustments still work.".to_string(),
        other => format!(
            "The plan's {} quota is used up. Ask the operator to raise it.",
            other.as_str()
        ),
    }
}

pub async fn create(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Form(form): Form<LeadForm>,
) -> Result<Response, PageError> {
    let result = state
        .app
        .create_lead(
            &user.scope(),
            NewLead {
                customer_id: form.customer_id.clone(),
                name: non_empty(&form.name),
                email: non_empty(&form.email),
                mobile: non_empty(&form.mobile),
                country: non_empty(&form.country),
                dob: non_empty(&form.dob),
            },
        )
        .await;
    let errors = match result {
        Ok(lead) => {
            return Ok(back_to(
                &state,
                &format!("/dashboard/leads/{}", lead.id),
                Flash::success(format!("Lead {} created.", lead.customer_id)),
            ))
        }
        // A refused lead answers 422 whatever the reason: the form was not taken.
        Err(e) => {
            FormErrors::refusal_with(e, |e| match e {
                AppError::LimitReached(m) => Some(FormErrors::form(limit_message(m))),
                AppError::QuotaExhausted(q) => Some(FormErrors::form(quota_message(*q))),
                _ => None,
            })?
            .1
        }
    };
    Ok(render_with(
        StatusCode::UNPROCESSABLE_ENTITY,
        &list_page(&state, &user, LeadSearch::default(), form, errors).await?,
    ))
}

// ----- one lead -----

/// A lead's stored details.
pub struct LeadView {
    pub id: String,
    pub customer_id: String,
    pub name: String,
    pub email: String,
    pub mobile: String,
    pub country: String,
    pub dob: String,
    pub created: String,
    pub updated: String,
}

impl LeadView {
    fn of(l: &LeadRow) -> Self {
        let line = LeadLine::of(l);
        Self {
            id: line.id,
            customer_id: line.customer_id,
            name: line.name,
            email: line.email,
            mobile: line.mobile,
            country: line.country,
            dob: l.dob.clone().unwrap_or_default(),
            created: line.created,
            updated: short_time(l.updated_at),
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct WalletForm {
    pub currency_id: String,
}

/// The manual transaction form.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct TransactionForm {
    pub wallet_id: String,
    pub kind: String,
    pub amount: String,
    pub description: String,
    /// The retry key: a fresh random one is rendered into each new form, so posting the
    /// same form twice (a double click, a reload, going back) records the transaction once.
    pub hash: String,
}

impl TransactionForm {
    fn fresh() -> Self {
        Self {
            kind: "reward".to_string(),
            hash: fresh_hash(),
            ..Self::default()
        }
    }
}

fn fresh_hash() -> String {
    retry_key("manual")
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct PageQuery {
    pub cursor: String,
}

#[derive(Template)]
#[template(path = "dashboard/lead.html")]
struct LeadPage {
    chrome: Chrome,
    lead: LeadView,
    wallets: Vec<WalletLine>,
    /// Currencies the lead has no wallet in yet.
    new_currencies: Vec<CurrencyOption>,
    has_currencies: bool,
    /// The DEV wallet cap, or nothing in PROD.
    wallet_usage: String,
    /// The PROD reward quota, or a note that DEV burns none.
    reward_usage: String,
    transactions: Vec<TransactionLine>,
    /// The table names each transaction's lead (not here: they are all this lead's).
    show_lead: bool,
    pager: Pager,
    edit: LeadForm,
    edit_errors: FormErrors,
    wallet_form: WalletForm,
    wallet_errors: FormErrors,
    tx: TransactionForm,
    tx_errors: FormErrors,
}

/// The forms of a lead's page, as typed (after a refused post) or fresh.
struct LeadForms {
    edit: Option<LeadForm>,
    edit_errors: FormErrors,
    wallet_form: WalletForm,
    wallet_errors: FormErrors,
    tx: TransactionForm,
    tx_errors: FormErrors,
}

impl LeadForms {
    fn fresh() -> Self {
        Self {
            edit: None,
            edit_errors: FormErrors::none(),
            wallet_form: WalletForm::default(),
            wallet_errors: FormErrors::none(),
            tx: TransactionForm::fresh(),
            tx_errors: FormErrors::none(),
        }
    }
}

async fn lead_wallets(
    state: &AppState,
    user: &ActiveMerchant,
    lead: &LeadRow,
) -> Result<Vec<WalletRow>, PageError> {
    // One wallet per currency: the merchant's currencies bound how many there are.
    Ok(state
        .app
        .list_wallets(&user.scope(), Some(lead.id.as_str()), None, None, 500)
        .await?)
}

async fn lead_page(
    state: &AppState,
    user: &ActiveMerchant,
    lead: LeadRow,
    cursor: &str,
    forms: LeadForms,
) -> Result<LeadPage, PageError> {
    let scope = user.scope();
    let currencies = Currencies::load(state, &user.merchant.id).await?;
    let wallets = lead_wallets(state, user, &lead).await?;
    let after = after_of(cursor);
    let mut rows = state
        .app
        .list_transactions(
            &scope,
            &TransactionFilter {
                lead_id: Some(lead.id.to_string()),
                ..TransactionFilter::default()
            },
            after.as_deref(),
            TRANSACTIONS_PER_PAGE + 1,
            true,
        )
        .await?;
    let path = format!("/dashboard/leads/{}", lead.id);
    // The transactions sit lower on the page: paging links jump back to them.
    let pager = Pager::cut(
        &mut rows,
        TRANSACTIONS_PER_PAGE,
        after.is_some(),
        |t| t.id.to_string(),
        &path,
        &[],
    )
    .landing_on("transactions");
    let code_of_wallet = |id: &str| {
        wallets
            .iter()
            .find(|w| w.id.as_str() == id)
            .map(|w| currencies.code(w.currency_id.as_str()))
            .unwrap_or_default()
    };
    let transactions = rows
        .iter()
        .map(|t| TransactionLine::of(t, code_of_wallet(t.wallet_id.as_str())))
        .collect();
    let wallet_usage = match Resource::Wallets.cap(user.env) {
        Some(cap) => {
            let held = state
                .app
                .list_wallets(&scope, None, None, None, cap + 1)
                .await?
                .len();
            format!("{held} of {cap} wallets in DEV.")
        }
        None => String::new(),
    };
    let reward_usage = match user.env {
        Env::Dev => "Rewards in DEV burn no quota.".to_string(),
        Env::Prod => format!(
            "A reward burns one reward quota: {}",
            quota_line(state, user, Quota::Rewards, "reward").await?
        ),
    };
    let mut chrome = Chrome::new(user, Nav::Leads);
    // The lead exists in this environment only: the DEV/PROD toggle returns to the list.
    chrome.path = "/dashboard/leads".to_string();
    Ok(LeadPage {
        chrome,
        new_currencies: currencies
            .0
            .iter()
            .filter(|c| !wallets.iter().any(|w| w.currency_id == c.id))
            .map(CurrencyOption::of)
            .collect(),
        has_currencies: !currencies.0.is_empty(),
        wallets: wallets
            .iter()
            .map(|w| WalletLine::of(w, &currencies))
            .collect(),
        wallet_usage,
        reward_usage,
        transactions,
        show_lead: false,
        pager,
        edit: forms.edit.unwrap_or_else(|| LeadForm::of(&lead)),
        lead: LeadView::of(&lead),
        edit_errors: forms.edit_errors,
        wallet_form: forms.wallet_form,
        wallet_errors: forms.wallet_errors,
        tx: forms.tx,
        tx_errors: forms.tx_errors,
    })
}

/// The lead of this merchant and environment, or the 404 page.
async fn find_lead(
    state: &AppState,
    user: &ActiveMerchant,
    id: &str,
) -> Result<LeadRow, PageError> {
    Ok(state.app.lead(&user.scope(), id).await?)
}

pub async fn show(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, PageError> {
    let lead = find_lead(&state, &user, &id).await?;
    Ok(render(
        &lead_page(&state, &user, lead, &q.cursor, LeadForms::fresh()).await?,
    ))
}

fn back_to_lead(state: &AppState, lead_id: &str, flash: Flash) -> Response {
    back_to(state, &format!("/dashboard/leads/{lead_id}"), flash)
}

/// Saves the edit form; an emptied field clears it (email or mobile must remain).
pub async fn update(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    Form(form): Form<LeadForm>,
) -> Result<Response, PageError> {
    let lead = find_lead(&state, &user, &id).await?;
    let result = state
        .app
        .update_lead(
            &user.scope(),
            lead.id.as_str(),
            LeadPatch {
                customer_id: Some(form.customer_id.clone()),
                name: Some(non_empty(&form.name)),
                email: Some(non_empty(&form.email)),
                mobile: Some(non_empty(&form.mobile)),
                country: Some(non_empty(&form.country)),
                dob: Some(non_empty(&form.dob)),
            },
        )
        .await;
    match result {
        Ok(saved) => Ok(back_to_lead(
            &state,
            saved.id.as_str(),
            Flash::success("Lead details saved."),
        )),
        Err(e) => {
            let (status, edit_errors) = FormErrors::invalid_fields(e)?;
            let forms = LeadForms {
                edit: Some(form),
                edit_errors,
                ..LeadForms::fresh()
            };
            Ok(render_with(
                status,
                &lead_page(&state, &user, lead, "", forms).await?,
            ))
        }
    }
}

/// Erases the lead's personal data; its wallets and transactions stay in the ledger.
pub async fn delete(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let lead = find_lead(&state, &user, &id).await?;
    state
        .app
        .delete_lead(&user.scope(), lead.id.as_str())
        .await?;
    Ok(back_to(&state, "/dashboard/leads",
        Flash::success(format!(
            "Lead {} deleted: its personal data is erased; its wallets and transactions stay in the ledger.",
            lead.customer_id
        )),
    ))
}

/// How a new member-page link reaches the lead.
#[derive(Debug, Default, serde::Deserialize)]
pub struct MemberLinkForm {
    /// `email` (to the lead's address) or `show` (on this page, to pass on by hand).
    #[serde(default)]
    pub send: String,
}

/// Makes a lead a new member-page link (the one before stops working), and emails it to the
/// lead or shows it once.
pub async fn member_link(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    Form(form): Form<MemberLinkForm>,
) -> Result<Response, PageError> {
    let lead = find_lead(&state, &user, &id).await?;
    let email = match (form.send.as_str(), &lead.email) {
        ("email", Some(email)) => Some(email.clone()),
        ("email", None) => {
            return Ok(back_to_lead(
                &state,
                lead.id.as_str(),
                Flash::error("This lead has no email address: show the link instead."),
            ))
        }
        ("show", _) => None,
        _ => return Err(AppError::field("send", "must be email or show").into()),
    };
    let token = state
        .app
        .new_member_link(&user.scope(), lead.id.as_str())
        .await?;
    let url = format!("{}/m/{token}", state.base_url);
    let Some(to) = email else {
        return Ok(back_to_lead(
            &state,
            lead.id.as_str(),
            Flash::success(format!(
                "New member-page link (shown only now; the one before no longer works): {url}"
            )),
        ));
    };
    let mail = crate::mail::Mail::member_link(
        &to,
        &user.merchant.name,
        lead.name.as_deref().unwrap_or_default(),
        &url,
    )
    .map_err(|e| AppError::Internal(Box::new(e)))?;
    if let Err(e) = state.mailer.send(&mail).await {
        tracing::error!(error = %e, "could not send a member-page link");
        return Ok(back_to_lead(
            &state,
            lead.id.as_str(),
            Flash::error("The email could not be sent; try again in a moment."),
        ));
    }
    Ok(back_to_lead(
        &state,
        lead.id.as_str(),
        Flash::success(format!(
            "Emailed a new member-page link to {to}; the one before no longer works."
        )),
    ))
}

pub async fn create_wallet(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    Form(form): Form<WalletForm>,
) -> Result<Response, PageError> {
    let lead = find_lead(&state, &user, &id).await?;
    let result = state
        .app
        .create_wallet(&user.scope(), lead.id.as_str(), &form.currency_id)
        .await;
    let (status, errors) = match result {
        Ok(wallet) => {
            let currencies = Currencies::load(&state, &user.merchant.id).await?;
            return Ok(back_to_lead(
                &state,
                lead.id.as_str(),
                Flash::success(format!(
                    "{} wallet created.",
                    currencies.code(wallet.currency_id.as_str())
                )),
            ));
        }
        Err(e) => FormErrors::refusal_with(e, |e| match e {
            AppError::LimitReached(m) => Some(FormErrors::form(limit_message(m))),
            _ => None,
        })?,
    };
    let forms = LeadForms {
        wallet_form: form,
        wallet_errors: errors,
        ..LeadForms::fresh()
    };
    Ok(render_with(
        status,
        &lead_page(&state, &user, lead, "", forms).await?,
    ))
}

fn not_a_wallet_of_the_lead() -> FormErrors {
    FormErrors::field("wallet_id", "is not one of this lead's wallets")
}

/// The lead's page again, with the transaction form as typed and why it was refused.
async fn refuse_transaction(
    state: &AppState,
    user: &ActiveMerchant,
    lead: &LeadRow,
    status: StatusCode,
    form: TransactionForm,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let forms = LeadForms {
        tx: form,
        tx_errors: errors,
        ..LeadForms::fresh()
    };
    Ok(render_with(
        status,
        &lead_page(state, user, lead.clone(), "", forms).await?,
    ))
}

/// A manual reward or adjustment. The form's hash makes a second post of the same form
/// answer the first transaction instead of writing another.
pub async fn create_transaction(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    Form(form): Form<TransactionForm>,
) -> Result<Response, PageError> {
    let lead = find_lead(&state, &user, &id).await?;
    let refuse =
        |status, form, errors| refuse_transaction(&state, &user, &lead, status, form, errors);
    let wallets = lead_wallets(&state, &user, &lead).await?;
    let wallet = wallets
        .iter()
        .find(|w| w.id.as_str() == form.wallet_id.trim());
    if wallet.is_none() && !form.wallet_id.trim().is_empty() {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            form,
            not_a_wallet_of_the_lead(),
        )
        .await;
    }
    let amount = match form.amount.trim() {
        "" => Err("is required"),
        a => a
            .strip_prefix('+')
            .unwrap_or(a)
            .parse::<i64>()
            .map_err(|_| "must be a whole number of points, e.g. 50 or -20"),
    };
    let amount = match amount {
        Ok(n) => n,
        Err(m) => {
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                FormErrors::field("amount", m),
            )
            .await
        }
    };
    let result = state
        .app
        .create_transaction(
            &user.scope(),
            &NewTransaction {
                wallet_id: form.wallet_id.trim().to_string(),
                kind: form.kind.clone(),
                amount,
                hash: form.hash.trim().to_string(),
                description: non_empty(&form.description),
            },
        )
        .await;
    let currencies = Currencies::load(&state, &user.merchant.id).await?;
    let code = wallet
        .map(|w| currencies.code(w.currency_id.as_str()))
        .unwrap_or_default();
    match result {
        Ok(posted) => {
            let t = &posted.transaction;
            let flash = if posted.replayed {
                Flash::info(format!(
                    "This form was already sent: its transaction ({} {:+} {code}) was recorded once and is not applied again.",
                    super::wallets::kind_label(t.kind).to_lowercase(),
                    t.amount
                ))
            } else {
                Flash::success(format!(
                    "{} of {:+} {code} recorded; the wallet now holds {} {code}.",
                    super::wallets::kind_label(t.kind),
                    t.amount,
                    t.balance_after
                ))
            };
            Ok(back_to_lead(&state, lead.id.as_str(), flash))
        }
        Err(e) => {
            // A hash used for another transaction: the form comes back with a fresh one.
            let form = if matches!(e, AppError::IdempotencyMismatch(_)) {
                TransactionForm {
                    hash: fresh_hash(),
                    ..form
                }
            } else {
                form
            };
            let (status, errors) = FormErrors::refusal_with(e, |e| {
                match e {
                AppError::InsufficientBalance { balance, requested } => Some(FormErrors::form(format!(
                    "Insufficient balance: the wallet holds {balance} {code}, so {requested} {code} cannot be taken away. Nothing was written."
                ))),
                AppError::QuotaExhausted(q) => Some(FormErrors::form(quota_message(*q))),
                AppError::IdempotencyMismatch(_) => Some(FormErrors::field(
                    "hash",
                    "was already used for a different transaction, so nothing was written. A fresh hash is filled in: send the form again to record this one.",
                )),
                AppError::NotFound("wallet") => Some(not_a_wallet_of_the_lead()),
                AppError::Conflict(m) => Some(FormErrors::form(m.clone())),
                _ => None,
            }
            })?;
            refuse(status, form, errors).await
        }
    }
}
