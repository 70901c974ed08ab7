//! Wallets and wallet transactions of the current environment: filtered, paged lists, and
//! what the lead page shares with them (lines of the tables, currency codes, paging links,
//! field errors phrased as sentences).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use punchcard_app::ledger::Scope;
use punchcard_domain::ledger::TransactionKind;
use punchcard_domain::MerchantId;
use punchcard_store::currencies::CurrencyRow;
use punchcard_store::leads::LeadFilter;
use punchcard_store::wallets::{TransactionFilter, TransactionRow, WalletRow};

use super::chrome::{render, Chrome, FormErrors, Nav, PageError};
use super::login_activities::short_time;
use super::session::ActiveMerchant;
use crate::api::pagination::{decode_cursor, encode_cursor};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/wallets", get(list_wallets))
        .route("/dashboard/wallet-transactions", get(list_transactions))
}

/// Rows per page of the wallet and transaction lists.
pub const PAGE_SIZE: i64 = 50;

/// The scope of a dashboard request: the member's merchant in the environment shown.
pub fn scope_of(user: &ActiveMerchant) -> Scope {
    Scope::new(&user.merchant.id, user.env)
}

/// The merchant's currencies (few, shared by both environments), to name wallets by code.
pub struct Currencies(pub Vec<CurrencyRow>);

impl Currencies {
    pub async fn load(state: &AppState, merchant_id: &MerchantId) -> Result<Self, PageError> {
        Ok(Self(
            state.app.list_currencies(merchant_id, None, 500).await?,
        ))
    }

    /// The code of a currency (its id if it is unknown).
    pub fn code(&self, id: &str) -> String {
        self.0
            .iter()
            .find(|c| c.id.as_str() == id)
            .map(|c| c.code.clone())
            .unwrap_or_else(|| id.to_string())
    }
}

/// A form's errors as people read them: each field's message as a sentence naming the
/// field ("Customer id must be …"), and a message about the whole form.
#[derive(Debug, Default)]
pub struct Messages(pub FormErrors);

impl Messages {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn form(message: impl Into<String>) -> Self {
        Self(FormErrors::form(message))
    }

    pub fn field(field: &str, message: &str) -> Self {
        Self(FormErrors {
            fields: vec![punchcard_domain::FieldError::new(field, message)],
            form: None,
        })
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.get(field).is_some()
    }

    /// The field's error as a sentence.
    pub fn get(&self, field: &str) -> Option<String> {
        self.0.get(field).map(|m| sentence(label(field), m))
    }

    /// The error about the whole form.
    pub fn whole(&self) -> Option<&str> {
        self.0.form.as_deref()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<punchcard_domain::ValidationErrors> for Messages {
    fn from(e: punchcard_domain::ValidationErrors) -> Self {
        Self(e.into())
    }
}

/// How a form field is named in messages.
fn label(field: &str) -> &str {
    match field {
        "customer_id" => "Customer id",
        "name" => "Name",
        "email" => "Email",
        "mobile" => "Mobile",
        "country" => "Country",
        "dob" => "Date of birth",
        "lead_id" => "Lead",
        "currency_id" => "Currency",
        "wallet_id" => "Wallet",
        "kind" => "Kind",
        "amount" => "Amount",
        "hash" => "Hash",
        "description" => "Description",
        other => other,
    }
}

/// "Email" + "must be …" reads "Email must be …"; a message that is a sentence of its own
/// ("email or mobile is required", "no such currency") is shown as one.
fn sentence(label: &str, message: &str) -> String {
    let continues = ["is ", "must ", "would ", "was ", "has ", "cannot "]
        .iter()
        .any(|w| message.starts_with(w));
    if continues {
        format!("{label} {message}")
    } else {
        let mut chars = message.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => label.to_string(),
        }
    }
}

/// A query string of the non-empty pairs, with a leading `?` (empty when none).
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.trim().is_empty() {
            s.append_pair(k, v.trim());
        }
    }
    let s = s.finish();
    if s.is_empty() {
        s
    } else {
        format!("?{s}")
    }
}

/// Links to the next and the first page of a list.
#[derive(Debug, Default)]
pub struct Pager {
    pub next: Option<String>,
    pub first: Option<String>,
}

impl Pager {
    /// Cuts the extra row fetched to know whether more follow, and links the pages of
    /// `path` with `pairs` (the list's filters) kept.
    pub fn cut<T>(
        rows: &mut Vec<T>,
        limit: i64,
        on_later_page: bool,
        key: impl Fn(&T) -> String,
        path: &str,
        pairs: &[(&str, &str)],
    ) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next = if more {
            rows.last().map(|r| {
                let cursor = encode_cursor(&key(r));
                let mut all = pairs.to_vec();
                all.push(("cursor", &cursor));
                format!("{path}{}", query_string(&all))
            })
        } else {
            None
        };
        let first = on_later_page.then(|| format!("{path}{}", query_string(pairs)));
        Self { next, first }
    }

    pub fn is_empty(&self) -> bool {
        self.next.is_none() && self.first.is_none()
    }
}

