//! IP addresses, networks and callback URLs.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::error::FieldError;

/// An IP address or CIDR network, normalised (`10.0.0.7` is `10.0.0.7/32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange(IpNet);

impl IpRange {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        let err = || {
            FieldError::new(
                "ip",
                "must be an IP address or a CIDR range like 203.0.113.0/24",
            )
        };
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Self(IpNet::from(ip)));
        }
        let net: IpNet = s.parse().map_err(|_| err())?;
        Ok(Self(net.trunc()))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(IpAddr::V4)
                .unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        };
        self.0.contains(&ip)
    }
}

impl std::fmt::Display for IpRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.prefix_len() == self.0.max_prefix_len() {
            write!(f, "{}", self.0.addr())
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// Loopback, private, link-local and other non-public addresses.
pub fn is_private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64 // 100.64.0.0/10
                || v4.octets()[0] == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_ip(IpAddr::V4(v4));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00 // unique local
                || (v6.segments()[0] & 0xffc0) == 0xfe80 // link local
        }
    }
}

/// A callback URL: http(s), a host, no credentials; private hosts only when allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackUrl(String);

impl CallbackUrl {
    pub fn parse(s: &str, allow_private: bool) -> Result<Self, FieldError> {
        let s = s.trim();
        let err = |m: &str| FieldError::new("callback_url", m);
        if s.len() > 2048 {
            return Err(err("must be at most 2048 characters"));
        }
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| err("must be an http:// or https:// URL"))?;
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            return Err(err("must be an http:// or https:// URL"));
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.is_empty() {
            return Err(err("must name a host"));
        }
        if authority.contains('@') {
            return Err(err("must not contain credentials"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err("must not contain spaces"));
        }
        let host = if let Some(h) = authority.strip_prefix('[') {
            h.split(']').next().unwrap_or("")
        } else {
            authority
                .rsplit_once(':')
                .map(|(h, _)| h)
                .unwrap_or(authority)
        };
        if host.is_empty() {
            return Err(err("must name a host"));
        }
        if !allow_private {
            let lower = host.to_ascii_lowercase();
            let private_name = lower == "localhost"
                || lower.ends_with(".localhost")
                || lower.ends_with(".local")
                || lower.ends_with(".internal");
            let private_ip = host.parse::<IpAddr>().map(is_private_ip).unwrap_or(false);
            if private_name || private_ip {
                return Err(err("must not point at a private or loopback address"));
            }
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = IpRange::parse("203.0.113.0/24").unwrap();
        assert!(r.contains("203.0.113.9".parse().unwrap()));
        assert!(!r.contains("203.0.114.9".parse().unwrap()));
        assert!(r.contains("::ffff:203.0.113.9".parse().unwrap()));
        assert_eq!(IpRange::parse("10.1.2.3").unwrap().to_string(), "10.1.2.3");
        assert_eq!(
            IpRange::parse("10.1.2.3/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert!(IpRange::parse("10.1.2").is_err());
        assert!(IpRange::parse("nope").is_err());
    }

    #[test]
    fn callbacks() {
        assert!(CallbackUrl::parse("https://shop.example.com/hook", false).is_ok());
        assert!(CallbackUrl::parse("http://127.0.0.1:9000/hook", false).is_err());
        assert!(CallbackUrl::parse("http://127.0.0.1:9000/hook", true).is_ok());
        assert!(CallbackUrl::parse("http://[::1]:9000/hook", false).is_err());
        assert!(CallbackUrl::parse("http://localhost/hook", false).is_err());
        assert!(CallbackUrl::parse("http://10.0.0.1/hook", false).is_err());
        assert!(CallbackUrl::parse("ftp://example.com", false).is_err());
        assert!(CallbackUrl::parse("https://user:pw@example.com", false).is_err());
    }
}
