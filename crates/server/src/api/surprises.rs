//! `/api/v1/surprises` and `/api/v1/surprise_activities`: a deal's coupon a lead claims on an
//! occasion (a custom date or the lead's birthday), and the claims.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use punchcard_app::campaigns::surprises::{NewClaim, SurpriseDraft, SurprisePatch};
use punchcard_app::campaigns::tasks::Activity;
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
use super::tasks::{activity_filters, created};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// A surprise: a deal's coupon a lead may claim `count` times on each occasion.
#[derive(Debug, Serialize, ToSchema)]
pub struct Surprise {
    #[schema(example = "cmp_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    /// Always `surprise`.
    pub kind: String,
    pub name: String,
    /// `pending`, `live`, `completed` or `archived`, computed.
    #[schema(example = "live")]
    pub status: String,
    pub paused: bool,
    /// `custom` (on `date`) or `lead_birthday`.
    #[serde(rename = "type")]
    pub occasion: String,
    /// The custom occasion's day, `YYYY-MM-DD`, in the merchant's time zone.
    #[schema(example = "2026-12-24")]
    pub date: Option<String>,
    /// The claims one lead may make per occasion.
    pub count: i64,
    pub deal_id: Option<String>,
    /// Coupons given so far.
    pub budget_used: i64,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<CampaignView> for Surprise {
    fn from(v: CampaignView) -> Self {
        let c = v.campaign;
        Self {
            id: c.id.to_string(),
            kind: c.kind.to_string(),
            name: c.name,
            status: v.status.to_string(),
            paused: !c.active,
            occasion: c.occasion.map(|o| o.to_string()).unwrap_or_default(),
            date: c.occasion_date.map(|d| d.to_string()),
            count: c.count.unwrap_or_default(),
            deal_id: c.deal_id.map(|d| d.to_string()),
            budget_used: c.budget_used,
            starts_at: moment(c.starts_at),
            ends_at: moment(c.ends_at),
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
        }
    }
}

/// A new surprise. It is live at once (within its dates) unless `paused`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSurprise {
    #[schema(required = true, value_type = String, example = "Christmas treat", min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// `custom` (on `date`) or `lead_birthday` (the lead's date of birth; 29 February falls on
    /// the 28th in other years).
    #[serde(rename = "type")]
    #[schema(required = true, value_type = String, example = "custom", pattern = "^(custom|lead_birthday)$")]
    pub occasion: Option<String>,
    /// The custom occasion's day, `YYYY-MM-DD`; custom only.
    #[schema(example = "2026-12-24")]
    pub date: Option<String>,
    /// The claims one lead may make per occasion.
    #[schema(required = true, value_type = i64, minimum = 1, maximum = 1000)]
    pub count: Option<i64>,
    /// The deal whose coupon a claim gives, in reward mode.
    #[schema(required = true, value_type = String, example = "deal_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub deal_id: Option<String>,
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    #[schema(format = DateTime)]
    pub ends_at: Option<String>,
    /// Created switched off (`pending`).
    pub paused: Option<bool>,
}

/// Changes to a surprise: only the fields sent change; `null` clears an optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurpriseChanges {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(rename = "type")]
    #[schema(pattern = "^(custom|lead_birthday)$")]
    pub occasion: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub date: Option<Option<String>>,
    #[schema(minimum = 1, maximum = 1000)]
    pub count: Option<i64>,
    pub deal_id: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub starts_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<Option<String>>,
    /// Pausing stops it giving; unpausing counts against the active-campaign cap.
    pub paused: Option<bool>,
}

/// A claim of a surprise: the coupon it gave.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurpriseActivity {
    #[schema(example = "cmi_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    pub surprise_id: String,
    pub lead_id: Option<String>,
    #[schema(example = "cpn_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub coupon_id: Option<String>,
    /// The occasion: the day it fell on, `YYYY-MM-DD`.
    pub occasion: Option<String>,
    pub hash: Option<String>,
    pub created_at: String,
}

impl From<InteractionRow> for SurpriseActivity {
    fn from(i: InteractionRow) -> Self {
        Self {
            id: i.id.to_string(),
            surprise_id: i.campaign_id.to_string(),
            lead_id: i.lead_id.map(|l| l.to_string()),
            coupon_id: i.coupon_id,
            occasion: i.window_key,
            hash: i.hash,
            created_at: i.created_at.to_rfc3339(),
        }
    }
}

/// A claim: the lead takes the surprise ("Surprise me").
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSurpriseActivity {
    #[schema(required = true, value_type = String, example = "cmp_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub surprise_id: Option<String>,
    #[schema(required = true, value_type = String, example = "lead_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub lead_id: Option<String>,
    /// A retry key: a repeat answers the first answer.
    #[schema(required = true, value_type = String, example = "surprise-7781")]
    pub hash: Option<String>,
}

/// Filters of the surprise activity list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SurpriseActivityFilters {
    pub surprise_id: Option<String>,
    pub lead_id: Option<String>,
}

