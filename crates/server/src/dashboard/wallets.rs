//! Wallets and wallet transactions of the current environment: filtered, paged lists, and
//! what the lead page shares with them (the lines of the ledger tables).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use punchcard_app::ledger::Scope;
use punchcard_domain::ledger::TransactionKind;
use punchcard_store::leads::LeadFilter;
use punchcard_store::wallets::{
    LeadLabel, TransactionFilter, TransactionRow, TransactionWithLead, WalletRow,
};

use super::chrome::{render, Chrome, Nav, PageError};
use super::kit::{after_of, non_empty, short_time, Currencies, CurrencyOption, Pager};
use super::session::ActiveMerchant;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/wallets", get(list_wallets))
        .route("/dashboard/wallet-transactions", get(list_transactions))
}

/// Rows per page of the wallet and transaction lists.
pub const PAGE_SIZE: i64 = 50;

/// One wallet as the tables show it.
pub struct WalletLine {
    pub id: String,
    pub lead_id: String,
    /// The lead's customer id and name, where the table names the lead.
    pub customer_id: String,
    pub lead_name: String,
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
            customer_id: String::new(),
            lead_name: String::new(),
            currency: currencies.code(w.currency_id.as_str()),
            balance: w.balance,
            created: short_time(w.created_at),
            updated: short_time(w.updated_at),
        }
    }

    /// The line naming its lead.
    pub fn with_lead(mut self, lead: &LeadLabel) -> Self {
        self.customer_id = lead.customer_id.clone();
        self.lead_name = lead.name.clone().unwrap_or_default();
        self
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
    /// The lead's customer id and name, where the table names the lead.
    pub customer_id: String,
    pub lead_name: String,
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
            customer_id: String::new(),
            lead_name: String::new(),
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

impl TransactionLine {
    /// A line of the ledger table, with its wallet's currency and its lead, from one joined row.
    pub fn of_joined(t: &TransactionWithLead, currencies: &Currencies) -> Self {
        let mut line = Self::of(&t.transaction, currencies.code(t.currency_id.as_str()));
        line.customer_id = t.lead.customer_id.clone();
        line.lead_name = t.lead.name.clone().unwrap_or_default();
        line
    }
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
    let scope = user.scope();
    let currencies = Currencies::load(&state, &user.merchant.id).await?;
    let lead = lead_filter(&state, &scope, &search.lead).await?;
    let currency = Some(search.currency_id.trim()).filter(|c| !c.is_empty());
    let after = after_of(&search.cursor);
    let mut rows = state
        .app
        .list_wallets_with_leads(
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
        |w| w.wallet.id.to_string(),
        "/dashboard/wallets",
        &[("lead", &search.lead), ("currency_id", &search.currency_id)],
    );
    Ok(render(&WalletsPage {
        chrome: Chrome::new(&user, Nav::Wallets),
        wallets: rows
            .iter()
            .map(|w| WalletLine::of(&w.wallet, &currencies).with_lead(&w.lead))
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
    let scope = user.scope();
    let currencies = Currencies::load(&state, &user.merchant.id).await?;
    let filter = TransactionFilter {
        wallet_id: non_empty(&search.wallet_id),
        lead_id: lead_filter(&state, &scope, &search.lead).await?,
        kind: TransactionKind::parse(search.kind.trim()),
    };
    let after = after_of(&search.cursor);
    let mut rows = state
        .app
        .list_transactions_with_leads(&scope, &filter, after.as_deref(), PAGE_SIZE + 1, true)
        .await?;
    let pager = Pager::cut(
        &mut rows,
        PAGE_SIZE,
        after.is_some(),
        |t| t.transaction.id.to_string(),
        "/dashboard/wallet-transactions",
        &[
            ("kind", &search.kind),
            ("wallet_id", &search.wallet_id),
            ("lead", &search.lead),
        ],
    );
    Ok(render(&TransactionsPage {
        chrome: Chrome::new(&user, Nav::WalletTransactions),
        transactions: rows
            .iter()
            .map(|t| TransactionLine::of_joined(t, &currencies))
            .collect(),
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
