//! The single pass over a head that arrived whole — the common case: most
//! heads fit in the first read.
//!
//! It finds line ends and checks bytes in the same walk (vectorized searches
//! from `simd`), pushes headers into the caller's head and applies the same
//! semantic rules as the incremental path (shared code). It only ever
//! answers "this head is complete and valid, here it is": on anything else
//! — too short, any invalid byte or form, a limit reached, an unusual shape
//! such as leading empty lines — it returns `None` and the parser runs the
//! incremental path (scanner + line parsers), which owns the exact error and
//! the Partial answer. So behaviour is defined by one path, and the tests,
//! which parse every input whole (this path) and split at every byte (the
//! other path), check that both agree.

use super::chars::{is_tchar, trim_ows};
use super::header::{Fields, Header, Headers, Span};
use super::request::{parse_target_form, MAX_METHOD_BYTES};
use super::scan::ScanLimits;
use super::simd::{field_line, first_target_stop, line_end};
use super::{Method, RequestHead, ResponseHead, TargetForm, Version};

/// `Some(())` when `buf` starts with a complete, valid request head, which
/// is then in `head`. Results go straight into `head` as they are found
/// (after `None` it holds a mix, which the incremental path overwrites).
pub(crate) fn request(buf: &[u8], lim: &ScanLimits, head: &mut RequestHead) -> Option<()> {
    let (method, sp1) = match buf.get(..4)? {
        b"GET " => (Method::Get, 3),
        _ => {
            let n = buf
                .iter()
                .take(MAX_METHOD_BYTES + 1)
                .position(|&b| !is_tchar(b))?;
            if n == 0 || buf.get(n) != Some(&b' ') {
                return None;
            }
            (Method::from_bytes(buf.get(..n)?), n)
        }
    };
    let t_start = sp1 + 1;
    // The target up to its SP, checking percent-encoding and finding the
    // query on the way.
    let mut at = t_start;
    let mut query = None;
    let t_end = loop {
        let i = first_target_stop(buf, at)?;
        match buf.get(i)? {
            b'?' => {
                query.get_or_insert(i);
                at = i + 1;
            }
            b'%' => match buf.get(i + 1..i + 3)? {
                &[a, b] if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() => at = i + 3,
                _ => return None,
            },
            _ => break i,
        }
    };
    if buf.get(t_end) != Some(&b' ') || t_end + 9 > lim.start_line_bytes {
        return None;
    }
    head.version = match version_word(buf, t_end + 1)? {
        HTTP_11 => Version::Http11,
        HTTP_10 => Version::Http10,
        _ => return None,
    };
    if buf.get(t_end + 9..t_end + 11)? != b"\r\n" {
        return None;
    }
    head.method = method;
    head.method_span = Span::new(0, sp1);
    head.target = Span::new(t_start, t_end);
    let authority = if method != Method::Connect && buf.get(t_start) == Some(&b'/') {
        head.target_form = TargetForm::Origin;
        head.path = Span::new(t_start, query.unwrap_or(t_end));
        head.query = query.map(|q| Span::new(q + 1, t_end));
        None
    } else {
        let t = parse_target_form(buf, t_start, t_end, method).ok()?;
        head.target_form = t.form;
        head.path = t.path;
        head.query = t.query;
        t.authority
    };
    head.headers.clear();
    let (head_len, fields) = fields(buf, t_end + 11, lim, &mut head.headers)?;
    head.head_len = head_len;
    head.apply_fields(buf, authority, &fields).ok()
}

const HTTP_11: u64 = u64::from_le_bytes(*b"HTTP/1.1");
const HTTP_10: u64 = u64::from_le_bytes(*b"HTTP/1.0");

/// The 8 bytes at `at` as one word, to compare with `HTTP_11` / `HTTP_10`.
#[inline]
fn version_word(buf: &[u8], at: usize) -> Option<u64> {
    let w = buf.get(at..at + 8)?;
    Some(u64::from_le_bytes(<[u8; 8]>::try_from(w).ok()?))
}

/// `Some(())` when `buf` starts with a complete, valid response head to a
/// `method` request, which is then in `head`.
pub(crate) fn response(
    buf: &[u8],
    lim: &ScanLimits,
    method: Method,
    head: &mut ResponseHead,
) -> Option<()> {
    let version = match version_word(buf, 0)? {
        HTTP_11 => Version::Http11,
        HTTP_10 => Version::Http10,
        _ => return None,
    };
    if buf.get(8) != Some(&b' ') {
        return None;
    }
    let status = match *buf.get(9..12)? {
        [a @ b'1'..=b'5', b @ b'0'..=b'9', c @ b'0'..=b'9'] => {
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
        }
        _ => return None,
    };
    let (reason, cr) = match buf.get(12)? {
        b'\r' => (Span::new(12, 12), 12),
        b' ' => {
            let cr = line_end(buf, 13)?;
            (Span::new(13, cr), cr)
        }
        _ => return None,
    };
    if buf.get(cr + 1) != Some(&b'\n') || cr > lim.start_line_bytes {
        return None;
    }
    head.headers.clear();
    let (head_len, fields) = fields(buf, cr + 2, lim, &mut head.headers)?;
    head.fill(version, status, reason, head_len, method, &fields)
        .ok()
}

/// The field lines from `pos` through the empty line: `(head_len, fields)`.
#[inline]
fn fields(
    buf: &[u8],
    mut pos: usize,
    lim: &ScanLimits,
    headers: &mut Headers,
) -> Option<(usize, Fields)> {
    let mut f = Fields::default();
    loop {
        if *buf.get(pos)? == b'\r' {
            if buf.get(pos + 1) != Some(&b'\n') {
                return None;
            }
            let head_len = pos + 2;
            return (head_len <= lim.head_bytes).then_some((head_len, f));
        }
        let (colon, cr) = field_line(buf, pos)?;
        if buf.get(cr + 1) != Some(&b'\n') || headers.len() >= lim.fields_count {
            return None;
        }
        let (a, b) = trim_ows(buf.get(colon + 1..cr)?);
        let (v_start, v_end) = (colon + 1 + a, colon + 1 + b);
        let h = Header {
            name: Span::new(pos, colon),
            value: Span::new(v_start, v_end),
            line: Span::new(pos, cr),
        };
        f.note(buf, &h).ok()?;
        headers.push(h);
        pos = cr + 2;
    }
}
