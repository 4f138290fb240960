//! IP rules: CIDR allow/deny lists, and which address is "the client" when
//! trusted proxies sit in front (`X-Forwarded-For`, walked from the right).
//!
//! Lists are scanned linearly: they are short (a handful of networks), and a
//! scan over `(network, mask)` pairs is a few compares per entry.

use std::net::IpAddr;

use ipnet::IpNet;

/// Parses `"10.0.0.0/8"`, `"2001:db8::/32"` or a bare address (a /32 or
/// /128). A network with host bits set (`"10.0.0.1/8"`) is refused: it is
/// almost always a typo for something else.
pub fn parse_cidr(s: &str) -> Result<IpNet, String> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(IpNet::from(ip));
    }
    let net: IpNet = s.parse().map_err(|_| {
        format!("invalid CIDR {s:?}: expected an address or address/prefix, e.g. \"10.0.0.0/8\" or \"2001:db8::/32\"")
    })?;
    if net.trunc() != net {
        return Err(format!(
            "invalid CIDR {s:?}: host bits are set (the network is {})",
            net.trunc()
        ));
    }
    Ok(net)
}

/// A set of networks, IPv4 and IPv6 kept apart.
#[derive(Debug, Clone, Default)]
pub struct CidrSet {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl CidrSet {
    pub fn new(nets: &[IpNet]) -> CidrSet {
        let mut set = CidrSet::default();
        for net in nets {
            match net {
                IpNet::V4(n) => set
                    .v4
                    .push((u32::from(n.network()), u32::from(n.netmask()))),
                IpNet::V6(n) => set
                    .v6
                    .push((u128::from(n.network()), u128::from(n.netmask()))),
            }
        }
        set
    }

    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) count as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip.to_canonical() {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                self.v4.iter().any(|&(net, mask)| a & mask == net)
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                self.v6.iter().any(|&(net, mask)| a & mask == net)
            }
        }
    }
}

/// A listener's or route's allow/deny lists.
#[derive(Debug, Clone, Default)]
pub struct IpRules {
    pub allow: CidrSet,
    pub deny: CidrSet,
}

impl IpRules {
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.deny.is_empty()
    }

    /// `deny` wins; a non-empty `allow` admits only what it lists.
    pub fn permits(&self, ip: IpAddr) -> bool {
        !self.deny.contains(ip) && (self.allow.is_empty() || self.allow.contains(ip))
    }
}

/// The client's address: the direct peer, unless the peer is a trusted
/// proxy. Then `X-Forwarded-For` (all its lines, as one list) is walked from
/// the right, skipping trusted hops; the first untrusted address is the
/// client. When every hop is trusted, the leftmost one is. An entry that is
/// not an address ends the walk at the last address seen (only a trusted
/// proxy can have put it there).
pub fn client_addr<'a>(
    peer: IpAddr,
    trusted: &CidrSet,
    xff_lines_rev: impl Iterator<Item = &'a [u8]>,
) -> IpAddr {
    if trusted.is_empty() || !trusted.contains(peer) {
        return peer;
    }
    let mut client = peer;
    for line in xff_lines_rev {
        for entry in line.rsplit(|&b| b == b',') {
            let Some(ip) = parse_entry(entry) else {
                return client;
            };
            client = ip;
            if !trusted.contains(ip) {
                return ip;
            }
        }
    }
    client
}

