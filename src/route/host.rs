//! Host names: config patterns and request `Host` values, both normalized to
//! the same lookup key (lowercase, no port, no trailing dot, IPv6 as
//! `[canonical]`), so matching is a hash lookup on equal bytes.

use std::io::Write as _;
use std::net::Ipv6Addr;

/// Room for the longest DNS name (253) plus slack; longer hosts match no
/// host-specific route. A stack buffer keeps lookup allocation-free.
pub(super) const HOST_BUF_BYTES: usize = 256;

/// A `hosts` entry from config, normalized to a lookup key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum HostPattern {
    /// `api.example.com`, `10.0.0.1`, `[::1]`.
    Exact(Box<[u8]>),
    /// `*.example.com`, stored as the suffix `example.com`.
    Wildcard(Box<[u8]>),
}

impl HostPattern {
    /// The normalized form, for messages and duplicate/shadow detection.
    pub(super) fn display(&self) -> String {
        match self {
            HostPattern::Exact(k) => String::from_utf8_lossy(k).into_owned(),
            HostPattern::Wildcard(k) => format!("*.{}", String::from_utf8_lossy(k)),
        }
    }
}

/// Parse one config `hosts` entry.
pub(super) fn parse_host_pattern(s: &str) -> Result<HostPattern, String> {
    if let Some(suffix) = s.strip_prefix("*.") {
        let name =
            dns_name(suffix.as_bytes()).map_err(|e| format!("invalid wildcard host {s:?}: {e}"))?;
        return Ok(HostPattern::Wildcard(name));
    }
    if s.contains('*') {
        return Err(format!(
            "invalid host {s:?}: a wildcard is only allowed as a leading \"*.\""
        ));
    }
    if s.starts_with('[') || s.contains(':') {
        return ipv6_pattern(s);
    }
    let name = dns_name(s.as_bytes()).map_err(|e| format!("invalid host {s:?}: {e}"))?;
    Ok(HostPattern::Exact(name))
}

/// `[::1]` or `::1` → `[::1]`. A port is an error: routes match any port.
fn ipv6_pattern(s: &str) -> Result<HostPattern, String> {
    let inner = s
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(s);
    match inner.parse::<Ipv6Addr>() {
        Ok(addr) => Ok(HostPattern::Exact(
            format!("[{addr}]").into_bytes().into_boxed_slice(),
        )),
        Err(_) => Err(format!(
            "invalid host {s:?}: not a DNS name or IPv6 literal (hosts must not include a port)"
        )),
    }
}

/// Validate and lowercase a DNS name (or IPv4 literal), dropping one
/// trailing dot.
fn dns_name(raw: &[u8]) -> Result<Box<[u8]>, &'static str> {
    let mut buf = [0u8; HOST_BUF_BYTES];
    let key = normalize_name(raw, &mut buf)?;
    Ok(key.into())
}

/// Normalize a request `Host` header value into `buf` and return the lookup
/// key, or `None` when it is not a usable host (then only host-less routes
/// can match).
pub(super) fn normalize_request_host<'b>(
    raw: &[u8],
    buf: &'b mut [u8; HOST_BUF_BYTES],
) -> Option<&'b [u8]> {
    if raw.first() == Some(&b'[') {
        return normalize_ipv6(raw, buf);
    }
    // Hosts are short: a plain loop beats a memchr call.
    let name = match raw.iter().position(|&b| b == b':') {
        Some(colon) => {
            let port = raw.get(colon + 1..)?;
            if !port.iter().all(u8::is_ascii_digit) {
                return None;
            }
            raw.get(..colon)?
        }
        None => raw,
    };
    normalize_name(name, buf).ok()
}

/// `[v6]` or `[v6]:port` → `[canonical v6]`.
fn normalize_ipv6<'b>(raw: &[u8], buf: &'b mut [u8; HOST_BUF_BYTES]) -> Option<&'b [u8]> {
    let close = memchr::memchr(b']', raw)?;
    let after = raw.get(close + 1..)?;
    match after {
        [] => {}
        [b':', port @ ..] if port.iter().all(u8::is_ascii_digit) => {}
        _ => return None,
    }
    let inner = std::str::from_utf8(raw.get(1..close)?).ok()?;
    let addr: Ipv6Addr = inner.parse().ok()?;
    let mut cursor: &mut [u8] = &mut buf[..];
    write!(cursor, "[{addr}]").ok()?;
    let written = HOST_BUF_BYTES - cursor.len();
    buf.get(..written)
}

