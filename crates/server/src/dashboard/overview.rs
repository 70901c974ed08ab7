//! The overview page and the DEV/PROD toggle.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::Form;
use punchcard_domain::limits::{api_key_cap, default_rate_limit, Quota};
use punchcard_domain::Env;
use serde::Deserialize;

use super::chrome::{render, Chrome, Flash, Nav, PageError};
use super::kit::{back_to, dashboard_back};
use super::session::ActiveMerchant;
use crate::state::AppState;

pub struct QuotaLine {
    pub label: &'static str,
    pub used: i64,
    pub limit: i64,
    pub remaining: i64,
}

/// One figure of the activity cards.
pub struct Figure {
    pub label: &'static str,
    pub value: i64,
}

/// A period the activity figures cover.
pub struct Period {
    pub days: i64,
    pub current: bool,
}

/// The periods offered, in days ending today (UTC).
const PERIODS: [i64; 3] = [7, 30, 90];

#[derive(Debug, Default, Deserialize)]
pub struct OverviewQuery {
    #[serde(default)]
    days: Option<String>,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    chrome: Chrome,
    periods: Vec<Period>,
    days: i64,
    from: String,
    to: String,
    figures: Vec<Figure>,
    /// The period's activity, leads and points by day.
    charts: Vec<super::charts::BarChart>,
    currencies: i64,
    api_keys: i64,
    api_key_cap: i64,
    quotas: Vec<QuotaLine>,
    rate_limit: i64,
}

/// The charts of a period's days: what happened, new leads, points rewarded.
fn activity_charts(
    days: &[(
        punchcard_domain::campaigns::CalendarDate,
        punchcard_store::stats::DayCounts,
    )],
) -> Vec<super::charts::BarChart> {
    use super::charts::{BarChart, Series};
    let labels: Vec<String> = days.iter().map(|(d, _)| d.to_string()).collect();
    let of = |f: fn(&punchcard_store::stats::DayCounts) -> i64| -> Vec<i64> {
        days.iter().map(|(_, c)| f(c)).collect()
    };
    vec![
        BarChart::stacked(
            "chart-activity",
            "Rewards, redemptions, coupons used and swaps, by day",
            "Day",
            labels.clone(),
            vec![
                Series::new("Rewards", of(|c| c.rewards)),
                Series::new("Deals redeemed", of(|c| c.deals_redeemed)),
                Series::new("Coupons used", of(|c| c.coupons_used)),
                Series::new("Swaps", of(|c| c.swaps)),
            ],
        ),
        BarChart::stacked(
            "chart-leads",
            "Leads added, by day",
            "Day",
            labels.clone(),
            vec![Series::new("Leads added", of(|c| c.leads_added))],
        ),
        BarChart::stacked(
            "chart-points",
            "Points rewarded, by day",
            "Day",
            labels,
            vec![Series::new("Points rewarded", of(|c| c.points_rewarded))],
        ),
    ]
}

pub async fn overview(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Query(query): Query<OverviewQuery>,
) -> Result<Response, PageError> {
    // An unknown period shows the default one rather than an error.
    let days = query
        .days
        .and_then(|d| d.trim().parse::<i64>().ok())
        .filter(|d| PERIODS.contains(d))
        .unwrap_or(30);
    let today = punchcard_domain::time::Timestamp::now().datetime().date();
    let first = today.saturating_sub(time::Duration::days(days - 1));
    let first = punchcard_domain::campaigns::CalendarDate(first).to_string();
    let stats = state.app.stats(&user.scope(), Some(&first), None).await?;
    let t = &stats.totals;
    let figures = vec![
        Figure {
            label: "Leads added",
            value: t.leads_added,
        },
        Figure {
            label: "Rewards",
            value: t.rewards,
        },
        Figure {
            label: "Points rewarded",
            value: t.points_rewarded,
        },
        Figure {
            label: "Deals redeemed",
            value: t.deals_redeemed,
        },
        Figure {
            label: "Coupons used",
            value: t.coupons_used,
        },
        Figure {
            label: "Swaps",
            value: t.swaps,
        },
    ];
    let charts = activity_charts(&stats.by_day);
    let o = state.app.overview(&user.merchant.id, user.env).await?;
    let quotas = o
        .quotas
        .iter()
        .map(|q| QuotaLine {
            label: match q.quota {
                Quota::Leads => "Leads",
                Quota::Rewards => "Rewards",
                Quota::Redeems => "Redeems",
                Quota::Swaps => "Swaps",
            },
            used: q.used,
            limit: q.total,
            remaining: q.remaining(),
        })
        .collect();
    let rate_limit = match user.env {
        Env::Dev => default_rate_limit(Env::Dev),
        Env::Prod => o.plan.rate_limit_per_minute,
    };
    Ok(render(&OverviewPage {
        chrome: Chrome::new(&user, Nav::Overview),
        periods: PERIODS
            .iter()
            .map(|&d| Period {
                days: d,
                current: d == days,
            })
            .collect(),
        days,
        from: stats.from.to_string(),
        to: stats.to.to_string(),
        figures,
        charts,
        currencies: o.currencies,
        api_keys: o.api_keys,
        api_key_cap: api_key_cap(user.env),
        quotas,
        rate_limit,
    }))
}

#[derive(Debug, Deserialize)]
pub struct EnvForm {
    #[serde(default)]
    env: String,
    #[serde(default)]
    back: String,
}

/// Switches the session between DEV and PROD (the header toggle).
pub async fn switch_env(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Form(form): Form<EnvForm>,
) -> Result<Response, PageError> {
    let env: Env = form.env.parse().map_err(punchcard_app::AppError::from)?;
    state
        .app
        .set_session_env(&user.merchant.id, &user.session_id, env)
        .await?;
    let label = match env {
        Env::Dev => "Switched to DEV: test data only.",
        Env::Prod => "Switched to PROD.",
    };
    Ok(back_to(
        &state,
        dashboard_back(&form.back),
        Flash::info(label),
    ))
}
