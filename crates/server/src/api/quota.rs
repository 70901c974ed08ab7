//! `GET /api/v1/quota`: the plan's quotas, what is used and what remains.

use axum::extract::State;
use axum::Json;
use punchcard_domain::limits::Quota;
use punchcard_domain::Env;
use punchcard_store::quotas::QuotaUsage;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Caller;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// One quota of the plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaLine {
    /// The plan's total.
    #[schema(example = 1000)]
    pub total: i64,
    #[schema(example = 12)]
    pub used: i64,
    #[schema(example = 988)]
    pub remaining: i64,
}

impl From<&QuotaUsage> for QuotaLine {
    fn from(q: &QuotaUsage) -> Self {
        Self {
            total: q.total,
            used: q.used,
            remaining: q.remaining(),
        }
    }
}

/// The merchant's quotas. They are shared by the plan and burned in prod only: calls made with
/// a dev key burn none (`burns_quota` is false).
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaStatus {
    /// The environment of the key that asked.
    #[schema(example = "prod")]
    pub env: String,
    /// Whether actions in this environment burn quota.
    pub burns_quota: bool,
    /// Creating a lead burns one.
    pub leads: QuotaLine,
    /// Rewarding points burns one; rewarding a deal burns one too.
    pub rewards: QuotaLine,
    /// Redeeming a deal with points burns one; rewarding a deal burns one too.
    pub redeems: QuotaLine,
    /// A swap of points burns one.
    pub swaps: QuotaLine,
    /// API calls allowed per minute in this environment.
    #[schema(example = 1000)]
    pub rate_limit_per_minute: i64,
}

/// The plan's quotas: total, used and remaining.
#[utoipa::path(get, path = "/api/v1/quota", tag = "quota",
    security(("basic" = [])),
    responses(
        (status = 200, description = "the quotas", body = QuotaStatus),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_quota(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<QuotaStatus>, ApiError> {
    let usage = state.app.quota_usage(&caller.merchant_id).await?;
    let line = |quota: Quota| {
        usage
            .iter()
            .find(|u| u.quota == quota)
            .map(QuotaLine::from)
            .unwrap_or(QuotaLine {
                total: 0,
                used: 0,
                remaining: 0,
            })
    };
    Ok(Json(QuotaStatus {
        env: caller.env.as_str().to_string(),
        burns_quota: caller.env == Env::Prod,
        leads: line(Quota::Leads),
        rewards: line(Quota::Rewards),
        redeems: line(Quota::Redeems),
        swaps: line(Quota::Swaps),
        rate_limit_per_minute: caller.rate_limit_per_minute,
    }))
}
