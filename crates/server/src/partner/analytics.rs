//! *Analytics*: what happened at the counter by day (coupons used, points given, deals given,
//! codes claimed, new customers from join codes), for a period, of one store or all.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use punchcard_app::counter::CounterStats;
use punchcard_app::stats::DayRange;
use punchcard_app::AppError;

use super::{PartnerChrome, Staff, StoreChoice, Tab};
use crate::dashboard::charts::{BarChart, Series};
use crate::dashboard::chrome::{render, PageError};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/partner/analytics", get(analytics))
}

/// The periods offered, in days.
pub const PERIODS: [i64; 3] = [7, 30, 90];

/// One figure of the period.
pub struct Figure {
    pub label: &'static str,
    pub value: i64,
}

/// The figures and charts of the counter's stats, as the partner app and the dashboard show
/// them.
pub fn figures(stats: &CounterStats) -> Vec<Figure> {
    let t = &stats.totals;
    vec![
        Figure {
            label: "Coupons used",
            value: t.coupons_used,
        },
        Figure {
            label: "Points given",
            value: t.points_given,
        },
        Figure {
            label: "Deals given",
            value: t.deals_given,
        },
        Figure {
            label: "Codes claimed",
            value: t.claims,
        },
        Figure {
            label: "New customers",
            value: t.new_leads,
        },
        Figure {
            label: "Message reach",
            value: t.message_reach,
        },
    ]
}

pub fn charts(stats: &CounterStats) -> Vec<BarChart> {
    let labels: Vec<String> = stats.by_day.iter().map(|(d, _)| d.to_string()).collect();
    let of = |f: fn(&punchcard_store::counter::CounterDay) -> i64| -> Vec<i64> {
        stats.by_day.iter().map(|(_, d)| f(d)).collect()
    };
    vec![
        BarChart::stacked(
            "chart-counter",
            "Coupons used, deals given, codes claimed and new customers, by day",
            "Day",
            labels.clone(),
            vec![
                Series::new("Coupons used", of(|d| d.coupons_used)),
                Series::new("Deals given", of(|d| d.deals_given)),
                Series::new("Codes claimed", of(|d| d.claims)),
                Series::new("New customers", of(|d| d.new_leads)),
            ],
        ),
        BarChart::stacked(
            "chart-counter-points",
            "Points given, by day",
            "Day",
            labels,
            vec![Series::new("Points given", of(|d| d.points_given))],
        ),
        BarChart::stacked(
            "chart-counter-reach",
            "Customers reached by messages and promos, by day",
            "Day",
            stats.by_day.iter().map(|(d, _)| d.to_string()).collect(),
            vec![Series::new("Reached", of(|d| d.message_reach))],
        ),
    ]
}

#[derive(Template)]
#[template(path = "partner/analytics.html")]
struct Analytics {
    chrome: PartnerChrome,
    days: i64,
    periods: [i64; 3],
    stores: Vec<StoreChoice>,
    /// The store shown, or empty for all.
    store: String,
    figures: Vec<Figure>,
    charts: Vec<BarChart>,
    from: String,
    to: String,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct AnalyticsQuery {
    days: String,
    store: String,
}

async fn analytics(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<AnalyticsQuery>,
) -> Result<Response, PageError> {
    let days = q
        .days
        .parse::<i64>()
        .ok()
        .filter(|d| PERIODS.contains(d))
        .unwrap_or(7);
    // Only the stores the member may pick; empty: all.
    let store = if staff.stores.iter().any(|s| s.id == q.store) {
        q.store.clone()
    } else {
        String::new()
    };
    // A member tied to stores sees one of theirs at a time.
    let store = match (&staff.store, staff.tied && store.is_empty()) {
        (Some(current), true) => current.id.clone(),
        _ => store,
    };
    let stats = state
        .app
        .counter_stats(
            &staff.scope(),
            Some(store.as_str()).filter(|s| !s.is_empty()),
            DayRange::last(days),
        )
        .await
        .map_err(|e: AppError| PageError(e))?;
    Ok(render(&Analytics {
        chrome: staff.chrome(Tab::Analytics),
        days,
        periods: PERIODS,
        stores: staff.stores.clone(),
        store,
        figures: figures(&stats),
        charts: charts(&stats),
        from: stats.range.from.to_string(),
        to: stats.range.to.to_string(),
    }))
}
