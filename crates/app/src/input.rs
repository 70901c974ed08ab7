//! Ids that callers type (in a path, a field or a list filter), parsed into their domain type
//! before any query: text that cannot be such an id never reaches the database.

use std::str::FromStr;

use punchcard_domain::FieldError;

use crate::AppError;

/// The id of a record the caller names (from a path): text that cannot be an id of that kind
/// names no record.
pub fn named<T: FromStr>(raw: &str, what: &'static str) -> Result<T, AppError> {
    raw.parse().map_err(|_| AppError::NotFound(what))
}

/// An id given in a field of a request (`lead_id`): required, and of the field's kind. Text
/// that cannot be such an id names no record, and gets the same answer as an unknown id
/// (`no such lead`).
pub fn field_id<T: FromStr>(field: &str, raw: &str) -> Result<T, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    raw.parse().map_err(|_| {
        let noun = field.strip_suffix("_id").unwrap_or(field).replace('_', " ");
        FieldError::new(field, format!("no such {noun}"))
    })
}

/// An optional id filter as typed: empty is no filter, anything else an id of its kind.
pub fn filter_id<T: FromStr<Err = FieldError>>(
    field: &str,
    raw: Option<&str>,
) -> Result<Option<T>, FieldError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|e: FieldError| e.at(field)),
    }
}

/// Whether an optional id filter can match a record: text that cannot be such an id matches
/// none, so the list is empty without asking the database.
pub fn can_match<T: FromStr>(filter: Option<&str>) -> bool {
    filter.is_none_or(|v| v.parse::<T>().is_ok())
}

/// Whether an optional text filter can match a record: stored text holds no control
/// characters, so a filter with one matches none.
pub fn can_match_text(filter: Option<&str>) -> bool {
    filter.is_none_or(|v| !v.chars().any(char::is_control))
}

#[cfg(test)]
mod tests {
    use super::*;
    use punchcard_domain::{LeadId, WalletId};

    #[test]
    fn ids_of_paths_fields_and_filters() {
        let lead = LeadId::new();
        assert_eq!(named::<LeadId>(lead.as_str(), "lead").unwrap(), lead);
        assert!(matches!(
            named::<LeadId>("lead_\0", "lead"),
            Err(AppError::NotFound("lead"))
        ));
        assert_eq!(
            field_id::<LeadId>("lead_id", " ").unwrap_err().message,
            "is required"
        );
        let e = field_id::<LeadId>("lead_id", WalletId::new().as_str()).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            ("lead_id", "no such lead")
        );
        assert_eq!(filter_id::<LeadId>("lead_id", Some(" ")).unwrap(), None);
        assert_eq!(
            filter_id::<LeadId>("lead_id", Some(lead.as_str())).unwrap(),
            Some(lead.clone())
        );
        assert_eq!(
            filter_id::<LeadId>("lead_id", Some("x")).unwrap_err().field,
            "lead_id"
        );
        assert!(can_match::<LeadId>(None));
        assert!(can_match::<LeadId>(Some(lead.as_str())));
        assert!(!can_match::<LeadId>(Some("lead_\0")));
        assert!(can_match_text(Some("café")));
        assert!(!can_match_text(Some("a\0b")));
    }
}