/// Creates a surprise (live at once unless `paused`; active campaigns of every kind are
/// capped: 10 in dev, 100 in prod).
#[utoipa::path(post, path = "/api/v1/surprises", tag = "surprises",
    request_body = NewSurprise,
    security(("basic" = [])),
    responses(
        (status = 201, description = "the surprise", body = Surprise),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields (`validation_failed`) or the active-campaign cap reached (`limit_reached`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_surprise(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewSurprise>,
) -> Result<(StatusCode, Json<Surprise>), ApiError> {
    let draft = SurpriseDraft {
        name: body.name.unwrap_or_default(),
        occasion: body.occasion.unwrap_or_default(),
        date: body.date,
        count: body.count,
        deal_id: body.deal_id.unwrap_or_default(),
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        paused: body.paused.unwrap_or(false),
    };
    let view = state
        .app
        .create_surprise(&Scope::from(&caller), &draft)
        .await?;
    Ok((StatusCode::CREATED, Json(Surprise::from(view))))
}

/// Lists the environment's surprises in creation order; archived ones only when asked.
#[utoipa::path(get, path = "/api/v1/surprises", tag = "surprises",
    params(PageParams, StatusFilter),
    security(("basic" = [])),
    responses(
        (status = 200, description = "a page of surprises", body = Page<Surprise>),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid filters or paging parameters", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_surprises(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<PageParams>,
    ApiQuery(filters): ApiQuery<StatusFilter>,
) -> Result<Json<Page<Surprise>>, ApiError> {
    let page = params.parse()?;
    let rows = state
        .app
        .list_campaigns(
            &Scope::from(&caller),
            Some("surprise"),
            filters.status.as_deref(),
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
    let page = page.page(rows, |v| v.campaign.id.to_string());
    Ok(Json(Page {
        data: page.data.into_iter().map(Surprise::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One surprise.
#[utoipa::path(get, path = "/api/v1/surprises/{id}", tag = "surprises",
    params(("id" = String, Path, description = "the surprise id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the surprise", body = Surprise),
        (status = 404, description = "no such surprise in this environment (another kind's id included)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_surprise(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<CampaignId>,
) -> Result<Json<Surprise>, ApiError> {
    let view = state
        .app
        .surprise(&Scope::from(&caller), id.as_str())
        .await?;
    Ok(Json(Surprise::from(view)))
}

/// Changes a surprise.
#[utoipa::path(patch, path = "/api/v1/surprises/{id}", tag = "surprises",
    params(("id" = String, Path, description = "the surprise id")),
    request_body = SurpriseChanges,
    security(("basic" = [])),
    responses(
        (status = 200, description = "the changed surprise", body = Surprise),
        (status = 404, description = "no such surprise in this environment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields (`validation_failed`) or the active-campaign cap reached on unpausing (`limit_reached`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_surprise(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<CampaignId>,
    ApiJson(body): ApiJson<SurpriseChanges>,
) -> Result<Json<Surprise>, ApiError> {
    let patch = SurprisePatch {
        name: body.name,
        occasion: body.occasion,
        date: body.date,
        count: body.count,
        deal_id: body.deal_id,
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        paused: body.paused,
    };
    let view = state
        .app
        .update_surprise(&Scope::from(&caller), id.as_str(), patch)
        .await?;
    Ok(Json(Surprise::from(view)))
}

/// Deletes a surprise: it stops giving and leaves every list; its claims stay.
#[utoipa::path(delete, path = "/api/v1/surprises/{id}", tag = "surprises",
    params(("id" = String, Path, description = "the surprise id")),
    security(("basic" = [])),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, description = "no such surprise in this environment", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_surprise(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<CampaignId>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .delete_surprise(&Scope::from(&caller), id.as_str())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A lead claims a live surprise: on its occasion today (the custom date, or the lead's
/// birthday; "today" is the merchant's calendar day in its time zone), a coupon of its deal
/// in reward mode (burning 1 redeem + 1 reward quota), at most `count` times per lead per
/// occasion. Every claim, given or refused, is an interaction of the surprise.
#[utoipa::path(post, path = "/api/v1/surprise_activities", tag = "surprises",
    request_body = NewSurpriseActivity,
    security(("basic" = [])),
    responses(
        (status = 201, description = "the claim and its coupon (a repeat of the same hash and body answers the first answer, with `Idempotent-Replayed: true`)", body = SurpriseActivity),
        (status = 403, description = "the plan's quota is used up (`quota_exhausted`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the deal has no coupon codes left (`out_of_stock`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields or no such surprise or lead (`validation_failed`), not live (`campaign_not_live`), not the occasion today (`not_on_occasion`), `count` claims already made on this occasion (`limit_reached`), the callback refused (`callback_rejected`) or the hash was used for another claim (`idempotency_mismatch`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_surprise_activity(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewSurpriseActivity>,
) -> Result<Response, ApiError> {
    let new = NewClaim {
        surprise_id: body.surprise_id.unwrap_or_default(),
        lead_id: body.lead_id.unwrap_or_default(),
        hash: body.hash.unwrap_or_default(),
    };
    let Activity {
        interaction,
        replayed,
    } = state.app.claim_surprise(&caller, &new).await?;
    Ok(created(SurpriseActivity::from(interaction), replayed))
}

/// Lists claims of surprises in creation order, of one surprise or lead when asked.
#[utoipa::path(get, path = "/api/v1/surprise_activities", tag = "surprises",
    params(PageParams, SurpriseActivityFilters),
    security(("basic" = [])),
    responses(
        (status = 200, description = "a page of claims", body = Page<SurpriseActivity>),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid paging parameters", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_surprise_activities(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<PageParams>,
    ApiQuery(filters): ApiQuery<SurpriseActivityFilters>,
) -> Result<Json<Page<SurpriseActivity>>, ApiError> {
    let page = params.parse()?;
    let (campaign_id, lead_id) = activity_filters(
        "surprise_id",
        filters.surprise_id.as_deref(),
        filters.lead_id.as_deref(),
    )?;
    let rows = state
        .app
        .list_surprise_activities(
            &Scope::from(&caller),
            campaign_id.as_ref().map(CampaignId::as_str),
            lead_id.as_ref().map(punchcard_domain::LeadId::as_str),
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
    let page = page.page(rows, |i| i.id.to_string());
    Ok(Json(Page {
        data: page.data.into_iter().map(SurpriseActivity::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
