//! Response bytes: the default response is built once at startup for each
//! connection mode, so the hot path is a memcpy into the connection's
//! output buffer. Per-path overrides and echo compose into the same buffer
//! (which is reused, so they do not allocate either).

use std::io::Write;

/// Bodies above this are not precomputed but streamed from [`Fill`].
const MAX_PRECOMPUTED_BODY: usize = 1 << 20;
/// Source of filler bytes for streamed bodies.
static FILLER: [u8; 16 * 1024] = [b'x'; 16 * 1024];

/// How the response must treat the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnMode {
    KeepAlive,
    /// HTTP/1.0 keep-alive: the response must say `Connection: keep-alive`.
    KeepAlive10,
    Close,
}

/// What every response shares: status line default, framing, extra headers.
pub struct Shape {
    pub status: u16,
    pub body_size: usize,
    pub chunked: bool,
    pub chunk_size: usize,
    /// Extra `Name: value\r\n` lines, already encoded.
    pub extra_headers: Vec<u8>,
}

pub struct Responses {
    shape: Shape,
    /// Default response per [`ConnMode`]: full bytes and where the head ends.
    full: [Vec<u8>; 3],
    head_len: [usize; 3],
    precomputed_body: bool,
}

impl Responses {
    pub fn new(shape: Shape) -> Responses {
        let precomputed_body = shape.body_size <= MAX_PRECOMPUTED_BODY;
        let mut r = Responses {
            shape,
            full: Default::default(),
            head_len: [0; 3],
            precomputed_body,
        };
        for (i, mode) in [ConnMode::KeepAlive, ConnMode::KeepAlive10, ConnMode::Close]
            .into_iter()
            .enumerate()
        {
            let mut out = Vec::new();
            r.write_head(&mut out, r.shape.status, r.shape.body_size as u64, mode);
            r.head_len[i] = out.len();
            if precomputed_body {
                let body = default_body(r.shape.body_size);
                write_body(&mut out, &body, r.shape.chunked, r.shape.chunk_size);
            }
            r.full[i] = out;
        }
        r
    }

    /// Appends the default response. Returns the rest of the body to stream
    /// when it is too large to precompute.
    pub fn write_default(
        &self,
        out: &mut Vec<u8>,
        mode: ConnMode,
        head_only: bool,
    ) -> Option<Fill> {
        let i = mode as usize;
        if head_only || !self.precomputed_body {
            out.extend_from_slice(&self.full[i][..self.head_len[i]]);
            return (!head_only).then(|| self.fill(self.shape.body_size as u64));
        }
        out.extend_from_slice(&self.full[i]);
        None
    }

    /// Appends a head with the configured framing and extra headers.
    /// `body_len` is ignored for chunked responses and statuses without body.
    pub fn write_head(&self, out: &mut Vec<u8>, status: u16, body_len: u64, mode: ConnMode) {
        // Writing to a Vec cannot fail.
        let _ = write!(
            out,
            "HTTP/1.1 {status} {}\r\nServer: ringbench\r\n",
            reason(status)
        );
        if status_has_body(status) {
            if self.shape.chunked {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
            } else {
                let _ = write!(out, "Content-Length: {body_len}\r\n");
            }
        }
        match mode {
            ConnMode::KeepAlive => {}
            ConnMode::KeepAlive10 => out.extend_from_slice(b"Connection: keep-alive\r\n"),
            ConnMode::Close => out.extend_from_slice(b"Connection: close\r\n"),
        }
        out.extend_from_slice(&self.shape.extra_headers);
        out.extend_from_slice(b"\r\n");
    }

    /// Appends `body` with the configured framing (used by echo).
    pub fn write_body(&self, out: &mut Vec<u8>, body: &[u8]) {
        write_body(out, body, self.shape.chunked, self.shape.chunk_size);
    }

    /// A streamed body of `len` filler bytes with the configured framing.
    pub fn fill(&self, len: u64) -> Fill {
        Fill {
            left: len,
            chunked: self.shape.chunked,
            chunk_size: self.shape.chunk_size,
            done: false,
        }
    }

    /// Length of the precomputed default head for `mode`.
    pub fn head_len(&self, mode: ConnMode) -> usize {
        self.head_len[mode as usize]
    }

    pub fn status(&self) -> u16 {
        self.shape.status
    }
}

/// `Hello, World!` for the classic 13 bytes, otherwise that many `x`.
fn default_body(size: usize) -> Vec<u8> {
    if size == 13 {
        b"Hello, World!".to_vec()
    } else {
        vec![b'x'; size]
    }
}

