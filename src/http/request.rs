//! Request heads: request line, target forms, and the request-side framing
//! and connection rules (RFC 9112 §3, §6, §9; RFC 9110 §7.2, §10.1.1).

use super::chars::{
    all_target_bytes, all_tchar, find, is_target_byte, pct_encoding_ok, valid_authority,
    valid_host_in,
};
use super::fast;
use super::header::{self, ConnectionTokens, Expectation, Fields, Header, Headers, Span};
use super::scan::{ScanLimits, Scanner};
use super::{BodyFraming, ParseError, ParseErrorKind, ParseStatus, Version};

/// Size limits for request heads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Request line, CRLF excluded (414 when exceeded).
    pub max_request_line_bytes: usize,
    /// Whole head including the final CRLFCRLF (431 when exceeded).
    pub max_header_bytes: usize,
    /// Field lines (431 when exceeded).
    pub max_headers_count: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line_bytes: 8 * 1024,
            max_header_bytes: 32 * 1024,
            max_headers_count: 100,
        }
    }
}

/// Longest method we accept; real methods are short and a long one is abuse.
pub(crate) const MAX_METHOD_BYTES: usize = 32;
/// RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the
/// request line. A few cover sloppy clients; more is noise.
const MAX_LEADING_EMPTY_LINES: usize = 4;
/// Spans are u32; keep every head well inside that.
const MAX_HEAD_BYTES_CAP: usize = (u32::MAX - 1) as usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Connect,
    Options,
    Trace,
    Patch,
    /// Any other token; see `RequestHead::method_span`.
    Other,
}

impl Method {
    /// Methods are case-sensitive (RFC 9110 §9.1): `get` is `Other`.
    pub(crate) fn from_bytes(m: &[u8]) -> Method {
        match m {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"DELETE" => Method::Delete,
            b"CONNECT" => Method::Connect,
            b"OPTIONS" => Method::Options,
            b"TRACE" => Method::Trace,
            b"PATCH" => Method::Patch,
            _ => Method::Other,
        }
    }

    /// RFC 9110 §9.2.2: GET HEAD PUT DELETE OPTIONS TRACE.
    pub fn is_idempotent(self) -> bool {
        matches!(
            self,
            Method::Get
                | Method::Head
                | Method::Put
                | Method::Delete
                | Method::Options
                | Method::Trace
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetForm {
    /// `/path?query`
    Origin,
    /// `http://authority/path?query` (scheme http or https, any case).
    Absolute,
    /// `host:port`, CONNECT only.
    Authority,
    /// `*`, OPTIONS only.
    Asterisk,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    pub method: Method,
    pub method_span: Span,
    /// The raw request-target.
    pub target: Span,
    pub target_form: TargetForm,
    /// Path without query. Origin form: from the target. Absolute form: the
    /// path part, which may be EMPTY (`http://h` or `http://h?q`) — the proxy
    /// must then write "/". Asterisk form: "*". Authority form: empty
    /// (at the target start).
    pub path: Span,
    /// After '?', without the '?'.
    pub query: Option<Span>,
    pub version: Version,
    pub headers: Headers,
    /// Bytes of the head including skipped leading CRLFs and the final CRLFCRLF.
    pub head_len: usize,
    /// Absolute and authority (CONNECT) forms: the authority of the target
    /// (RFC 9112 §3.2.2). Otherwise the Host header value. `None` only for an
    /// HTTP/1.0 request without Host. Always a valid `host[:port]`.
    pub host: Option<Span>,
    /// None / ContentLength / Chunked (never UntilClose for requests).
    pub framing: BodyFraming,
    pub keep_alive: bool,
    /// `Expect: 100-continue` on an HTTP/1.1 request (1.0 ignores it, §10.1.1).
    pub expect_continue: bool,
    /// Upgrade header value, when Connection has the `upgrade` token (1.1 only).
    pub upgrade: Option<Span>,
    /// Tokens seen in Connection headers; drives `is_hop_by_hop`.
    pub connection: ConnectionTokens,
}

impl Default for RequestHead {
    /// An empty `GET /` head, to be filled by [`RequestParser::parse_into`].
    fn default() -> Self {
        RequestHead {
            method: Method::Get,
            method_span: Span::default(),
            target: Span::default(),
            target_form: TargetForm::Origin,
            path: Span::default(),
            query: None,
            version: Version::Http11,
            headers: Headers::new(),
            head_len: 0,
            host: None,
            framing: BodyFraming::None,
            keep_alive: false,
            expect_continue: false,
            upgrade: None,
            connection: ConnectionTokens::default(),
        }
    }
}

impl RequestHead {
    /// First value of `name_lower`, ASCII case-insensitive.
    pub fn header<'a>(&self, buf: &'a [u8], name_lower: &str) -> Option<&'a [u8]> {
        header::find(&self.headers, buf, name_lower)
    }

    /// Whether a proxy must drop `h` when forwarding (RFC 9110 §7.6.1).
    pub fn is_hop_by_hop(&self, buf: &[u8], h: &Header) -> bool {
        header::is_hop_by_hop(&self.headers, self.connection, buf, h)
    }
}

/// Incremental request-head parser; reuse one per connection.
#[derive(Debug)]
pub struct RequestParser {
    scan: Scanner,
    limits: ScanLimits,
}

impl RequestParser {
    pub fn new(limits: Limits) -> Self {
        let head_bytes = limits.max_header_bytes.min(MAX_HEAD_BYTES_CAP);
        let limits = ScanLimits {
            start_line_bytes: limits.max_request_line_bytes,
            head_bytes,
            fields_count: limits.max_headers_count,
            leading_empty_lines: MAX_LEADING_EMPTY_LINES,
            leading_empty_error: ParseErrorKind::InvalidMethod,
            start_line_error: ParseErrorKind::RequestLineTooLong,
        };
        RequestParser {
            scan: Scanner::default(),
            limits,
        }
    }

