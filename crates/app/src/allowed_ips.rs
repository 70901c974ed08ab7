//! Allowed IPs: per merchant and source, the addresses that may call the API or open the
//! dashboard. No entry for a source means every address is allowed.

use std::net::IpAddr;

use punchcard_domain::limits::Resource;
use punchcard_domain::net::IpRange;
use punchcard_domain::time::Timestamp;
use punchcard_domain::{AllowedIpId, Env, FieldError, MerchantId, ValidationErrors};
use punchcard_store::allowed_ips::{self, AllowedIpRow};
use punchcard_store::{accounts, commit, UniqueKey};

use crate::limits::check_cap;
use crate::{App, AppError};

/// What an allowed-IP entry guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IpSource {
    Api,
    Dashboard,
}

impl IpSource {
    pub fn as_str(self) -> &'static str {
        match self {
            IpSource::Api => "api",
            IpSource::Dashboard => "dashboard",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "api" => Ok(IpSource::Api),
            "dashboard" => Ok(IpSource::Dashboard),
            "" => Err(FieldError::new("source", "is required")),
            _ => Err(FieldError::new("source", "must be `api` or `dashboard`")),
        }
    }
}

/// A new entry, parsed: the source and the normalised range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewAllowedIp {
    pub source: IpSource,
    pub range: IpRange,
}

impl NewAllowedIp {
    pub fn parse(source: &str, ip: &str) -> Result<Self, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let source = e.check(IpSource::parse(source));
        let range = if ip.trim().is_empty() {
            e.check(Err::<IpRange, _>(FieldError::new("ip", "is required")))
        } else {
            e.check(IpRange::parse(ip))
        };
        e.into_result()?;
        Ok(Self {
            source: source.expect("checked"),
            range: range.expect("checked"),
        })
    }
}

/// Whether `ip` passes a list of ranges; an empty list allows everyone.
pub fn ranges_allow(ranges: &[IpRange], ip: IpAddr) -> bool {
    ranges.is_empty() || ranges.iter().any(|r| r.contains(ip))
}

impl App {
    /// Adds an entry; at most ten per merchant, no duplicates.
    pub async fn add_allowed_ip(
        &self,
        merchant_id: &MerchantId,
        new: NewAllowedIp,
    ) -> Result<AllowedIpRow, AppError> {
        let row = AllowedIpRow {
            merchant_id: merchant_id.clone(),
            id: AllowedIpId::new(),
            source: new.source.as_str().to_string(),
            cidr: new.range.to_string(),
            created_at: Timestamp::now(),
        };
        let mut tx = self.db.begin_write().await?;
        if !accounts::lock_merchant(&mut tx, merchant_id).await? {
            return Err(AppError::NotFound("merchant"));
        }
        if allowed_ips::exists(&mut tx, merchant_id, &row.source, &row.cidr).await? {
            return Err(AppError::duplicate(UniqueKey::AllowedIpCidr));
        }
        check_cap(&mut tx, merchant_id, Env::Prod, Resource::AllowedIps).await?;
        allowed_ips::insert(&mut tx, &row).await?;
        commit(tx).await?;
        tracing::info!(merchant_id = %merchant_id, source = row.source, cidr = row.cidr, "allowed IP added");
        Ok(row)
    }

    pub async fn list_allowed_ips(
        &self,
        merchant_id: &MerchantId,
    ) -> Result<Vec<AllowedIpRow>, AppError> {
        let mut conn = self.db.conn().await?;
        Ok(allowed_ips::list(&mut conn, merchant_id).await?)
    }

    pub async fn delete_allowed_ip(
        &self,
        merchant_id: &MerchantId,
        id: &AllowedIpId,
    ) -> Result<(), AppError> {
        let mut tx = self.db.begin_write().await?;
        if !allowed_ips::delete(&mut tx, merchant_id, id).await? {
            return Err(AppError::NotFound("allowed IP"));
        }
        commit(tx).await?;
        tracing::info!(merchant_id = %merchant_id, allowed_ip_id = %id, "allowed IP deleted");
        Ok(())
    }

    /// The ranges of one source (empty: everyone is allowed).
    pub async fn allowed_ranges(
        &self,
        merchant_id: &MerchantId,
        source: IpSource,
    ) -> Result<Vec<IpRange>, AppError> {
        let mut conn = self.db.conn().await?;
        let cidrs = allowed_ips::cidrs_for_source(&mut conn, merchant_id, source.as_str()).await?;
        // Stored values were written normalised; one that no longer parses is skipped and logged
        // rather than locking everyone out or letting everyone in silently.
        Ok(cidrs
            .iter()
            .filter_map(|c| match IpRange::parse(c) {
                Ok(r) => Some(r),
                Err(_) => {
                    tracing::error!(merchant_id = %merchant_id, cidr = %c, "unreadable allowed IP entry");
                    None
                }
            })
            .collect())
    }

    /// Whether `ip` may use `source` for this merchant.
    pub async fn ip_allowed(
        &self,
        merchant_id: &MerchantId,
        source: IpSource,
        ip: IpAddr,
    ) -> Result<bool, AppError> {
        Ok(ranges_allow(
            &self.allowed_ranges(merchant_id, source).await?,
            ip,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entries_and_reports_both_fields() {
        let n = NewAllowedIp::parse("API", "203.0.113.7").unwrap();
        assert_eq!(n.source, IpSource::Api);
        assert_eq!(n.range.to_string(), "203.0.113.7");
        let e = NewAllowedIp::parse("mail", "").unwrap_err();
        assert!(e.for_field("source").is_some());
        assert_eq!(e.for_field("ip"), Some("is required"));
    }

    #[test]
    fn empty_list_allows_all() {
        let ip: IpAddr = "198.51.100.1".parse().unwrap();
        assert!(ranges_allow(&[], ip));
        let r = IpRange::parse("203.0.113.0/24").unwrap();
        assert!(!ranges_allow(&[r], ip));
        assert!(ranges_allow(&[r], "203.0.113.200".parse().unwrap()));
    }
}