/// Lowercase `raw` into `buf` after checking it is a DNS name: labels of
/// 1..=63 bytes of letters, digits, `-` and `_`, at most 253 bytes, one
/// optional trailing dot (dropped).
fn normalize_name<'b>(
    raw: &[u8],
    buf: &'b mut [u8; HOST_BUF_BYTES],
) -> Result<&'b [u8], &'static str> {
    let name = raw.strip_suffix(b".").unwrap_or(raw);
    if name.is_empty() {
        return Err("empty host name");
    }
    if name.len() > 253 {
        return Err("host name longer than 253 bytes");
    }
    for label in name.split(|&b| b == b'.') {
        check_label(label)?;
    }
    let out = buf.get_mut(..name.len()).ok_or("host name too long")?;
    for (o, b) in out.iter_mut().zip(name) {
        *o = b.to_ascii_lowercase();
    }
    Ok(out)
}

fn check_label(label: &[u8]) -> Result<(), &'static str> {
    if label.is_empty() {
        return Err("empty label (\"..\" or leading dot)");
    }
    if label.len() > 63 {
        return Err("label longer than 63 bytes");
    }
    let ok = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_';
    if !label.iter().all(ok) {
        return Err("only letters, digits, '-' and '_' are allowed in a host name");
    }
    Ok(())
}

/// The parts of `host` after each dot, longest first: `a.b.c` yields
/// `b.c`, `c`. These are the wildcard keys that can match `host`; the host
/// itself is never one, so `*.example.com` does not match `example.com`.
pub(super) fn wildcard_suffixes(host: &[u8]) -> impl Iterator<Item = &[u8]> {
    memchr::memchr_iter(b'.', host).filter_map(move |dot| host.get(dot + 1..))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(raw: &str) -> Option<String> {
        let mut buf = [0u8; HOST_BUF_BYTES];
        normalize_request_host(raw.as_bytes(), &mut buf)
            .map(|k| String::from_utf8(k.to_vec()).unwrap())
    }

    #[test]
    fn request_hosts_normalize() {
        let table: &[(&str, Option<&str>)] = &[
            ("api.example.com", Some("api.example.com")),
            ("API.Example.COM", Some("api.example.com")),
            ("api.example.com:8080", Some("api.example.com")),
            ("api.example.com.", Some("api.example.com")),
            ("api.example.com.:443", Some("api.example.com")),
            ("api.example.com:", Some("api.example.com")),
            ("10.0.0.1:80", Some("10.0.0.1")),
            ("[::1]:8080", Some("[::1]")),
            ("[0:0:0:0:0:0:0:1]", Some("[::1]")),
            ("[2001:DB8::1]", Some("[2001:db8::1]")),
            ("", None),
            (".", None),
            ("a..b", None),
            (".example.com", None),
            ("example.com:80x", None),
            ("exa mple.com", None),
            ("::1", None),
            ("[::1", None),
            ("[::1]x", None),
            ("[zz::1]", None),
            ("[fe80::1%25eth0]", None),
        ];
        for (raw, want) in table {
            assert_eq!(req(raw).as_deref(), *want, "{raw:?}");
        }
        let long = format!("{}.com", "a.".repeat(130));
        assert_eq!(req(&long), None);
    }

    #[test]
    fn config_patterns_parse() {
        let exact = |s: &str| HostPattern::Exact(s.as_bytes().into());
        let wild = |s: &str| HostPattern::Wildcard(s.as_bytes().into());
        assert_eq!(
            parse_host_pattern("Api.Example.com"),
            Ok(exact("api.example.com"))
        );
        assert_eq!(parse_host_pattern("example.com."), Ok(exact("example.com")));
        assert_eq!(parse_host_pattern("*.Example.com"), Ok(wild("example.com")));
        assert_eq!(parse_host_pattern("::1"), Ok(exact("[::1]")));
        assert_eq!(parse_host_pattern("[::0:1]"), Ok(exact("[::1]")));
        for bad in [
            "*",
            "*example.com",
            "a.*.com",
            "*.",
            "example.com:80",
            "",
            "a b",
            "[::1]:80",
        ] {
            assert!(parse_host_pattern(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn suffixes_longest_first() {
        let got: Vec<&[u8]> = wildcard_suffixes(b"a.b.example.com").collect();
        assert_eq!(got, vec![&b"b.example.com"[..], b"example.com", b"com"]);
        assert_eq!(wildcard_suffixes(b"localhost").count(), 0);
    }
}
