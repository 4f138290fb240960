//! Chunked body validation (RFC 9112 §7.1), zero-copy: the decoder reports
//! where the chunk data lies inside each input slice and the proxy forwards
//! the chunked bytes verbatim. A byte-level state machine, so any split of the
//! input is handled without buffering.

use std::fmt;
use std::ops::Range;

use super::chars::{hex_value, is_tchar, is_value_byte};

/// Extension bytes allowed on one chunk-size line; extensions carry no data
/// we use, so a long one is abuse.
const MAX_CHUNK_EXT_BYTES: usize = 4096;
/// 16 hex digits fill a u64.
const MAX_SIZE_DIGITS: u8 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChunkErrorKind {
    /// No hex digit, or a byte after the size that is not BWS / ';' / CRLF.
    InvalidSize,
    /// More than 16 hex digits.
    SizeOverflow,
    InvalidExtension,
    /// Extensions on one size line longer than 4 KiB.
    ExtensionTooLong,
    /// Chunk data not followed by CRLF.
    MissingCrlf,
    BareCr,
    BareLf,
    InvalidTrailer,
    TrailerTooLarge,
    BodyTooLarge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkError {
    pub kind: ChunkErrorKind,
}

impl ChunkError {
    /// 413 for BodyTooLarge, else 400.
    pub fn status(&self) -> u16 {
        match self.kind {
            ChunkErrorKind::BodyTooLarge => 413,
            _ => 400,
        }
    }

    pub fn reason(&self) -> &'static str {
        use ChunkErrorKind::*;
        match self.kind {
            InvalidSize => "chunk_invalid_size",
            SizeOverflow => "chunk_size_overflow",
            InvalidExtension => "chunk_invalid_extension",
            ExtensionTooLong => "chunk_extension_too_long",
            MissingCrlf => "chunk_missing_crlf",
            BareCr => "chunk_bare_cr",
            BareLf => "chunk_bare_lf",
            InvalidTrailer => "chunk_invalid_trailer",
            TrailerTooLarge => "chunk_trailer_too_large",
            BodyTooLarge => "body_too_large",
        }
    }
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "chunked body error: {} ({})",
            self.reason(),
            self.status()
        )
    }
}

impl std::error::Error for ChunkError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkProgress {
    /// Bytes of the input that belong to this body (all of it unless `done`).
    pub consumed: usize,
    /// Bytes of the input before the trailer section: through the CRLF of
    /// the last-chunk line. Equal to `consumed` until the trailer section
    /// starts; 0 when this input lies wholly inside it. A proxy that drops
    /// trailers forwards only these.
    pub body_end: usize,
    /// The last chunk and trailer section are complete; bytes after
    /// `consumed` belong to the next message.
    pub done: bool,
}

/// Where we are in `chunk-size [ chunk-ext ] CRLF chunk-data CRLF ... last-chunk trailer-section CRLF`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Size,
    /// BWS after the size: only more BWS or ';' may follow.
    SizeBws,
    /// After ';': BWS, then an extension name.
    ExtPreName,
    ExtName,
    /// BWS after a name: '=' or ';' must follow.
    ExtPostName,
    /// After '=': BWS, then a token or a quoted-string.
    ExtPreValue,
    ExtToken,
    ExtQuoted,
    ExtQuotedPair,
    /// Right after a closing quote: CR, ';' or BWS.
    ExtAfterQuote,
    /// BWS after a value: only more BWS or ';' may follow.
    ExtPostValue,
    /// Saw the CR ending the size line.
    SizeLf,
    Data(u64),
    DataCr,
    DataLf,
    TrailerLineStart,
    TrailerName,
    TrailerValue,
    TrailerLf,
    /// Saw the CR of the empty line ending the trailer section.
    EndLf,
    Done,
    Failed(ChunkErrorKind),
}

#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    max_body_bytes: u64,
    max_trailer_bytes: usize,
    /// Size of the chunk being announced, and its digit count.
    size: u64,
    digits: u8,
    ext_bytes: usize,
    /// Sum of the announced chunk sizes (checked against max_body_bytes).
    announced: u64,
    data_bytes: u64,
    trailer_bytes: usize,
}

