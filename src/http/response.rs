//! Response heads: status line and the response framing rules of
//! RFC 9112 §6.3, which depend on the request method and the status.

use super::chars::{all_value_bytes, bad_byte_kind, find, is_value_byte};
use super::fast;
use super::header::{self, ConnectionTokens, Fields, Header, Headers, Span};
use super::request::parse_version;
use super::scan::{ScanLimits, Scanner};
use super::{BodyFraming, Method, ParseError, ParseErrorKind, ParseStatus, Version};

const MAX_HEAD_BYTES_CAP: usize = (u32::MAX - 1) as usize;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    pub version: Version,
    pub status: u16,
    /// Possibly empty (also when the status line has no SP after the code).
    pub reason: Span,
    pub headers: Headers,
    /// Bytes of the head including the final CRLFCRLF.
    pub head_len: usize,
    pub framing: BodyFraming,
    /// Version default and Connection tokens; always false for UntilClose.
    pub keep_alive: bool,
    pub connection: ConnectionTokens,
}

impl Default for ResponseHead {
    /// An empty `200` head, to be filled by [`ResponseParser::parse_into`].
    fn default() -> Self {
        ResponseHead {
            version: Version::Http11,
            status: 200,
            reason: Span::default(),
            headers: Headers::new(),
            head_len: 0,
            framing: BodyFraming::None,
            keep_alive: false,
            connection: ConnectionTokens::default(),
        }
    }
}

impl ResponseHead {
    /// First value of `name_lower`, ASCII case-insensitive.
    pub fn header<'a>(&self, buf: &'a [u8], name_lower: &str) -> Option<&'a [u8]> {
        header::find(&self.headers, buf, name_lower)
    }

    /// Whether a proxy must drop `h` when forwarding (RFC 9110 §7.6.1).
    pub fn is_hop_by_hop(&self, buf: &[u8], h: &Header) -> bool {
        header::is_hop_by_hop(&self.headers, self.connection, buf, h)
    }
}

/// Incremental response-head parser; reuse one per upstream connection.
#[derive(Debug)]
pub struct ResponseParser {
    scan: Scanner,
    limits: ScanLimits,
}

impl ResponseParser {
    pub fn new(max_header_bytes: usize, max_headers_count: usize) -> Self {
        let head_bytes = max_header_bytes.min(MAX_HEAD_BYTES_CAP);
        let limits = ScanLimits {
            // The status line is only bounded by the head limit.
            start_line_bytes: head_bytes,
            head_bytes,
            fields_count: max_headers_count,
            // An empty line before a status line means the previous body was
            // mis-framed: never skip it.
            leading_empty_lines: 0,
            leading_empty_error: ParseErrorKind::InvalidVersion,
            start_line_error: ParseErrorKind::HeadersTooLarge,
        };
        ResponseParser {
            scan: Scanner::default(),
            limits,
        }
    }

    /// Forget a partially scanned head (`parse` does this after Complete or an error).
    pub fn reset(&mut self) {
        self.scan.reset();
    }

    /// `buf` is the whole head so far; it may only grow until Complete.
    /// 1xx heads (100 Continue, 101 Switching Protocols) are returned like any
    /// other; the caller decides whether to read another head.
    ///
    /// A convenience wrapper around [`parse_into`](Self::parse_into) that
    /// returns the head by value (a head is large: hot paths reuse one).
    pub fn parse(
        &mut self,
        buf: &[u8],
        request_method: Method,
    ) -> Result<ParseStatus<ResponseHead>, ParseError> {
        let mut head = ResponseHead::default();
        match self.parse_into(buf, request_method, &mut head)? {
            ParseStatus::Complete(()) => Ok(ParseStatus::Complete(head)),
            ParseStatus::Partial => Ok(ParseStatus::Partial),
        }
    }

    /// Like [`parse`](Self::parse), but fills `head` in place (its header
    /// storage is reused). `head` holds the parsed head only after
    /// `Complete(())`; after `Partial` or an error its contents are
    /// unspecified (but valid).
    pub fn parse_into(
        &mut self,
        buf: &[u8],
        request_method: Method,
        head: &mut ResponseHead,
    ) -> Result<ParseStatus<()>, ParseError> {
        let res = self.parse_inner(buf, request_method, head);
        if !matches!(res, Ok(ParseStatus::Partial)) {
            self.scan.reset();
        }
        res
    }

