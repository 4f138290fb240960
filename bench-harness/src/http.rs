//! HTTP/1.1 message framing for both sides of the harness: the origin needs
//! to find where each request ends (heads via httparse, bodies by
//! Content-Length or chunked) and the load generator needs to find where
//! each response ends. Pure functions over byte slices, no I/O, no
//! allocation.

use std::mem::MaybeUninit;
use std::ops::Range;

/// Heads larger than this are refused rather than buffered forever.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// httparse needs a fixed header array; requests with more are refused.
pub const MAX_HEADERS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The head is malformed or ambiguous (e.g. both Content-Length and chunked).
    BadHead,
    /// The head is larger than [`MAX_HEAD_BYTES`] or has too many headers.
    HeadTooLarge,
    /// A chunk-size line or chunk delimiter is malformed.
    BadChunk,
}

/// How a message body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    Length(u64),
    Chunked,
    /// Responses only: the body runs until the server closes.
    UntilClose,
}

// ---------------------------------------------------------------------------
// Chunked transfer coding

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Size { size: u64, digits: u8 },
    Ext { size: u64 },
    SizeLf { size: u64 },
    Data(u64),
    DataCr,
    DataLf,
    TrailerStart,
    TrailerLine,
    TrailerLf,
    EndLf,
    Done,
}

/// Incremental decoder that only finds the end of a chunked body (the data
/// itself is discarded by both the origin and the load generator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkedDecoder(Chunk);

impl Default for ChunkedDecoder {
    fn default() -> Self {
        ChunkedDecoder(Chunk::Size { size: 0, digits: 0 })
    }
}

impl ChunkedDecoder {
    /// Consumes bytes from `buf`; returns how many were used and whether the
    /// body (including trailers) is complete. Bytes after the end are left.
    pub fn feed(&mut self, buf: &[u8]) -> Result<(usize, bool), FrameError> {
        let mut i = 0;
        while i < buf.len() {
            if let Chunk::Data(left) = self.0 {
                // Skip data in one step instead of byte by byte.
                let take = left.min((buf.len() - i) as u64);
                i += take as usize;
                self.0 = if take == left {
                    Chunk::DataCr
                } else {
                    Chunk::Data(left - take)
                };
                continue;
            }
            self.0 = self.step(buf[i])?;
            i += 1;
            if self.0 == Chunk::Done {
                return Ok((i, true));
            }
        }
        Ok((i, false))
    }