/// The position a `?cursor=` names; a damaged cursor starts at the first page.
pub fn after_of(cursor: &str) -> Option<String> {
    Some(cursor.trim())
        .filter(|c| !c.is_empty())
        .and_then(decode_cursor)
}

/// One wallet as the tables show it.
pub struct WalletLine {
    pub id: String,
    pub lead_id: String,
    pub currency: String,
    pub balance: i64,
    pub created: String,
    pub updated: String,
}

impl WalletLine {
    pub fn of(w: &WalletRow, currencies: &Currencies) -> Self {
        Self {
            id: w.id.to_string(),
            lead_id: w.lead_id.to_string(),
            currency: currencies.code(w.currency_id.as_str()),
            balance: w.balance,
            created: short_time(w.created_at),
            updated: short_time(w.updated_at),
        }
    }
}

/// One ledger entry as the tables show it.
pub struct TransactionLine {
    pub id: String,
    /// When, in UTC: `2026-01-31` and `14:05:09`.
    pub date: String,
    pub time: String,
    pub kind: &'static str,
    /// Signed, with its sign: `+50`, `-20`.
    pub amount: String,
    pub credit: bool,
    pub balance_after: i64,
    pub currency: String,
    pub wallet_id: String,
    pub lead_id: String,
    pub hash: String,
    pub description: String,
}

impl TransactionLine {
    pub fn of(t: &TransactionRow, wallet_currency: String) -> Self {
        let when = short_time(t.created_at);
        let (date, time) = when.split_once(' ').unwrap_or((&when, ""));
        Self {
            id: t.id.to_string(),
            date: date.to_string(),
            time: time.to_string(),
            kind: kind_label(t.kind),
            amount: if t.amount > 0 {
                format!("+{}", t.amount)
            } else {
                t.amount.to_string()
            },
            credit: t.amount > 0,
            balance_after: t.balance_after,
            currency: wallet_currency,
            wallet_id: t.wallet_id.to_string(),
            lead_id: t.lead_id.to_string(),
            hash: t.hash.clone(),
            description: t.description.clone().unwrap_or_default(),
        }
    }
}

pub fn kind_label(kind: TransactionKind) -> &'static str {
    match kind {
        TransactionKind::Reward => "Reward",
        TransactionKind::Redeem => "Redeem",
        TransactionKind::Adjust => "Adjust",
        TransactionKind::SwapIn => "Swap in",
        TransactionKind::SwapOut => "Swap out",
        TransactionKind::Reversal => "Reversal",
    }
}

/// Transactions with their wallet's currency code (wallets looked up once each).
pub async fn transaction_lines(
    state: &AppState,
    scope: &Scope,
    currencies: &Currencies,
    rows: &[TransactionRow],
) -> Result<Vec<TransactionLine>, PageError> {
    let mut codes: Vec<(String, String)> = Vec::new();
    let mut lines = Vec::with_capacity(rows.len());
    for t in rows {
        let wallet_id = t.wallet_id.as_str();
        let code = match codes.iter().find(|(w, _)| w == wallet_id) {
            Some((_, c)) => c.clone(),
            None => {
                let wallet = state.app.wallet(scope, wallet_id).await?;
                let c = currencies.code(wallet.currency_id.as_str());
                codes.push((wallet_id.to_string(), c.clone()));
                c
            }
        };
        lines.push(TransactionLine::of(t, code));
    }
    Ok(lines)
}

/// The lead a filter names, by customer id or by lead id (`None`: no lead filter). A name
/// that matches no lead filters by it anyway, so the list comes out empty.
pub async fn lead_filter(
    state: &AppState,
    scope: &Scope,
    input: &str,
) -> Result<Option<String>, PageError> {
    let input = input.trim();
    if input.is_empty() {
        return Ok(None);
    }
    let by_customer = state
        .app
        .list_leads(
            scope,
            &LeadFilter {
                customer_id: Some(input.to_string()),
                ..LeadFilter::default()
            },
            None,
            1,
        )
        .await?;
    Ok(Some(match by_customer.into_iter().next() {
        Some(lead) => lead.id.to_string(),
        None => input.to_string(),
    }))
}

/// One currency in a select.
pub struct CurrencyOption {
    pub id: String,
    pub label: String,
}

