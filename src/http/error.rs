//! Head parse errors. Each kind names one reason so it can be a metrics label;
//! `status()` is the response the proxy sends for a *request* error (for a
//! response error the proxy answers 502 regardless).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParseErrorKind {
    /// Empty, non-token or longer than 32 bytes; also too many leading empty lines.
    InvalidMethod,
    /// Bad byte, '#', malformed %-encoding, or a form not allowed for the method.
    InvalidTarget,
    /// Not `HTTP/DIGIT.DIGIT`-shaped.
    InvalidVersion,
    /// Well-formed but not 1.0 / 1.1.
    VersionNotSupported,
    RequestLineTooLong,
    HeadersTooLarge,
    TooManyHeaders,
    InvalidHeaderName,
    WhitespaceBeforeColon,
    ObsFold,
    BareCr,
    BareLf,
    ControlByte,
    MissingHost,
    MultipleHost,
    /// Host header value is not `host[:port]`.
    InvalidHost,
    InvalidContentLength,
    ConflictingContentLength,
    ContentLengthWithTransferEncoding,
    /// chunked is not the final coding, or appears more than once.
    ChunkedNotLast,
    /// A coding other than chunked in a request.
    UnsupportedTransferEncoding,
    /// Empty Transfer-Encoding or an element that is not a bare token.
    InvalidTransferEncoding,
    TransferEncodingInHttp10,
    /// Connection header element that is not a token.
    InvalidConnection,
    ExpectationFailed,
    InvalidStatus,
}

impl ParseErrorKind {
    /// Every kind, so tables keyed by reason (metrics labels) can be checked
    /// for completeness.
    pub const ALL: [ParseErrorKind; 26] = [
        ParseErrorKind::InvalidMethod,
        ParseErrorKind::InvalidTarget,
        ParseErrorKind::InvalidVersion,
        ParseErrorKind::VersionNotSupported,
        ParseErrorKind::RequestLineTooLong,
        ParseErrorKind::HeadersTooLarge,
        ParseErrorKind::TooManyHeaders,
        ParseErrorKind::InvalidHeaderName,
        ParseErrorKind::WhitespaceBeforeColon,
        ParseErrorKind::ObsFold,
        ParseErrorKind::BareCr,
        ParseErrorKind::BareLf,
        ParseErrorKind::ControlByte,
        ParseErrorKind::MissingHost,
        ParseErrorKind::MultipleHost,
        ParseErrorKind::InvalidHost,
        ParseErrorKind::InvalidContentLength,
        ParseErrorKind::ConflictingContentLength,
        ParseErrorKind::ContentLengthWithTransferEncoding,
        ParseErrorKind::ChunkedNotLast,
        ParseErrorKind::UnsupportedTransferEncoding,
        ParseErrorKind::InvalidTransferEncoding,
        ParseErrorKind::TransferEncodingInHttp10,
        ParseErrorKind::InvalidConnection,
        ParseErrorKind::ExpectationFailed,
        ParseErrorKind::InvalidStatus,
    ];
}

impl ParseErrorKind {
    pub fn status(self) -> u16 {
        use ParseErrorKind::*;
        match self {
            RequestLineTooLong => 414,
            HeadersTooLarge | TooManyHeaders => 431,
            UnsupportedTransferEncoding => 501,
            VersionNotSupported => 505,
            ExpectationFailed => 417,
            _ => 400,
        }
    }

    pub fn reason(self) -> &'static str {
        use ParseErrorKind::*;
        match self {
            InvalidMethod => "invalid_method",
            InvalidTarget => "invalid_target",
            InvalidVersion => "invalid_version",
            VersionNotSupported => "version_not_supported",
            RequestLineTooLong => "request_line_too_long",
            HeadersTooLarge => "headers_too_large",
            TooManyHeaders => "too_many_headers",
            InvalidHeaderName => "invalid_header_name",
            WhitespaceBeforeColon => "whitespace_before_colon",
            ObsFold => "obs_fold",
            BareCr => "bare_cr",
            BareLf => "bare_lf",
            ControlByte => "control_byte",
            MissingHost => "missing_host",
            MultipleHost => "multiple_host",
            InvalidHost => "invalid_host",
            InvalidContentLength => "invalid_content_length",
            ConflictingContentLength => "conflicting_content_length",
            ContentLengthWithTransferEncoding => "content_length_with_transfer_encoding",
            ChunkedNotLast => "chunked_not_last",
            UnsupportedTransferEncoding => "unsupported_transfer_encoding",
            InvalidTransferEncoding => "invalid_transfer_encoding",
            TransferEncodingInHttp10 => "transfer_encoding_in_http10",
            InvalidConnection => "invalid_connection",
            ExpectationFailed => "expectation_failed",
            InvalidStatus => "invalid_status",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError {
    pub kind: ParseErrorKind,
}

impl ParseError {
    /// 400 by default; 414, 431, 501, 505, 417 for the kinds that have their own.
    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// Short snake_case text for metrics labels and the JSON error body.
    pub fn reason(&self) -> &'static str {
        self.kind.reason()
    }
}

impl From<ParseErrorKind> for ParseError {
    fn from(kind: ParseErrorKind) -> Self {
        ParseError { kind }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http parse error: {} ({})", self.reason(), self.status())
    }
}

impl std::error::Error for ParseError {}
