//! `/api/v1/tasks` and `/api/v1/task_activities`: tasks a lead completes by repeating an
//! activity, and the activities that count towards them.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use punchcard_app::campaigns::tasks::{Activity, NewActivity, TaskDraft, TaskPatch};
use punchcard_app::campaigns::CampaignView;
use punchcard_app::ledger::Scope;
use punchcard_domain::CampaignId;
use punchcard_store::campaigns::InteractionRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::campaigns::RuleFilters as StatusFilter;
use super::catalog::{moment, nullable};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageParams};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// A task: the `count`-th activity of a lead in a period completes it and rewards it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Task {
    #[schema(example = "cmp_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    /// Always `task`.
    pub kind: String,
    pub name: String,
    /// `pending`, `live`, `completed` or `archived`, computed.
    #[schema(example = "live")]
    pub status: String,
    pub paused: bool,
    /// `points` or `deal`.
    pub reward: String,
    /// The wallet's currency of a points reward.
    pub currency_id: Option<String>,
    /// The activities that complete the task.
    pub count: i64,
    /// A points reward is a random amount in `[min_reward, max_reward]`.
    pub min_reward: Option<i64>,
    pub max_reward: Option<i64>,
    /// The deal whose coupon a deal reward issues.
    pub deal_id: Option<String>,
    /// `none`, `day`, `week` or `month`.
    pub period: String,
    /// The most completions one lead gets.
    pub max_per_lead: Option<i64>,
    /// The most the task gives in all: points for a points reward, coupons for a deal.
    pub budget: Option<i64>,
    pub budget_used: i64,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<CampaignView> for Task {
    fn from(v: CampaignView) -> Self {
        let c = v.campaign;
        Self {
            id: c.id.to_string(),
            kind: c.kind.to_string(),
            name: c.name,
            status: v.status.to_string(),
            paused: !c.active,
            reward: c.reward.map(|r| r.to_string()).unwrap_or_default(),
            currency_id: c.currency_id.map(|c| c.to_string()),
            count: c.count.unwrap_or_default(),
            min_reward: c.min_reward,
            max_reward: c.max_reward,
            deal_id: c.deal_id.map(|d| d.to_string()),
            period: c.period.map(|p| p.to_string()).unwrap_or_default(),
            max_per_lead: c.max_per_lead,
            budget: c.budget,
            budget_used: c.budget_used,
            starts_at: moment(c.starts_at),
            ends_at: moment(c.ends_at),
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
        }
    }
}

/// A new task. It is live at once (within its dates) unless `paused`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    #[schema(required = true, value_type = String, example = "Seven rides a month", min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// `points` (a random amount in `[min_reward, max_reward]`) or `deal` (a coupon of
    /// `deal_id`, in reward mode).
    #[schema(required = true, value_type = String, example = "points", pattern = "^(points|deal)$")]
    pub reward: Option<String>,
    /// The wallet's currency; required for a points reward.
    #[schema(example = "cur_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub currency_id: Option<String>,
    /// The activities that complete the task.
    #[schema(required = true, value_type = i64, minimum = 1, maximum = 1000)]
    pub count: Option<i64>,
    /// Points reward only: the least it gives; required.
    #[schema(minimum = 1)]
    pub min_reward: Option<i64>,
    /// Points reward only: the most it gives (`min_reward` when absent).
    #[schema(minimum = 1)]
    pub max_reward: Option<i64>,
    /// Deal reward only: the deal whose coupon completing gives.
    #[schema(example = "deal_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub deal_id: Option<String>,
    /// `none` (default: progress never lapses), `day`, `week` (ISO, from Monday) or `month`,
    /// in the merchant's time zone.
    #[schema(pattern = "^(none|day|week|month)$")]
    pub period: Option<String>,
    /// The most completions one lead gets in all.
    #[schema(minimum = 1)]
    pub max_per_lead: Option<i64>,
    /// The most the task gives in all: points for a points reward, coupons for a deal.
    #[schema(minimum = 1)]
    pub budget: Option<i64>,
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    #[schema(format = DateTime)]
    pub ends_at: Option<String>,
    /// Created switched off (`pending`).
    pub paused: Option<bool>,
}

/// Changes to a task: only the fields sent change; `null` clears an optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskChanges {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[schema(pattern = "^(points|deal)$")]
    pub reward: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub currency_id: Option<Option<String>>,
    #[schema(minimum = 1, maximum = 1000)]
    pub count: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub min_reward: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub max_reward: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub deal_id: Option<Option<String>>,
    #[schema(pattern = "^(none|day|week|month)$")]
    pub period: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub max_per_lead: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub budget: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub starts_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<Option<String>>,
    /// Pausing stops it awarding; unpausing counts against the active-campaign cap.
    pub paused: Option<bool>,
}