    /// Forget a partially scanned head. `parse` does this itself after
    /// Complete or an error, so the next call starts a new head.
    pub fn reset(&mut self) {
        self.scan.reset();
    }

    /// `buf` is the whole head so far, starting at the request's first byte;
    /// it may only grow between calls until Complete. Bytes after `head_len`
    /// (body, pipelined requests) are not looked at.
    ///
    /// A convenience wrapper around [`parse_into`](Self::parse_into) that
    /// returns the head by value (a head is large: hot paths reuse one).
    pub fn parse(&mut self, buf: &[u8]) -> Result<ParseStatus<RequestHead>, ParseError> {
        let mut head = RequestHead::default();
        match self.parse_into(buf, &mut head)? {
            ParseStatus::Complete(()) => Ok(ParseStatus::Complete(head)),
            ParseStatus::Partial => Ok(ParseStatus::Partial),
        }
    }

    /// Like [`parse`](Self::parse), but fills `head` in place (its header
    /// storage is reused, so a head that spilled to the heap once does not
    /// allocate again). `head` holds the parsed head only after
    /// `Complete(())`; after `Partial` or an error its contents are
    /// unspecified (but valid).
    pub fn parse_into(
        &mut self,
        buf: &[u8],
        head: &mut RequestHead,
    ) -> Result<ParseStatus<()>, ParseError> {
        // Most heads arrive whole in the first read: one pass that checks
        // and records everything. It only answers for heads it fully
        // accepts, and leaves the scanner untouched (fresh), so nothing
        // needs resetting; anything else (incomplete, invalid, over a
        // limit) goes the incremental way, which decides the exact outcome.
        if self.scan.is_fresh() && fast::request(buf, &self.limits, head).is_some() {
            return Ok(ParseStatus::Complete(()));
        }
        let res = self.parse_incremental(buf, head);
        if !matches!(res, Ok(ParseStatus::Partial)) {
            self.scan.reset();
        }
        res
    }

