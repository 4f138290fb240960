//! The strict HTTP/1.1 codec (RFC 9112 / RFC 9110): request and response
//! heads, chunked bodies, and the small writers the proxy needs.
//!
//! Pure code: bytes in, structs out; no I/O, no allocation per header. Parsed
//! heads hold [`Span`]s into the caller's buffer so the proxy can forward the
//! original bytes where nothing changed. Anything ambiguous is an error — that
//! is where request smuggling starts.

mod chars;
mod chunked;
mod error;
mod header;
mod request;
mod response;
mod scan;
#[cfg(test)]
mod tests;
mod write;

pub use chunked::{ChunkError, ChunkErrorKind, ChunkProgress, ChunkedDecoder};
pub use error::{ParseError, ParseErrorKind};
pub use header::{BodyFraming, ConnectionTokens, Header, Span};
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