impl CurrencyOption {
    pub fn of(c: &CurrencyRow) -> Self {
        Self {
            id: c.id.to_string(),
            label: format!("{} · {}", c.code, c.name),
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct WalletSearch {
    /// A lead id or customer id.
    pub lead: String,
    pub currency_id: String,
    pub cursor: String,
}

#[derive(Template)]
#[template(path = "dashboard/wallets.html")]
struct WalletsPage {
    chrome: Chrome,
    wallets: Vec<WalletLine>,
    search: WalletSearch,
    currencies: Vec<CurrencyOption>,
    filtered: bool,
    pager: Pager,
}

pub async fn list_wallets(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Query(search): Query<WalletSearch>,
) -> Result<Response, PageError> {
    let scope = scope_of(&user);
    let currencies = Currencies::load(&state, &user.merchant.id).await?;
    let lead = lead_filter(&state, &scope, &search.lead).await?;
    let currency = Some(search.currency_id.trim()).filter(|c| !c.is_empty());
    let after = after_of(&search.cursor);
    let mut rows = state
        .app
        .list_wallets(
            &scope,
            lead.as_deref(),
            currency,
            after.as_deref(),
            PAGE_SIZE + 1,
        )
        .await?;
    let pager = Pager::cut(
        &mut rows,
        PAGE_SIZE,
        after.is_some(),
        |w| w.id.to_string(),
        "/dashboard/wallets",
        &[("lead", &search.lead), ("currency_id", &search.currency_id)],
    );
    Ok(render(&WalletsPage {
        chrome: Chrome::new(&user, Nav::Wallets),
        wallets: rows
            .iter()
            .map(|w| WalletLine::of(w, &currencies))
            .collect(),
        filtered: lead.is_some() || currency.is_some(),
        currencies: currencies.0.iter().map(CurrencyOption::of).collect(),
        search,
        pager,
    }))
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct TransactionSearch {
    pub kind: String,
    pub wallet_id: String,
    /// A lead id or customer id.
    pub lead: String,
    pub cursor: String,
}

pub struct KindOption {
    pub value: &'static str,
    pub label: &'static str,
}

#[derive(Template)]
#[template(path = "dashboard/wallet_transactions.html")]
struct TransactionsPage {
    chrome: Chrome,
    transactions: Vec<TransactionLine>,
    /// The table names each transaction's lead.
    show_lead: bool,
    search: TransactionSearch,
    kinds: Vec<KindOption>,
    filtered: bool,
    pager: Pager,
}

pub async fn list_transactions(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Query(search): Query<TransactionSearch>,
) -> Result<Response, PageError> {
    let scope = scope_of(&user);
    let currencies = Currencies::load(&state, &user.merchant.id).await?;
    let filter = TransactionFilter {
        wallet_id: Some(search.wallet_id.trim())
            .filter(|w| !w.is_empty())
            .map(str::to_string),
        lead_id: lead_filter(&state, &scope, &search.lead).await?,
        kind: TransactionKind::parse(search.kind.trim()),
    };
    let after = after_of(&search.cursor);
    let mut rows = state
        .app
        .list_transactions(&scope, &filter, after.as_deref(), PAGE_SIZE + 1, true)
        .await?;
    let pager = Pager::cut(
        &mut rows,
        PAGE_SIZE,
        after.is_some(),
        |t| t.id.to_string(),
        "/dashboard/wallet-transactions",
        &[
            ("kind", &search.kind),
            ("wallet_id", &search.wallet_id),
            ("lead", &search.lead),
        ],
    );
    Ok(render(&TransactionsPage {
        chrome: Chrome::new(&user, Nav::WalletTransactions),
        transactions: transaction_lines(&state, &scope, &currencies, &rows).await?,
        show_lead: true,
        filtered: filter.wallet_id.is_some() || filter.lead_id.is_some() || filter.kind.is_some(),
        kinds: TransactionKind::ALL
            .iter()
            .map(|k| KindOption {
                value: k.as_str(),
                label: kind_label(*k),
            })
            .collect(),
        search,
        pager,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_sentences() {
        assert_eq!(
            sentence("Customer id", "must be between 4 and 64 characters"),
            "Customer id must be between 4 and 64 characters"
        );
        assert_eq!(
            sentence("Email", "email or mobile is required"),
            "Email or mobile is required"
        );
        assert_eq!(sentence("Currency", "no such currency"), "No such currency");
    }

    #[test]
    fn query_strings_keep_only_what_was_given() {
        assert_eq!(query_string(&[("q", ""), ("lead", " ")]), "");
        assert_eq!(
            query_string(&[("q", "ada lovelace"), ("email", ""), ("cursor", "x&y")]),
            "?q=ada+lovelace&cursor=x%26y"
        );
    }
}
