//! Which characters typed text may hold: no control characters (free text may keep line
//! breaks and tabs), and in identifiers no invisible characters that make look-alikes.
//!
//! PostgreSQL refuses NUL in text, and control or invisible characters in an identifier let
//! two ids look the same while differing, so every newtype that holds typed text checks it
//! here before a value can be built.

use crate::error::FieldError;

/// Bidirectional overrides and isolates, zero-width characters and the byte-order mark:
/// invisible characters that can make one identifier look like another.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' // zero-width space, joiners, left-to-right and right-to-left marks
        | '\u{202A}'..='\u{202E}' // bidirectional embeddings and overrides
        | '\u{2066}'..='\u{2069}' // bidirectional isolates
        | '\u{FEFF}' // zero-width no-break space (byte-order mark)
    )
}

/// Whether free text may hold `c`: anything but control characters, except line breaks and
/// tabs.
pub fn is_allowed_in_text(c: char) -> bool {
    !c.is_control() || matches!(c, '\n' | '\r' | '\t')
}

/// A single line of text (a name, a city): no control characters at all.
pub fn check_line(field: &str, s: &str) -> Result<(), FieldError> {
    if s.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// Free text that may span lines (a description): no control characters but line breaks
/// and tabs.
pub fn check_text(field: &str, s: &str) -> Result<(), FieldError> {
    if !s.chars().all(is_allowed_in_text) {
        return Err(FieldError::new(
            field,
            "must not contain control characters other than line breaks and tabs",
        ));
    }
    Ok(())
}

/// An identifier (a customer id, a code, an email): no control characters and none of the
/// invisible characters of [`is_invisible`].
pub fn check_identifier(field: &str, s: &str) -> Result<(), FieldError> {
    check_line(field, s)?;
    if s.chars().any(is_invisible) {
        return Err(FieldError::new(
            field,
            "must not contain invisible characters (zero-width or bidirectional controls)",
        ));
    }
    Ok(())
}

/// An optional list filter of free text (a search, an exact email): trimmed, at most `max`
/// characters on one line; empty means no filter.
pub fn parse_filter(
    field: &str,
    s: Option<&str>,
    max: usize,
) -> Result<Option<String>, FieldError> {
    let s = s.map(str::trim).unwrap_or("");
    if s.is_empty() {
        return Ok(None);
    }
    check_line(field, s)?;
    if s.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(Some(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters() {
        for c in [
            '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202E}',
            '\u{2066}', '\u{2069}', '\u{FEFF}',
        ] {
            assert!(is_invisible(c), "{:?}", c);
            assert!(check_identifier("id", &format!("ab{c}cd")).is_err());
        }
        for c in ['a', 'é', ' ', '\u{2010}', '\u{2070}', '\u{2028}'] {
            assert!(!is_invisible(c), "{:?}", c);
        }
        assert!(check_identifier("id", "cust-42").is_ok());
        assert!(check_identifier("id", "Zoë").is_ok());
    }

    #[test]
    fn control_characters() {
        assert!(check_line("name", "a\0b").is_err());
        assert!(check_line("name", "a\tb").is_err());
        assert!(check_line("name", "a\u{85}b").is_err());
        assert!(check_text("description", "a\0b").is_err());
        assert!(check_text("description", "a\u{1b}b").is_err());
        assert!(check_text("description", "line\nnext\r\n\tindented").is_ok());
        assert!(check_identifier("id", "ab\ncd").is_err());
        let e = check_identifier("customer_id", "ab\0cd").unwrap_err();
        assert_eq!(e.field, "customer_id");
    }

    #[test]
    fn filters() {
        assert_eq!(parse_filter("q", None, 10).unwrap(), None);
        assert_eq!(parse_filter("q", Some("  "), 10).unwrap(), None);
        assert_eq!(
            parse_filter("q", Some(" ab ",), 10).unwrap().as_deref(),
            Some("ab")
        );
        assert!(parse_filter("q", Some("a\0"), 10).is_err());
        assert!(parse_filter("q", Some(&"x".repeat(11)), 10).is_err());
    }
}
