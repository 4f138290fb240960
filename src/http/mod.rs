//! The strict HTTP/1.1 codec (RFC 9112 / RFC 9110): request and response
//! heads, chunked bodies, and the small writers the proxy needs.
//!
//! Pure code: bytes in, structs out; no I/O, no allocation per header. Parsed
//! heads hold [`Span`]s into the caller's buffer so the proxy can forward the
//! original bytes where nothing changed. Anything ambiguous is an error — that
//! is where request smuggling starts.
//!
//! Contract notes for callers:
//! - `RequestParser::parse` / `ResponseParser::parse` take the whole head so
//!   far (a buffer that only grows) and cost O(new bytes) per call. After
//!   `Complete` or an error they reset themselves; `reset()` is only needed to
//!   abandon a partial head. Any split of the input gives `Partial` or exactly
//!   the answer for the whole input (tested at every byte).
//! - Spans are offsets into the buffer passed to `parse`; heads are capped
//!   below 4 GiB so they fit in `u32`.
//! - `RequestHead::path` is EMPTY for an absolute-form target without a path
//!   (`http://h` or `http://h?q`): write "/" when forwarding in origin form.
//! - `RequestHead::host` is the target's authority for absolute form AND for
//!   CONNECT (authority form); otherwise the Host header. HTTP/1.1 still needs
//!   exactly one valid Host header in every form (RFC 9112 §3.2).
//! - Request framing is never `UntilClose`; `Content-Length: 0` is
//!   reported as `ContentLength(0)`, not `None`.
//! - 1xx responses are returned as heads with framing `None`; the caller
//!   decides whether to read another head.
//! - `ParseError::status()` is meant for request errors; for a response error
//!   the proxy answers 502.

mod chars;
mod chunked;
mod error;
mod error_response;
mod fast;
mod header;
mod request;
mod response;
mod scan;
mod simd;
#[cfg(test)]
mod tests;
mod write;

pub(crate) use chars::hex_value;
pub use chunked::{ChunkError, ChunkErrorKind, ChunkProgress, ChunkedDecoder};
pub use error::{ParseError, ParseErrorKind};
pub use error_response::{status_text, write_error_response, write_error_response_with};
pub use header::{field_name_is, BodyFraming, ConnectionTokens, Header, Span};
pub use request::{Limits, Method, RequestHead, RequestParser, TargetForm};
pub use response::{ResponseHead, ResponseParser};
pub use write::{write_chunk_header, write_decimal, LAST_CHUNK};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseStatus<T> {
    Complete(T),
    /// The head is not complete yet: read more and call again with the grown buffer.
    Partial,
}
