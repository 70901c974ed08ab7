//! `GET /api/v1/stats`: the overview's figures for a range of UTC days.

use axum::extract::State;
use axum::Json;
use punchcard_app::ledger::Scope;
use punchcard_store::stats::DayCounts;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::extract::ApiQuery;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// The figures of one UTC day.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsDay {
    #[schema(example = "2026-03-01")]
    pub date: String,
    pub leads_added: i64,
    pub rewards: i64,
    pub points_rewarded: i64,
    pub deals_redeemed: i64,
    pub coupons_used: i64,
    pub swaps: i64,
}

/// What the environment did over the range, in total and per day.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stats {
    #[schema(example = "2026-02-01")]
    pub from: String,
    #[schema(example = "2026-03-02")]
    pub to: String,
    /// Leads created.
    pub leads_added: i64,
    /// Reward transactions, and the points they gave.
    pub rewards: i64,
    pub points_rewarded: i64,
    /// Coupons of deals bought with points.
    pub deals_redeemed: i64,
    /// Coupons marked used.
    pub coupons_used: i64,
    /// Swaps the merchant's leads sent or received.
    pub swaps: i64,
    /// Every day of the range, oldest first, days without activity included.
    pub by_day: Vec<StatsDay>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// The first day, `YYYY-MM-DD` (UTC); 29 days before `to` by default.
    #[param(example = "2026-02-01")]
    pub from: Option<String>,
    /// The last day, `YYYY-MM-DD` (UTC), included; today by default. At most 366 days in all.
    #[param(example = "2026-03-02")]
    pub to: Option<String>,
}

fn day(date: String, c: &DayCounts) -> StatsDay {
    StatsDay {
        date,
        leads_added: c.leads_added,
        rewards: c.rewards,
        points_rewarded: c.points_rewarded,
        deals_redeemed: c.deals_redeemed,
        coupons_used: c.coupons_used,
        swaps: c.swaps,
    }
}

/// Counts for the overview: leads added, rewards and points rewarded, deals redeemed, coupons
/// used and swaps, in this environment, over UTC days (the last 30 by default).
#[utoipa::path(get, path = "/api/v1/stats", tag = "stats",
    params(StatsParams),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the figures", body = Stats),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a date that is not `YYYY-MM-DD`, `from` after `to`, or more than 366 days", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_stats(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<StatsParams>,
) -> Result<Json<Stats>, ApiError> {
    let s = state
        .app
        .stats(
            &Scope::from(&caller),
            params.from.as_deref(),
            params.to.as_deref(),
        )
        .await?;
    let t = &s.totals;
    Ok(Json(Stats {
        from: s.from.to_string(),
        to: s.to.to_string(),
        leads_added: t.leads_added,
        rewards: t.rewards,
        points_rewarded: t.points_rewarded,
        deals_redeemed: t.deals_redeemed,
        coupons_used: t.coupons_used,
        swaps: t.swaps,
        by_day: s
            .by_day
            .iter()
            .map(|(d, c)| day(d.to_string(), c))
            .collect(),
    }))
}
