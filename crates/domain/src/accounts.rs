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
        let shape = || err("must be an email address like name@example.com");
        // RFC 5322 syntax from the `email_address` crate, without display names, domain
        // literals or single-label domains (`name@localhost` reaches no one outside).
        let options = email_address::Options {
            minimum_sub_domains: 2,
            allow_domain_literal: false,
            allow_display_text: false,
        };
        let parsed =
            email_address::EmailAddress::parse_with_options(&s, options).map_err(|_| shape())?;
        let (local, domain) = (parsed.local_part(), parsed.domain());
        // Mail is sent to ASCII host names; a local part that needs quoting is refused too,
        // so an address reads the same wherever it is shown.
        let domain_ok = domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        let local_ok = !local.starts_with('"')
            && local
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && c != '<' && c != '>' && c != ',');
        if !domain_ok || !local_ok {
            return Err(shape());
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

/// Ends a piece of feedback with a full stop.
fn sentence(s: &str) -> String {
    let s = s.trim();
    if s.ends_with(['.', '!', '?']) {
        s.to_string()
    } else {
        format!("{s}.")
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

impl Password {
    pub const MIN_LEN: usize = 10;
    pub const MAX_LEN: usize = 128;
    /// zxcvbn's score from 0 to 4; 3 means "safely unguessable" (about 10^8 guesses and up).
    pub const MIN_SCORE: u8 = 3;

    /// Checks strength with zxcvbn: the password must be hard to guess, counting dictionary
    /// words, keyboard patterns, dates, l33t substitutions and the user's own details
    /// (`user_inputs`: the email, its local part, the business or person's name). The field
    /// error carries zxcvbn's own feedback, so a person sees what to change.
    pub fn parse(s: &str, user_inputs: &[&str]) -> Result<Self, FieldError> {
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
        let mut inputs: Vec<&str> = Vec::new();
        for input in user_inputs
            .iter()
            .map(|i| i.trim())
            .filter(|i| !i.is_empty())
        {
            inputs.push(input);
            if let Some((local, domain)) = input.split_once('@') {
                inputs.push(local);
                inputs.extend(domain.split('.').filter(|p| p.len() > 2));
            }
            inputs.extend(input.split_whitespace().filter(|w| w.chars().count() > 2));
        }
        let entropy = zxcvbn::zxcvbn(s, &inputs);
        if u8::from(entropy.score()) >= Self::MIN_SCORE {
            return Ok(Self(s.to_string()));
        }
        let mut advice = Vec::new();
        if let Some(feedback) = entropy.feedback() {
            if let Some(warning) = feedback.warning() {
                advice.push(sentence(&warning.to_string()));
            }
            advice.extend(
                feedback
                    .suggestions()
                    .iter()
                    .map(|s| sentence(&s.to_string())),
            );
        }
        if advice.is_empty() {
            advice.push("Add another word or two; uncommon words are better.".to_string());
        }
        Err(err(&format!("is too easy to guess. {}", advice.join(" "))))
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
        for good in [
            "a+tag@example.com",
            "first.last@sub.example.co.uk",
            "o'neil@x.io",
        ] {
            assert!(Email::parse(good).is_ok(), "{good}");
        }
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
            "a..b@c.com",
            ".a@c.com",
            "\"a b\"@c.com",
            "Ada <a@b.com>",
            "a@[127.0.0.1]",
            "a@-b.com",
            "a@b_c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords() {
        for good in [
            "Correct-Horse-9",
            "Espresso-Tonic-42",
            "Harbour-Lights-77",
            "Wrong-Horse-99",
            "Another-Pass-7",
            "Counter-Staff-1",
            "quiet lantern orbit mosaic",
        ] {
            assert!(Password::parse(good, &[]).is_ok(), "{good}");
        }
        for weak in [
            "Password1!",
            "P@ssw0rd2024",
            "qwertyuiop123",
            "1234567890",
            "aaaaaaaaaaaa",
            "Summer2024!",
        ] {
            let e = Password::parse(weak, &[]).unwrap_err();
            assert_eq!(e.field, "password");
            assert!(
                e.message.starts_with("is too easy to guess. "),
                "{weak}: {}",
                e.message
            );
        }
        assert!(Password::parse("short1A!", &[]).is_err());
        assert!(Password::parse(&"x".repeat(129), &[]).is_err());
        // The user's own details count as guessable.
        let own = "zephyrinebakes";
        assert!(Password::parse(own, &[]).is_ok());
        let e = Password::parse(own, &["zephyrine@bakes.example", "Zephyrine Bakes"]).unwrap_err();
        assert!(
            e.message.starts_with("is too easy to guess. "),
            "{}",
            e.message
        );
        assert_eq!(
            format!("{:?}", Password::parse("Correct-Horse-9", &[]).unwrap()),
            "Password(***)"
        );
    }
}
