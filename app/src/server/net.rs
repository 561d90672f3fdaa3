//! The client address: from the socket, or from `X-Forwarded-For` when the socket
//! peer is a trusted proxy. Stored only truncated (/24, /48).

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The request's client address, put in request extensions by a middleware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

/// The right-most untrusted entry of `X-Forwarded-For` when `peer` is trusted;
/// otherwise `peer`. `forwarded` holds every `X-Forwarded-For` header value in order.
pub fn client_ip<'a>(peer: IpAddr, forwarded: impl Iterator<Item = &'a str>, trusted: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    if trusted.is_empty() || !is_trusted(peer, trusted) {
        return peer;
    }
    let hops: Vec<IpAddr> = forwarded
        .flat_map(|v| v.split(','))
        .filter_map(|s| parse_hop(s.trim()))
        .map(canonical)
        .collect();
    for hop in hops.iter().rev() {
        if !is_trusted(*hop, trusted) {
            return *hop;
        }
    }
    hops.first().copied().unwrap_or(peer)
}

/// Accepts `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` and `[2001:db8::1]:443`.
fn parse_hop(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = s.parse::<std::net::SocketAddr>() {
        return Some(sa.ip());
    }
    None
}

/// The stored form of an address: IPv4 to its /24, IPv6 to its /48.
pub fn truncate(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            Ipv4Addr::new(o[0], o[1], o[2], 0).to_string()
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0).to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(s: &[&str]) -> Vec<IpNet> {
        s.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn without_trusted_proxies_the_socket_wins() {
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(client_ip(peer, ["6.6.6.6"].into_iter(), &[]), peer);
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        // A client can prepend anything: only what the trusted proxies appended counts.
        let got = client_ip(peer, ["6.6.6.6, 203.0.113.9, 10.0.0.2"].into_iter(), &trusted);
        assert_eq!(got, "203.0.113.9".parse::<IpAddr>().unwrap());
        let got = client_ip(peer, ["6.6.6.6", "203.0.113.9:5555"].into_iter(), &trusted);
        assert_eq!(got, "203.0.113.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn an_untrusted_peer_cannot_spoof_the_header() {
        let trusted = nets(&["10.0.0.0/8"]);
        let peer: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(client_ip(peer, ["1.1.1.1"].into_iter(), &trusted), peer);
    }

    #[test]
    fn addresses_are_truncated() {
        assert_eq!(truncate("203.0.113.77".parse().unwrap()), "203.0.113.0");
        assert_eq!(truncate("2001:db8:abcd:1234::1".parse().unwrap()), "2001:db8:abcd::");
        assert_eq!(truncate("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.0");
    }
}
