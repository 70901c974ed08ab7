//! A campaign's report, for every kind: its interactions counted by outcome in all, for each
//! of the last 30 UTC days and each of the last 48 hours (every bucket present, zeros
//! included), by response, vouchers awarded per type and day, and the vouchers it can still
//! award. Counted from hourly cells (see [`punchcard_store::campaign_reports`]): closed hours
//! are counted once and kept, the open ones counted at the time of the call.

use std::collections::BTreeMap;

use punchcard_domain::campaigns::CampaignKind;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{CampaignId, VaultId};
use punchcard_store::campaign_reports::{self, Cell, OutcomeCounts};
use punchcard_store::campaigns::CampaignRow;
use punchcard_store::{catalog, vaults, vouchers};
use time::{Duration, OffsetDateTime, Time};

use crate::campaigns::CampaignView;
use crate::input::named;
use crate::ledger::Scope;
use crate::{App, AppError};

/// How many UTC days the report counts by day, today included.
pub const REPORT_DAYS: i64 = 30;
/// How many hours the report counts by hour, the current one included.
pub const REPORT_HOURS: i64 = 48;
/// How long after an hour ends its interactions are counted for good: longer than any
/// transaction that records an interaction stays open, so none commits into a counted hour.
pub const SETTLE: Duration = Duration::minutes(15);

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

/// Vouchers of one vault that a campaign can award, and how many it awarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherStock {
    pub vault_id: VaultId,
    pub vendor: String,
    pub amount: i64,
    pub test: bool,
    /// Unique vouchers not handed out yet.
    pub available: i64,
    /// Generic vouchers (handed out again and again): any is an unlimited supply.
    pub generic: i64,
    pub awarded: i64,
    /// In the last 7 × 24 hours, the current one included.
    pub awarded_last_7_days: i64,
    /// In the last 24 hours, the current one included.
    pub awarded_last_day: i64,
}

/// Vouchers of one type (vendor, amount, test or live) awarded on each report day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeDays {
    pub vendor: String,
    pub amount: i64,
    pub test: bool,
    /// Over the report's days.
    pub awarded: i64,
    /// One per report day, oldest first.
    pub by_day: Vec<i64>,
}

/// The interactions that got one kind of answer: an outcome and, for a refusal, its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseCount {
    pub outcome: String,
    /// The problem code of a refusal (`validation_failed`, `campaign_not_live`…); `None` for
    /// an award and for an answer without one.
    pub code: Option<String>,
    pub interactions: i64,
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
    /// Every interaction by the answer it got, the most frequent first.
    pub responses: Vec<ResponseCount>,
    /// Vouchers awarded per type on each of the report's days, the most awarded type first;
    /// empty for campaigns that award no vouchers.
    pub awarded_by_type: Vec<TypeDays>,
    /// Voucher campaigns' stock per linked vault; empty for the other kinds.
    pub available: Vec<VoucherStock>,
}

