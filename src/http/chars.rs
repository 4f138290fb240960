//! Byte classes from RFC 9110 §5.6.2 (tchar), §5.5 (field values) and RFC 3986
//! (hosts, percent-encoding).
//!
//! Tables are built at compile time. Checks that run over long slices (values,
//! targets) are branch-free folds without early exit so LLVM can vectorize them;
//! the slow path that finds *which* byte is bad runs only on error.

use super::simd::simple_host_len;
use super::ParseErrorKind;

const fn alnum_plus(extra: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).is_ascii_alphanumeric();
        i += 1;
    }
    let mut j = 0;
    while j < extra.len() {
        t[extra[j] as usize] = true;
        j += 1;
    }
    t
}

/// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
static TCHAR: [bool; 256] = alnum_plus(b"!#$%&'*+-.^_`|~");

/// reg-name bytes: unreserved / sub-delims, minus ',' — a comma in Host
/// looks like a list and some back ends split on it. pct-encoded ('%') is
/// allowed too, handled apart in `valid_authority`.
static HOST_PLAIN: [bool; 256] = alnum_plus(b"-._~!$&'()*+;=");

#[inline]
pub(crate) fn is_tchar(b: u8) -> bool {
    TCHAR[b as usize]
}

/// Branch-free (no early exit): names are short and the exit branch mispredicts.
#[inline]
pub(crate) fn all_tchar(s: &[u8]) -> bool {
    s.iter().fold(true, |ok, &b| ok & is_tchar(b))
}

#[inline]
pub(crate) fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// field-vchar / SP / HTAB (obs-text 0x80..=0xFF included).
#[inline]
pub(crate) fn is_value_byte(b: u8) -> bool {
    b == b'\t' || (b >= 0x20 && b != 0x7f)
}

/// The accumulator is a u8, not a bool, so LLVM vectorizes with byte lanes.
#[inline]
pub(crate) fn all_value_bytes(s: &[u8]) -> bool {
    s.iter()
        .fold(0u8, |bad, &b| bad | u8::from(!is_value_byte(b)))
        == 0
}

/// Request-target bytes: visible ASCII except '#' (fragments are never sent).
#[inline]
pub(crate) fn is_target_byte(b: u8) -> bool {
    b > 0x20 && b < 0x7f && b != b'#'
}

#[inline]
pub(crate) fn all_target_bytes(s: &[u8]) -> bool {
    s.iter()
        .fold(0u8, |bad, &b| bad | u8::from(!is_target_byte(b)))
        == 0
}

/// The error for a byte that is not allowed where it appeared.
pub(crate) fn bad_byte_kind(b: u8, otherwise: ParseErrorKind) -> ParseErrorKind {
    match b {
        b'\r' => ParseErrorKind::BareCr,
        b'\n' => ParseErrorKind::BareLf,
        0..=0x1f | 0x7f => ParseErrorKind::ControlByte,
        _ => otherwise,
    }
}

/// Offsets `(start, end)` of `s` with leading and trailing SP/HTAB removed.
#[inline]
pub(crate) fn trim_ows(s: &[u8]) -> (usize, usize) {
    // Field values mostly have exactly one SP before them and none after.
    let start = match s {
        [b' ', b, ..] if !is_ows(*b) => 1,
        _ => s.iter().position(|&b| !is_ows(b)).unwrap_or(s.len()),
    };
    let end = match s.last() {
        Some(&b) if !is_ows(b) => s.len(),
        _ => s.iter().rposition(|&b| !is_ows(b)).map_or(start, |i| i + 1),
    };
    (start, end)
}

pub(crate) fn trimmed(s: &[u8]) -> &[u8] {
    let (a, b) = trim_ows(s);
    s.get(a..b).unwrap_or_default()
}

/// Elements of a comma-separated list (RFC 9110 §5.6.1), OWS-trimmed, empty
/// elements skipped as the RFC requires of recipients.
pub(crate) fn list_elements(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&b| b == b',')
        .map(trimmed)
        .filter(|e| !e.is_empty())
}

