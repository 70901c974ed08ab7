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
}