    fn step(&self, b: u8) -> Result<Chunk, FrameError> {
        use Chunk::*;
        Ok(match (self.0, b) {
            (Size { size, digits }, _) if hex(b).is_some() => {
                if digits >= 15 {
                    return Err(FrameError::BadChunk);
                }
                let v = hex(b).unwrap_or(0) as u64;
                Size {
                    size: size * 16 + v,
                    digits: digits + 1,
                }
            }
            (Size { size, digits }, b';' | b' ' | b'\t') if digits > 0 => Ext { size },
            (Size { size, digits }, b'\r') if digits > 0 => SizeLf { size },
            (Ext { size }, b'\r') => SizeLf { size },
            (Ext { size }, _) => Ext { size },
            (SizeLf { size: 0 }, b'\n') => TrailerStart,
            (SizeLf { size }, b'\n') => Data(size),
            (DataCr, b'\r') => DataLf,
            (DataLf, b'\n') => Size { size: 0, digits: 0 },
            (TrailerStart, b'\r') => EndLf,
            (TrailerStart | TrailerLine, _) if b != b'\r' => TrailerLine,
            (TrailerLine, b'\r') => TrailerLf,
            (TrailerLf, b'\n') => TrailerStart,
            (EndLf, b'\n') => Done,
            _ => return Err(FrameError::BadChunk),
        })
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Requests (origin side)

/// What the origin needs to know about one request head. Offsets index the
/// buffer given to [`parse_request_head`], so nothing borrows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    pub head_len: usize,
    pub path: Range<usize>,
    pub is_head_method: bool,
    pub keep_alive: bool,
    /// HTTP/1.0 keep-alive must be confirmed explicitly in the response.
    pub http10: bool,
    pub body: Option<Body>,
    pub expect_continue: bool,
}

/// Parses one request head from the start of `buf`. `Ok(None)`: incomplete.
pub fn parse_request_head(buf: &[u8]) -> Result<Option<RequestHead>, FrameError> {
    let mut slots = [const { MaybeUninit::<httparse::Header>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let head_len = match req.parse_with_uninit_headers(buf, &mut slots) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD_BYTES => {
            return Err(FrameError::HeadTooLarge)
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(FrameError::HeadTooLarge),
        Err(_) => return Err(FrameError::BadHead),
    };
    let path = req.path.ok_or(FrameError::BadHead)?;
    let path_start = path.as_ptr() as usize - buf.as_ptr() as usize;
    let http10 = req.version == Some(0);
    let mut h = HeaderFacts::default();
    for hdr in req.headers.iter() {
        h.observe(hdr.name.as_bytes(), hdr.value)?;
    }
    let body = h.body()?.filter(|b| *b != Body::Length(0));
    Ok(Some(RequestHead {
        head_len,
        path: path_start..path_start + path.len(),
        is_head_method: req.method == Some("HEAD"),
        keep_alive: if http10 { h.keep_alive } else { !h.close },
        http10,
        body,
        expect_continue: h.expect_continue,
    }))
}

/// The framing-relevant facts collected from a header block.
#[derive(Default)]
struct HeaderFacts {
    length: Option<u64>,
    chunked: bool,
    close: bool,
    keep_alive: bool,
    expect_continue: bool,
}

impl HeaderFacts {
    fn observe(&mut self, name: &[u8], value: &[u8]) -> Result<(), FrameError> {
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = parse_decimal(value).ok_or(FrameError::BadHead)?;
            // Differing duplicates are how smuggling starts; refuse them.
            if self.length.is_some_and(|old| old != n) {
                return Err(FrameError::BadHead);
            }
            self.length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            let last = value.rsplit(|&b| b == b',').next().unwrap_or(value);
            self.chunked = trim(last).eq_ignore_ascii_case(b"chunked");
            if !self.chunked {
                return Err(FrameError::BadHead);
            }
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in value.split(|&b| b == b',').map(trim) {
                self.close |= token.eq_ignore_ascii_case(b"close");
                self.keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case(b"expect") {
            self.expect_continue = trim(value).eq_ignore_ascii_case(b"100-continue");
        }
        Ok(())
    }

    fn body(&self) -> Result<Option<Body>, FrameError> {
        match (self.chunked, self.length) {
            (true, Some(_)) => Err(FrameError::BadHead),
            (true, None) => Ok(Some(Body::Chunked)),
            (false, Some(n)) => Ok(Some(Body::Length(n))),
            (false, None) => Ok(None),
        }
    }
}

fn parse_decimal(v: &[u8]) -> Option<u64> {
    let v = trim(v);
    if v.is_empty() || v.len() > 18 {
        return None;
    }
    v.iter().try_fold(0u64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + (b - b'0') as u64)
    })
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &v[start..end]
}

// ---------------------------------------------------------------------------
// Responses (load side)

/// The parts of a response head the load generator acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    pub head_len: usize,
    /// `None` when the response has no body (HEAD, 1xx, 204, 304).
    pub body: Option<Body>,
    pub close: bool,
}

/// A minimal response-head scan: status line, then only Content-Length,
/// Transfer-Encoding and Connection are looked at. `Ok(None)`: incomplete.
pub fn parse_response_head(
    buf: &[u8],
    head_request: bool,
) -> Result<Option<ResponseHead>, FrameError> {
    let Some(line_end) = find_lf(buf, 0) else {
        return incomplete(buf);
    };
    let (status, http10) = parse_status_line(&buf[..line_end])?;
    let mut facts = HeaderFacts::default();
    let mut pos = line_end + 1;
    loop {
        let Some(end) = find_lf(buf, pos) else {
            return incomplete(buf);
        };
        let line = strip_cr(&buf[pos..end]);
        pos = end + 1;
        if line.is_empty() {
            break;
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(FrameError::BadHead)?;
        facts.observe(&line[..colon], &line[colon + 1..])?;
    }
    let no_body = head_request || status < 200 || status == 204 || status == 304;
    let body = if no_body {
        None
    } else {
        Some(facts.body()?.unwrap_or(Body::UntilClose))
    };
    let close = facts.close || (http10 && !facts.keep_alive) || body == Some(Body::UntilClose);
    Ok(Some(ResponseHead {
        status,
        head_len: pos,
        body: body.filter(|b| *b != Body::Length(0)),
        close,
    }))
}

fn incomplete<T>(buf: &[u8]) -> Result<Option<T>, FrameError> {
    if buf.len() > MAX_HEAD_BYTES {
        Err(FrameError::HeadTooLarge)
    } else {
        Ok(None)
    }
}

fn find_lf(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| from + i)
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `HTTP/1.1 200 OK` → (200, false).
fn parse_status_line(line: &[u8]) -> Result<(u16, bool), FrameError> {
    let line = strip_cr(line);
    let http10 = match line.get(..9) {
        Some(b"HTTP/1.1 ") => false,
        Some(b"HTTP/1.0 ") => true,
        _ => return Err(FrameError::BadHead),
    };
    let code = line.get(9..12).ok_or(FrameError::BadHead)?;
    let status = code
        .iter()
        .try_fold(0u16, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + (b - b'0') as u16)
        })
        .ok_or(FrameError::BadHead)?;
    if status < 100 || !matches!(line.get(12), None | Some(b' ')) {
        return Err(FrameError::BadHead);
    }
    Ok((status, http10))
}

