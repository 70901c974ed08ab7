//! The campaign page of every kind: its settings, its totals by outcome, a chart of awards by
//! day drawn from its report, and its interactions, searchable by customer and outcome.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use punchcard_app::campaign_reports::{CampaignReport, VoucherStock};
use punchcard_app::campaigns::CampaignView;
use punchcard_app::AppError;
use punchcard_domain::campaigns::CampaignKind;
use punchcard_domain::{CampaignId, ValidationErrors};
use punchcard_store::campaign_reports::OutcomeCounts;

use super::campaigns::{status_badge, Action, CampaignPage, Context, PAGE_SIZE};
use super::charts::{BarChart, Series};
use super::chrome::{render_with, Chrome, FormErrors, Nav, PageError};
use super::kit::{path_id, short_time, Pager};
use super::session::ActiveMerchant;
use crate::state::AppState;

/// The campaign page of every kind.
pub fn routes() -> Router<AppState> {
    Router::new().route("/dashboard/campaigns/{id}", get(campaign_page))
}

/// The words and addresses of a kind that has pages, for a campaign of any kind.
struct KindPages {
    list: Option<(&'static str, &'static str)>,
    nav: Nav,
    settings: Vec<(&'static str, String)>,
    actions: Vec<Action>,
    switch: Option<(&'static str, &'static str)>,
}

fn kind_pages<K: CampaignPage>(v: &CampaignView, ctx: &Context) -> KindPages {
    KindPages {
        list: Some((K::LIST, K::PLURAL)),
        nav: K::NAV,
        settings: K::settings(v, ctx),
        actions: K::actions(v),
        switch: Some(K::SWITCH),
    }
}

/// The pages each kind has.
fn pages_of(v: &CampaignView, ctx: &Context) -> KindPages {
    match v.campaign.kind {
        CampaignKind::Rule => kind_pages::<super::campaigns_rules::Rules>(v, ctx),
        CampaignKind::Task => kind_pages::<super::campaigns_tasks::Tasks>(v, ctx),
        CampaignKind::Surprise => kind_pages::<super::campaigns_surprises::Surprises>(v, ctx),
        CampaignKind::Voucher => kind_pages::<super::vouchers::VoucherCampaigns>(v, ctx),
    }
}

/// The report's day labels, hour labels (`03-01 14:00`), and the charts drawn over them.
struct Charts {
    awarded_by_day: BarChart,
    awarded_by_hour: BarChart,
    errors_by_day: BarChart,
    errors_by_hour: BarChart,
    by_type: Option<BarChart>,
}

impl Charts {
    fn of(report: &CampaignReport, vouchers: bool) -> Self {
        let days: Vec<String> = report.by_day.iter().map(|d| d.date.clone()).collect();
        let hours: Vec<String> = report
            .by_hour
            .iter()
            .map(|h| {
                let t = h.hour.datetime();
                format!(
                    "{:02}-{:02} {:02}:00",
                    u8::from(t.month()),
                    t.day(),
                    t.hour()
                )
            })
            .collect();
        let day_counts: Vec<OutcomeCounts> = report.by_day.iter().map(|d| d.counts).collect();
        let hour_counts: Vec<OutcomeCounts> = report.by_hour.iter().map(|h| h.counts).collect();
        let awarded = |c: &[OutcomeCounts]| {
            vec![
                Series::new("Awarded", c.iter().map(|c| c.awarded).collect()),
                Series::new(
                    "Other requests",
                    c.iter().map(|c| c.interactions - c.awarded).collect(),
                ),
            ]
        };
        let errors = |c: &[OutcomeCounts]| {
            vec![
                Series::new("Errors", c.iter().map(|c| c.errors).collect()),
                Series::new("Exceptions", c.iter().map(|c| c.exceptions).collect()),
                Series::new(
                    "Other requests",
                    c.iter()
                        .map(|c| c.interactions - c.errors - c.exceptions)
                        .collect(),
                ),
            ]
        };
        let by_type = vouchers.then(|| {
            let series = report
                .awarded_by_type
                .iter()
                .map(|t| {
                    let test = if t.test { " (test)" } else { "" };
                    Series::new(format!("{} {}{test}", t.vendor, t.amount), t.by_day.clone())
                })
                .collect();
            BarChart::stacked(
                "chart-by-type",
                "Vouchers awarded by type, by day",
                "Day",
                days.clone(),
                series,
            )
        });
        Self {
            awarded_by_day: BarChart::stacked(
                "chart-awarded-day",
                "Awarded against requests, by day",
                "Day",
                days.clone(),
                awarded(&day_counts),
            ),
            awarded_by_hour: BarChart::stacked(
                "chart-awarded-hour",
                "Awarded against requests, by hour",
                "Hour",
                hours.clone(),
                awarded(&hour_counts),
            ),
            errors_by_day: BarChart::stacked(
                "chart-errors-day",
                "Errors and exceptions against requests, by day",
                "Day",
                days,
                errors(&day_counts),
            ),
            errors_by_hour: BarChart::stacked(
                "chart-errors-hour",
                "Errors and exceptions against requests, by hour",
                "Hour",
                hours,
                errors(&hour_counts),
            ),
            by_type,
        }
    }
}

/// One line of the API statistics: a kind of answer, how many got it, its share in percent.
pub struct ResponseLine {
    /// `error:validation_failed`: the outcome and code as the API names them.
    pub key: String,
    pub outcome: &'static str,
    pub outcome_class: &'static str,
    pub code: String,
    pub interactions: i64,
    pub percent: i64,
}

fn response_lines(report: &CampaignReport) -> Vec<ResponseLine> {
    let all = report.totals.interactions.max(1);
    report
        .responses
        .iter()
        .map(|r| {
            let (outcome, outcome_class) = outcome_badge(&r.outcome);
            ResponseLine {
                key: match &r.code {
                    Some(code) => format!("{}:{code}", r.outcome),
                    None => r.outcome.clone(),
                },
                outcome,
                outcome_class,
                code: r.code.clone().unwrap_or_default(),
                interactions: r.interactions,
                percent: (r.interactions * 100 + all / 2) / all,
            }
        })
        .collect()
}

/// The interaction filters as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct InteractionFilters {
    pub q: String,
    pub outcome: String,
    pub cursor: String,
}

