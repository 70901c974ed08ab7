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
        let net = match s.parse::<IpAddr>() {
            Ok(ip) => IpNet::from(ip),
            Err(_) => s.parse::<IpNet>().map_err(|_| err())?.trunc(),
        };
        Ok(Self(unmap(net)))
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

/// An IPv4-mapped IPv6 range (`::ffff:203.0.113.0/120`) is the IPv4 range it maps
/// (`203.0.113.0/24`): clients are compared as IPv4, so the range must be too.
fn unmap(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
                .map(IpNet::V4)
                .unwrap_or(net),
            None => net,
        },
        other => other,
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
        if s.chars().any(crate::text::is_invisible) {
            return Err(err("must not contain invisible characters"));
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
        assert!(IpRange::parse("10.0.0.0/33").is_err());
    }

    #[test]
    fn ipv6_and_mapped_ranges() {
        let v6 = IpRange::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::7".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        assert!(
            !v6.contains("32.1.13.184".parse().unwrap()),
            "no match across families"
        );
        assert_eq!(
            IpRange::parse("2001:DB8::7/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        assert_eq!(IpRange::parse("::1").unwrap().to_string(), "::1");
        assert!(IpRange::parse("::1")
            .unwrap()
            .contains("::1".parse().unwrap()));

        // A client seen through an IPv6 socket as ::ffff:127.0.0.1 is 127.0.0.1.
        let loopback = IpRange::parse("127.0.0.0/8").unwrap();
        assert!(loopback.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(loopback.contains("127.9.9.9".parse().unwrap()));
        assert!(!loopback.contains("::1".parse().unwrap()));

        // Entries written in mapped form are the IPv4 ranges they map.
        let mapped = IpRange::parse("::ffff:127.0.0.1").unwrap();
        assert_eq!(mapped.to_string(), "127.0.0.1");
        assert!(mapped.contains("127.0.0.1".parse().unwrap()));
        assert!(mapped.contains("::ffff:127.0.0.1".parse().unwrap()));
        let mapped_net = IpRange::parse("::ffff:203.0.113.0/120").unwrap();
        assert_eq!(mapped_net.to_string(), "203.0.113.0/24");
        assert!(mapped_net.contains("203.0.113.77".parse().unwrap()));
        // A short prefix covering mapped space stays an IPv6 range.
        assert_eq!(IpRange::parse("::/0").unwrap().to_string(), "::/0");
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
