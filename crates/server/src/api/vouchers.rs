//! `/api/v1/voucher_campaigns` and their integrations: campaigns that award vouchers from
//! linked vaults to the applications that hold one of their integrations.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use punchcard_app::campaigns::vouchers::{
    CreatedIntegration, VoucherCampaignDraft, VoucherCampaignPatch, VoucherCampaignView,
};
use punchcard_app::ledger::Scope;
use punchcard_domain::{CampaignId, IntegrationId};
use punchcard_store::vouchers::IntegrationRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::campaigns::RuleFilters as StatusFilter;
use super::catalog::{moment, nullable};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{Page, PageParams};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// A voucher campaign.
#[derive(Debug, Serialize, ToSchema)]
pub struct VoucherCampaign {
    #[schema(example = "cmp_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    /// Always `voucher`.
    pub kind: String,
    pub name: String,
    /// Computed: `pending` (new, paused, before its start, or without a linked vault and a
    /// live integration), `live`, `completed` (past its end) or `archived` (ended more than
    /// 30 days ago).
    #[schema(example = "live")]
    pub status: String,
    pub paused: bool,
    /// The vaults it draws from.
    pub vault_ids: Vec<String>,
    /// The most vouchers one redeemer gets; `null` is no limit.
    pub max_per_redeemer: Option<i64>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<VoucherCampaignView> for VoucherCampaign {
    fn from(v: VoucherCampaignView) -> Self {
        let (view, vault_ids) = (v.view, v.vault_ids);
        let c = view.campaign;
        Self {
            id: c.id.to_string(),
            kind: c.kind.to_string(),
            name: c.name,
            status: view.status.to_string(),
            paused: !c.active,
            vault_ids: vault_ids.iter().map(|v| v.to_string()).collect(),
            max_per_redeemer: c.max_per_lead,
            starts_at: moment(c.starts_at),
            ends_at: moment(c.ends_at),
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
        }
    }
}

/// A new voucher campaign. It is `pending` until it has a linked vault and a live integration.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVoucherCampaign {
    #[schema(required = true, value_type = String, example = "Spring thank-you", min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// Vaults of this environment, at most 100.
    pub vault_ids: Option<Vec<String>>,
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    #[schema(format = DateTime)]
    pub ends_at: Option<String>,
    #[schema(minimum = 1, maximum = 1000000)]
    pub max_per_redeemer: Option<i64>,
    /// Created switched off (`pending`).
    pub paused: Option<bool>,
}

/// Changes to a voucher campaign: only the fields sent change; `null` clears an optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoucherCampaignChanges {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// Replaces the linked vaults.
    pub vault_ids: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub starts_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1000000)]
    pub max_per_redeemer: Option<Option<i64>>,
    /// Pausing stops it awarding live vouchers; unpausing counts against the active-campaign cap.
    pub paused: Option<bool>,
}

/// An integration: credentials another application awards vouchers with.
#[derive(Debug, Serialize, ToSchema)]
pub struct Integration {
    #[schema(example = "int_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub id: String,
    pub campaign_id: String,
    pub name: String,
    /// `test` (test vouchers only, also while the campaign is pending), `live` (real
    /// vouchers, while the campaign is live) or `revoked` (refused).
    #[schema(example = "test")]
    pub status: String,
    /// The Basic-auth password of `POST /api/v1/award`: shown once, in the answer that
    /// creates the integration, and never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<IntegrationRow> for Integration {
    fn from(i: IntegrationRow) -> Self {
        Self {
            id: i.id.to_string(),
            campaign_id: i.campaign_id.to_string(),
            name: i.name,
            status: i.status.to_string(),
            secret: None,
            created_at: i.created_at.to_rfc3339(),
            updated_at: i.updated_at.to_rfc3339(),
        }
    }
}

impl From<CreatedIntegration> for Integration {
    fn from(c: CreatedIntegration) -> Self {
        Self {
            secret: Some(c.secret),
            ..Integration::from(c.integration)
        }
    }
}

/// A new integration.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIntegration {
    #[schema(required = true, value_type = String, example = "Checkout", min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// `test` (default), `live` or `revoked`.
    #[schema(pattern = "^(test|live|revoked)$")]
    pub status: Option<String>,
}

/// Changes to an integration.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationChanges {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[schema(pattern = "^(test|live|revoked)$")]
    pub status: Option<String>,
}