fn write_body(out: &mut Vec<u8>, body: &[u8], chunked: bool, chunk_size: usize) {
    if !chunked {
        out.extend_from_slice(body);
        return;
    }
    for chunk in body.chunks(chunk_size.max(1)) {
        let _ = write!(out, "{:x}\r\n", chunk.len());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
}

/// A body of filler bytes produced piecewise, so `/bytes/1000000000` does
/// not need a gigabyte of buffer.
#[derive(Debug)]
pub struct Fill {
    left: u64,
    chunked: bool,
    chunk_size: usize,
    done: bool,
}

impl Fill {
    /// Appends body bytes until `out` holds about `limit` bytes or the body ends.
    pub fn write_into(&mut self, out: &mut Vec<u8>, limit: usize) {
        while !self.done && out.len() < limit {
            // May overshoot `limit` by one piece; chunk sizes stay as configured.
            let max = if self.chunked {
                self.chunk_size.min(FILLER.len())
            } else {
                FILLER.len()
            };
            let n = self.left.min(max as u64) as usize;
            if n == 0 {
                if self.chunked {
                    out.extend_from_slice(b"0\r\n\r\n");
                }
                self.done = true;
            } else if self.chunked {
                let _ = write!(out, "{n:x}\r\n");
                out.extend_from_slice(&FILLER[..n]);
                out.extend_from_slice(b"\r\n");
            } else {
                out.extend_from_slice(&FILLER[..n]);
            }
            self.left -= n as u64;
        }
    }

    pub fn done(&self) -> bool {
        self.done
    }
}

/// 1xx, 204 and 304 responses carry neither a body nor framing headers.
pub fn status_has_body(status: u16) -> bool {
    !(status < 200 || status == 204 || status == 304)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Content Too Large",
        418 => "I'm a teapot",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{ResponseFramer, Step};

    fn shape(body_size: usize, chunked: bool) -> Shape {
        Shape {
            status: 200,
            body_size,
            chunked,
            chunk_size: 4,
            extra_headers: b"X-A: 1\r\n".to_vec(),
        }
    }

    fn drain(mut fill: Fill, limit: usize) -> Vec<u8> {
        let mut all = Vec::new();
        while !fill.done() {
            let mut out = Vec::new();
            fill.write_into(&mut out, limit);
            all.extend_from_slice(&out);
        }
        all
    }

    #[test]
    fn default_hello() {
        let r = Responses::new(shape(13, false));
        let mut out = Vec::new();
        assert!(r
            .write_default(&mut out, ConnMode::KeepAlive, false)
            .is_none());
        let want = "HTTP/1.1 200 OK\r\nServer: ringbench\r\nContent-Length: 13\r\nX-A: 1\r\n\r\nHello, World!";
        assert_eq!(String::from_utf8(out).unwrap(), want);
        let mut out = Vec::new();
        r.write_default(&mut out, ConnMode::Close, true);
        assert!(out.ends_with(b"Connection: close\r\nX-A: 1\r\n\r\n"));
    }

    #[test]
    fn chunked_default_frames_correctly() {
        let r = Responses::new(shape(10, true));
        let mut out = Vec::new();
        r.write_default(&mut out, ConnMode::KeepAlive10, false);
        assert!(out.ends_with(b"4\r\nxxxx\r\n4\r\nxxxx\r\n2\r\nxx\r\n0\r\n\r\n"));
        let step = ResponseFramer::default().step(&out, false).unwrap();
        assert_eq!(
            step,
            Step::Done {
                consumed: out.len(),
                status: 200,
                close: false
            }
        );
    }

    #[test]
    fn fill_streams_exact_lengths() {
        let r = Responses::new(shape(0, false));
        assert_eq!(drain(r.fill(100_000), 7000), vec![b'x'; 100_000]);
        assert_eq!(drain(r.fill(0), 10), b"");
        let r = Responses::new(shape(0, true));
        assert_eq!(drain(r.fill(6), 10), b"4\r\nxxxx\r\n2\r\nxx\r\n0\r\n\r\n");
    }

    #[test]
    fn no_body_statuses_have_no_length() {
        let r = Responses::new(shape(13, false));
        let mut out = Vec::new();
        r.write_head(&mut out, 204, 0, ConnMode::KeepAlive);
        assert!(!out.windows(14).any(|w| w == b"Content-Length"));
    }
}
