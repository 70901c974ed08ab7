//! Task activities and surprise activities in the dashboard: every accepted activity or claim
//! of the kind's campaigns, with the customer, the progress or the coupon given, filtered by
//! campaign and customer.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use punchcard_app::AppError;
use punchcard_domain::campaigns::CampaignKind;
use punchcard_domain::ValidationErrors;

use super::campaigns::{Context, PAGE_SIZE};
use super::campaigns_report::{interaction_lines, InteractionLine};
use super::chrome::{render_with, Chrome, FormErrors, Nav, PageError};
use super::kit::Pager;
use super::session::ActiveMerchant;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(TASKS.path, get(task_activities))
        .route(SURPRISES.path, get(surprise_activities))
}

/// The words and place of one kind's activities page.
struct ActivityPage {
    kind: CampaignKind,
    path: &'static str,
    title: &'static str,
    /// The campaign of an activity, as a column heading and a filter label.
    campaign: &'static str,
    list: &'static str,
    nav: Nav,
    empty: &'static str,
}

const TASKS: ActivityPage = ActivityPage {
    kind: CampaignKind::Task,
    path: "/dashboard/task-activities",
    title: "Task activities",
    campaign: "Task",
    list: "/dashboard/tasks",
    nav: Nav::TaskActivities,
    empty: "No task activities yet: each activity your API reports for a customer shows here with its progress.",
};

const SURPRISES: ActivityPage = ActivityPage {
    kind: CampaignKind::Surprise,
    path: "/dashboard/surprise-activities",
    title: "Surprise activities",
    campaign: "Surprise",
    list: "/dashboard/surprises",
    nav: Nav::SurpriseActivities,
    empty:
        "No surprise activities yet: each claim on its occasion shows here with the coupon given.",
};

/// The filters as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct ActivityFilters {
    pub campaign: String,
    pub lead: String,
    pub cursor: String,
}

/// An activity with the name of its campaign.
pub struct ActivityLine {
    pub campaign_id: String,
    pub campaign: String,
    pub line: InteractionLine,
}

#[derive(Template)]
#[template(path = "dashboard/campaign_activities.html")]
struct ActivitiesView {
    chrome: Chrome,
    title: &'static str,
    path: &'static str,
    campaign_label: &'static str,
    list: &'static str,
    empty: &'static str,
    campaigns: Vec<(String, String)>,
    filters: ActivityFilters,
    filtering: bool,
    filter_errors: FormErrors,
    activities: Vec<ActivityLine>,
    pager: Pager,
}

async fn task_activities(
    state: State<AppState>,
    user: ActiveMerchant,
    filters: Query<ActivityFilters>,
) -> Result<Response, PageError> {
    activities(&TASKS, state, user, filters).await
}

async fn surprise_activities(
    state: State<AppState>,
    user: ActiveMerchant,
    filters: Query<ActivityFilters>,
) -> Result<Response, PageError> {
    activities(&SURPRISES, state, user, filters).await
}

async fn activities(
    page: &ActivityPage,
    State(state): State<AppState>,
    user: ActiveMerchant,
    Query(filters): Query<ActivityFilters>,
) -> Result<Response, PageError> {
    let scope = user.scope();
    let ctx = Context::load(&state, &user).await?;
    // Every campaign of the kind, archived ones too: their activities stay listed.
    let mut campaigns = Vec::new();
    for status in [None, Some("archived")] {
        for c in state
            .app
            .list_campaigns(&scope, Some(page.kind.as_str()), status, None, 500)
            .await?
        {
            campaigns.push((c.campaign.id.to_string(), c.campaign.name.clone()));
        }
    }
    let mut errors = ValidationErrors::new();
    let after = super::kit::checked_after_of(&filters.cursor, &mut errors);
    let found = if errors.is_empty() {
        state
            .app
            .list_activities(
                &scope,
                page.kind,
                Some(filters.campaign.as_str()),
                Some(filters.lead.as_str()),
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
    let pairs = [
        ("campaign", filters.campaign.as_str()),
        ("lead", filters.lead.as_str()),
    ];
    let pager = Pager::cut(
        &mut rows,
        PAGE_SIZE,
        after.is_some(),
        |i| i.id.to_string(),
        page.path,
        &pairs,
    );
    let lines = interaction_lines(&state, &scope, &ctx, &rows).await?;
    let activities = rows
        .iter()
        .zip(lines)
        .map(|(row, line)| {
            let id = row.campaign_id.to_string();
            let campaign = campaigns
                .iter()
                .find(|(c, _)| *c == id)
                .map(|(_, name)| name.clone())
                .unwrap_or_else(|| id.clone());
            ActivityLine {
                campaign_id: id,
                campaign,
                line,
            }
        })
        .collect();
    let filtering = !filters.campaign.trim().is_empty() || !filters.lead.trim().is_empty();
    let view = ActivitiesView {
        chrome: Chrome::new(&user, page.nav),
        title: page.title,
        path: page.path,
        campaign_label: page.campaign,
        list: page.list,
        empty: page.empty,
        campaigns,
        filtering,
        filters,
        filter_errors,
        activities,
        pager,
    };
    let status = if view.filter_errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render_with(status, &view))
}
