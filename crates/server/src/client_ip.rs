//! The client's IP address: the TCP peer, or what trusted proxies say in `X-Forwarded-For`.
//!
//! `X-Forwarded-For` is read only when the peer itself is a trusted proxy. Each proxy appends
//! the address it received the request from, so the list is walked from the right and the
//! first address that is not a trusted proxy is the client; everything to its left could have
//! been written by the client and is ignored. If every listed address is trusted, the
//! left-most one is taken. An unparsable entry stops the walk at the last good address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;

use crate::state::AppState;

/// IPv4 addresses seen through an IPv6 socket (`::ffff:a.b.c.d`) become plain IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|net| net.contains(&ip))
}

/// Parses one `X-Forwarded-For` entry: a bare address, `[v6]`, `v4:port` or `[v6]:port`.
fn parse_entry(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    s.strip_prefix('[')
        .and_then(|r| r.split(']').next())
        .and_then(|r| r.parse().ok())
}

/// The client address of a request whose TCP peer is `peer`.
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted_proxies: &[IpNet]) -> IpAddr {
    let peer_ip = canonical(peer.ip());
    if !trusted(peer_ip, trusted_proxies) {
        return peer_ip;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter(|s| !s.trim().is_empty())
        .collect();
    let mut candidate = peer_ip;
    for entry in entries.iter().rev() {
        let Some(ip) = parse_entry(entry).map(canonical) else {
            break;
        };
        candidate = ip;
        if !trusted(ip, trusted_proxies) {
            return ip;
        }
    }
    candidate
}

/// Extractor for the client address, honouring `PUNCHCARD_TRUSTED_PROXIES`. Without connect
/// information (a router called in process) it falls back to the unspecified address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip_of(parts, &state.config.trusted_proxies)))
    }
}

/// The client address of request `parts` (for middleware that has no extractor at hand).
pub fn client_ip_of(parts: &Parts, trusted_proxies: &[IpNet]) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    client_ip(peer, &parts.headers, trusted_proxies)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn peer(s: &str) -> SocketAddr {
        SocketAddr::new(s.parse().unwrap(), 4000)
    }

    #[test]
    fn untrusted_peer_is_the_client_whatever_the_header_says() {
        let ip = client_ip(
            peer("203.0.113.9"),
            &xff(&["1.2.3.4"]),
            &nets(&["10.0.0.0/8"]),
        );
        assert_eq!(ip.to_string(), "203.0.113.9");
        let ip = client_ip(peer("10.0.0.2"), &xff(&["1.2.3.4"]), &[]);
        assert_eq!(ip.to_string(), "10.0.0.2");
    }

    #[test]
    fn trusted_peer_gives_the_right_most_untrusted_address() {
        let proxies = nets(&["10.0.0.0/8"]);
        let h = xff(&["6.6.6.6, 198.51.100.7, 10.0.0.5"]);
        assert_eq!(
            client_ip(peer("10.0.0.2"), &h, &proxies).to_string(),
            "198.51.100.7"
        );
        // The same list split over several headers.
        let h = xff(&["6.6.6.6", "198.51.100.7,10.0.0.5"]);
        assert_eq!(
            client_ip(peer("10.0.0.2"), &h, &proxies).to_string(),
            "198.51.100.7"
        );
    }

    #[test]
    fn all_trusted_gives_the_left_most_and_no_header_gives_the_peer() {
        let proxies = nets(&["10.0.0.0/8"]);
        let h = xff(&["10.1.1.1, 10.0.0.5"]);
        assert_eq!(
            client_ip(peer("10.0.0.2"), &h, &proxies).to_string(),
            "10.1.1.1"
        );
        assert_eq!(
            client_ip(peer("10.0.0.2"), &HeaderMap::new(), &proxies).to_string(),
            "10.0.0.2"
        );
    }

    #[test]
    fn garbage_stops_the_walk_and_ports_and_mapped_addresses_are_understood() {
        let proxies = nets(&["10.0.0.0/8", "::1/128"]);
        let h = xff(&["1.1.1.1, not-an-ip, 10.0.0.9"]);
        assert_eq!(
            client_ip(peer("10.0.0.2"), &h, &proxies).to_string(),
            "10.0.0.9"
        );
        let h = xff(&["198.51.100.7:5555"]);
        assert_eq!(
            client_ip(peer("::1"), &h, &proxies).to_string(),
            "198.51.100.7"
        );
        let h = xff(&["[2001:db8::1]:443"]);
        assert_eq!(
            client_ip(peer("10.0.0.2"), &h, &proxies).to_string(),
            "2001:db8::1"
        );
        let mapped: SocketAddr = "[::ffff:10.0.0.2]:80".parse().unwrap();
        let h = xff(&["192.0.2.1"]);
        assert_eq!(client_ip(mapped, &h, &proxies).to_string(), "192.0.2.1");
    }
}