/// Where the load generator is within one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RespState {
    Head,
    Length(u64),
    Chunked(ChunkedDecoder),
    UntilClose,
}

/// Outcome of feeding bytes to a [`ResponseFramer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `consumed` bytes were used; the rest (a partial head) must be kept.
    NeedMore { consumed: usize },
    /// One response ended after `consumed` bytes.
    Done {
        consumed: usize,
        status: u16,
        close: bool,
    },
}

/// Finds response boundaries in a byte stream, one response at a time.
#[derive(Debug, Clone, Copy)]
pub struct ResponseFramer {
    state: RespState,
    status: u16,
    close: bool,
}

impl Default for ResponseFramer {
    fn default() -> Self {
        ResponseFramer {
            state: RespState::Head,
            status: 0,
            close: false,
        }
    }
}

impl ResponseFramer {
    /// Advances over `buf` until one response completes or `buf` runs out.
    /// Interim 1xx responses (100 Continue) are skipped.
    pub fn step(&mut self, buf: &[u8], head_request: bool) -> Result<Step, FrameError> {
        let mut pos = 0;
        loop {
            match self.state {
                RespState::Head => match parse_response_head(&buf[pos..], head_request)? {
                    None => return Ok(Step::NeedMore { consumed: pos }),
                    Some(h) => {
                        pos += h.head_len;
                        if (100..200).contains(&h.status) && h.status != 101 {
                            continue;
                        }
                        self.status = h.status;
                        self.close = h.close;
                        self.state = match h.body {
                            None => return Ok(self.finish(pos)),
                            Some(Body::Length(n)) => RespState::Length(n),
                            Some(Body::Chunked) => RespState::Chunked(ChunkedDecoder::default()),
                            Some(Body::UntilClose) => RespState::UntilClose,
                        };
                    }
                },
                RespState::Length(left) => {
                    let take = left.min((buf.len() - pos) as u64);
                    pos += take as usize;
                    if take == left {
                        return Ok(self.finish(pos));
                    }
                    self.state = RespState::Length(left - take);
                    return Ok(Step::NeedMore { consumed: pos });
                }
                RespState::Chunked(mut dec) => {
                    let (used, done) = dec.feed(&buf[pos..])?;
                    pos += used;
                    if done {
                        return Ok(self.finish(pos));
                    }
                    self.state = RespState::Chunked(dec);
                    return Ok(Step::NeedMore { consumed: pos });
                }
                RespState::UntilClose => {
                    return Ok(Step::NeedMore {
                        consumed: buf.len(),
                    })
                }
            }
        }
    }

    /// The peer closed. A body delimited by close is then complete.
    pub fn eof(&mut self) -> Option<u16> {
        (self.state == RespState::UntilClose).then(|| {
            self.state = RespState::Head;
            self.status
        })
    }

    fn finish(&mut self, consumed: usize) -> Step {
        self.state = RespState::Head;
        Step::Done {
            consumed,
            status: self.status,
            close: self.close,
        }
    }
}

#[cfg(test)]
mod tests;
