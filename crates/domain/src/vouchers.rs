//! Voucher campaigns without I/O: a vault's vendor and amount, an integration's status, and
//! the redeemer an award request names.

use crate::accounts::{parse_label, Email};
use crate::error::{FieldError, ValidationErrors};
use crate::ledger::{CustomerId, Mobile};

/// The largest voucher amount, in the smallest unit of money.
pub const MAX_AMOUNT: i64 = 1_000_000_000;

/// A vault's vendor (the brand whose vouchers it holds): 1-64 characters on one line.
pub fn parse_vendor(field: &str, s: &str) -> Result<String, FieldError> {
    parse_label(field, s, 64)
}

/// A voucher's face value in the smallest unit of money (cents): 1 to [`MAX_AMOUNT`].
pub fn parse_amount(field: &str, amount: i64) -> Result<i64, FieldError> {
    if (1..=MAX_AMOUNT).contains(&amount) {
        Ok(amount)
    } else {
        Err(FieldError::new(
            field,
            format!("must be a whole number of the smallest unit from 1 to {MAX_AMOUNT}"),
        ))
    }
}

/// What an integration may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntegrationStatus {
    /// Awards test vouchers only, also while the campaign is pending.
    Test,
    /// Awards real vouchers while the campaign is live.
    Live,
    /// Refused.
    Revoked,
}

impl IntegrationStatus {
    pub const ALL: [IntegrationStatus; 3] = [Self::Test, Self::Live, Self::Revoked];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Test => "test",
            Self::Live => "live",
            Self::Revoked => "revoked",
        }
    }
}

impl std::str::FromStr for IntegrationStatus {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| FieldError::new("status", "must be `test`, `live` or `revoked`"))
    }
}

impl std::fmt::Display for IntegrationStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The person a voucher is awarded to, as the calling application knows them: at least one
/// of email, mobile, customer id and name, each valid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Redeemer {
    pub email: Option<Email>,
    pub mobile: Option<Mobile>,
    pub customer_id: Option<CustomerId>,
    pub name: Option<String>,
}

/// A redeemer as sent, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct RawRedeemer {
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub customer_id: Option<String>,
    pub name: Option<String>,
}

impl Redeemer {
    /// Checks every field (errors named `redeemer.email` and so on) and that one is given.
    pub fn parse(raw: &RawRedeemer) -> Result<Self, ValidationErrors> {
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let mut errors = ValidationErrors::new();
        let email = given(&raw.email)
            .and_then(|e| errors.check(Email::parse(&e).map_err(|e| e.at("redeemer.email"))));
        let mobile = given(&raw.mobile)
            .and_then(|m| errors.check(Mobile::parse(&m).map_err(|e| e.at("redeemer.mobile"))));
        let customer_id = given(&raw.customer_id).and_then(|c| {
            errors.check(CustomerId::parse(&c).map_err(|e| e.at("redeemer.customer_id")))
        });
        let name =
            given(&raw.name).and_then(|n| errors.check(parse_label("redeemer.name", &n, 120)));
        let any_given = [&raw.email, &raw.mobile, &raw.customer_id, &raw.name]
            .into_iter()
            .any(|v| given(v).is_some());
        if !any_given {
            errors.push(FieldError::new(
                "redeemer",
                "give at least one of email, mobile, customer_id and name",
            ));
        }
        errors.into_result()?;
        Ok(Self {
            email,
            mobile,
            customer_id,
            name,
        })
    }

    /// The request as text, for telling a retry from another request with the same hash.
    pub fn fingerprint_parts(&self) -> [String; 4] {
        [
            self.email
                .as_ref()
                .map(|e| e.as_str().to_string())
                .unwrap_or_default(),
            self.mobile
                .as_ref()
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
            self.customer_id
                .as_ref()
                .map(|c| c.as_str().to_string())
                .unwrap_or_default(),
            self.name.clone().unwrap_or_default(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redeemer_needs_one_valid_detail() {
        assert!(Redeemer::parse(&RawRedeemer::default()).is_err());
        let blank = RawRedeemer {
            name: Some("  ".into()),
            ..Default::default()
        };
        assert!(Redeemer::parse(&blank).is_err());
        let bad = RawRedeemer {
            email: Some("nope".into()),
            ..Default::default()
        };
        let err = Redeemer::parse(&bad).unwrap_err();
        assert_eq!(err.0[0].field, "redeemer.email");
        let ok = RawRedeemer {
            email: Some(" Ann@Example.COM ".into()),
            name: Some("Ann".into()),
            ..Default::default()
        };
        let r = Redeemer::parse(&ok).unwrap();
        assert_eq!(r.email.unwrap().as_str(), "ann@example.com");
    }

    #[test]
    fn amounts_and_statuses_parse_strictly() {
        assert!(parse_amount("amount", 0).is_err());
        assert_eq!(parse_amount("amount", 500).unwrap(), 500);
        assert!(parse_amount("amount", MAX_AMOUNT + 1).is_err());
        assert_eq!(
            "live".parse::<IntegrationStatus>().unwrap(),
            IntegrationStatus::Live
        );
        assert!("active".parse::<IntegrationStatus>().is_err());
    }
}
