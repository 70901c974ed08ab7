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

/// A range of UTC days, both ends included, as a report asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    pub from: CalendarDate,
    pub to: CalendarDate,
}

impl DayRange {
    /// `from` to `to` (`YYYY-MM-DD`); the last [`DEFAULT_DAYS`] days by default, at most
    /// [`MAX_DAYS`] at once.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Self, AppError> {
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
        let range = Self { from, to };
        if range.days() > MAX_DAYS {
            return Err(FieldError::new(
                "from",
                format!("the range covers at most {MAX_DAYS} days"),
            )
            .into());
        }
        Ok(range)
    }

    /// The last `days` days, today included.
    pub fn last(days: i64) -> Self {
        let to = CalendarDate(Timestamp::now().datetime().date());
        let from = CalendarDate(to.0.saturating_sub(time::Duration::days(days.max(1) - 1)));
        Self { from, to }
    }

    pub fn days(&self) -> i64 {
        (self.to.0 - self.from.0).whole_days() + 1
    }

    /// The first moment of the range.
    pub fn start(&self) -> Timestamp {
        midnight(self.from.0)
    }

    /// The first moment after the range.
    pub fn end(&self) -> Timestamp {
        midnight(self.to.0.next_day().unwrap_or(self.to.0))
    }

    /// Every day of the range, in order.
    pub fn each_day(&self) -> impl Iterator<Item = CalendarDate> + '_ {
        let mut next = Some(self.from.0);
        std::iter::from_fn(move || {
            let day = next.filter(|d| *d <= self.to.0)?;
            next = day.next_day();
            Some(CalendarDate(day))
        })
    }
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
        let range = DayRange::parse(from, to)?;
        let mut conn = self.db.conn().await?;
        let counted = stats::daily(
            &mut conn,
            &scope.merchant_id,
            scope.env,
            range.start(),
            range.end(),
        )
        .await?;
        let mut totals = DayCounts::default();
        let mut by_day = Vec::with_capacity(range.days() as usize);
        for date in range.each_day() {
            let counts = counted.get(&date.to_string()).copied().unwrap_or_default();
            totals.leads_added += counts.leads_added;
            totals.rewards += counts.rewards;
            totals.points_rewarded += counts.points_rewarded;
            totals.deals_redeemed += counts.deals_redeemed;
            totals.coupons_used += counts.coupons_used;
            totals.swaps += counts.swaps;
            by_day.push((date, counts));
        }
        let (from, to) = (range.from, range.to);
        Ok(Stats {
            from,
            to,
            totals,
            by_day,
        })
    }
}