/// One `X-Forwarded-For` element: an address, optionally with a port
/// (`1.2.3.4:80`, `[::1]:80`), surrounded by optional whitespace.
fn parse_entry(entry: &[u8]) -> Option<IpAddr> {
    let s = std::str::from_utf8(entry).ok()?.trim_matches([' ', '\t']);
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    s.parse::<std::net::SocketAddr>().ok().map(|a| a.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(list: &[&str]) -> CidrSet {
        let nets: Vec<IpNet> = list.iter().map(|s| parse_cidr(s).unwrap()).collect();
        CidrSet::new(&nets)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_networks_and_bare_addresses() {
        assert_eq!(parse_cidr("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_cidr("10.1.2.3").unwrap().to_string(), "10.1.2.3/32");
        assert_eq!(parse_cidr("::1").unwrap().to_string(), "::1/128");
        assert!(parse_cidr("10.0.0.1/8").unwrap_err().contains("host bits"));
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("example.com").is_err());
        assert!(parse_cidr("").is_err());
    }

    #[test]
    fn contains_v4_v6_and_mapped() {
        let s = set(&["10.0.0.0/8", "192.168.1.7", "2001:db8::/32"]);
        assert!(s.contains(ip("10.255.0.1")));
        assert!(!s.contains(ip("11.0.0.1")));
        assert!(s.contains(ip("192.168.1.7")));
        assert!(!s.contains(ip("192.168.1.8")));
        assert!(s.contains(ip("2001:db8:1::5")));
        assert!(!s.contains(ip("2001:db9::1")));
        assert!(s.contains(ip("::ffff:10.1.1.1")), "v4-mapped is v4");
        assert!(set(&["0.0.0.0/0"]).contains(ip("8.8.8.8")));
        assert!(!set(&["0.0.0.0/0"]).contains(ip("::1")));
        assert!(set(&["::/0"]).contains(ip("::1")));
    }

    #[test]
    fn deny_wins_and_allow_restricts() {
        let r = IpRules {
            allow: set(&["10.0.0.0/8"]),
            deny: set(&["10.0.0.66"]),
        };
        assert!(r.permits(ip("10.0.0.1")));
        assert!(!r.permits(ip("10.0.0.66")));
        assert!(!r.permits(ip("127.0.0.1")));
        let deny_only = IpRules {
            allow: CidrSet::default(),
            deny: set(&["127.0.0.0/8"]),
        };
        assert!(!deny_only.permits(ip("127.0.0.1")));
        assert!(deny_only.permits(ip("10.0.0.1")));
        assert!(IpRules::default().permits(ip("1.2.3.4")));
    }

    fn client(peer: &str, trusted: &[&str], lines: &[&str]) -> IpAddr {
        let lines: Vec<&[u8]> = lines.iter().rev().map(|l| l.as_bytes()).collect();
        client_addr(ip(peer), &set(trusted), lines.into_iter())
    }

    #[test]
    fn xff_is_ignored_from_untrusted_peers() {
        assert_eq!(client("1.2.3.4", &[], &["9.9.9.9"]), ip("1.2.3.4"));
        assert_eq!(
            client("1.2.3.4", &["10.0.0.0/8"], &["9.9.9.9"]),
            ip("1.2.3.4")
        );
    }

    #[test]
    fn xff_walk_skips_trusted_hops_from_the_right() {
        let t = &["10.0.0.0/8"];
        assert_eq!(client("10.0.0.1", t, &["5.5.5.5"]), ip("5.5.5.5"));
        // A spoofed leftmost entry is not reached: 6.6.6.6 is the first untrusted.
        assert_eq!(
            client("10.0.0.1", t, &["1.1.1.1, 6.6.6.6, 10.0.0.2"]),
            ip("6.6.6.6")
        );
        // Several lines are one list, in order.
        assert_eq!(
            client("10.0.0.1", t, &["1.1.1.1", "7.7.7.7, 10.0.0.9"]),
            ip("7.7.7.7")
        );
        // Every hop trusted: the leftmost.
        assert_eq!(
            client("10.0.0.1", t, &["10.0.0.3, 10.0.0.2"]),
            ip("10.0.0.3")
        );
        // No XFF: the peer.
        assert_eq!(client("10.0.0.1", t, &[]), ip("10.0.0.1"));
        // Ports and IPv6.
        assert_eq!(
            client("10.0.0.1", t, &["[2001:db8::1]:443, 5.5.5.5:80"]),
            ip("5.5.5.5")
        );
        assert_eq!(client("::1", &["::1"], &["2001:db8::7"]), ip("2001:db8::7"));
        // Garbage ends the walk at the last address seen.
        assert_eq!(client("10.0.0.1", t, &["junk, 10.0.0.2"]), ip("10.0.0.2"));
        assert_eq!(client("10.0.0.1", t, &["5.5.5.5, junk"]), ip("10.0.0.1"));
    }
}