/// What completing a task gave: points (a wallet transaction) or a coupon.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskRewardGiven {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "wtx_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub wallet_transaction_id: Option<String>,
    /// The points credited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "cpn_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub coupon_id: Option<String>,
}

/// An accepted activity of a lead on a task.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskActivity {
    #[schema(example = "cmi_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    pub task_id: String,
    pub lead_id: Option<String>,
    /// The lead's activities in the current cycle, this one included (`count` when it
    /// completed the task).
    pub progress: i64,
    /// The activities that complete the task.
    pub count: i64,
    /// Whether this activity completed the task (and got its reward).
    pub completed: bool,
    /// `null` unless `completed`.
    pub reward: Option<TaskRewardGiven>,
    pub hash: Option<String>,
    pub created_at: String,
}

impl From<InteractionRow> for TaskActivity {
    fn from(i: InteractionRow) -> Self {
        let reward = match (&i.wallet_transaction_id, &i.coupon_id) {
            (None, None) => None,
            (wtx, coupon) => Some(TaskRewardGiven {
                wallet_transaction_id: wtx.clone(),
                amount: wtx.as_ref().map(|_| i.points),
                coupon_id: coupon.clone(),
            }),
        };
        Self {
            id: i.id.to_string(),
            task_id: i.campaign_id.to_string(),
            lead_id: i.lead_id.map(|l| l.to_string()),
            progress: i.progress.unwrap_or_default(),
            count: i.goal.unwrap_or_default(),
            completed: reward.is_some(),
            reward,
            hash: i.hash,
            created_at: i.created_at.to_rfc3339(),
        }
    }
}

/// An activity: a lead did once what the task counts.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTaskActivity {
    #[schema(required = true, value_type = String, example = "cmp_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub task_id: Option<String>,
    #[schema(required = true, value_type = String, example = "lead_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub lead_id: Option<String>,
    /// A retry key: a repeat answers the first answer.
    #[schema(required = true, value_type = String, example = "ride-1042")]
    pub hash: Option<String>,
}

/// Filters of the task activity list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskActivityFilters {
    pub task_id: Option<String>,
    pub lead_id: Option<String>,
}

/// The answer to an activity or a claim: 201, marked when it replays an earlier one.
pub(crate) fn created<T: Serialize>(body: T, replayed: bool) -> Response {
    let mut res = (StatusCode::CREATED, Json(body)).into_response();
    if replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    res
}