    fn parse_incremental(
        &mut self,
        buf: &[u8],
        head: &mut RequestHead,
    ) -> Result<ParseStatus<()>, ParseError> {
        let Some(head_len) = self.scan.scan(buf, &self.limits)? else {
            return Ok(ParseStatus::Partial);
        };
        let (&line_lf, field_lfs) = self
            .scan
            .lfs()
            .split_first()
            .ok_or(ParseErrorKind::InvalidMethod)?;
        let line_lf = line_lf as usize;
        let line = RequestLine::parse(buf, self.scan.start_line_at(), line_lf.saturating_sub(1))?;
        head.method = line.method;
        head.method_span = line.method_span;
        head.target = line.target.span;
        head.target_form = line.target.form;
        head.path = line.target.path;
        head.query = line.target.query;
        head.version = line.version;
        head.headers.clear();
        let fields = Fields::parse(
            buf,
            line_lf + 1,
            field_lfs,
            self.scan.clean(),
            &mut head.headers,
        )?;
        head.head_len = head_len;
        head.apply_fields(buf, line.target.authority, &fields)?;
        Ok(ParseStatus::Complete(()))
    }
}

impl RequestHead {
    /// The request-level meaning of the fields, written into the head:
    /// Host, framing, Expect, keep-alive, Upgrade and the Connection
    /// tokens. The request line (`version`) is already in `self`;
    /// `authority` is the target's, for absolute and authority forms.
    /// Shared by both paths, so they cannot differ here.
    #[inline]
    pub(crate) fn apply_fields(
        &mut self,
        buf: &[u8],
        authority: Option<Span>,
        f: &Fields,
    ) -> Result<(), ParseErrorKind> {
        let version = self.version;
        self.host = request_host(buf, version, authority, f)?;
        self.framing = request_framing(version, f)?;
        self.expect_continue = match f.expect {
            None => false,
            Some(Expectation::Continue) => version == Version::Http11,
            Some(Expectation::Other) => return Err(ParseErrorKind::ExpectationFailed),
        };
        self.keep_alive = f.connection.keep_alive(version);
        self.upgrade = if version == Version::Http11 && f.connection.upgrade {
            f.upgrade
        } else {
            None
        };
        self.connection = f.connection;
        Ok(())
    }
}

pub(crate) struct RequestLine {
    pub method: Method,
    pub method_span: Span,
    pub target: Target,
    pub version: Version,
}

pub(crate) struct Target {
    pub span: Span,
    pub form: TargetForm,
    pub path: Span,
    pub query: Option<Span>,
    pub authority: Option<Span>,
}

impl RequestLine {
    /// `method SP request-target SP HTTP-version` in `buf[start..end]`.
    /// The target lies between the first and the last SP, so a SP inside it
    /// (or a doubled SP) shows up as an invalid target byte.
    fn parse(buf: &[u8], start: usize, end: usize) -> Result<RequestLine, ParseErrorKind> {
        let line = buf.get(start..end).unwrap_or_default();
        let sp1 = find(line, b' ').ok_or(ParseErrorKind::InvalidMethod)?;
        let m = line.get(..sp1).unwrap_or_default();
        if m.is_empty() || m.len() > MAX_METHOD_BYTES || !all_tchar(m) {
            return Err(ParseErrorKind::InvalidMethod);
        }
        let method = Method::from_bytes(m);
        let sp2 = line
            .iter()
            .rposition(|&b| b == b' ')
            .filter(|&i| i > sp1)
            .ok_or(ParseErrorKind::InvalidVersion)?;
        let target = parse_target(buf, start + sp1 + 1, start + sp2, method)?;
        let version = parse_version(line.get(sp2 + 1..).unwrap_or_default())?;
        Ok(RequestLine {
            method,
            method_span: Span::new(start, start + sp1),
            target,
            version,
        })
    }
}

/// `HTTP/1.0` or `HTTP/1.1`; other `HTTP/d.d` (or `HTTP/d`) is 505, the rest 400.
pub(crate) fn parse_version(v: &[u8]) -> Result<Version, ParseErrorKind> {
    match v {
        b"HTTP/1.1" => Ok(Version::Http11),
        b"HTTP/1.0" => Ok(Version::Http10),
        [b'H', b'T', b'T', b'P', b'/', d] if d.is_ascii_digit() => {
            Err(ParseErrorKind::VersionNotSupported)
        }
        [b'H', b'T', b'T', b'P', b'/', a, b'.', b] if a.is_ascii_digit() && b.is_ascii_digit() => {
            Err(ParseErrorKind::VersionNotSupported)
        }
        _ => Err(ParseErrorKind::InvalidVersion),
    }
}

fn parse_target(
    buf: &[u8],
    start: usize,
    end: usize,
    method: Method,
) -> Result<Target, ParseErrorKind> {
    let t = buf.get(start..end).unwrap_or_default();
    if !all_target_bytes(t) {
        // CR keeps its own kind (a framing error); any other bad byte is a bad target.
        let cr = t.iter().copied().find(|&b| !is_target_byte(b)) == Some(b'\r');
        return Err(if cr {
            ParseErrorKind::BareCr
        } else {
            ParseErrorKind::InvalidTarget
        });
    }
    parse_target_form(buf, start, end, method)
}

/// The rest of `parse_target` for a target whose bytes are all target bytes.
pub(crate) fn parse_target_form(
    buf: &[u8],
    start: usize,
    end: usize,
    method: Method,
) -> Result<Target, ParseErrorKind> {
    use ParseErrorKind::InvalidTarget;
    let t = buf.get(start..end).unwrap_or_default();
    if !pct_encoding_ok(t) {
        return Err(InvalidTarget);
    }
    let whole = Span::new(start, end);
    let target = |form, path, query, authority| Target {
        span: whole,
        form,
        path,
        query,
        authority,
    };
    if method == Method::Connect {
        if !valid_authority(t, true) {
            return Err(InvalidTarget);
        }
        return Ok(target(
            TargetForm::Authority,
            Span::new(start, start),
            None,
            Some(whole),
        ));
    }
    match t.first() {
        None => Err(InvalidTarget),
        Some(b'/') => {
            let (path, query) = split_query(buf, start, end);
            Ok(target(TargetForm::Origin, path, query, None))
        }
        Some(b'*') if t.len() == 1 && method == Method::Options => {
            Ok(target(TargetForm::Asterisk, whole, None, None))
        }
        Some(_) => {
            let scheme_len = scheme_len(t).ok_or(InvalidTarget)?;
            let auth_start = start + scheme_len;
            let rest = t.get(scheme_len..).unwrap_or_default();
            let auth_len = rest
                .iter()
                .position(|&b| b == b'/' || b == b'?')
                .unwrap_or(rest.len());
            if !valid_authority(rest.get(..auth_len).unwrap_or_default(), false) {
                return Err(InvalidTarget);
            }
            let (path, query) = split_query(buf, auth_start + auth_len, end);
            let authority = Span::new(auth_start, auth_start + auth_len);
            Ok(target(TargetForm::Absolute, path, query, Some(authority)))
        }
    }
}

/// "http://" or "https://", case-insensitive.
fn scheme_len(t: &[u8]) -> Option<usize> {
    let has = |p: &[u8]| t.get(..p.len()).is_some_and(|s| s.eq_ignore_ascii_case(p));
    if has(b"http://") {
        Some(7)
    } else if has(b"https://") {
        Some(8)
    } else {
        None
    }
}

/// Splits `buf[start..end]` at the first '?'.
fn split_query(buf: &[u8], start: usize, end: usize) -> (Span, Option<Span>) {
    let s = buf.get(start..end).unwrap_or_default();
    match find(s, b'?') {
        Some(q) => (
            Span::new(start, start + q),
            Some(Span::new(start + q + 1, end)),
        ),
        None => (Span::new(start, end), None),
    }
}

/// RFC 9112 §3.2: exactly one valid Host in HTTP/1.1 (at most one in 1.0),
/// even when the target carries the authority, which then wins.
#[inline]
fn request_host(
    buf: &[u8],
    version: Version,
    authority: Option<Span>,
    f: &Fields,
) -> Result<Option<Span>, ParseErrorKind> {
    if f.host_count > 1 {
        return Err(ParseErrorKind::MultipleHost);
    }
    if f.host_count == 0 && version == Version::Http11 {
        return Err(ParseErrorKind::MissingHost);
    }
    if let Some(h) = f.host {
        if !valid_host_in(buf, h.start as usize, h.end as usize) {
            return Err(ParseErrorKind::InvalidHost);
        }
    }
    Ok(authority.or(f.host))
}

/// RFC 9112 §6.1-6.3, strict: requests may only use exactly `chunked`.
fn request_framing(version: Version, f: &Fields) -> Result<BodyFraming, ParseErrorKind> {
    let Some(te) = f.te else {
        return Ok(f
            .content_length
            .map_or(BodyFraming::None, BodyFraming::ContentLength));
    };
    if version == Version::Http10 {
        return Err(ParseErrorKind::TransferEncodingInHttp10);
    }
    if f.content_length.is_some() {
        return Err(ParseErrorKind::ContentLengthWithTransferEncoding);
    }
    te.check()?;
    if te.chunked == 1 && !te.last_is_chunked {
        return Err(ParseErrorKind::ChunkedNotLast);
    }
    if te.other {
        return Err(ParseErrorKind::UnsupportedTransferEncoding);
    }
    Ok(BodyFraming::Chunked)
}