impl ChunkedDecoder {
    /// `max_body_bytes` 0 means unlimited.
    pub fn new(max_body_bytes: u64, max_trailer_bytes: usize) -> Self {
        ChunkedDecoder {
            state: State::Size,
            max_body_bytes,
            max_trailer_bytes,
            size: 0,
            digits: 0,
            ext_bytes: 0,
            announced: 0,
            data_bytes: 0,
            trailer_bytes: 0,
        }
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Whether the trailer section has a field line (so far), as opposed to
    /// being the bare CRLF that ends most chunked bodies.
    pub fn has_trailer_fields(&self) -> bool {
        self.trailer_bytes > 0
    }

    fn in_trailer(&self) -> bool {
        use State::*;
        matches!(
            self.state,
            TrailerLineStart | TrailerName | TrailerValue | TrailerLf | EndLf | Done
        )
    }

    /// Chunk data bytes seen so far.
    pub fn data_bytes(&self) -> u64 {
        self.data_bytes
    }

    /// Consumes as much of `input` as belongs to this body, calling `on_data`
    /// with the range (into `input`) of each piece of chunk data. After an
    /// error every later call returns the same error.
    pub fn feed(
        &mut self,
        input: &[u8],
        mut on_data: impl FnMut(Range<usize>),
    ) -> Result<ChunkProgress, ChunkError> {
        let mut i = 0;
        let mut body_end = self.in_trailer().then_some(0);
        while let Some(&b) = input.get(i) {
            match self.state {
                State::Done => break,
                State::Failed(kind) => return Err(ChunkError { kind }),
                State::Data(left) => {
                    let n = left.min((input.len() - i) as u64);
                    // n <= input.len() - i, so the cast back is lossless.
                    on_data(i..i + n as usize);
                    i += n as usize;
                    self.data_bytes += n;
                    self.state = if n == left {
                        State::DataCr
                    } else {
                        State::Data(left - n)
                    };
                }
                _ => {
                    if let Err(kind) = self.step(b) {
                        self.state = State::Failed(kind);
                        return Err(ChunkError { kind });
                    }
                    i += 1;
                    // Only the last-chunk line leads into the trailer section.
                    if body_end.is_none() && self.state == State::TrailerLineStart {
                        body_end = Some(i);
                    }
                }
            }
        }
        if let State::Failed(kind) = self.state {
            return Err(ChunkError { kind });
        }
        Ok(ChunkProgress {
            consumed: i,
            body_end: body_end.unwrap_or(i),
            done: self.state == State::Done,
        })
    }

    fn step(&mut self, b: u8) -> Result<(), ChunkErrorKind> {
        use State::*;
        self.state = match self.state {
            Size => self.size_byte(b)?,
            SizeLf => self.end_size_line(b)?,
            DataCr => match b {
                b'\r' => DataLf,
                _ => return Err(ChunkErrorKind::MissingCrlf),
            },
            DataLf => match b {
                b'\n' => {
                    self.size = 0;
                    self.digits = 0;
                    self.ext_bytes = 0;
                    Size
                }
                _ => return Err(ChunkErrorKind::MissingCrlf),
            },
            TrailerLineStart | TrailerName | TrailerValue | TrailerLf | EndLf => {
                self.trailer_byte(b)?
            }
            Data(_) | Done | Failed(_) => self.state, // handled in feed
            ext => {
                self.ext_bytes += 1;
                if self.ext_bytes > MAX_CHUNK_EXT_BYTES {
                    return Err(ChunkErrorKind::ExtensionTooLong);
                }
                self.ext_byte(ext, b)?
            }
        };
        Ok(())
    }

    fn size_byte(&mut self, b: u8) -> Result<State, ChunkErrorKind> {
        if let Some(v) = hex_value(b) {
            if self.digits == MAX_SIZE_DIGITS {
                return Err(ChunkErrorKind::SizeOverflow);
            }
            self.digits += 1;
            self.size = (self.size << 4) | u64::from(v);
            return Ok(State::Size);
        }
        if self.digits == 0 {
            return Err(if b == b'\n' {
                ChunkErrorKind::BareLf
            } else {
                ChunkErrorKind::InvalidSize
            });
        }
        self.check_budget()?;
        match b {
            b'\r' => Ok(State::SizeLf),
            _ => self.ext_byte(State::SizeBws, b),
        }
    }

    /// The size is complete: it must fit in the body budget.
    fn check_budget(&mut self) -> Result<(), ChunkErrorKind> {
        let total = self
            .announced
            .checked_add(self.size)
            .ok_or(ChunkErrorKind::BodyTooLarge)?;
        if self.max_body_bytes != 0 && total > self.max_body_bytes {
            return Err(ChunkErrorKind::BodyTooLarge);
        }
        self.announced = total;
        Ok(())
    }

    fn ext_byte(&self, state: State, b: u8) -> Result<State, ChunkErrorKind> {
        use State::*;
        let next = match (state, b) {
            (_, b'\n') => return Err(ChunkErrorKind::BareLf),
            (SizeBws, b' ' | b'\t') => SizeBws,
            (SizeBws, b';') => ExtPreName,
            (SizeBws, _) => return Err(ChunkErrorKind::InvalidSize),
            (ExtPreName, b' ' | b'\t') => ExtPreName,
            (ExtPreName, b) if is_tchar(b) => ExtName,
            (ExtName, b) if is_tchar(b) => ExtName,
            (ExtName | ExtToken | ExtAfterQuote, b'\r') => SizeLf,
            (ExtName | ExtPostName, b' ' | b'\t') => ExtPostName,
            (ExtName | ExtPostName, b'=') => ExtPreValue,
            (ExtPreValue, b' ' | b'\t') => ExtPreValue,
            (ExtPreValue, b'"') => ExtQuoted,
            (ExtPreValue | ExtToken, b) if is_tchar(b) => ExtToken,
            (ExtQuoted, b'"') => ExtAfterQuote,
            (ExtQuoted, b'\\') => ExtQuotedPair,
            (ExtQuoted | ExtQuotedPair, b) if is_value_byte(b) => ExtQuoted,
            (ExtToken | ExtAfterQuote | ExtPostValue, b' ' | b'\t') => ExtPostValue,
            (ExtName | ExtPostName | ExtToken | ExtAfterQuote | ExtPostValue, b';') => ExtPreName,
            _ => return Err(ChunkErrorKind::InvalidExtension),
        };
        Ok(next)
    }

    fn end_size_line(&mut self, b: u8) -> Result<State, ChunkErrorKind> {
        if b != b'\n' {
            return Err(ChunkErrorKind::BareCr);
        }
        Ok(if self.size == 0 {
            State::TrailerLineStart
        } else {
            State::Data(self.size)
        })
    }

    /// trailer-section = *( field-line CRLF ) CRLF, with the same field-line
    /// rules as heads (no obs-fold, no whitespace before ':', no CTLs).
    fn trailer_byte(&mut self, b: u8) -> Result<State, ChunkErrorKind> {
        use State::*;
        // Field lines count against the limit; the final empty line does not.
        if !matches!((self.state, b), (TrailerLineStart, b'\r') | (EndLf, _)) {
            self.trailer_bytes += 1;
            if self.trailer_bytes > self.max_trailer_bytes {
                return Err(ChunkErrorKind::TrailerTooLarge);
            }
        }
        let next = match (self.state, b) {
            (TrailerLineStart, b'\r') => EndLf,
            (EndLf, b'\n') => Done,
            (TrailerLf, b'\n') => TrailerLineStart,
            (EndLf | TrailerLf, _) => return Err(ChunkErrorKind::BareCr),
            (_, b'\n') => return Err(ChunkErrorKind::BareLf),
            (TrailerLineStart | TrailerName, b) if is_tchar(b) => TrailerName,
            (TrailerName, b':') => TrailerValue,
            (TrailerValue, b'\r') => TrailerLf,
            (TrailerValue, b) if is_value_byte(b) => TrailerValue,
            _ => return Err(ChunkErrorKind::InvalidTrailer),
        };
        Ok(next)
    }
}
