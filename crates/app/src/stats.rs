//! The overview's figures for a range of UTC days: totals and one line per day.

use punchcard_domain::campaigns::CalendarDate;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{FieldError, ValidationErrors};
use punchcard_store::stats::{self, DayCounts};

use crate::ledger::Scope;
use crate::{App, AppError};

/// The longest range one request covers, in days.
pub const MAX_DAYS: i64 = 366;

/// The days a range covers when none is given: the last 30, today included.
pub const DEFAULT_DAYS: i64 = 30;

/// What a merchant's environment did from `from` to `to` (UTC days, both included).
#[derive(Debug, Clone)]
pub struct Stats {
    pub from: CalendarDate,
    pub to: CalendarDate,
    pub totals: DayCounts,
    /// Every day of the range, in order, days without activity included.
    pub by_day: Vec<(CalendarDate, DayCounts)>,
}

fn given(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

fn midnight(d: time::Date) -> Timestamp {
    Timestamp::from_datetime(d.midnight().assume_utc())
}

impl App {
    /// The figures of `from` to `to` (`YYYY-MM-DD`, UTC, both included); the last
    /// [`DEFAULT_DAYS`] days by default, at most [`MAX_DAYS`] at once.
    pub async fn stats(
        &self,
        scope: &Scope,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Stats, AppError> {
        let mut errors = ValidationErrors::new();
        let to = match given(to) {
            Some(t) => errors.check(CalendarDate::parse("to", t)),
            None => Some(CalendarDate(Timestamp::now().datetime().date())),
        };
        let from = match given(from) {
            Some(f) => errors.check(CalendarDate::parse("from", f)),
            None => {
                to.map(|t| CalendarDate(t.0.saturating_sub(time::Duration::days(DEFAULT_DAYS - 1))))
            }
        };
        errors.into_result()?;
        let (from, to) = (from.expect("checked"), to.expect("checked"));
        if from.0 > to.0 {
            return Err(FieldError::new("from", "must not be after `to`").into());
        }
        let days = (to.0 - from.0).whole_days() + 1;
        if days > MAX_DAYS {
            return Err(FieldError::new(
                "from",
                format!("the range covers at most {MAX_DAYS} days"),
            )
            .into());
        }
        let end = to.0.next_day().unwrap_or(to.0);
        let mut conn = self.db.conn().await?;
        let counted = stats::daily(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            midnight(from.0),
            midnight(end),
        )
        .await?;
        let mut totals = DayCounts::default();
        let mut by_day = Vec::with_capacity(days as usize);
        let mut day = from.0;
        loop {
            let date = CalendarDate(day);
            let counts = counted.get(&date.to_string()).copied().unwrap_or_default();
            totals.leads_added += counts.leads_added;
            totals.rewards += counts.rewards;
            totals.points_rewarded += counts.points_rewarded;
            totals.deals_redeemed += counts.deals_redeemed;
            totals.coupons_used += counts.coupons_used;
            totals.swaps += counts.swaps;
            by_day.push((date, counts));
            match day.next_day() {
                Some(next) if next <= to.0 => day = next,
                _ => break,
            }
        }
        Ok(Stats {
            from,
            to,
            totals,
            by_day,
        })
    }
}