/// Creates a task (live at once unless `paused`; active campaigns of every kind are capped:
/// 10 in dev, 100 in prod).
#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks",
    request_body = NewTask,
    security(("basic" = [])),
    responses(
        (status = 201, description = "the task", body = Task),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields (`validation_failed`) or the active-campaign cap reached (`limit_reached`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_task(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewTask>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    let draft = TaskDraft {
        name: body.name.unwrap_or_default(),
        currency_id: body.currency_id,
        reward: body.reward.unwrap_or_default(),
        count: body.count,
        min_reward: body.min_reward,
        max_reward: body.max_reward,
        deal_id: body.deal_id,
        period: body.period,
        max_per_lead: body.max_per_lead,
        budget: body.budget,
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        paused: body.paused.unwrap_or(false),
    };
    let view = state.app.create_task(&Scope::from(&caller), &draft).await?;
    Ok((StatusCode::CREATED, Json(Task::from(view))))
}

/// Lists the environment's tasks in creation order; archived ones only when asked.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks",
    params(PageParams, StatusFilter),
    security(("basic" = [])),
    responses(
        (status = 200, description = "a page of tasks", body = Page<Task>),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid filters or paging parameters", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_tasks(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<PageParams>,
    ApiQuery(filters): ApiQuery<StatusFilter>,
) -> Result<Json<Page<Task>>, ApiError> {
    let page = params.parse()?;
    let rows = state
        .app
        .list_campaigns(
            &Scope::from(&caller),
            Some("task"),
            filters.status.as_deref(),
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
    let page = page.page(rows, |v| v.campaign.id.to_string());
    Ok(Json(Page {
        data: page.data.into_iter().map(Task::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One task.
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks",
    params(("id" = String, Path, description = "the task id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the task", body = Task),
        (status = 404, description = "no such task in this environment (another kind's id included)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_task(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<CampaignId>,
) -> Result<Json<Task>, ApiError> {
    let view = state.app.task(&Scope::from(&caller), id.as_str()).await?;
    Ok(Json(Task::from(view)))
}

/// Changes a task.
#[utoipa::path(patch, path = "/api/v1/tasks/{id}", tag = "tasks",
    params(("id" = String, Path, description = "the task id")),
    request_body = TaskChanges,
    security(("basic" = [])),
    responses(
        (status = 200, description = "the changed task", body = Task),
        (status = 404, description = "no such task in this environment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields (`validation_failed`) or the active-campaign cap reached on unpausing (`limit_reached`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_task(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<CampaignId>,
    ApiJson(body): ApiJson<TaskChanges>,
) -> Result<Json<Task>, ApiError> {
    let patch = TaskPatch {
        name: body.name,
        currency_id: body.currency_id,
        reward: body.reward,
        count: body.count,
        min_reward: body.min_reward,
        max_reward: body.max_reward,
        deal_id: body.deal_id,
        period: body.period,
        max_per_lead: body.max_per_lead,
        budget: body.budget,
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        paused: body.paused,
    };
    let view = state
        .app
        .update_task(&Scope::from(&caller), id.as_str(), patch)
        .await?;
    Ok(Json(Task::from(view)))
}

/// Deletes a task: it stops counting and leaves every list; its activities stay.
#[utoipa::path(delete, path = "/api/v1/tasks/{id}", tag = "tasks",
    params(("id" = String, Path, description = "the task id")),
    security(("basic" = [])),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, description = "no such task in this environment", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_task(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<CampaignId>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .delete_task(&Scope::from(&caller), id.as_str())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Records an activity of a lead on a live task. Progress counts per lead in the task's
/// period window (the day, ISO week or month in the merchant's time zone; `none` never
/// lapses); the `count`-th activity of a cycle completes the task and rewards it in the same
/// transaction (points: a `reward` wallet transaction whose `reference` is the task id,
/// burning 1 reward quota; deal: a coupon in reward mode, burning 1 redeem + 1 reward). The
/// next activity starts a new cycle, until the lead has `max_per_lead` completions: then
/// activities are refused with `limit_reached`. A new period window starts from 0 and
/// unfinished progress lapses. Every activity, accepted or refused, is an interaction of the
/// task.
#[utoipa::path(post, path = "/api/v1/task_activities", tag = "tasks",
    request_body = NewTaskActivity,
    security(("basic" = [])),
    responses(
        (status = 201, description = "the activity with the progress it made and, when it completed the task, the reward (a repeat of the same hash and body answers the first answer, with `Idempotent-Replayed: true`)", body = TaskActivity),
        (status = 403, description = "the plan's quota is used up (`quota_exhausted`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the deal has no coupon codes left (`out_of_stock`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields or no such task or lead (`validation_failed`), the task is not live (`campaign_not_live`), `max_per_lead` or the budget reached (`limit_reached`), the callback refused (`callback_rejected`) or the hash was used for another activity (`idempotency_mismatch`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_task_activity(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewTaskActivity>,
) -> Result<Response, ApiError> {
    let new = NewActivity {
        task_id: body.task_id.unwrap_or_default(),
        lead_id: body.lead_id.unwrap_or_default(),
        hash: body.hash.unwrap_or_default(),
    };
    let Activity {
        interaction,
        replayed,
    } = state.app.record_task_activity(&caller, &new).await?;
    Ok(created(TaskActivity::from(interaction), replayed))
}

/// The filters of an activity list, parsed as what they filter by: an id of its kind, or a
/// 422 naming the field (`campaign_field` is `task_id` or `surprise_id`).
pub(crate) fn activity_filters(
    campaign_field: &str,
    campaign_id: Option<&str>,
    lead_id: Option<&str>,
) -> Result<(Option<CampaignId>, Option<punchcard_domain::LeadId>), ApiError> {
    let mut e = punchcard_domain::ValidationErrors::new();
    let campaign_id = e
        .check(punchcard_app::input::filter_id::<CampaignId>(
            campaign_field,
            campaign_id,
        ))
        .flatten();
    let lead_id = e
        .check(punchcard_app::input::filter_id("lead_id", lead_id))
        .flatten();
    e.into_result()?;
    Ok((campaign_id, lead_id))
}

/// Lists accepted task activities in creation order, of one task or lead when asked.
#[utoipa::path(get, path = "/api/v1/task_activities", tag = "tasks",
    params(PageParams, TaskActivityFilters),
    security(("basic" = [])),
    responses(
        (status = 200, description = "a page of activities", body = Page<TaskActivity>),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid paging parameters", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_task_activities(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<PageParams>,
    ApiQuery(filters): ApiQuery<TaskActivityFilters>,
) -> Result<Json<Page<TaskActivity>>, ApiError> {
    let page = params.parse()?;
    let (campaign_id, lead_id) = activity_filters(
        "task_id",
        filters.task_id.as_deref(),
        filters.lead_id.as_deref(),
    )?;
    let rows = state
        .app
        .list_task_activities(
            &Scope::from(&caller),
            campaign_id.as_ref().map(CampaignId::as_str),
            lead_id.as_ref().map(punchcard_domain::LeadId::as_str),
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
    let page = page.page(rows, |i| i.id.to_string());
    Ok(Json(Page {
        data: page.data.into_iter().map(TaskActivity::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