/// One interaction in the campaign page's table.
pub struct InteractionLine {
    pub time: String,
    pub lead_id: String,
    /// The lead's name or customer id, and how to reach it; empty for a lead that is gone.
    pub customer: String,
    pub contact: String,
    pub outcome: &'static str,
    pub outcome_class: &'static str,
    pub points: i64,
    pub amount: String,
    pub error_code: String,
    pub source: String,
    /// Task activities: `3 of 5`; surprise claims and deal rewards: the coupon given.
    pub progress: String,
    pub coupon_id: String,
}

#[derive(Template)]
#[template(path = "dashboard/campaign.html")]
pub struct CampaignPageView {
    chrome: Chrome,
    id: String,
    name: String,
    kind: String,
    status: &'static str,
    status_class: &'static str,
    active: bool,
    list: Option<(&'static str, &'static str)>,
    switch: Option<(&'static str, &'static str)>,
    settings: Vec<(&'static str, String)>,
    actions: Vec<Action>,
    totals: OutcomeCounts,
    show_vouchers: bool,
    /// Whether the kind moves points (voucher campaigns do not).
    moves_points: bool,
    charts: Charts,
    responses: Vec<ResponseLine>,
    available: Vec<VoucherStock>,
    filters: InteractionFilters,
    filtering: bool,
    filter_errors: FormErrors,
    interactions: Vec<InteractionLine>,
    pager: Pager,
}

fn outcome_badge(outcome: &str) -> (&'static str, &'static str) {
    match outcome {
        "awarded" => ("Awarded", "badge-ok"),
        "out_of_vouchers" => ("Out of vouchers", "badge-warn"),
        "error" => ("Error", "badge-danger"),
        _ => ("Exception", "badge-danger"),
    }
}

async fn campaign_page(
    State(state): State<AppState>,
    user: ActiveMerchant,
    Path(id): Path<String>,
    Query(filters): Query<InteractionFilters>,
) -> Result<Response, PageError> {
    let id: CampaignId = path_id(&id, "campaign")?;
    let scope = user.scope();
    let report = state.app.campaign_report(&scope, id.as_str()).await?;
    let mut ctx = Context::load(&state, &user).await?;
    if report.campaign.campaign.kind == CampaignKind::Voucher {
        ctx.integrations = state
            .app
            .list_integrations(&scope, id.as_str())
            .await?
            .into_iter()
            .map(|i| (i.id.to_string(), i.name))
            .collect();
    }
    let pages = pages_of(&report.campaign, &ctx);
    let mut errors = ValidationErrors::new();
    let after = super::kit::checked_after_of(&filters.cursor, &mut errors);
    let found = if errors.is_empty() {
        state
            .app
            .list_interactions(
                &scope,
                id.as_str(),
                Some(filters.outcome.as_str()),
                Some(filters.q.as_str()),
                after.as_deref(),
                PAGE_SIZE + 1,
            )
            .await
    } else {
        Err(AppError::Validation(errors))
    };
    let (mut rows, filter_errors) = match found {
        Ok(rows) => (rows, FormErrors::none()),
        Err(AppError::Validation(e)) => (Vec::new(), FormErrors::from(e)),
        Err(e) => return Err(e.into()),
    };
    let path = format!("/dashboard/campaigns/{id}");
    let pairs = [
        ("q", filters.q.as_str()),
        ("outcome", filters.outcome.as_str()),
    ];
    let pager = Pager::cut(
        &mut rows,
        PAGE_SIZE,
        after.is_some(),
        |i| i.id.to_string(),
        &path,
        &pairs,
    )
    .landing_on("interactions");
    let interactions = interaction_lines(&state, &scope, &ctx, &rows).await?;
    let c = &report.campaign;
    let (status, status_class) = status_badge(c.status);
    let show_vouchers =
        c.campaign.kind == CampaignKind::Voucher || report.totals.out_of_vouchers > 0;
    let filtering = !filters.q.trim().is_empty() || !filters.outcome.trim().is_empty();
    let page = CampaignPageView {
        chrome: Chrome::new(&user, pages.nav),
        id: c.campaign.id.to_string(),
        name: c.campaign.name.clone(),
        kind: c.campaign.kind.to_string(),
        status,
        status_class,
        active: c.campaign.active,
        list: pages.list,
        switch: pages.switch,
        settings: pages.settings,
        actions: pages.actions,
        totals: report.totals,
        show_vouchers,
        moves_points: c.campaign.kind != CampaignKind::Voucher,
        charts: Charts::of(&report, show_vouchers),
        responses: response_lines(&report),
        available: report.available.clone(),
        filtering,
        filters,
        filter_errors,
        interactions,
        pager,
    };
    let status = if page.filter_errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render_with(status, &page))
}

