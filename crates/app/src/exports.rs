//! CSV exports of leads, wallet transactions and coupons: one page of rows at a time, in id
//! order, so an export of any size holds one page in memory.

use punchcard_domain::exports::{text_cell, ExportRange};
use punchcard_store::{coupons, leads, wallets};

use crate::ledger::Scope;
use crate::{App, AppError};

/// Rows read per database round trip.
pub const EXPORT_PAGE_ROWS: i64 = 500;

/// What can be exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Leads,
    WalletTransactions,
    Coupons,
}

impl ExportKind {
    /// The name of the export (and of its file).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Leads => "leads",
            Self::WalletTransactions => "wallet_transactions",
            Self::Coupons => "coupons",
        }
    }

    /// The header row: the API's field names.
    pub fn header(self) -> &'static [&'static str] {
        match self {
            Self::Leads => &[
                "id",
                "customer_id",
                "name",
                "email",
                "mobile",
                "country",
                "dob",
                "created_at",
                "updated_at",
            ],
            Self::WalletTransactions => &[
                "id",
                "wallet_id",
                "lead_id",
                "kind",
                "amount",
                "balance_after",
                "hash",
                "description",
                "reference",
                "created_at",
            ],
            Self::Coupons => &[
                "id",
                "deal_id",
                "lead_id",
                "code",
                "status",
                "mode",
                "points",
                "currency_id",
                "created_at",
                "used_at",
                "cancelled_at",
            ],
        }
    }
}

/// One page of an export: its rows, and the key to continue after (none on the last page).
#[derive(Debug, Clone, Default)]
pub struct ExportPage {
    pub rows: Vec<Vec<String>>,
    pub next_after: Option<String>,
}

fn text(v: &Option<String>) -> String {
    v.as_deref().map(text_cell).unwrap_or_default()
}

fn page_of<T>(
    rows: Vec<T>,
    id: impl Fn(&T) -> String,
    cells: impl Fn(T) -> Vec<String>,
) -> ExportPage {
    let full = rows.len() as i64 == EXPORT_PAGE_ROWS;
    let next_after = if full { rows.last().map(&id) } else { None };
    ExportPage {
        rows: rows.into_iter().map(cells).collect(),
        next_after,
    }
}

impl App {
    /// The page of `kind` after the row `after` (from the start when `None`), for the scope's
    /// merchant and environment, of rows created within `range`.
    pub async fn export_page(
        &self,
        scope: &Scope,
        kind: ExportKind,
        range: &ExportRange,
        after: Option<&str>,
    ) -> Result<ExportPage, AppError> {
        let (start, end, after) = (range.start(), range.end(), after.unwrap_or(""));
        let (m, env, n) = (&scope.merchant_id, scope.env, EXPORT_PAGE_ROWS);
        let mut conn = self.db.conn().await?;
        Ok(match kind {
            ExportKind::Leads => page_of(
                leads::export_page(&mut conn, m, env, start, end, after, n).await?,
                |r| r.id.to_string(),
                |r| {
                    vec![
                        r.id.to_string(),
                        text_cell(&r.customer_id),
                        text(&r.name),
                        text(&r.email),
                        r.mobile.unwrap_or_default(),
                        r.country.unwrap_or_default(),
                        r.dob.unwrap_or_default(),
                        r.created_at.to_rfc3339(),
                        r.updated_at.to_rfc3339(),
                    ]
                },
            ),
            ExportKind::WalletTransactions => page_of(
                wallets::export_transactions_page(&mut conn, m, env, start, end, after, n).await?,
                |r| r.id.to_string(),
                |r| {
                    vec![
                        r.id.to_string(),
                        r.wallet_id.to_string(),
                        r.lead_id.to_string(),
                        r.kind.as_str().to_string(),
                        r.amount.to_string(),
                        r.balance_after.to_string(),
                        text_cell(&r.hash),
                        text(&r.description),
                        text(&r.reference),
                        r.created_at.to_rfc3339(),
                    ]
                },
            ),
            ExportKind::Coupons => page_of(
                coupons::export_coupons_page(&mut conn, m, env, start, end, after, n).await?,
                |r| r.id.to_string(),
                |r| {
                    vec![
                        r.id.to_string(),
                        r.deal_id.to_string(),
                        r.lead_id.to_string(),
                        text_cell(&r.code),
                        r.status.as_str().to_string(),
                        r.mode.as_str().to_string(),
                        r.points.to_string(),
                        r.currency_id.unwrap_or_default(),
                        r.created_at.to_rfc3339(),
                        r.used_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                        r.cancelled_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    ]
                },
            ),
        })
    }
}
