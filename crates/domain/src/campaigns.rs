//! The campaign engine's rules without I/O: kinds, the computed status, and how a rule turns
//! a trigger's amount into points.

use time::Duration;

use crate::currency::{parse_exact, write_exact};
use crate::error::FieldError;
use crate::time::Timestamp;

/// The kinds of one `Campaign`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CampaignKind {
    Task,
    Surprise,
    Rule,
    Voucher,
}

impl CampaignKind {
    pub const ALL: [CampaignKind; 4] = [Self::Task, Self::Surprise, Self::Rule, Self::Voucher];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Task => "task",
            Self::Surprise => "surprise",
            Self::Rule => "rule",
            Self::Voucher => "voucher",
        }
    }
}

impl std::str::FromStr for CampaignKind {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| {
                FieldError::new("kind", "must be `task`, `surprise`, `rule` or `voucher`")
            })
    }
}

/// A campaign's status, computed from its dates, its configuration and the clock; never set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CampaignStatus {
    /// New, not configured enough, switched off (paused), or before its start.
    Pending,
    /// Configured, switched on and within its dates: the only status that awards.
    Live,
    /// Past its end date: awards nothing.
    Completed,
    /// Ended more than [`ARCHIVE_AFTER`] ago: hidden from lists unless asked for.
    Archived,
}

/// How long after its end a campaign is archived.
pub const ARCHIVE_AFTER: Duration = Duration::days(30);

impl CampaignStatus {
    pub const ALL: [CampaignStatus; 4] =
        [Self::Pending, Self::Live, Self::Completed, Self::Archived];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Live => "live",
            Self::Completed => "completed",
            Self::Archived => "archived",
        }
    }
}

impl std::str::FromStr for CampaignStatus {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| {
                FieldError::new(
                    "status",
                    "must be `pending`, `live`, `completed` or `archived`",
                )
            })
    }
}

/// What the status of a campaign depends on.
#[derive(Debug, Clone, Copy)]
pub struct StatusInputs {
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    /// Switched on (a rule activated, a campaign not paused).
    pub active: bool,
    /// Whether the kind's configuration is complete (a rule has an authorized key).
    pub configured: bool,
}

/// The one status function of every kind.
pub fn status(c: StatusInputs, now: Timestamp) -> CampaignStatus {
    if let Some(end) = c.ends_at {
        if end <= now {
            return if end.plus(ARCHIVE_AFTER) <= now {
                CampaignStatus::Archived
            } else {
                CampaignStatus::Completed
            };
        }
    }
    if !c.active || !c.configured || c.starts_at.is_some_and(|s| s > now) {
        return CampaignStatus::Pending;
    }
    CampaignStatus::Live
}

/// Whether a rule credits or debits points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Earn,
    Redeem,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Earn => "earn",
            Self::Redeem => "redeem",
        }
    }
}

impl std::str::FromStr for Direction {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "earn" => Ok(Self::Earn),
            "redeem" => Ok(Self::Redeem),
            _ => Err(FieldError::new("type", "must be `earn` or `redeem`")),
        }
    }
}

/// Points per unit of a trigger's amount, as an exact decimal (`0.1`, `2`, `1.25`): at most
/// 6 decimal places, greater than 0, at most 1000000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    mantissa: u64,
    scale: u32,
}

impl Rate {
    const MAX_SCALE: u32 = 6;
    const MAX_VALUE: u64 = 1_000_000;

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let (mantissa, scale) =
            parse_exact(s, Self::MAX_SCALE, Self::MAX_VALUE).ok_or_else(|| {
                FieldError::new(
                    "rate",
                    "must be a positive decimal with at most 6 decimal places, up to 1000000",
                )
            })?;
        Ok(Self { mantissa, scale })
    }

    /// `floor(amount × rate)`, in integers.
    pub fn points_for(self, amount: u64) -> u64 {
        let q = u128::from(amount) * u128::from(self.mantissa) / 10u128.pow(self.scale);
        u64::try_from(q).unwrap_or(u64::MAX)
    }

    /// `floor(amount ÷ rate)`, in integers: what `amount` is worth on the other side of a rate.
    pub fn points_for_inverse(self, amount: u64) -> u64 {
        let q = u128::from(amount) * 10u128.pow(self.scale) / u128::from(self.mantissa);
        u64::try_from(q).unwrap_or(u64::MAX)
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write_exact(f, self.mantissa, self.scale)
    }
}

impl std::str::FromStr for Rate {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// How a rule values one trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleReward {
    /// The same points for every trigger.
    Fixed(i64),
    /// `floor(amount × rate)`, at most `cap_max` when set.
    PerUnit { rate: Rate, cap_max: Option<i64> },
}

