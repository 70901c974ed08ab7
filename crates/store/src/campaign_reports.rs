//! A campaign's report: its interactions counted by outcome, in all and per UTC day or hour.
//! One grouped query serves every kind; only the expression naming a row's day or hour is the
//! engine's own (SQLite keeps a time as RFC 3339 text, PostgreSQL as `timestamptz`).

use punchcard_domain::time::Timestamp;
use punchcard_domain::{CampaignId, Env, MerchantId};
use sea_query::{Alias, Expr, Func, Order, SimpleExpr};

use crate::catalog::is;
use crate::db::Arg;
use crate::{Backend, Conn, DbRow, StoreError};

/// Interactions counted by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    pub interactions: i64,
    pub awarded: i64,
    pub out_of_vouchers: i64,
    pub errors: i64,
    pub exceptions: i64,
    /// Points moved by the awards, signed as in the ledger (negative for a redeem rule).
    pub points_awarded: i64,
}

/// The span of one bucket of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// Keyed `YYYY-MM-DD`.
    Day,
    /// Keyed `YYYY-MM-DDTHH`.
    Hour,
}

/// The counts of the interactions the query selects, as `SUM` columns every engine reads as a
/// 64-bit integer (PostgreSQL sums a `bigint` into a `numeric`; an empty sum is `NULL`).
fn counted(select: &mut sea_query::SelectStatement) {
    let total = |e: SimpleExpr| {
        SimpleExpr::from(Func::coalesce([Func::sum(e).into(), Expr::val(0).into()]))
            .cast_as(Alias::new("BIGINT"))
    };
    let of = |outcome: &str| {
        total(
            Expr::case(Expr::col(Alias::new("outcome")).eq(outcome), 1)
                .finally(0)
                .into(),
        )
    };
    select
        .expr_as(total(Expr::val(1).into()), Alias::new("interactions"))
        .expr_as(of("awarded"), Alias::new("awarded"))
        .expr_as(of("out_of_vouchers"), Alias::new("out_of_vouchers"))
        .expr_as(of("error"), Alias::new("errors"))
        .expr_as(of("exception"), Alias::new("exceptions"))
        .expr_as(
            total(
                Expr::case(
                    Expr::col(Alias::new("outcome")).eq("awarded"),
                    Expr::col(Alias::new("points")),
                )
                .finally(0)
                .into(),
            ),
            Alias::new("points_awarded"),
        );
}

fn counts_of(row: &DbRow) -> Result<OutcomeCounts, StoreError> {
    Ok(OutcomeCounts {
        interactions: row.try_get("interactions")?,
        awarded: row.try_get("awarded")?,
        out_of_vouchers: row.try_get("out_of_vouchers")?,
        errors: row.try_get("errors")?,
        exceptions: row.try_get("exceptions")?,
        points_awarded: row.try_get("points_awarded")?,
    })
}

fn of_campaign(
    merchant_id: &MerchantId,
    env: Env,
    campaign_id: &CampaignId,
) -> sea_query::SelectStatement {
    sea_query::Query::select()
        .from(Alias::new("campaign_interactions"))
        .and_where(is("merchant_id", merchant_id.as_str()))
        .and_where(is("env", env.as_str()))
        .and_where(is("campaign_id", campaign_id.as_str()))
        .to_owned()
}

/// Every interaction of a campaign, counted by outcome.
pub async fn totals(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    campaign_id: &CampaignId,
) -> Result<OutcomeCounts, StoreError> {
    let mut select = of_campaign(merchant_id, env, campaign_id);
    counted(&mut select);
    counts_of(&crate::statement(&select).fetch_one(conn).await?)
}

/// The expression naming the UTC day or hour of a row's `created_at`, as text that sorts in
/// time order and reads the same on both engines.
fn bucket(backend: Backend, span: Span) -> SimpleExpr {
    match (backend, span) {
        // `2026-01-31T14:05:09.000000Z`: the day and the hour are prefixes.
        (Backend::Sqlite, Span::Day) => Expr::cust("substr(created_at, 1, 10)"),
        (Backend::Sqlite, Span::Hour) => Expr::cust("substr(created_at, 1, 13)"),
        (Backend::Postgres, Span::Day) => {
            Expr::cust("to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')")
        }
        (Backend::Postgres, Span::Hour) => {
            Expr::cust("to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24')")
        }
    }
}

/// A campaign's interactions since `since`, counted by outcome per UTC day or hour: only the
/// buckets that have some, oldest first, each keyed as [`Span`] says.
pub async fn by_span(
    conn: &mut Conn,
    merchant_id: &MerchantId,
    env: Env,
    campaign_id: &CampaignId,
    span: Span,
    since: Timestamp,
) -> Result<Vec<(String, OutcomeCounts)>, StoreError> {
    let key = bucket(conn.backend(), span);
    let mut select = of_campaign(merchant_id, env, campaign_id);
    select
        .and_where(Expr::col(Alias::new("created_at")).gte(since.value()))
        .expr_as(key.clone(), Alias::new("bucket"));
    counted(&mut select);
    select
        .add_group_by([key.clone()])
        .order_by_expr(key, Order::Asc);
    crate::statement(&select)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|row| Ok((row.try_get::<String>("bucket")?, counts_of(row)?)))
        .collect()
}
