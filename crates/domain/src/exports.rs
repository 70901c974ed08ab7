//! CSV exports: the date range asked for and cells that a spreadsheet cannot mistake for a
//! formula.

use crate::error::{FieldError, ValidationErrors};
use crate::time::Timestamp;

/// The rows created from the start of `from` to the end of `to` (UTC days, both included);
/// either end may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportRange {
    pub from: Option<time::Date>,
    pub to: Option<time::Date>,
}

impl ExportRange {
    /// Reads `?from=` and `?to=` as `YYYY-MM-DD`; empty means open.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Self, ValidationErrors> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let mut errors = ValidationErrors::new();
        let mut date = |field: &str, raw: Option<&str>| {
            let raw = raw.map(str::trim).filter(|s| !s.is_empty())?;
            errors.check(
                time::Date::parse(raw, format)
                    .map_err(|_| FieldError::new(field, "must be a date as YYYY-MM-DD")),
            )
        };
        let (from, to) = (date("from", from), date("to", to));
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                errors.push(FieldError::new("to", "must not be before from"));
            }
        }
        errors.into_result()?;
        Ok(Self { from, to })
    }

    /// The first instant included.
    pub fn start(&self) -> Timestamp {
        // Open ends stay within what both databases store (PostgreSQL starts at 4713 BC).
        let date = self.from.unwrap_or(time::macros::date!(1970 - 01 - 01));
        Timestamp::from_datetime(date.midnight().assume_utc())
    }

    /// The first instant after the range.
    pub fn end(&self) -> Timestamp {
        let next = self
            .to
            .and_then(|d| d.next_day())
            .unwrap_or(time::macros::date!(9999 - 12 - 31));
        Timestamp::from_datetime(next.midnight().assume_utc())
    }
}

/// A text cell as a spreadsheet should show it: a leading `=`, `+`, `-`, `@`, tab or carriage
/// return would start a formula, so such a value gets a leading `'` (OWASP's advice for CSV
/// injection). Numbers and validated values (amounts, E.164 mobiles) are written as they are.
pub fn text_cell(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let all = ExportRange::parse(None, Some("")).unwrap();
        assert!(all.start() < Timestamp::now() && Timestamp::now() < all.end());
        let day = ExportRange::parse(Some("2026-03-01"), Some("2026-03-01")).unwrap();
        assert_eq!(day.start().to_rfc3339(), "2026-03-01T00:00:00Z");
        assert_eq!(day.end().to_rfc3339(), "2026-03-02T00:00:00Z");
        let e = ExportRange::parse(Some("2026-3-1"), Some("tomorrow")).unwrap_err();
        assert!(e.for_field("from").is_some() && e.for_field("to").is_some());
        let e = ExportRange::parse(Some("2026-03-02"), Some("2026-03-01")).unwrap_err();
        assert!(e.for_field("to").is_some());
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(text_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text_cell("-2+3"), "'-2+3");
        assert_eq!(text_cell("Ada"), "Ada");
    }
}
