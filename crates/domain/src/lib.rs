//! Punchcard's domain: identifiers, validated values and business rules, with no I/O.

pub mod accounts;
pub mod campaigns;
pub mod catalog;
pub mod coupons;
pub mod currency;
pub mod error;
pub mod exports;
pub mod ids;
pub mod ledger;
pub mod limits;
pub mod net;
pub mod swaps;
pub mod text;
pub mod time;
pub mod vouchers;

pub use error::{FieldError, ValidationErrors};
pub use ids::*;

/// The two environments every merchant has; records of one are invisible to the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Env {
    Dev,
    Prod,
}

impl Env {
    pub fn as_str(self) -> &'static str {
        match self {
            Env::Dev => "dev",
            Env::Prod => "prod",
        }
    }
}

impl std::fmt::Display for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Env {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dev" => Ok(Env::Dev),
            "prod" => Ok(Env::Prod),
            _ => Err(FieldError::new("env", "must be `dev` or `prod`")),
        }
    }
}