#[inline]
pub(crate) fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// First `b` in `s`. The strings searched in a head (methods, targets,
/// hosts) are short, where a plain loop beats memchr's call overhead.
#[inline]
pub(crate) fn find(s: &[u8], b: u8) -> Option<usize> {
    s.iter().position(|&x| x == b)
}

/// Every '%' is followed by two hex digits (RFC 3986 pct-encoded).
pub(crate) fn pct_encoding_ok(s: &[u8]) -> bool {
    let mut rest = s;
    while let Some(i) = find(rest, b'%') {
        match rest.get(i + 1..i + 3) {
            Some(&[a, b]) if hex_value(a).is_some() && hex_value(b).is_some() => {}
            _ => return false,
        }
        rest = rest.get(i + 3..).unwrap_or_default();
    }
    true
}

/// 1*DIGIT as u64; None on empty, any other byte, or overflow.
pub(crate) fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |n, &b| {
        let d = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// Length of the run of plain reg-name bytes at the start of `s`, looked at
/// four bytes per step (hosts are short; a per-byte exit branch dominates).
#[inline]
fn plain_host_len(s: &[u8]) -> usize {
    let plain = |b: &u8| HOST_PLAIN[*b as usize];
    let mut quads = s.chunks_exact(4);
    let mut n = 0;
    for q in quads.by_ref() {
        if !(q.iter().fold(true, |ok, b| ok & plain(b))) {
            break;
        }
        n += 4;
    }
    let rest = s.get(n..).unwrap_or_default();
    n + rest.iter().position(|b| !plain(b)).unwrap_or(rest.len())
}

/// `valid_authority(&buf[start..end], false)`, for a Host value inside the
/// head buffer: a host made of letters, digits, '-' and '.' only (almost
/// all of them) is checked 16 bytes at a time, then the port; anything
/// else takes `valid_authority`.
#[inline]
pub(crate) fn valid_host_in(buf: &[u8], start: usize, end: usize) -> bool {
    if let Some(n) = simple_host_len(buf, start, end) {
        if n > 0 {
            let rest = buf.get(start + n..end).unwrap_or_default();
            match rest {
                [] => return true,
                [b':', digits @ ..] => return valid_port(digits),
                _ => {}
            }
        }
    }
    valid_authority(buf.get(start..end).unwrap_or_default(), false)
}

/// 1..=5 digits, at most 65535.
#[inline]
fn valid_port(digits: &[u8]) -> bool {
    digits.len() <= 5 && parse_decimal(digits).is_some_and(|p| p <= 65535)
}

/// `host [":" port]` as in Host and the authority of a target (no userinfo).
/// host is a reg-name (which covers IPv4) or an IP-literal in brackets; the
/// port, when present, is 1..=5 digits and at most 65535. We are stricter than
/// RFC 3986 (which allows an empty host and an empty port) because neither can
/// be routed.
pub(crate) fn valid_authority(s: &[u8], port_required: bool) -> bool {
    let (host_ok, port) = if let Some(inner) = s.strip_prefix(b"[") {
        match find(inner, b']') {
            Some(close) => {
                let ip = inner.get(..close).unwrap_or_default();
                let ok = !ip.is_empty()
                    && ip
                        .iter()
                        .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
                (ok, inner.get(close + 1..).unwrap_or_default())
            }
            None => return false,
        }
    } else {
        // Mostly plain bytes up to the end or the port's ':'.
        let plain = plain_host_len(s);
        let (colon, pct) = match s.get(plain) {
            None | Some(b':') => (plain, false),
            Some(b'%') => {
                let colon = find(s, b':').unwrap_or(s.len());
                let host = s.get(..colon).unwrap_or_default();
                if !host.iter().all(|&b| HOST_PLAIN[b as usize] || b == b'%') {
                    return false;
                }
                (colon, true)
            }
            Some(_) => return false,
        };
        let host = s.get(..colon).unwrap_or_default();
        let ok = !host.is_empty() && (!pct || pct_encoding_ok(host));
        (ok, s.get(colon..).unwrap_or_default())
    };
    if !host_ok {
        return false;
    }
    match port.strip_prefix(b":") {
        None => port.is_empty() && !port_required,
        Some(digits) => valid_port(digits),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables() {
        assert!(is_tchar(b'a') && is_tchar(b'~') && is_tchar(b'9'));
        assert!(!is_tchar(b':') && !is_tchar(b' ') && !is_tchar(b'"') && !is_tchar(0x80));
        assert!(is_value_byte(b'\t') && is_value_byte(0xff) && is_value_byte(b' '));
        assert!(!is_value_byte(0) && !is_value_byte(b'\r') && !is_value_byte(0x7f));
        assert!(!all_target_bytes(b"/a#b") && all_target_bytes(b"/a?b=c"));
    }

    #[test]
    fn decimal() {
        assert_eq!(parse_decimal(b"0"), Some(0));
        assert_eq!(parse_decimal(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_decimal(b"18446744073709551616"), None);
        for bad in [&b""[..], b"+5", b"-5", b"0x10", b" 5", b"5 "] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn authority() {
        for ok in [
            &b"a"[..],
            b"example.com:80",
            b"1.2.3.4",
            b"[::1]:8080",
            b"a%20b",
            b"x:65535",
        ] {
            assert!(valid_authority(ok, false), "{ok:?}");
        }
        for bad in [
            &b""[..],
            b":80",
            b"a:",
            b"a:65536",
            b"a:123456",
            b"u@h",
            b"a b",
            b"a,b",
            b"[::1",
            b"[]",
            b"[::1]x",
            b"a%2",
            b"h:8o",
        ] {
            assert!(!valid_authority(bad, false), "{bad:?}");
        }
        assert!(!valid_authority(b"example.com", true));
        assert!(valid_authority(b"example.com:443", true));
    }

    /// `valid_host_in` is `valid_authority` on the span, wherever the span
    /// sits in the buffer (start, middle, end; short and long buffers).
    #[test]
    fn host_in_buffer_agrees_with_valid_authority() {
        let hosts: &[&[u8]] = &[
            b"",
            b"a",
            b"example.com",
            b"EXAMPLE.com:80",
            b"example.com:",
            b"example.com:0",
            b"example.com:65535",
            b"example.com:65536",
            b"example.com:123456",
            b"example.com:08080",
            b"example.com:8o",
            b"example.com::80",
            b":80",
            b"www.example-shop.com",
            b"a-very-long-host-name.with.many.labels.example.org:8443",
            b"under_score.example",
            b"a%20b:1",
            b"a%2",
            b"[::1]:8080",
            b"[::1",
            b"a,b",
            b"u@h",
            b"a b",
            b"h\xff",
            b"0123456789abcdef",
            b"0123456789abcdef:1",
            b"0123456789abcde_",
        ];
        for h in hosts {
            for pre in [0, 1, 5, 16, 21] {
                for post in [0, 1, 4, 15, 16] {
                    let mut buf = vec![b'x'; pre];
                    buf.extend_from_slice(h);
                    buf.extend(std::iter::repeat_n(b'\r', post));
                    let end = pre + h.len();
                    assert_eq!(
                        valid_host_in(&buf, pre, end),
                        valid_authority(h, false),
                        "{:?} at {pre} with {post} after",
                        String::from_utf8_lossy(h)
                    );
                }
            }
        }
    }

    #[test]
    fn pct() {
        assert!(pct_encoding_ok(b"/a%20b%2F"));
        assert!(!pct_encoding_ok(b"/a%2"));
        assert!(!pct_encoding_ok(b"/a%zz"));
        assert!(!pct_encoding_ok(b"%"));
    }
}
