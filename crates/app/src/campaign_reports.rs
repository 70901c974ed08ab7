//! A campaign's report, for every kind: its interactions counted by outcome in all, for each
//! of the last 30 UTC days and each of the last 48 hours (every bucket present, zeros
//! included), and the vouchers it can still award.

use punchcard_domain::campaigns::CampaignKind;
use punchcard_domain::time::Timestamp;
use punchcard_domain::CampaignId;
use punchcard_store::campaign_reports::{self, OutcomeCounts, Span};
use punchcard_store::campaigns;
use time::{Duration, OffsetDateTime, Time};

use crate::campaigns::CampaignView;
use crate::input::named;
use crate::ledger::Scope;
use crate::{App, AppError};

/// How many UTC days the report counts by day, today included.
pub const REPORT_DAYS: i64 = 30;
/// How many hours the report counts by hour, the current one included.
pub const REPORT_HOURS: i64 = 48;

/// One UTC day of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayCounts {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub counts: OutcomeCounts,
}

/// One hour of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourCounts {
    /// The start of the hour.
    pub hour: Timestamp,
    pub counts: OutcomeCounts,
}

/// Vouchers of one vendor and amount that a campaign can award, and how many it awarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherStock {
    pub vendor: String,
    pub amount: i64,
    pub test: bool,
    pub available: i64,
    pub awarded: i64,
    pub awarded_last_7_days: i64,
    pub awarded_last_day: i64,
}

/// What a campaign did.
#[derive(Debug, Clone)]
pub struct CampaignReport {
    pub campaign: CampaignView,
    pub totals: OutcomeCounts,
    /// The last [`REPORT_DAYS`] UTC days, oldest first.
    pub by_day: Vec<DayCounts>,
    /// The last [`REPORT_HOURS`] hours, oldest first.
    pub by_hour: Vec<HourCounts>,
    /// Voucher campaigns' stock per vendor and amount; empty for the other kinds.
    pub available: Vec<VoucherStock>,
}

/// `YYYY-MM-DD` of a UTC moment.
fn day_key(t: OffsetDateTime) -> String {
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// `YYYY-MM-DDTHH` of a UTC moment.
fn hour_key(t: OffsetDateTime) -> String {
    format!("{}T{:02}", day_key(t), t.hour())
}

/// Every bucket from `first` on, `step` apart, `count` of them, with the counts `found` holds
/// for it (zeros when none).
fn filled<T>(
    first: OffsetDateTime,
    step: Duration,
    count: i64,
    key: fn(OffsetDateTime) -> String,
    found: &[(String, OutcomeCounts)],
    make: impl Fn(OffsetDateTime, OutcomeCounts) -> T,
) -> Vec<T> {
    (0..count)
        .map(|i| {
            let at = first + step * i32::try_from(i).unwrap_or(0);
            let k = key(at);
            let counts = found
                .iter()
                .find(|(b, _)| *b == k)
                .map(|(_, c)| *c)
                .unwrap_or_default();
            make(at, counts)
        })
        .collect()
}

impl App {
    /// A campaign of any kind, with its computed status.
    pub async fn campaign_any_kind(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<CampaignView, AppError> {
        let id: CampaignId = named(id, "campaign")?;
        let mut conn = self.db.conn().await?;
        let row = campaigns::find(&mut conn, &scope.merchant_id, scope.env, &id)
            .await?
            .ok_or(AppError::NotFound("campaign"))?;
        let links = crate::campaigns::links_of(&mut conn, scope, std::slice::from_ref(&row.id))
            .await?
            .pop()
            .map(|(_, l)| l)
            .unwrap_or_default();
        Ok(CampaignView::of(row, links, Timestamp::now()))
    }

    /// The report of a campaign of any kind, counted at the time of the call.
    pub async fn campaign_report(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<CampaignReport, AppError> {
        let campaign = self.campaign_any_kind(scope, id).await?;
        let now = Timestamp::now().datetime();
        let today = now.replace_time(Time::MIDNIGHT);
        let first_day = today - Duration::days(REPORT_DAYS - 1);
        let this_hour = today + Duration::hours(i64::from(now.hour()));
        let first_hour = this_hour - Duration::hours(REPORT_HOURS - 1);
        let (m, env, cid) = (&scope.merchant_id, scope.env, &campaign.campaign.id);
        let mut conn = self.db.conn().await?;
        let totals = campaign_reports::totals(&mut conn, m, env, cid).await?;
        let days = campaign_reports::by_span(
            &mut conn,
            m,
            env,
            cid,
            Span::Day,
            Timestamp::from_datetime(first_day),
        )
        .await?;
        let hours = campaign_reports::by_span(
            &mut conn,
            m,
            env,
            cid,
            Span::Hour,
            Timestamp::from_datetime(first_hour),
        )
        .await?;
        Ok(CampaignReport {
            totals,
            by_day: filled(
                first_day,
                Duration::days(1),
                REPORT_DAYS,
                day_key,
                &days,
                |at, counts| DayCounts {
                    date: day_key(at),
                    counts,
                },
            ),
            by_hour: filled(
                first_hour,
                Duration::hours(1),
                REPORT_HOURS,
                hour_key,
                &hours,
                |at, counts| HourCounts {
                    hour: Timestamp::from_datetime(at),
                    counts,
                },
            ),
            available: if campaign.campaign.kind == CampaignKind::Voucher {
                self.available_vouchers(scope, &campaign.campaign.id)
                    .await?
                    .into_iter()
                    .map(|a| VoucherStock {
                        vendor: a.vendor,
                        amount: a.amount,
                        test: a.test,
                        available: a.available,
                        awarded: a.awarded,
                        awarded_last_7_days: a.awarded_last_7_days,
                        awarded_last_day: a.awarded_last_day,
                    })
                    .collect()
            } else {
                Vec::new()
            },
            campaign,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn every_bucket_is_present_with_zeros_where_none() {
        let first = datetime!(2026-02-27 00:00 UTC);
        let found = vec![(
            "2026-03-01".to_string(),
            OutcomeCounts {
                interactions: 2,
                awarded: 1,
                errors: 1,
                ..Default::default()
            },
        )];
        let days = filled(first, Duration::days(1), 4, day_key, &found, |at, c| {
            (day_key(at), c.interactions)
        });
        assert_eq!(
            days,
            vec![
                ("2026-02-27".to_string(), 0),
                ("2026-02-28".to_string(), 0),
                ("2026-03-01".to_string(), 2),
                ("2026-03-02".to_string(), 0),
            ]
        );
        assert_eq!(hour_key(datetime!(2026-03-01 07:59 UTC)), "2026-03-01T07");
    }
}
