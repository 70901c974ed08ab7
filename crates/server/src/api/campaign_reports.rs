//! `GET /api/v1/campaigns/{id}/report`: what a campaign of any kind did, counted by outcome in
//! all, by UTC day and by hour.

use axum::extract::State;
use axum::Json;
use punchcard_app::campaign_reports::{CampaignReport, ResponseCount, TypeDays, VoucherStock};
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

/// Vouchers of one linked vault (a vendor and amount, test or live): left, and awarded in
/// all, in the last 7 days and the last day (whole hours: the last 168 and 24, the current
/// one included).
#[derive(Debug, Serialize, ToSchema)]
pub struct Available {
    #[schema(example = "vlt_01jd3x1m2n3p4q5r6s7t8v9w0x")]
    pub vault_id: String,
    pub vendor: String,
    pub amount: i64,
    pub test: bool,
    /// Unique vouchers not handed out yet.
    pub available: i64,
    /// Generic vouchers in the vault (handed out again and again: an unlimited supply).
    pub generic: i64,
    pub awarded: i64,
    pub awarded_last_7_days: i64,
    pub awarded_last_day: i64,
}

impl From<VoucherStock> for Available {
    fn from(v: VoucherStock) -> Self {
        Self {
            vault_id: v.vault_id.to_string(),
            vendor: v.vendor,
            amount: v.amount,
            test: v.test,
            available: v.available,
            generic: v.generic,
            awarded: v.awarded,
            awarded_last_7_days: v.awarded_last_7_days,
            awarded_last_day: v.awarded_last_day,
        }
    }
}

/// The interactions that got one kind of answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ReportResponse)]
pub struct Response {
    /// `awarded`, `out_of_vouchers`, `error` or `exception`.
    #[schema(example = "error")]
    pub outcome: String,
    /// A refusal's problem code; `null` for an award and an answer without one.
    #[schema(example = "validation_failed")]
    pub code: Option<String>,
    pub interactions: i64,
}

impl From<ResponseCount> for Response {
    fn from(r: ResponseCount) -> Self {
        Self {
            outcome: r.outcome,
            code: r.code,
            interactions: r.interactions,
        }
    }
}

/// One day's vouchers of a type.
#[derive(Debug, Serialize, ToSchema)]
pub struct TypeDay {
    #[schema(example = "2026-03-01", format = Date)]
    pub date: String,
    pub awarded: i64,
}

/// Vouchers of one type (vendor and amount, test or live) awarded by day.
#[derive(Debug, Serialize, ToSchema)]
pub struct AwardedByType {
    pub vendor: String,
    /// The voucher's face value in the smallest unit of money.
    pub amount: i64,
    pub test: bool,
    /// Over the report's 30 days.
    pub awarded: i64,
    /// The report's 30 UTC days, oldest first.
    pub by_day: Vec<TypeDay>,
}

impl AwardedByType {
    fn of(t: TypeDays, dates: &[String]) -> Self {
        Self {
            vendor: t.vendor,
            amount: t.amount,
            test: t.test,
            awarded: t.awarded,
            by_day: dates
                .iter()
                .zip(t.by_day)
                .map(|(date, awarded)| TypeDay {
                    date: date.clone(),
                    awarded,
                })
                .collect(),
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
    /// Every interaction by the answer it got (outcome and problem code), most frequent first.
    pub responses: Vec<Response>,
    /// Vouchers awarded per type by day over the last 30 UTC days, most awarded type first;
    /// empty for campaigns that gave no voucher in that time.
    pub awarded_by_type: Vec<AwardedByType>,
    /// Voucher campaigns: the vouchers left per linked vault; empty for other kinds.
    pub available: Vec<Available>,
}

impl From<CampaignReport> for Report {
    fn from(r: CampaignReport) -> Self {
        let dates: Vec<String> = r.by_day.iter().map(|d| d.date.clone()).collect();
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
            responses: r.responses.into_iter().map(Response::from).collect(),
            awarded_by_type: r
                .awarded_by_type
                .into_iter()
                .map(|t| AwardedByType::of(t, &dates))
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
