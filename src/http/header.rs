//! Header fields: spans, one field line, the per-head summary of the fields
//! that matter for framing and connection management, and the lookups shared
//! by request and response heads.

use smallvec::SmallVec;
use std::ops::Range;

use super::chars::{
    all_tchar, all_value_bytes, bad_byte_kind, is_ows, is_tchar, is_value_byte, list_elements,
    parse_decimal, trim_ows,
};
use super::{ParseErrorKind, Version};

/// Offsets into the buffer the head was parsed from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    /// Heads are bounded by `max_header_bytes`, which the parsers clamp below
    /// `u32::MAX`, so the casts cannot truncate.
    pub(crate) fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    /// The bytes of this span; empty if `buf` is not the buffer it came from
    /// and the span does not fit (never panics).
    pub fn get<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        buf.get(self.range()).unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn range(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub name: Span,
    /// Leading and trailing OWS removed.
    pub value: Span,
    /// The whole field line without its CRLF, for verbatim forwarding.
    pub line: Span,
}

/// How the body that follows a head is delimited (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFraming {
    None,
    ContentLength(u64),
    Chunked,
    /// Responses only: the body runs until the server closes the connection.
    UntilClose,
}

/// What the Connection header(s) said. `other` is set when some token names
/// another field, which makes that field hop-by-hop.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnectionTokens {
    pub close: bool,
    pub keep_alive: bool,
    pub upgrade: bool,
    pub other: bool,
}

impl ConnectionTokens {
    /// Whether the connection persists after this message, before framing
    /// is considered: HTTP/1.1 unless `close`, HTTP/1.0 only with `keep-alive`
    /// (RFC 9112 §9.3).
    pub fn keep_alive(&self, version: Version) -> bool {
        match version {
            Version::Http11 => !self.close,
            Version::Http10 => self.keep_alive && !self.close,
        }
    }
}

pub(crate) type Headers = SmallVec<[Header; 32]>;

/// Parses the field line `buf[start..end]` (CRLF excluded):
/// `field-name ":" OWS field-value OWS`.
/// `clean`: the scanner saw no CTL/DEL and no CR outside line ends in the
/// head, so the value bytes need no second look.
pub(crate) fn parse_field_line(
    buf: &[u8],
    start: usize,
    end: usize,
    clean: bool,
) -> Result<Header, ParseErrorKind> {
    let line = buf.get(start..end).unwrap_or_default();
    // Names are short: a plain loop beats a memchr call for ':'.
    let colon = line
        .iter()
        .position(|&b| !is_tchar(b))
        .unwrap_or(line.len());
    if colon == 0 || line.get(colon) != Some(&b':') {
        return Err(name_error(line, colon));
    }
    let raw = line.get(colon + 1..).unwrap_or_default();
    if !clean && !all_value_bytes(raw) {
        let bad = raw.iter().copied().find(|&b| !is_value_byte(b));
        return Err(bad.map_or(ParseErrorKind::ControlByte, |b| {
            bad_byte_kind(b, ParseErrorKind::ControlByte)
        }));
    }
    let (a, b) = trim_ows(raw);
    let value_at = start + colon + 1;
    Ok(Header {
        name: Span::new(start, start + colon),
        value: Span::new(value_at + a, value_at + b),
        line: Span::new(start, end),
    })
}

/// Why the name part of `line` is not `1*tchar ":"`; `at` is the first non-tchar.
fn name_error(line: &[u8], at: usize) -> ParseErrorKind {
    use ParseErrorKind::*;
    match line.get(at) {
        Some(b' ' | b'\t') if at == 0 => ObsFold,
        Some(b' ' | b'\t') => {
            let rest = line.get(at..).unwrap_or_default();
            match rest.iter().find(|&&b| !is_ows(b)) {
                Some(b':') => WhitespaceBeforeColon,
                _ => InvalidHeaderName,
            }
        }
        Some(&b) if b != b':' => bad_byte_kind(b, InvalidHeaderName),
        _ => InvalidHeaderName, // no colon at all, or an empty name
    }
}