    fn parse_inner(
        &mut self,
        buf: &[u8],
        method: Method,
        head: &mut ResponseHead,
    ) -> Result<ParseStatus<()>, ParseError> {
        // One pass for a head that is whole and valid; anything else goes
        // the incremental way (see RequestParser::parse_inner).
        if self.scan.is_fresh() && fast::response(buf, &self.limits, method, head).is_some() {
            return Ok(ParseStatus::Complete(()));
        }
        let Some(head_len) = self.scan.scan(buf, &self.limits)? else {
            return Ok(ParseStatus::Partial);
        };
        let (&line_lf, field_lfs) = self
            .scan
            .lfs()
            .split_first()
            .ok_or(ParseErrorKind::InvalidVersion)?;
        let line_lf = line_lf as usize;
        let (version, status, reason) =
            parse_status_line(buf, self.scan.start_line_at(), line_lf.saturating_sub(1))?;
        head.headers.clear();
        let f = Fields::parse(
            buf,
            line_lf + 1,
            field_lfs,
            self.scan.clean(),
            &mut head.headers,
        )?;
        head.fill(version, status, reason, head_len, method, &f)?;
        Ok(ParseStatus::Complete(()))
    }
}

impl ResponseHead {
    /// Everything but the headers, which are pushed as they are parsed.
    pub(crate) fn fill(
        &mut self,
        version: Version,
        status: u16,
        reason: Span,
        head_len: usize,
        method: Method,
        f: &Fields,
    ) -> Result<(), ParseErrorKind> {
        let framing = response_framing(version, status, method, f)?;
        self.version = version;
        self.status = status;
        self.reason = reason;
        self.head_len = head_len;
        self.framing = framing;
        self.keep_alive = framing != BodyFraming::UntilClose && f.connection.keep_alive(version);
        self.connection = f.connection;
        Ok(())
    }
}

/// `HTTP-version SP 3DIGIT SP reason-phrase`, also accepting no SP and no
/// reason after the code (real servers send `HTTP/1.1 200`).
fn parse_status_line(
    buf: &[u8],
    start: usize,
    end: usize,
) -> Result<(Version, u16, Span), ParseErrorKind> {
    let line = buf.get(start..end).unwrap_or_default();
    let sp = find(line, b' ').ok_or(ParseErrorKind::InvalidVersion)?;
    let version = parse_version(line.get(..sp).unwrap_or_default())?;
    let rest = line.get(sp + 1..).unwrap_or_default();
    let status = match rest.get(..3) {
        Some(&[a, b, c]) if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
        }
        _ => return Err(ParseErrorKind::InvalidStatus),
    };
    if !(100..=599).contains(&status) {
        return Err(ParseErrorKind::InvalidStatus);
    }
    let reason_at = start + sp + 4;
    let reason = match rest.get(3..).unwrap_or_default() {
        [] => Span::new(reason_at, reason_at),
        [b' ', reason @ ..] => {
            if !all_value_bytes(reason) {
                let bad = reason
                    .iter()
                    .copied()
                    .find(|&b| !is_value_byte(b))
                    .unwrap_or(0);
                return Err(bad_byte_kind(bad, ParseErrorKind::ControlByte));
            }
            Span::new(reason_at + 1, end)
        }
        _ => return Err(ParseErrorKind::InvalidStatus),
    };
    Ok((version, status, reason))
}

/// RFC 9112 §6.3, with the ambiguous cases rejected (the proxy answers 502).
fn response_framing(
    version: Version,
    status: u16,
    method: Method,
    f: &Fields,
) -> Result<BodyFraming, ParseErrorKind> {
    if let Some(te) = f.te {
        if f.content_length.is_some() {
            return Err(ParseErrorKind::ContentLengthWithTransferEncoding);
        }
        if version == Version::Http10 {
            // §6.1: treat the framing as faulty.
            return Err(ParseErrorKind::TransferEncodingInHttp10);
        }
        te.check()?;
    }
    let no_body = method == Method::Head || status < 200 || status == 204 || status == 304;
    if no_body || (method == Method::Connect && (200..300).contains(&status)) {
        return Ok(BodyFraming::None); // for a 2xx to CONNECT: the tunnel starts
    }
    Ok(match (f.te, f.content_length) {
        (Some(te), _) if te.last_is_chunked => BodyFraming::Chunked,
        (Some(_), _) => BodyFraming::UntilClose, // §6.3 (4): chunked not final
        (None, Some(n)) => BodyFraming::ContentLength(n),
        (None, None) => BodyFraming::UntilClose,
    })
}
