//! Upstream endpoints: `host:port`, where host is an IP literal (IPv6 in
//! brackets) or a DNS name. `parse_endpoint` checks syntax only, so `check`
//! never depends on DNS; `resolve_endpoint` is for the runtime.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

/// Splits `host:port` into the host (IPv6 without brackets) and the port.
pub fn parse_endpoint(s: &str) -> Result<(String, u16), String> {
    if s.contains("://") || s.contains('/') {
        return Err(format!(
            "invalid endpoint {s:?}: expected host:port, without a scheme or path"
        ));
    }
    let (host, port) = split_host_port(s)?;
    let port = parse_port(s, port)?;
    Ok((host.to_string(), port))
}

/// Resolves an endpoint to its addresses (blocking DNS for names).
pub fn resolve_endpoint(s: &str) -> io::Result<Vec<SocketAddr>> {
    let (host, port) =
        parse_endpoint(s).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let addrs: Vec<SocketAddr> = (host.as_str(), port).to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("endpoint {s:?} resolved to no addresses"),
        ));
    }
    Ok(addrs)
}

fn split_host_port(s: &str) -> Result<(&str, &str), String> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("invalid endpoint {s:?}: missing ']' after IPv6 address"))?;
        if host.parse::<Ipv6Addr>().is_err() {
            return Err(format!(
                "invalid endpoint {s:?}: {host:?} is not an IPv6 address"
            ));
        }
        let port = after.strip_prefix(':').ok_or_else(|| missing_port(s))?;
        return Ok((host, port));
    }
    let (host, port) = s.rsplit_once(':').ok_or_else(|| missing_port(s))?;
    if host.contains(':') {
        return Err(format!(
            "invalid endpoint {s:?}: write IPv6 addresses in brackets, e.g. \"[::1]:8080\""
        ));
    }
    check_host(s, host)?;
    Ok((host, port))
}

fn missing_port(s: &str) -> String {
    format!(
        "invalid endpoint {s:?}: expected host:port, e.g. \"10.0.0.5:8080\" or \"api.internal:80\""
    )
}

fn parse_port(s: &str, port: &str) -> Result<u16, String> {
    match port.parse::<u16>() {
        Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => Ok(p),
        _ => Err(format!(
            "invalid endpoint {s:?}: port must be a number in 1..=65535"
        )),
    }
}

/// An IPv4 literal, or a DNS name: RFC 1123 labels, plus `_` because
/// container service names (Docker Compose) use it; a trailing dot is fine.
/// Something that looks numeric but is not a valid IPv4 address is rejected
/// rather than sent to DNS.
fn check_host(s: &str, host: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("invalid endpoint {s:?}: {why}"));
    if host.is_empty() {
        return bad("the host is empty");
    }
    if host.parse::<Ipv4Addr>().is_ok() {
        return Ok(());
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.len() > 253 {
        return bad("the host name is longer than 253 characters");
    }
    let labels_ok = name.split('.').all(|label| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    if !labels_ok {
        return bad("the host is neither an IP address nor a valid DNS name");
    }
    let last = name.rsplit('.').next().unwrap_or(name);
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return bad("the host looks like an IPv4 address but is not a valid one");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ip_literals_and_names() {
        let ok =
            |s: &str, h: &str, p: u16| assert_eq!(parse_endpoint(s), Ok((h.to_string(), p)), "{s}");
        ok("127.0.0.1:9001", "127.0.0.1", 9001);
        ok("[::1]:80", "::1", 80);
        ok("[2001:db8::5]:65535", "2001:db8::5", 65535);
        ok("api.internal:8080", "api.internal", 8080);
        ok("localhost:1", "localhost", 1);
        ok("my_service:80", "my_service", 80);
        ok(
            "svc-1.ns.svc.cluster.local.:443",
            "svc-1.ns.svc.cluster.local.",
            443,
        );
    }

    #[test]
    fn rejects_bad_syntax() {
        for bad in [
            "",
            "127.0.0.1",
            "127.0.0.1:",
            "127.0.0.1:0",
            "127.0.0.1:65536",
            "127.0.0.1:+80",
            "127.0.0.1:http",
            ":80",
            "::1:80",
            "[::1]",
            "[::1]80",
            "[nope]:80",
            "[::1:80",
            "http://a:80",
            "a:80/x",
            "-a:80",
            "a-:80",
            "a..b:80",
            "a b:80",
            "999.1.1.1:80",
            "1.2.3:80",
        ] {
            assert!(parse_endpoint(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn resolves_ip_literals_without_dns() {
        assert_eq!(
            resolve_endpoint("127.0.0.1:9001").unwrap(),
            vec!["127.0.0.1:9001".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(
            resolve_endpoint("[::1]:9001").unwrap(),
            vec!["[::1]:9001".parse::<SocketAddr>().unwrap()]
        );
        let err = resolve_endpoint("nope").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