/// Fields the codec interprets, found by length + case-insensitive compare
/// (no lowercasing into a buffer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Known {
    Host,
    ContentLength,
    TransferEncoding,
    Connection,
    Expect,
    Upgrade,
    KeepAlive,
    ProxyConnection,
    Te,
    Trailer,
    ProxyAuthenticate,
    ProxyAuthorization,
    Other,
}

impl Known {
    /// `name` must be a token (1*tchar), as every parsed field name is.
    /// Inlined: a length dispatch and a word compare or two.
    #[inline(always)]
    pub(crate) fn of(name: &[u8]) -> Known {
        let is = |s: &[u8]| eq_token_lower(name, s);
        match name.len() {
            2 if is(b"te") => Known::Te,
            4 if is(b"host") => Known::Host,
            6 if is(b"expect") => Known::Expect,
            7 if is(b"upgrade") => Known::Upgrade,
            7 if is(b"trailer") => Known::Trailer,
            10 if is(b"connection") => Known::Connection,
            10 if is(b"keep-alive") => Known::KeepAlive,
            14 if is(b"content-length") => Known::ContentLength,
            16 if is(b"proxy-connection") => Known::ProxyConnection,
            17 if is(b"transfer-encoding") => Known::TransferEncoding,
            18 if is(b"proxy-authenticate") => Known::ProxyAuthenticate,
            19 if is(b"proxy-authorization") => Known::ProxyAuthorization,
            _ => Known::Other,
        }
    }

    fn is_hop_by_hop(self) -> bool {
        !matches!(
            self,
            Known::Host | Known::ContentLength | Known::Expect | Known::Other
        )
    }
}

/// Whether a parsed field name (a token, as every name the codec accepted
/// is) is `lower`, a lowercase literal of letters and `-`, in any case: a
/// word compare or two instead of a byte loop.
#[inline(always)]
pub fn field_name_is(name: &[u8], lower: &[u8]) -> bool {
    eq_token_lower(name, lower)
}

/// ASCII case-insensitive compare of a token with a lowercase literal made
/// of letters and '-'. Setting bit 0x20 lowercases letters and leaves '-'
/// as is; no other tchar becomes a lowercase letter or '-' that way, so the
/// compare is exact for token input. It compares little-endian words (the
/// last one overlapping the one before) and leaves at the first that
/// differs: `lower` is a literal, so once inlined its words are constants
/// and a 4-byte name costs one load, one OR and one compare.
#[inline(always)]
fn eq_token_lower(name: &[u8], lower: &[u8]) -> bool {
    let n = lower.len();
    if name.len() != n || n == 0 {
        return false;
    }
    let w = match n {
        8.. => 8,
        4..=7 => 4,
        2..=3 => 2,
        _ => 1,
    };
    let case = 0x2020_2020_2020_2020 >> (64 - 8 * w);
    let mut at = 0;
    loop {
        // Most names that share a length with a known one differ in the
        // first word: leave at once.
        let i = at.min(n - w);
        if le_word(name, i, w) | case != le_word(lower, i, w) {
            return false;
        }
        if i + w >= n {
            return true;
        }
        at += w;
    }
}

/// The `w` (1, 2, 4 or 8) bytes of `s` at `at` as a little-endian number;
/// 0 if they are not all there.
#[inline(always)]
fn le_word(s: &[u8], at: usize, w: usize) -> u64 {
    let Some(b) = s.get(at..at + w) else {
        return 0;
    };
    match w {
        8 => <[u8; 8]>::try_from(b).map_or(0, u64::from_le_bytes),
        4 => <[u8; 4]>::try_from(b).map_or(0, |b| u64::from(u32::from_le_bytes(b))),
        2 => <[u8; 2]>::try_from(b).map_or(0, |b| u64::from(u16::from_le_bytes(b))),
        _ => b.first().map_or(0, |&b| u64::from(b)),
    }
}

