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

use super::chars::{is_ows, is_tchar};
use super::header::{Fields, Header, Headers, Span};
use super::request::{parse_target_form, RequestLine, Semantics, MAX_METHOD_BYTES};
use super::scan::ScanLimits;
use super::simd::{first_ctl, first_non_target};
use super::{Method, RequestHead, ResponseHead, Version};

/// `Some(())` when `buf` starts with a complete, valid request head, which
/// is then in `head`.
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
    let t_end = first_non_target(buf, t_start)?;
    if buf.get(t_end) != Some(&b' ') {
        return None;
    }
    let version = match buf.get(t_end + 1..t_end + 11)? {
        b"HTTP/1.1\r\n" => Version::Http11,
        b"HTTP/1.0\r\n" => Version::Http10,
        _ => return None,
    };
    if t_end + 9 > lim.start_line_bytes {
        return None;
    }
    let target = parse_target_form(buf, t_start, t_end, method).ok()?;
    let line = RequestLine {
        method,
        method_span: Span::new(0, sp1),
        target,
        version,
    };
    head.headers.clear();
    let (head_len, fields) = fields(buf, t_end + 11, lim, &mut head.headers)?;
    let sem = Semantics::of(buf, &line, &fields).ok()?;
    head.fill(&line, head_len, &sem, fields.connection);
    Some(())
}

/// `Some(())` when `buf` starts with a complete, valid response head to a
/// `method` request, which is then in `head`.
pub(crate) fn response(
    buf: &[u8],
    lim: &ScanLimits,
    method: Method,
    head: &mut ResponseHead,
) -> Option<()> {
    let version = match buf.get(..9)? {
        b"HTTP/1.1 " => Version::Http11,
        b"HTTP/1.0 " => Version::Http10,
        _ => return None,
    };
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

/// The CR ending the value-bytes run that starts at `from`: HTAB is the
/// only control byte allowed before it. The caller checks the LF.
#[inline]
fn line_end(buf: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let i = first_ctl(buf, from)?;
        match buf.get(i)? {
            b'\r' => return Some(i),
            b'\t' => from = i + 1,
            _ => return None,
        }
    }
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
        let mut colon = pos;
        while is_tchar(*buf.get(colon)?) {
            colon += 1;
        }
        if colon == pos || buf.get(colon) != Some(&b':') || headers.len() >= lim.fields_count {
            return None;
        }
        let cr = line_end(buf, colon + 1)?;
        if buf.get(cr + 1) != Some(&b'\n') {
            return None;
        }
        let mut v_start = colon + 1;
        while v_start < cr && buf.get(v_start).is_some_and(|&b| is_ows(b)) {
            v_start += 1;
        }
        let mut v_end = cr;
        while v_end > v_start && buf.get(v_end - 1).is_some_and(|&b| is_ows(b)) {
            v_end -= 1;
        }
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