impl RuleReward {
    /// The (unsigned) points a trigger reporting `amount` is worth.
    pub fn points(self, amount: Option<i64>) -> Result<i64, FieldError> {
        match self {
            RuleReward::Fixed(p) => Ok(p),
            RuleReward::PerUnit { rate, cap_max } => {
                let amount = amount
                    .ok_or_else(|| FieldError::new("amount", "is required by this rule's rate"))?;
                let amount = u64::try_from(amount)
                    .map_err(|_| FieldError::new("amount", "must be 0 or more"))?;
                let points = i64::try_from(rate.points_for(amount)).unwrap_or(i64::MAX);
                Ok(cap_max.map_or(points, |cap| points.min(cap)))
            }
        }
    }
}

/// Enums written as a fixed set of words, parsed strictly with the field's own message.
macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal { $($variant:ident = $word:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$(Self::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $word),* }
            }
        }

        impl std::str::FromStr for $name {
            type Err = FieldError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|k| k.as_str() == s.trim())
                    .ok_or_else(|| {
                        let words: Vec<String> =
                            Self::ALL.iter().map(|k| format!("`{}`", k.as_str())).collect();
                        FieldError::new($field, format!("must be one of {}", words.join(", ")))
                    })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

word_enum!(
    /// What a task gives when it completes.
    TaskReward, "reward" { Points = "points", Deal = "deal" }
);

word_enum!(
    /// The window a task's progress counts in: it starts again in each new one.
    Period, "period" { None = "none", Day = "day", Week = "week", Month = "month" }
);

word_enum!(
    /// The occasion of a surprise.
    Occasion, "type" { Custom = "custom", LeadBirthday = "lead_birthday" }
);

/// The most activities a task may count to, and claims a surprise may give per occasion.
pub const MAX_COUNT: i64 = 1000;

impl Period {
    /// The name of the window holding the merchant's calendar day `today`: the day itself,
    /// its ISO week, its month, or one window for all time.
    pub fn window(self, today: time::Date) -> String {
        match self {
            Period::None => "all".to_string(),
            Period::Day => CalendarDate(today).to_string(),
            Period::Week => {
                let (year, week, _) = today.to_iso_week_date();
                format!("{year:04}-W{week:02}")
            }
            Period::Month => format!("{:04}-{:02}", today.year(), u8::from(today.month())),
        }
    }
}

/// A calendar day, written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CalendarDate(pub time::Date);

impl CalendarDate {
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(s.trim(), format)
            .map(Self)
            .map_err(|_| FieldError::new(field, "must be a date as YYYY-MM-DD"))
    }
}

impl std::fmt::Display for CalendarDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}",
            d.year(),
            u8::from(d.month()),
            d.day()
        )
    }
}

impl std::str::FromStr for CalendarDate {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse("date", s)
    }
}

/// Whether `today` is the occasion of a surprise: its custom `date`, or the lead's birthday
/// (`dob`'s month and day; one born on 29 February has it on the 28th in other years). A lead
/// without a date of birth never has a birthday occasion.
pub fn on_occasion(
    occasion: Occasion,
    date: Option<CalendarDate>,
    dob: Option<time::Date>,
    today: time::Date,
) -> bool {
    match occasion {
        Occasion::Custom => date.is_some_and(|d| d.0 == today),
        Occasion::LeadBirthday => dob.is_some_and(|dob| birthday_in(dob, today.year()) == today),
    }
}

/// The day a birthday falls on in `year`.
fn birthday_in(dob: time::Date, year: i32) -> time::Date {
    time::Date::from_calendar_date(year, dob.month(), dob.day()).unwrap_or_else(|_| {
        // Only 29 February is missing from a year.
        time::Date::from_calendar_date(year, time::Month::February, 28).expect("a real day")
    })
}