/// Creates a voucher campaign (switched on unless `paused`; active campaigns of every kind
/// are capped: 10 in dev, 100 in prod).
#[utoipa::path(post, path = "/api/v1/voucher_campaigns", tag = "voucher campaigns",
    request_body = NewVoucherCampaign,
    security(("basic" = [])),
    responses(
        (status = 201, description = "the voucher campaign", body = VoucherCampaign),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields or unknown vaults (`validation_failed`), or the active-campaign cap reached (`limit_reached`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_voucher_campaign(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewVoucherCampaign>,
) -> Result<(StatusCode, Json<VoucherCampaign>), ApiError> {
    let draft = VoucherCampaignDraft {
        name: body.name.unwrap_or_default(),
        vault_ids: body.vault_ids.unwrap_or_default(),
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        max_per_redeemer: body.max_per_redeemer,
        paused: body.paused.unwrap_or(false),
    };
    let view = state
        .app
        .create_voucher_campaign(&Scope::from(&caller), &draft)
        .await?;
    Ok((StatusCode::CREATED, Json(VoucherCampaign::from(view))))
}

/// Lists the environment's voucher campaigns in creation order; archived ones only when asked.
#[utoipa::path(get, path = "/api/v1/voucher_campaigns", tag = "voucher campaigns",
    params(PageParams, StatusFilter),
    security(("basic" = [])),
    responses(
        (status = 200, description = "a page of voucher campaigns", body = Page<VoucherCampaign>),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid filters or paging parameters", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_voucher_campaigns(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<PageParams>,
    ApiQuery(filters): ApiQuery<StatusFilter>,
) -> Result<Json<Page<VoucherCampaign>>, ApiError> {
    let page = params.parse()?;
    let rows = state
        .app
        .list_voucher_campaigns(
            &Scope::from(&caller),
            filters.status.as_deref(),
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
    let page = page.page(rows, |v| v.view.campaign.id.to_string());
    Ok(Json(Page {
        data: page.data.into_iter().map(VoucherCampaign::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One voucher campaign.
#[utoipa::path(get, path = "/api/v1/voucher_campaigns/{id}", tag = "voucher campaigns",
    params(("id" = String, Path, description = "the campaign id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the voucher campaign", body = VoucherCampaign),
        (status = 404, description = "no such voucher campaign in this environment (another kind's id included)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_voucher_campaign(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<CampaignId>,
) -> Result<Json<VoucherCampaign>, ApiError> {
    let view = state
        .app
        .voucher_campaign(&Scope::from(&caller), id.as_str())
        .await?;
    Ok(Json(VoucherCampaign::from(view)))
}

/// Changes a voucher campaign.
#[utoipa::path(patch, path = "/api/v1/voucher_campaigns/{id}", tag = "voucher campaigns",
    params(("id" = String, Path, description = "the campaign id")),
    request_body = VoucherCampaignChanges,
    security(("basic" = [])),
    responses(
        (status = 200, description = "the changed voucher campaign", body = VoucherCampaign),
        (status = 404, description = "no such voucher campaign in this environment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields or unknown vaults (`validation_failed`), or the active-campaign cap reached on unpausing (`limit_reached`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_voucher_campaign(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<CampaignId>,
    ApiJson(body): ApiJson<VoucherCampaignChanges>,
) -> Result<Json<VoucherCampaign>, ApiError> {
    let patch = VoucherCampaignPatch {
        name: body.name,
        vault_ids: body.vault_ids,
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        max_per_redeemer: body.max_per_redeemer,
        paused: body.paused,
    };
    let view = state
        .app
        .update_voucher_campaign(&Scope::from(&caller), id.as_str(), patch)
        .await?;
    Ok(Json(VoucherCampaign::from(view)))
}

/// Deletes a voucher campaign: it stops awarding and leaves every list; its interactions stay.
#[utoipa::path(delete, path = "/api/v1/voucher_campaigns/{id}", tag = "voucher campaigns",
    params(("id" = String, Path, description = "the campaign id")),
    security(("basic" = [])),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, description = "no such voucher campaign in this environment", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_voucher_campaign(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<CampaignId>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .delete_voucher_campaign(&Scope::from(&caller), id.as_str())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds an integration to a voucher campaign; the answer holds its secret, shown only here.
#[utoipa::path(post, path = "/api/v1/voucher_campaigns/{id}/integrations", tag = "voucher campaigns",
    params(("id" = String, Path, description = "the campaign id")),
    request_body = NewIntegration,
    security(("basic" = [])),
    responses(
        (status = 201, description = "the integration with its secret", body = Integration),
        (status = 404, description = "no such voucher campaign in this environment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_integration(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<CampaignId>,
    ApiJson(body): ApiJson<NewIntegration>,
) -> Result<(StatusCode, Json<Integration>), ApiError> {
    let created = state
        .app
        .create_integration(
            &Scope::from(&caller),
            id.as_str(),
            body.name.as_deref().unwrap_or_default(),
            body.status.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(Integration::from(created))))
}

/// A voucher campaign's integrations (without their secrets).
#[utoipa::path(get, path = "/api/v1/voucher_campaigns/{id}/integrations", tag = "voucher campaigns",
    params(("id" = String, Path, description = "the campaign id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the integrations in creation order", body = Page<Integration>),
        (status = 404, description = "no such voucher campaign in this environment", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_integrations(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<CampaignId>,
) -> Result<Json<Page<Integration>>, ApiError> {
    let rows = state
        .app
        .list_integrations(&Scope::from(&caller), id.as_str())
        .await?;
    Ok(Json(Page {
        data: rows.into_iter().map(Integration::from).collect(),
        next_cursor: None,
    }))
}

/// Renames an integration or changes its status (`revoked` refuses its awards at once).
#[utoipa::path(patch, path = "/api/v1/voucher_campaigns/{id}/integrations/{integration_id}", tag = "voucher campaigns",
    params(
        ("id" = String, Path, description = "the campaign id"),
        ("integration_id" = String, Path, description = "the integration id"),
    ),
    request_body = IntegrationChanges,
    security(("basic" = [])),
    responses(
        (status = 200, description = "the changed integration", body = Integration),
        (status = 404, description = "no such voucher campaign or integration in this environment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_integration(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, integration_id)): ApiPath<(CampaignId, IntegrationId)>,
    ApiJson(body): ApiJson<IntegrationChanges>,
) -> Result<Json<Integration>, ApiError> {
    let row = state
        .app
        .update_integration(
            &Scope::from(&caller),
            id.as_str(),
            integration_id.as_str(),
            body.name.as_deref(),
            body.status.as_deref(),
        )
        .await?;
    Ok(Json(Integration::from(row)))
}
