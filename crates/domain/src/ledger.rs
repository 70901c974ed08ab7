//! Leads and the points ledger: validated values and the rules of a wallet transaction.

use crate::accounts::Email;
use crate::error::FieldError;
use crate::time::Timestamp;

/// The merchant's own id for a customer: 4-64 visible characters, unique per merchant and env.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct CustomerId(String);

impl CustomerId {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        let n = s.chars().count();
        if !(4..=64).contains(&n) {
            return Err(FieldError::new(
                "customer_id",
                "must be between 4 and 64 characters",
            ));
        }
        crate::text::check_identifier("customer_id", s)?;
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A mobile number in E.164: `+`, country code, subscriber number, as the phone numbering
/// plan of that country allows (the `phonenumber` crate's copy of libphonenumber's metadata).
/// Spaces, dashes, dots and parentheses are accepted on input and dropped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Mobile(String);

impl Mobile {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let err = || {
            FieldError::new(
                "mobile",
                "must be in E.164 form: + then country code and number, e.g. +14155550123",
            )
        };
        let s = s.trim();
        // Only international numbers: without a country there is no region to guess from.
        if !s.starts_with('+') || s.chars().count() > 32 {
            return Err(err());
        }
        let number = phonenumber::parse(None, s).map_err(|_| err())?;
        if !phonenumber::is_valid(&number) {
            return Err(err());
        }
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        Ok(Self(e164))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `code` is an ISO 3166-1 alpha-2 code of an officially assigned country, upper-case.
/// The list is the `celes` crate's, less `XK`, a user-assigned code that ISO does not list.
pub fn is_country_code(code: &str) -> bool {
    code.len() == 2
        && code.bytes().all(|b| b.is_ascii_uppercase())
        && code != "XK"
        && celes::Country::from_alpha2(code).is_ok()
}

/// A country as an ISO 3166-1 alpha-2 code, upper-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Country(String);

impl Country {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let code = s.trim().to_ascii_uppercase();
        if is_country_code(&code) {
            Ok(Self(code))
        } else {
            Err(FieldError::new(
                "country",
                "must be an ISO 3166-1 alpha-2 country code, e.g. DE or US",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A date of birth: `YYYY-MM-DD`, not in the future, not before 1900.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BirthDate(time::Date);

impl BirthDate {
    pub fn parse(s: &str, today: time::Date) -> Result<Self, FieldError> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let date = time::Date::parse(s.trim(), format)
            .map_err(|_| FieldError::new("dob", "must be a date as YYYY-MM-DD"))?;
        if date > today {
            return Err(FieldError::new("dob", "must not be in the future"));
        }
        if date.year() < 1900 {
            return Err(FieldError::new("dob", "must be in 1900 or later"));
        }
        Ok(Self(date))
    }

    pub fn date(self) -> time::Date {
        self.0
    }

    pub fn to_iso(self) -> String {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        self.0.format(format).unwrap_or_default()
    }
}

/// A lead's display name: optional, up to 120 characters.
pub fn parse_lead_name(s: &str) -> Result<Option<String>, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars().count() > 120 {
        return Err(FieldError::new("name", "must be at most 120 characters"));
    }
    crate::text::check_line("name", s)?;
    Ok(Some(s.to_string()))
}

/// A lead's contact and profile fields after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadProfile {
    pub name: Option<String>,
    pub email: Option<Email>,
    pub mobile: Option<Mobile>,
    pub country: Option<Country>,
    pub dob: Option<BirthDate>,
}

/// Raw lead fields as a client sends them (empty strings count as absent).
#[derive(Debug, Clone, Default)]
pub struct LeadInput<'a> {
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub mobile: Option<&'a str>,
    pub country: Option<&'a str>,
    pub dob: Option<&'a str>,
}

fn present(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

impl LeadProfile {
    /// Validates every field, reporting all problems at once; email or mobile is required.
    pub fn parse(
        input: &LeadInput<'_>,
        today: Timestamp,
    ) -> Result<Self, crate::error::ValidationErrors> {
        let mut errors = crate::error::ValidationErrors::new();
        let name = present(input.name)
            .and_then(|s| errors.check(parse_lead_name(s)))
            .flatten();
        let email = present(input.email).and_then(|s| errors.check(Email::parse(s)));
        let mobile = present(input.mobile).and_then(|s| errors.check(Mobile::parse(s)));
        let country = present(input.country).and_then(|s| errors.check(Country::parse(s)));
        let dob = present(input.dob)
            .and_then(|s| errors.check(BirthDate::parse(s, today.datetime().date())));
        if present(input.email).is_none() && present(input.mobile).is_none() {
            errors.push(FieldError::new("email", "email or mobile is required"));
        }
        errors.into_result()?;
        Ok(Self {
            name,
            email,
            mobile,
            country,
            dob,
        })
    }
}

/// Kinds of wallet transaction. The API writes `reward` and `adjust`; coupons write `redeem`
/// and `reversal`; swaps write `swap_out` and `swap_in`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    Reward,
    Redeem,
    Adjust,
    SwapIn,
    SwapOut,
    Reversal,
}

impl TransactionKind {
    pub const ALL: [TransactionKind; 6] = [
        Self::Reward,
        Self::Redeem,
        Self::Adjust,
        Self::SwapIn,
        Self::SwapOut,
        Self::Reversal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reward => "reward",
            Self::Redeem => "redeem",
            Self::Adjust => "adjust",
            Self::SwapIn => "swap_in",
            Self::SwapOut => "swap_out",
            Self::Reversal => "reversal",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Parses a kind the merchant's API may write: `reward` or `adjust`.
    pub fn parse_for_api(s: &str) -> Result<Self, FieldError> {
        match Self::parse(s.trim()) {
            Some(k @ (Self::Reward | Self::Adjust)) => Ok(k),
            Some(_) => Err(FieldError::new(
                "kind",
                "only reward and adjust can be written through the API; redeem happens through coupons",
            )),
            None => Err(FieldError::new("kind", "must be reward or adjust")),
        }
    }
}

/// The largest amount one transaction may move.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// The largest balance a wallet may hold.
pub const MAX_BALANCE: i64 = 1_000_000_000_000_000_000;

/// Checks a signed amount against its kind: a reward is positive, an adjust is non-zero.
pub fn check_amount(kind: TransactionKind, amount: i64) -> Result<i64, FieldError> {
    let err = |m: &str| FieldError::new("amount", m);
    if amount == 0 {
        return Err(err("must not be zero"));
    }
    if amount.unsigned_abs() > MAX_AMOUNT as u64 {
        return Err(err(
            "must be at most 1000000000000 points in either direction",
        ));
    }
    match kind {
        TransactionKind::Reward if amount < 0 => Err(err(
            "must be positive for a reward; use adjust to take points away",
        )),
        _ => Ok(amount),
    }
}

/// A client's retry key for a wallet transaction or coupon: 1-128 characters of
/// `A-Z a-z 0-9 . _ : -`. Keys the server makes for itself start with `#`, which clients
/// cannot use, so the two never collide.
pub fn parse_hash(s: &str) -> Result<String, FieldError> {
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if ok {
        Ok(s.to_string())
    } else {
        Err(FieldError::new(
            "hash",
            "is required: 1-128 characters of letters, digits, '.', '_', ':' or '-'",
        ))
    }
}

/// An optional description of a transaction: up to 500 characters, line breaks and tabs
/// allowed but no other control characters.
pub fn parse_description(s: Option<&str>) -> Result<Option<String>, FieldError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) if s.chars().count() > 500 => Err(FieldError::new(
            "description",
            "must be at most 500 characters",
        )),
        Some(s) => {
            crate::text::check_text("description", s)?;
            Ok(Some(s.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_ids() {
        assert!(CustomerId::parse("abc").is_err());
        assert!(CustomerId::parse("abcd").is_ok());
        assert!(CustomerId::parse(&"x".repeat(64)).is_ok());
        assert!(CustomerId::parse(&"x".repeat(65)).is_err());
        assert_eq!(CustomerId::parse("  cust-1 ").unwrap().as_str(), "cust-1");
        assert!(CustomerId::parse("ab\ncd").is_err());
        assert!(CustomerId::parse("ab\0cd").is_err());
        // Look-alikes made with invisible characters are refused.
        assert!(CustomerId::parse("cust\u{200B}-1").is_err());
        assert!(CustomerId::parse("cust\u{202E}1-").is_err());
        assert!(CustomerId::parse("\u{FEFF}cust-1").is_err());
        assert!(CustomerId::parse("Zoë-1042").is_ok());
    }

    #[test]
    fn mobiles_are_e164() {
        assert_eq!(
            Mobile::parse("+1 (415) 555-0123").unwrap().as_str(),
            "+14155550123"
        );
        assert!(Mobile::parse("4155550123").is_err());
        assert!(Mobile::parse("+0123456789").is_err());
        assert!(Mobile::parse("+1234567").is_err());
        assert!(Mobile::parse("+1234567890123456").is_err());
        assert!(Mobile::parse("+49abc").is_err());
        // Well formed, but no country has the calling code 999.
        assert!(Mobile::parse("+99912345678").is_err());
        // A German mobile, and a UK number written with spaces.
        assert_eq!(
            Mobile::parse("+49 151 2345 6789").unwrap().as_str(),
            "+4915123456789"
        );
        assert_eq!(
            Mobile::parse("+44 20 7946 0958").unwrap().as_str(),
            "+442079460958"
        );
        assert!(Mobile::parse("+447400123456").is_ok());
        // Too short for its country's numbering plan.
        assert!(Mobile::parse("+49 151").is_err());
    }

    #[test]
    fn countries() {
        assert_eq!(Country::parse("de").unwrap().as_str(), "DE");
        assert!(Country::parse("XX").is_err());
        assert!(Country::parse("DEU").is_err());
        let all = celes::Country::get_countries()
            .iter()
            .filter(|c| is_country_code(&c.alpha2.to_ascii_uppercase()))
            .count();
        assert_eq!(all, 249, "every officially assigned code");
        for code in ["AQ", "BV", "UM", "SS", "GB", "XK"] {
            assert_eq!(Country::parse(code).is_ok(), code != "XK", "{code}");
        }
    }

    #[test]
    fn birth_dates() {
        let today = time::macros::date!(2026 - 11 - 22);
        assert!(BirthDate::parse("1990-02-28", today).is_ok());
        assert!(BirthDate::parse("2026-11-22", today).is_ok());
        assert!(BirthDate::parse("2026-11-23", today).is_err());
        assert!(BirthDate::parse("1990-02-30", today).is_err());
        assert!(BirthDate::parse("1899-12-31", today).is_err());
    }

    #[test]
    fn profiles_need_email_or_mobile_and_report_every_field() {
        let now = Timestamp::now();
        let err = LeadProfile::parse(
            &LeadInput {
                country: Some("XX"),
                dob: Some("nope"),
                ..Default::default()
            },
            now,
        )
        .unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["country", "dob", "email"]);
        assert!(LeadProfile::parse(
            &LeadInput {
                mobile: Some("+14155550123"),
                ..Default::default()
            },
            now
        )
        .is_ok());
    }

    #[test]
    fn amounts_and_hashes() {
        assert!(check_amount(TransactionKind::Reward, -1).is_err());
        assert!(check_amount(TransactionKind::Adjust, -1).is_ok());
        assert!(check_amount(TransactionKind::Adjust, 0).is_err());
        assert!(check_amount(TransactionKind::Reward, MAX_AMOUNT + 1).is_err());
        assert!(parse_hash("order-42:v1").is_ok());
        assert!(parse_hash("#sys").is_err());
        assert!(parse_hash("").is_err());
        assert!(TransactionKind::parse_for_api("redeem").is_err());
        assert!(parse_hash("a\0b").is_err());
        assert_eq!(
            parse_description(Some("line one\nline two"))
                .unwrap()
                .as_deref(),
            Some("line one\nline two")
        );
        assert!(parse_description(Some("a\0b")).is_err());
    }
}