/// A random number of points in `[min, max]`.
pub fn random_points(min: i64, max: i64) -> i64 {
    use rand::Rng;
    if max <= min {
        return min;
    }
    rand::thread_rng().gen_range(min..=max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn status_follows_dates_configuration_and_switch() {
        let now = at("2026-06-15T12:00:00Z");
        let on = StatusInputs {
            starts_at: None,
            ends_at: None,
            active: true,
            configured: true,
        };
        assert_eq!(status(on, now), CampaignStatus::Live);
        let off = StatusInputs {
            active: false,
            ..on
        };
        assert_eq!(status(off, now), CampaignStatus::Pending);
        let bare = StatusInputs {
            configured: false,
            ..on
        };
        assert_eq!(status(bare, now), CampaignStatus::Pending);
        let later = StatusInputs {
            starts_at: Some(at("2026-07-01T00:00:00Z")),
            ..on
        };
        assert_eq!(status(later, now), CampaignStatus::Pending);
        let ended = StatusInputs {
            ends_at: Some(at("2026-06-01T00:00:00Z")),
            ..off
        };
        assert_eq!(status(ended, now), CampaignStatus::Completed);
        let long_ago = StatusInputs {
            ends_at: Some(at("2026-05-01T00:00:00Z")),
            ..on
        };
        assert_eq!(status(long_ago, now), CampaignStatus::Archived);
    }

    #[test]
    fn rates_are_exact_and_round_down() {
        let r = Rate::parse("0.1").unwrap();
        assert_eq!(r.to_string(), "0.1");
        assert_eq!(r.points_for(99), 9);
        assert_eq!(Rate::parse("1.25").unwrap().points_for(3), 3);
        for bad in ["", "0", "-1", "1e3", "0.0000001", "1000001", "abc"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
        let capped = RuleReward::PerUnit {
            rate: Rate::parse("2").unwrap(),
            cap_max: Some(50),
        };
        assert_eq!(capped.points(Some(10)).unwrap(), 20);
        assert_eq!(capped.points(Some(100)).unwrap(), 50);
        assert!(capped.points(None).is_err());
    }

    fn day(s: &str) -> time::Date {
        CalendarDate::parse("date", s).unwrap().0
    }

    #[test]
    fn periods_name_their_windows() {
        let d = day("2026-11-30");
        assert_eq!(Period::None.window(d), "all");
        assert_eq!(Period::Day.window(d), "2026-11-30");
        assert_eq!(Period::Week.window(d), "2026-W49");
        assert_eq!(Period::Week.window(day("2026-12-06")), "2026-W49");
        assert_eq!(Period::Week.window(day("2026-12-07")), "2026-W50");
        assert_eq!(Period::Week.window(day("2027-01-01")), "2026-W53");
        assert_eq!(Period::Month.window(d), "2026-11");
        assert_eq!("week".parse::<Period>().unwrap(), Period::Week);
        assert!("fortnight".parse::<Period>().is_err());
        assert_eq!("deal".parse::<TaskReward>().unwrap(), TaskReward::Deal);
        assert_eq!(
            "lead_birthday".parse::<Occasion>().unwrap(),
            Occasion::LeadBirthday
        );
    }

    #[test]
    fn occasions_fall_on_their_day() {
        let christmas = CalendarDate::parse("date", "2026-12-25").unwrap();
        let custom = |today| on_occasion(Occasion::Custom, Some(christmas), None, day(today));
        assert!(custom("2026-12-25"));
        assert!(!custom("2026-12-24"));
        assert!(
            !custom("2027-12-25"),
            "a custom date is one day, not every year"
        );
        let birthday = |dob: &str, today: &str| {
            on_occasion(Occasion::LeadBirthday, None, Some(day(dob)), day(today))
        };
        assert!(birthday("1990-03-14", "2026-03-14"));
        assert!(!birthday("1990-03-14", "2026-03-15"));
        assert!(birthday("2000-02-29", "2027-02-28"), "no 29th: the 28th");
        assert!(
            !birthday("2000-02-29", "2028-02-28"),
            "a leap year has the 29th"
        );
        assert!(birthday("2000-02-29", "2028-02-29"));
        assert!(!on_occasion(
            Occasion::LeadBirthday,
            None,
            None,
            day("2026-03-14")
        ));
        assert!(CalendarDate::parse("date", "2026-02-30").is_err());
    }

    proptest! {
        #[test]
        fn random_points_stay_in_range(min in 1i64..1000, span in 0i64..1000) {
            let p = random_points(min, min + span);
            prop_assert!(p >= min && p <= min + span);
        }

        #[test]
        fn points_are_the_floor(m in 1u64..1_000_000_000, s in 0u32..=6, amount in 0u64..1_000_000_000) {
            let p = 10u64.pow(s);
            let text = if s == 0 { m.to_string() } else { format!("{}.{:0w$}", m / p, m % p, w = s as usize) };
            prop_assume!(m / p <= 1_000_000 && !(m / p == 1_000_000 && m % p > 0));
            let rate = Rate::parse(&text).unwrap();
            let pts = u128::from(rate.points_for(amount));
            let scale = 10u128.pow(s);
            prop_assert!(pts * scale <= u128::from(amount) * u128::from(m));
            prop_assert!((pts + 1) * scale > u128::from(amount) * u128::from(m));
        }
    }
}

macro_rules! shown_as_str {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}

shown_as_str!(CampaignKind, CampaignStatus, Direction);
