//! The campaign page of every kind: its settings, its totals by outcome, a chart of awards by
//! day drawn from its report, and its interactions, searchable by customer and outcome.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use punchcard_app::campaign_reports::DayCounts;
use punchcard_app::campaigns::CampaignView;
use punchcard_app::AppError;
use punchcard_domain::campaigns::CampaignKind;
use punchcard_domain::{CampaignId, ValidationErrors};

use super::campaigns::{status_badge, Action, CampaignPage, Context, PAGE_SIZE};
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

/// One bar of the chart of a day: awards at the bottom, refusals on top.
pub struct Bar {
    pub date: String,
    pub x: i64,
    pub awarded: i64,
    pub refused: i64,
    /// Heights and tops in the chart's units (100 high).
    pub awarded_y: i64,
    pub awarded_h: i64,
    pub refused_y: i64,
    pub refused_h: i64,
}

/// The awards of each of the report's days as bars of a 300 x 100 drawing.
pub struct Chart {
    pub bars: Vec<Bar>,
    pub max: i64,
    pub first: String,
    pub last: String,
    pub awarded: i64,
    pub refused: i64,
    pub busiest: Option<String>,
}

impl Chart {
    pub const HEIGHT: i64 = 100;

    fn of(days: &[DayCounts]) -> Self {
        let max = days
            .iter()
            .map(|d| d.counts.interactions)
            .max()
            .unwrap_or(0)
            .max(1);
        let scaled = |n: i64| {
            if n == 0 {
                0
            } else {
                (n * Self::HEIGHT / max).max(2)
            }
        };
        let bars: Vec<Bar> = days
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let awarded = d.counts.awarded;
                let refused = d.counts.interactions - awarded;
                let awarded_h = scaled(awarded);
                let refused_h = scaled(refused).min(Self::HEIGHT - awarded_h);
                Bar {
                    date: d.date.clone(),
                    x: i64::try_from(i).unwrap_or(0) * 10 + 1,
                    awarded,
                    refused,
                    awarded_y: Self::HEIGHT - awarded_h,
                    awarded_h,
                    refused_y: Self::HEIGHT - awarded_h - refused_h,
                    refused_h,
                }
            })
            .collect();
        let busiest = bars
            .iter()
            .filter(|b| b.awarded > 0)
            .max_by_key(|b| (b.awarded, b.date.clone()))
            .map(|b| format!("{} ({} awarded)", b.date, b.awarded));
        Self {
            max,
            first: bars.first().map(|b| b.date.clone()).unwrap_or_default(),
            last: bars.last().map(|b| b.date.clone()).unwrap_or_default(),
            awarded: bars.iter().map(|b| b.awarded).sum(),
            refused: bars.iter().map(|b| b.refused).sum(),
            busiest,
            bars,
        }
    }
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
    totals: punchcard_store::campaign_reports::OutcomeCounts,
    show_vouchers: bool,
    chart: Chart,
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
    let ctx = Context::load(&state, &user).await?;
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
        show_vouchers: c.campaign.kind == CampaignKind::Voucher
            || report.totals.out_of_vouchers > 0,
        chart: Chart::of(&report.by_day),
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
                customer: lead
                    .map(|l| match &l.name {
                        Some(n) => format!("{n} · {}", l.customer_id),
                        None => l.customer_id.clone(),
                    })
                    .unwrap_or_default(),
                contact: lead
                    .and_then(|l| l.email.clone().or_else(|| l.mobile.clone()))
                    .unwrap_or_default(),
                outcome,
                outcome_class,
                points: i.points,
                amount: i.amount.map(|a| a.to_string()).unwrap_or_default(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use punchcard_store::campaign_reports::OutcomeCounts;

    fn day(date: &str, awarded: i64, refused: i64) -> DayCounts {
        DayCounts {
            date: date.to_string(),
            counts: OutcomeCounts {
                interactions: awarded + refused,
                awarded,
                errors: refused,
                ..Default::default()
            },
        }
    }

    #[test]
    fn bars_scale_to_the_busiest_day_and_stack_refusals_on_awards() {
        let chart = Chart::of(&[
            day("2026-03-01", 0, 0),
            day("2026-03-02", 40, 10),
            day("2026-03-03", 1, 0),
        ]);
        assert_eq!(chart.max, 50);
        let [empty, busy, small] = &chart.bars[..] else {
            panic!("three bars")
        };
        assert_eq!((empty.awarded_h, empty.refused_h), (0, 0));
        assert_eq!((busy.awarded_h, busy.refused_h), (80, 20));
        assert_eq!((busy.awarded_y, busy.refused_y), (20, 0));
        assert_eq!(small.awarded_h, 2, "a day with awards stays visible");
        assert_eq!((empty.x, busy.x, small.x), (1, 11, 21));
        assert_eq!((chart.awarded, chart.refused), (41, 10));
        assert_eq!(chart.busiest.as_deref(), Some("2026-03-02 (40 awarded)"));
        assert_eq!(
            (chart.first.as_str(), chart.last.as_str()),
            ("2026-03-01", "2026-03-03")
        );
        let quiet = Chart::of(&[day("2026-03-01", 0, 0)]);
        assert_eq!((quiet.max, quiet.busiest), (1, None));
    }
}
