//! `GET /api/v1/campaigns/{id}/report`: what a campaign of any kind did, counted by outcome in
//! all, by UTC day and by hour.

use axum::extract::State;
use axum::Json;
use punchcard_app::campaign_reports::{CampaignReport, VoucherStock};
use punchcard_app::ledger::Scope;
use punchcard_domain::CampaignId;
use punchcard_store::campaign_reports::OutcomeCounts;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Caller;
use super::extract::ApiPath;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// Interactions counted by outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct Totals {
    /// Every trigger, whatever its outcome.
    pub interactions: i64,
    pub awarded: i64,
    /// Voucher campaigns: nothing matching was left to award.
    pub out_of_vouchers: i64,
    /// Refused: an invalid request, a key not authorized, not live, over a limit.
    pub errors: i64,
    /// The server failed.
    pub exceptions: i64,
    /// Points moved by the awards, signed as in the ledger (negative for a redeem rule).
    pub points_awarded: i64,
}

impl From<OutcomeCounts> for Totals {
    fn from(c: OutcomeCounts) -> Self {
        Self {
            interactions: c.interactions,
            awarded: c.awarded,
            out_of_vouchers: c.out_of_vouchers,
            errors: c.errors,
            exceptions: c.exceptions,
            points_awarded: c.points_awarded,
        }
    }
}

/// One UTC day's interactions by outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayTotals {
    #[schema(example = "2026-03-01", format = Date)]
    pub date: String,
    #[serde(flatten)]
    pub totals: Totals,
}

/// One hour's interactions by outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct HourTotals {
    /// The start of the hour.
    #[schema(example = "2026-03-01T14:00:00Z", format = DateTime)]
    pub hour: String,
    #[serde(flatten)]
    pub totals: Totals,
}

/// Vouchers of one vendor and amount: left, and awarded in all, in the last 7 days and the
/// last day.
#[derive(Debug, Serialize, ToSchema)]
pub struct Available {
    pub vendor: String,
    pub amount: i64,
    pub test: bool,
    pub available: i64,
    pub awarded: i64,
    pub awarded_last_7_days: i64,
    pub awarded_last_day: i64,
}

impl From<VoucherStock> for Available {
    fn from(v: VoucherStock) -> Self {
        Self {
            vendor: v.vendor,
            amount: v.amount,
            test: v.test,
            available: v.available,
            awarded: v.awarded,
            awarded_last_7_days: v.awarded_last_7_days,
            awarded_last_day: v.awarded_last_day,
        }
    }
}

/// What a campaign did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Report {
    #[schema(example = "cmp_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub campaign_id: String,
    /// `task`, `surprise`, `rule` or `voucher`.
    pub kind: String,
    /// `pending`, `live`, `completed` or `archived`, computed.
    #[schema(example = "live")]
    pub status: String,
    pub totals: Totals,
    /// The last 30 UTC days, oldest first, today last; days without interactions count zero.
    pub by_day: Vec<DayTotals>,
    /// The last 48 hours, oldest first, the current hour last.
    pub by_hour: Vec<HourTotals>,
    /// Voucher campaigns: the vouchers left per vendor and amount; empty for other kinds.
    pub available: Vec<Available>,
}

impl From<CampaignReport> for Report {
    fn from(r: CampaignReport) -> Self {
        Self {
            campaign_id: r.campaign.campaign.id.to_string(),
            kind: r.campaign.campaign.kind.to_string(),
            status: r.campaign.status.to_string(),
            totals: r.totals.into(),
            by_day: r
                .by_day
                .into_iter()
                .map(|d| DayTotals {
                    date: d.date,
                    totals: d.counts.into(),
                })
                .collect(),
            by_hour: r
                .by_hour
                .into_iter()
                .map(|h| HourTotals {
                    hour: h.hour.to_rfc3339(),
                    totals: h.counts.into(),
                })
                .collect(),
            available: r.available.into_iter().map(Available::from).collect(),
        }
    }
}

/// A campaign's report, any kind: its interactions by outcome in all, by day and by hour.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/report", tag = "campaigns",
    params(("id" = String, Path, description = "the campaign id")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "the report, counted now", body = Report),
        (status = 401, description = "missing or wrong credentials", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such campaign in this environment", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_report(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<CampaignId>,
) -> Result<Json<Report>, ApiError> {
    let report = state
        .app
        .campaign_report(&Scope::from(&caller), id.as_str())
        .await?;
    Ok(Json(report.into()))
}