/// The transfer codings listed across all Transfer-Encoding lines, in order.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TeCodings {
    pub chunked: u32,
    pub last_is_chunked: bool,
    pub other: bool,
    /// An element that is not a bare token (parameters included), or no element.
    pub invalid: bool,
}

impl TeCodings {
    fn note(&mut self, value: &[u8]) {
        for coding in list_elements(value) {
            if coding.eq_ignore_ascii_case(b"chunked") {
                self.chunked += 1;
                self.last_is_chunked = true;
            } else {
                self.invalid |= !all_tchar(coding);
                self.other = true;
                self.last_is_chunked = false;
            }
        }
    }

    /// Checks shared by requests and responses: a bare token list, chunked at most once.
    pub(crate) fn check(&self) -> Result<(), ParseErrorKind> {
        if self.invalid || (self.chunked == 0 && !self.other) {
            return Err(ParseErrorKind::InvalidTransferEncoding);
        }
        if self.chunked > 1 {
            return Err(ParseErrorKind::ChunkedNotLast);
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expectation {
    Continue,
    Other,
}

/// What one pass over the field lines found that the framing/connection
/// rules need. Semantic checks that depend on the start line (version,
/// method, status) happen in request.rs / response.rs. The headers
/// themselves are pushed straight into the head being built: a head is
/// ~900 bytes and every move of it shows up in benchmarks.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    pub host: Option<Span>,
    pub host_count: u32,
    pub content_length: Option<u64>,
    pub te: Option<TeCodings>,
    pub connection: ConnectionTokens,
    pub expect: Option<Expectation>,
    pub upgrade: Option<Span>,
}

impl Fields {
    /// `first` is the offset of the first field line; `lfs` the offsets of the
    /// LF ending each field line (the scanner has checked each has a CR before it).
    pub(crate) fn parse(
        buf: &[u8],
        first: usize,
        lfs: &[u32],
        clean: bool,
        headers: &mut Headers,
    ) -> Result<Fields, ParseErrorKind> {
        let mut f = Fields::default();
        let mut start = first;
        for &lf in lfs {
            let lf = lf as usize;
            let h = parse_field_line(buf, start, lf.saturating_sub(1), clean)?;
            f.note(buf, &h)?;
            headers.push(h);
            start = lf + 1;
        }
        Ok(f)
    }

    /// Inlined into the field loops: most fields are none of the known
    /// ones, and those then cost only the name dispatch.
    #[inline(always)]
    pub(crate) fn note(&mut self, buf: &[u8], h: &Header) -> Result<(), ParseErrorKind> {
        match Known::of(h.name.get(buf)) {
            Known::Other => Ok(()),
            known => self.note_known(known, buf, h),
        }
    }

    #[inline(never)]
    fn note_known(&mut self, known: Known, buf: &[u8], h: &Header) -> Result<(), ParseErrorKind> {
        let value = h.value.get(buf);
        match known {
            Known::Host => {
                self.host_count += 1;
                self.host.get_or_insert(h.value);
            }
            Known::ContentLength => self.note_content_length(value)?,
            Known::TransferEncoding => self.te.get_or_insert_with(TeCodings::default).note(value),
            Known::Connection => self.note_connection(value)?,
            Known::Expect => {
                let e = if value.eq_ignore_ascii_case(b"100-continue") {
                    Expectation::Continue
                } else {
                    Expectation::Other
                };
                if self.expect != Some(Expectation::Other) {
                    self.expect = Some(e);
                }
            }
            Known::Upgrade => {
                self.upgrade.get_or_insert(h.value);
            }
            _ => {}
        }
        Ok(())
    }

    /// `1*DIGIT`, or a list of identical values (RFC 9110 §8.6 lets a
    /// recipient accept that); empty elements are not accepted here.
    fn note_content_length(&mut self, value: &[u8]) -> Result<(), ParseErrorKind> {
        for elem in value.split(|&b| b == b',') {
            let (a, b) = trim_ows(elem);
            let n = elem
                .get(a..b)
                .and_then(parse_decimal)
                .ok_or(ParseErrorKind::InvalidContentLength)?;
            match self.content_length {
                Some(prev) if prev != n => return Err(ParseErrorKind::ConflictingContentLength),
                _ => self.content_length = Some(n),
            }
        }
        Ok(())
    }

    fn note_connection(&mut self, value: &[u8]) -> Result<(), ParseErrorKind> {
        let c = &mut self.connection;
        for token in list_elements(value) {
            if token.eq_ignore_ascii_case(b"close") {
                c.close = true;
            } else if token.eq_ignore_ascii_case(b"keep-alive") {
                c.keep_alive = true;
            } else if token.eq_ignore_ascii_case(b"upgrade") {
                c.upgrade = true;
            } else if all_tchar(token) {
                c.other = true;
            } else {
                return Err(ParseErrorKind::InvalidConnection);
            }
        }
        Ok(())
    }
}

/// First value of the field `name_lower`, ASCII case-insensitive.
pub(crate) fn find<'a>(headers: &[Header], buf: &'a [u8], name_lower: &str) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|h| h.name.get(buf).eq_ignore_ascii_case(name_lower.as_bytes()))
        .map(|h| h.value.get(buf))
}

