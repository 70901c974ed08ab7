//! Merchants, members and their credentials.

use crate::error::FieldError;

/// Where a merchant is in its life: KYC first, then active; the operator can freeze or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MerchantStatus {
    PendingKyc,
    KycSubmitted,
    Active,
    Frozen,
    Rejected,
}

impl MerchantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingKyc => "pending_kyc",
            Self::KycSubmitted => "kyc_submitted",
            Self::Active => "active",
            Self::Frozen => "frozen",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending_kyc" => Self::PendingKyc,
            "kyc_submitted" => Self::KycSubmitted,
            "active" => Self::Active,
            "frozen" => Self::Frozen,
            "rejected" => Self::Rejected,
            _ => return None,
        })
    }
}

/// What a member may do in the merchant's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Staff,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Staff => "staff",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "owner" => Self::Owner,
            "admin" => Self::Admin,
            "staff" => Self::Staff,
            _ => return None,
        })
    }
}

/// An email address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = s.trim().to_ascii_lowercase();
        let err = |m: &str| FieldError::new("email", m);
        if s.is_empty() {
            return Err(err("is required"));
        }
        if s.len() > 254 {
            return Err(err("must be at most 254 characters"));
        }
        let (local, domain) = s
            .rsplit_once('@')
            .ok_or_else(|| err("must be an email address like name@example.com"))?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && local
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && c != '<' && c != '>' && c != ',');
        if !domain_ok || !local_ok {
            return Err(err("must be an email address like name@example.com"));
        }
        crate::text::check_identifier("email", local)?;
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn from_trusted(s: String) -> Self {
        Self(s)
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password that passed the strength rules. Never printed: `Debug` hides it.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

const COMMON_PASSWORDS: &[&str] = &[
    "password",
    "password1",
    "password123",
    "123456789",
    "1234567890",
    "qwertyuiop",
    "iloveyou",
    "letmein123",
    "welcome123",
    "admin12345",
    "qwerty123",
    "abc123456",
    "passw0rd",
    "11111111",
    "00000000",
    "12345678",
    "1q2w3e4r5t",
    "punchcard",
];

impl Password {
    pub const MIN_LEN: usize = 10;
    pub const MAX_LEN: usize = 128;

    /// Checks strength: length, at least three kinds of characters, not a well-known password.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let err = |m: &str| FieldError::new("password", m);
        let len = s.chars().count();
        if len == 0 {
            return Err(err("is required"));
        }
        if len < Self::MIN_LEN {
            return Err(err("must be at least 10 characters"));
        }
        if len > Self::MAX_LEN {
            return Err(err("must be at most 128 characters"));
        }
        let kinds = [
            s.chars().any(|c| c.is_lowercase()),
            s.chars().any(|c| c.is_uppercase()),
            s.chars().any(|c| c.is_ascii_digit()),
            s.chars().any(|c| !c.is_alphanumeric()),
        ]
        .iter()
        .filter(|k| **k)
        .count();
        if kinds < 3 {
            return Err(err(
                "must mix at least three of: lower-case, upper-case, digits, symbols",
            ));
        }
        let lower = s.to_lowercase();
        if COMMON_PASSWORDS.iter().any(|p| lower == *p) {
            return Err(err("is too common; choose another"));
        }
        let first = s.chars().next().unwrap_or(' ');
        if s.chars().all(|c| c == first) {
            return Err(err("must not repeat one character"));
        }
        Ok(Self(s.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A business name shown in the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct MerchantName(String);

impl MerchantName {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(FieldError::new("name", "is required"));
        }
        if s.chars().count() > 100 {
            return Err(FieldError::new("name", "must be at most 100 characters"));
        }
        if s.chars().any(|c| c.is_control()) {
            return Err(FieldError::new(
                "name",
                "must not contain control characters",
            ));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A short label chosen by a person (API key names and the like): 1-64 printable characters.
pub fn parse_label(field: &str, s: &str, max: usize) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if s.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    crate::text::check_line(field, s)?;
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" A@Example.COM ").unwrap().as_str(),
            "a@example.com"
        );
        for bad in [
            "",
            "a",
            "a@b",
            "@b.com",
            "a@.com",
            "a b@c.com",
            "a@b..com",
            "a@b.com.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords() {
        assert!(Password::parse("Correct-Horse-9").is_ok());
        assert!(Password::parse("short1A!").is_err());
        assert!(Password::parse("alllowercaseletters").is_err());
        assert!(Password::parse("Password123").is_err() || Password::parse("Password123").is_ok());
        assert!(Password::parse("password123").is_err());
        assert_eq!(
            format!("{:?}", Password::parse("Correct-Horse-9").unwrap()),
            "Password(***)"
        );
    }
}
