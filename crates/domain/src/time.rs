//! Timestamps: RFC 3339 UTC with a fixed width, so text order is time order in every backend.

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

/// A moment in UTC, stored and shown as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    pub fn from_datetime(dt: OffsetDateTime) -> Self {
        let dt = dt.to_offset(UtcOffset::UTC);
        // Microsecond precision is what PostgreSQL keeps; truncate so both backends agree.
        let micros = dt.microsecond();
        Self(dt.replace_microsecond(micros).expect("valid microsecond"))
    }

    pub fn unix(self) -> i64 {
        self.0.unix_timestamp()
    }

    pub fn plus(self, d: Duration) -> Self {
        Self(self.0 + d)
    }

    pub fn minus(self, d: Duration) -> Self {
        Self(self.0 - d)
    }

    pub fn datetime(self) -> OffsetDateTime {
        self.0
    }

    /// The fixed-width storage form.
    pub fn to_db(self) -> String {
        let d = self.0;
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute(),
            d.second(),
            d.microsecond()
        )
    }

    /// RFC 3339 for API answers (seconds precision when the fraction is zero).
    pub fn to_rfc3339(self) -> String {
        self.0.format(&Rfc3339).unwrap_or_else(|_| self.to_db())
    }

    pub fn parse(s: &str) -> Option<Self> {
        OffsetDateTime::parse(s, &Rfc3339)
            .ok()
            .map(Self::from_datetime)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// A merchant's time zone: a name of the IANA database (`Europe/Paris`), `UTC` by default.
/// It says which calendar day it is for the merchant: a surprise's occasion, a task's period.
#[derive(Debug, Clone)]
pub struct TimeZone {
    name: String,
    tz: jiff::tz::TimeZone,
}

impl TimeZone {
    pub fn utc() -> Self {
        Self {
            name: "UTC".to_string(),
            tz: jiff::tz::TimeZone::UTC,
        }
    }

    pub fn parse(s: &str) -> Result<Self, crate::FieldError> {
        let s = s.trim();
        let invalid = || {
            crate::FieldError::new(
                "time_zone",
                "must be a time zone of the IANA database, like Europe/Paris or UTC",
            )
        };
        // Names only: a fixed offset or a POSIX rule is no place's time.
        if s.is_empty() || s.len() > 64 || s.starts_with(['+', '-']) {
            return Err(invalid());
        }
        let tz = jiff::tz::db().get(s).map_err(|_| invalid())?;
        let name = tz.iana_name().unwrap_or(s).to_string();
        Ok(Self { name, tz })
    }

    /// The IANA name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The calendar day in this zone at `at`.
    pub fn date_at(&self, at: Timestamp) -> time::Date {
        let local = jiff::Timestamp::from_second(at.unix())
            .map(|t| self.tz.to_datetime(t).date())
            .unwrap_or_default();
        let month = time::Month::try_from(local.month() as u8).unwrap_or(time::Month::January);
        time::Date::from_calendar_date(i32::from(local.year()), month, local.day() as u8)
            .unwrap_or(time::Date::MIN)
    }

    /// Every name of the database, sorted (for a picker).
    pub fn names() -> Vec<String> {
        let mut names: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
        names.sort();
        names
    }
}

impl PartialEq for TimeZone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TimeZone {}

impl std::fmt::Display for TimeZone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

impl std::str::FromStr for TimeZone {
    type Err = crate::FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_form_sorts_like_time_and_round_trips() {
        let a = Timestamp::now();
        let b = a.plus(Duration::microseconds(1));
        assert!(a.to_db() < b.to_db());
        assert_eq!(Timestamp::parse(&a.to_db()), Some(a));
        assert_eq!(a.to_db().len(), 27);
    }

    #[test]
    fn time_zones_name_the_local_day() {
        let at = Timestamp::parse("2026-03-01T02:30:00Z").unwrap();
        assert_eq!(TimeZone::utc().date_at(at).to_string(), "2026-03-01");
        let ny = TimeZone::parse("America/New_York").unwrap();
        assert_eq!(ny.name(), "America/New_York");
        assert_eq!(ny.date_at(at).to_string(), "2026-02-28");
        let tokyo = TimeZone::parse(" Asia/Tokyo ").unwrap();
        assert_eq!(tokyo.date_at(at).to_string(), "2026-03-01");
        for bad in ["", "Mars/Olympus", "+02:00", "EST5EDT,M3.2.0,M11.1.0"] {
            assert!(TimeZone::parse(bad).is_err(), "{bad}");
        }
        assert!(TimeZone::names().iter().any(|n| n == "Europe/Paris"));
    }
}