/// `YYYY-MM-DD` of a UTC moment.
fn day_key(t: OffsetDateTime) -> String {
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// The start of the hour of a moment.
fn hour_start(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_time(Time::MIDNIGHT) + Duration::hours(i64::from(t.hour()))
}

/// The buckets of a report, each the start of its span: `count` of them, `step` apart, from
/// `first` on; every cell whose hour falls in one is counted into it.
struct Buckets {
    first: OffsetDateTime,
    step: Duration,
    counts: Vec<OutcomeCounts>,
}

impl Buckets {
    fn new(first: OffsetDateTime, step: Duration, count: i64) -> Self {
        Self {
            first,
            step,
            counts: vec![OutcomeCounts::default(); usize::try_from(count).unwrap_or(0)],
        }
    }

    /// The bucket an hour falls in, if it is in the report's span.
    fn index(&self, hour: OffsetDateTime) -> Option<usize> {
        if hour < self.first {
            return None;
        }
        let i = usize::try_from((hour - self.first).whole_seconds() / self.step.whole_seconds())
            .ok()?;
        (i < self.counts.len()).then_some(i)
    }

    fn add(&mut self, cell: &Cell) {
        if let Some(i) = cell.hour.and_then(|h| self.index(h.datetime())) {
            self.counts[i].add(cell);
        }
    }

    fn start(&self, i: usize) -> OffsetDateTime {
        self.first + self.step * i32::try_from(i).unwrap_or(0)
    }
}

/// Everything a report says, computed from its cells: `totals` summed over all hours, `hours`
/// each in its hour (the report's 30 days at least), `vaults` naming the vaults they mention.
fn compose(
    now: OffsetDateTime,
    totals: &[Cell],
    hours: &[Cell],
    vaults: &[vaults::VaultRow],
) -> (
    OutcomeCounts,
    Vec<DayCounts>,
    Vec<HourCounts>,
    Vec<ResponseCount>,
    Vec<TypeDays>,
) {
    let today = now.replace_time(Time::MIDNIGHT);
    let this_hour = hour_start(now);
    let mut days = Buckets::new(
        today - Duration::days(REPORT_DAYS - 1),
        Duration::days(1),
        REPORT_DAYS,
    );
    let mut by_hour = Buckets::new(
        this_hour - Duration::hours(REPORT_HOURS - 1),
        Duration::hours(1),
        REPORT_HOURS,
    );
    let mut sum = OutcomeCounts::default();
    let mut responses: BTreeMap<(String, String), i64> = BTreeMap::new();
    for c in totals {
        sum.add(c);
        *responses
            .entry((c.outcome.clone(), c.error_code.clone()))
            .or_default() += c.interactions;
    }
    let mut types: BTreeMap<(String, i64, bool), Vec<i64>> = BTreeMap::new();
    for c in hours {
        days.add(c);
        by_hour.add(c);
        if c.outcome != "awarded" || c.vault_id.is_empty() {
            continue;
        }
        let (Some(v), Some(i)) = (
            vaults.iter().find(|v| v.id.as_str() == c.vault_id),
            c.hour.and_then(|h| days.index(h.datetime())),
        ) else {
            continue;
        };
        types
            .entry((v.vendor.clone(), v.amount, v.test))
            .or_insert_with(|| vec![0; days.counts.len()])[i] += c.interactions;
    }
    let mut responses: Vec<ResponseCount> = responses
        .into_iter()
        .map(|((outcome, code), interactions)| ResponseCount {
            outcome,
            code: (!code.is_empty()).then_some(code),
            interactions,
        })
        .collect();
    responses.sort_by_key(|r| std::cmp::Reverse(r.interactions));
    let mut awarded_by_type: Vec<TypeDays> = types
        .into_iter()
        .map(|((vendor, amount, test), by_day)| TypeDays {
            vendor,
            amount,
            test,
            awarded: by_day.iter().sum(),
            by_day,
        })
        .collect();
    awarded_by_type.sort_by_key(|t| std::cmp::Reverse(t.awarded));
    let by_day = (0..days.counts.len())
        .map(|i| DayCounts {
            date: day_key(days.start(i)),
            counts: days.counts[i],
        })
        .collect();
    let hours_out = (0..by_hour.counts.len())
        .map(|i| HourCounts {
            hour: Timestamp::from_datetime(by_hour.start(i)),
            counts: by_hour.counts[i],
        })
        .collect();
    (sum, by_day, hours_out, responses, awarded_by_type)
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
        let row = catalog::find::<CampaignRow>(&mut conn, &scope.merchant_id, scope.env, &id)
            .await?
            .ok_or(AppError::NotFound("campaign"))?;
        let links = crate::campaigns::links_of(&mut conn, scope, std::slice::from_ref(&row.id))
            .await?
            .pop()
            .map(|(_, l)| l)
            .unwrap_or_default();
        Ok(CampaignView::of(row, links, Timestamp::now()))
    }

    /// Counts a campaign's interactions of the hours that closed at least [`SETTLE`] before
    /// `now` into its kept cells, if some are not yet; answers the start of the first hour
    /// not kept.
    async fn count_settled_hours(
        &self,
        scope: &Scope,
        campaign_id: &CampaignId,
        now: Timestamp,
    ) -> Result<Timestamp, AppError> {
        let until = Timestamp::from_datetime(hour_start(now.minus(SETTLE).datetime()));
        let mut conn = self.db.conn().await?;
        let kept =
            campaign_reports::counted_until(&mut conn, &scope.merchant_id, campaign_id).await?;
        drop(conn);
        if kept.is_some_and(|k| k >= until) {
            return Ok(kept.unwrap_or(until));
        }
        let mut tx = self.db.begin_write().await?;
        let kept =
            campaign_reports::count_hours(&mut tx, &scope.merchant_id, campaign_id, until).await?;
        punchcard_store::commit(tx).await?;
        Ok(kept)
    }

    /// Counts the settled hours of every campaign that has some not counted yet; run now and
    /// then so that reports only ever count the last hour or so themselves. Answers how many
    /// campaigns it counted.
    pub async fn count_report_hours_at(&self, now: Timestamp) -> Result<usize, AppError> {
        let until = Timestamp::from_datetime(hour_start(now.minus(SETTLE).datetime()));
        let mut conn = self.db.conn().await?;
        let behind = campaign_reports::behind(&mut conn, until).await?;
        drop(conn);
        for (merchant_id, campaign_id) in &behind {
            let mut tx = self.db.begin_write().await?;
            campaign_reports::count_hours(&mut tx, merchant_id, campaign_id, until).await?;
            punchcard_store::commit(tx).await?;
        }
        Ok(behind.len())
    }

    /// The report of a campaign of any kind, counted at the time of the call.
    pub async fn campaign_report(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<CampaignReport, AppError> {
        self.campaign_report_at(scope, id, Timestamp::now()).await
    }

    /// The report of a campaign of any kind as of `now`.
    pub async fn campaign_report_at(
        &self,
        scope: &Scope,
        id: &str,
        now: Timestamp,
    ) -> Result<CampaignReport, AppError> {
        let campaign = self.campaign_any_kind(scope, id).await?;
        let cid = campaign.campaign.id.clone();
        let m = &scope.merchant_id;
        let kept = self.count_settled_hours(scope, &cid, now).await?;
        let first_day =
            now.datetime().replace_time(Time::MIDNIGHT) - Duration::days(REPORT_DAYS - 1);
        let mut conn = self.db.conn().await?;
        // The kept cells of the hours before the mark and the counts of the interactions from
        // it on: a mark moved by another server meanwhile changes neither side.
        let open = campaign_reports::uncounted_hours(&mut conn, m, &cid, kept).await?;
        let mut totals = campaign_reports::counted_totals(&mut conn, m, &cid, kept).await?;
        totals.extend(open.iter().map(|c| Cell {
            hour: None,
            ..c.clone()
        }));
        let mut hours = campaign_reports::counted_hours(
            &mut conn,
            m,
            &cid,
            Timestamp::from_datetime(first_day),
            kept,
        )
        .await?;
        hours.extend(open);
        let linked = if campaign.campaign.kind == CampaignKind::Voucher {
            vouchers::linked_vaults(&mut conn, m, scope.env, &cid).await?
        } else {
            Vec::new()
        };
        let mut mentioned: Vec<VaultId> = Vec::new();
        for c in totals.iter().filter(|c| !c.vault_id.is_empty()) {
            let id: VaultId = c
                .vault_id
                .parse()
                .map_err(|_| AppError::Internal(format!("bad vault id `{}`", c.vault_id).into()))?;
            if !mentioned.contains(&id) {
                mentioned.push(id);
            }
        }
        let named_vaults = vaults::vaults_by_ids(&mut conn, m, &mentioned).await?;
        let (sum, by_day, by_hour, responses, awarded_by_type) =
            compose(now.datetime(), &totals, &hours, &named_vaults);
        let ids: Vec<VaultId> = linked.iter().map(|v| v.id.clone()).collect();
        let stock = vaults::stock_of(&mut conn, m, scope.env, &ids).await?;
        let this_hour = hour_start(now.datetime());
        let since = |h: i64| Timestamp::from_datetime(this_hour - Duration::hours(h - 1));
        let awarded_from = |vault: &VaultId, from: Option<Timestamp>| -> i64 {
            let cells: &[Cell] = if from.is_some() { &hours } else { &totals };
            cells
                .iter()
                .filter(|c| c.outcome == "awarded" && c.vault_id == vault.as_str())
                .filter(|c| match (from, c.hour) {
                    (Some(f), Some(h)) => h >= f,
                    _ => true,
                })
                .map(|c| c.interactions)
                .sum()
        };
        let available = linked
            .into_iter()
            .map(|v| {
                let s = stock
                    .iter()
                    .find(|(id, _)| *id == v.id)
                    .map(|(_, s)| *s)
                    .unwrap_or_default();
                VoucherStock {
                    vendor: v.vendor.clone(),
                    amount: v.amount,
                    test: v.test,
                    available: s.unique_available,
                    generic: s.generic,
                    awarded: awarded_from(&v.id, None),
                    awarded_last_7_days: awarded_from(&v.id, Some(since(7 * 24))),
                    awarded_last_day: awarded_from(&v.id, Some(since(24))),
                    vault_id: v.id,
                }
            })
            .collect();
        Ok(CampaignReport {
            campaign,
            totals: sum,
            by_day,
            by_hour,
            responses,
            awarded_by_type,
            available,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn cell(hour: OffsetDateTime, outcome: &str, code: &str, vault: &str, n: i64) -> Cell {
        Cell {
            hour: Some(Timestamp::from_datetime(hour)),
            outcome: outcome.to_string(),
            error_code: code.to_string(),
            vault_id: vault.to_string(),
            interactions: n,
            points: 0,
        }
    }

    #[test]
    fn cells_fall_in_their_day_and_hour_and_every_bucket_is_present() {
        let now = datetime!(2026-03-30 10:20 UTC);
        let hours = vec![
            cell(datetime!(2026-03-30 10:00 UTC), "awarded", "", "", 2),
            cell(
                datetime!(2026-03-30 09:00 UTC),
                "error",
                "validation_failed",
                "",
                1,
            ),
            cell(datetime!(2026-03-01 00:00 UTC), "awarded", "", "", 4),
            // Before the 30 days: in the totals only.
            cell(datetime!(2026-02-28 23:00 UTC), "awarded", "", "", 8),
        ];
        let totals: Vec<Cell> = hours
            .iter()
            .map(|c| Cell {
                hour: None,
                ..c.clone()
            })
            .collect();
        let (sum, days, by_hour, responses, types) = compose(now, &totals, &hours, &[]);
        assert_eq!((sum.interactions, sum.awarded, sum.errors), (15, 14, 1));
        assert_eq!(days.len(), 30);
        assert_eq!(days[0].date, "2026-03-01");
        assert_eq!(days[0].counts.awarded, 4);
        assert_eq!(days[29].date, "2026-03-30");
        assert_eq!(
            (days[29].counts.interactions, days[29].counts.errors),
            (3, 1)
        );
        assert_eq!(
            days[1..29]
                .iter()
                .map(|d| d.counts.interactions)
                .sum::<i64>(),
            0
        );
        assert_eq!(by_hour.len(), 48);
        assert_eq!(by_hour[47].hour.datetime(), datetime!(2026-03-30 10:00 UTC));
        assert_eq!(by_hour[47].counts.awarded, 2);
        assert_eq!(by_hour[46].counts.errors, 1);
        assert_eq!(by_hour[0].hour.datetime(), datetime!(2026-03-28 11:00 UTC));
        assert_eq!(
            responses,
            vec![
                ResponseCount {
                    outcome: "awarded".into(),
                    code: None,
                    interactions: 14
                },
                ResponseCount {
                    outcome: "error".into(),
                    code: Some("validation_failed".into()),
                    interactions: 1
                },
            ]
        );
        assert!(types.is_empty(), "no voucher given");
    }
}