/// The table lines of interactions, with their customers, each read once (a page holds at most
/// PAGE_SIZE of them).
pub(crate) async fn interaction_lines(
    state: &AppState,
    scope: &punchcard_app::ledger::Scope,
    ctx: &Context,
    rows: &[punchcard_store::campaigns::InteractionRow],
) -> Result<Vec<InteractionLine>, PageError> {
    let mut leads: Vec<punchcard_store::leads::LeadRow> = Vec::new();
    for id in rows.iter().filter_map(|i| i.lead_id.as_ref()) {
        if !leads.iter().any(|l| &l.id == id) {
            if let Some(l) = super::kit::found(state.app.lead(scope, id.as_str()).await)? {
                leads.push(l);
            }
        }
    }
    Ok(rows
        .iter()
        .map(|i| {
            let (outcome, outcome_class) = outcome_badge(i.outcome.as_str());
            let lead = leads.iter().find(|l| Some(&l.id) == i.lead_id.as_ref());
            InteractionLine {
                time: short_time(i.created_at),
                lead_id: i
                    .lead_id
                    .as_ref()
                    .map(|l| l.to_string())
                    .unwrap_or_default(),
                customer: match lead {
                    Some(l) => match &l.name {
                        Some(n) => format!("{n} · {}", l.customer_id),
                        None => l.customer_id.clone(),
                    },
                    // A voucher award names its redeemer rather than a lead.
                    None => [&i.redeemer_name, &i.redeemer_customer_id]
                        .into_iter()
                        .flatten()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(" · "),
                },
                contact: lead
                    .and_then(|l| l.email.clone().or_else(|| l.mobile.clone()))
                    .or_else(|| {
                        [&i.redeemer_email, &i.redeemer_mobile]
                            .into_iter()
                            .flatten()
                            .cloned()
                            .reduce(|a, b| format!("{a} · {b}"))
                    })
                    .unwrap_or_default(),
                outcome,
                outcome_class,
                points: i.points,
                amount: match (&i.vendor, i.amount) {
                    (Some(v), Some(a)) => format!("{v} {a}"),
                    (Some(v), None) => v.clone(),
                    (None, a) => a.map(|a| a.to_string()).unwrap_or_default(),
                },
                error_code: i.error_code.clone().unwrap_or_default(),
                progress: match (i.progress, i.goal) {
                    (Some(p), Some(g)) => format!("{p} of {g}"),
                    _ => String::new(),
                },
                coupon_id: i.coupon_id.clone().unwrap_or_default(),
                source: i
                    .source_id
                    .as_deref()
                    .map(|s| ctx.key_name(s))
                    .unwrap_or_default(),
            }
        })
        .collect())
}