/// Fixed hop-by-hop fields plus any field a Connection token names
/// (RFC 9110 §7.6.1). The Connection scan only runs when a token other than
/// close / keep-alive / upgrade was seen, which is rare.
pub(crate) fn is_hop_by_hop(
    headers: &[Header],
    conn: ConnectionTokens,
    buf: &[u8],
    h: &Header,
) -> bool {
    let name = h.name.get(buf);
    if Known::of(name).is_hop_by_hop() {
        return true;
    }
    conn.other
        && headers
            .iter()
            .filter(|c| Known::of(c.name.get(buf)) == Known::Connection)
            .any(|c| list_elements(c.value.get(buf)).any(|t| t.eq_ignore_ascii_case(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every known name in every case mix is found; every other token of
    /// the same length (one byte changed to any tchar) is not.
    #[test]
    fn known_names_in_any_case_and_near_misses() {
        let known: &[(&[u8], Known)] = &[
            (b"te", Known::Te),
            (b"host", Known::Host),
            (b"expect", Known::Expect),
            (b"upgrade", Known::Upgrade),
            (b"trailer", Known::Trailer),
            (b"connection", Known::Connection),
            (b"keep-alive", Known::KeepAlive),
            (b"content-length", Known::ContentLength),
            (b"proxy-connection", Known::ProxyConnection),
            (b"transfer-encoding", Known::TransferEncoding),
            (b"proxy-authenticate", Known::ProxyAuthenticate),
            (b"proxy-authorization", Known::ProxyAuthorization),
        ];
        let tchars: Vec<u8> = (0..=255u8).filter(|&b| is_tchar(b)).collect();
        for &(name, want) in known {
            for mask in 0..(1u32 << name.len().min(12)) {
                let mixed: Vec<u8> = name
                    .iter()
                    .enumerate()
                    .map(|(i, &b)| {
                        if i < 12 && mask & (1 << i) != 0 {
                            b.to_ascii_uppercase()
                        } else {
                            b
                        }
                    })
                    .collect();
                assert_eq!(
                    Known::of(&mixed),
                    want,
                    "{:?}",
                    String::from_utf8_lossy(&mixed)
                );
            }
            for i in 0..name.len() {
                for &t in &tchars {
                    let mut near = name.to_vec();
                    near[i] = t;
                    let want = if near.eq_ignore_ascii_case(name) {
                        want
                    } else {
                        Known::Other
                    };
                    assert_eq!(
                        Known::of(&near),
                        want,
                        "{:?}",
                        String::from_utf8_lossy(&near)
                    );
                }
            }
            assert_eq!(Known::of(&name[1..]), Known::Other);
            assert_eq!(Known::of(&[name, b"x"].concat()), Known::Other);
        }
        assert_eq!(Known::of(b""), Known::Other);
        assert_eq!(Known::of(b"x"), Known::Other);
    }
}
