//! One origin connection: parse pipelined requests, answer each in order,
//! discard request bodies, and misbehave when a fault is rolled. All
//! answers produced from one read go out in one write.

use super::response::{ConnMode, Fill};
use super::{Fault, ThreadCtx};
use crate::http::{
    parse_request_head, Body, ChunkedDecoder, FrameError, RequestHead, MAX_HEAD_BYTES,
};
use monoio::buf::IoBufMut;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::TcpStream;
use std::io;
use std::rc::Rc;
use std::time::Instant;

const READ_BUF_BYTES: usize = 16 * 1024;
const OUT_BUF_BYTES: usize = 16 * 1024;
/// Responses are written once this much output is pending (large bodies).
const FLUSH_AT_BYTES: usize = 256 * 1024;

/// What the connection does after a request was answered.
enum Next {
    Continue,
    Close,
    /// Keep reading, never answer again (fault `never-answer`).
    Hang,
}

/// Remaining body of the current request, which is read and discarded.
enum BodyLeft {
    None,
    Length(u64),
    Chunked(ChunkedDecoder),
}

/// Path-selected behaviour, so one origin can serve every test case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Default,
    Status(u16),
    Bytes(u64),
    DelayMs(u64),
}

pub async fn serve(stream: TcpStream, ctx: Rc<ThreadCtx>) {
    let mut conn = Conn {
        stream,
        ctx,
        rbuf: Vec::with_capacity(READ_BUF_BYTES),
        pos: 0,
        out: Vec::with_capacity(OUT_BUF_BYTES),
    };
    // I/O errors just end the connection; there is nobody to tell.
    let _ = conn.run().await;
}

struct Conn {
    stream: TcpStream,
    ctx: Rc<ThreadCtx>,
    /// Bytes read; `rbuf[pos..]` is not yet consumed.
    rbuf: Vec<u8>,
    pos: usize,
    /// Responses waiting to be written.
    out: Vec<u8>,
}

impl Conn {
    async fn run(&mut self) -> io::Result<()> {
        let mut body = BodyLeft::None;
        loop {
            while self.discard_body(&mut body)? {
                let head = match parse_request_head(&self.rbuf[self.pos..]) {
                    Ok(Some(head)) => head,
                    Ok(None) => break,
                    Err(e) => return self.refuse(e).await,
                };
                match self.answer(&head).await? {
                    Next::Continue => {}
                    Next::Close => return self.flush().await,
                    Next::Hang => return self.hang().await,
                }
                self.pos += head.head_len;
                body = match head.body {
                    None => BodyLeft::None,
                    Some(Body::Chunked) => BodyLeft::Chunked(ChunkedDecoder::default()),
                    Some(Body::Length(n)) => BodyLeft::Length(n),
                    Some(Body::UntilClose) => return Ok(()),
                };
            }
            self.flush().await?;
            if !self.read_more().await? {
                return Ok(());
            }
        }
    }

    /// Skips request body bytes. True when the body is over.
    fn discard_body(&mut self, body: &mut BodyLeft) -> io::Result<bool> {
        let avail = &self.rbuf[self.pos..];
        match body {
            BodyLeft::None => return Ok(true),
            BodyLeft::Length(left) => {
                let take = (*left).min(avail.len() as u64);
                self.pos += take as usize;
                *left -= take;
                if *left > 0 {
                    return Ok(false);
                }
            }
            BodyLeft::Chunked(dec) => {
                let (used, done) = dec.feed(avail).map_err(|_| io::ErrorKind::InvalidData)?;
                self.pos += used;
                if !done {
                    return Ok(false);
                }
            }
        }
        *body = BodyLeft::None;
        Ok(true)
    }

    /// Produces the response for one request (into `out`, or straight to
    /// the socket for slow and faulty answers).
    async fn answer(&mut self, head: &RequestHead) -> io::Result<Next> {
        // Copied, not borrowed: `self` is borrowed mutably across awaits below.
        if let Some(stall) = self.ctx.cfg.stall {
            if let Some(left) = stall.remaining(Instant::now()) {
                monoio::time::sleep(left).await;
            }
        }
        // Head offsets are relative to the unconsumed part of the buffer.
        let route = Route::parse(&self.rbuf[self.pos + head.path.start..self.pos + head.path.end]);
        let delay = match route {
            Route::DelayMs(ms) => std::time::Duration::from_millis(ms),
            _ => self.ctx.sample_delay(),
        };
        if !delay.is_zero() {
            // Earlier pipelined answers are ready; don't hold them hostage.
            self.flush().await?;
            monoio::time::sleep(delay).await;
        }
        let fault = self.ctx.roll_fault();
        match fault {
            Some(Fault::Reset) => {
                self.flush().await?;
                reset_on_close(&self.stream);
                return Ok(Next::Close);
            }
            Some(Fault::NeverAnswer) => {
                self.flush().await?;
                return Ok(Next::Hang);
            }
            _ => {}
        }
        let mode = conn_mode(head);
        let start = self.out.len();
        if head.expect_continue && head.body.is_some() {
            self.out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        let (head_end, fill) = self.compose(head, route, mode);
        match fault {
            Some(Fault::CloseMidResponse) => {
                // Cut inside the body when there is one, so the client has
                // already committed to the response when it breaks.
                let body_len = self.out.len() - head_end;
                let cut = if body_len > 0 {
                    head_end + body_len / 2
                } else {
                    start + (head_end - start) / 2
                };
                self.out.truncate(cut.max(start + 1));
                return Ok(Next::Close);
            }
            Some(Fault::SlowDrip) => self.drip(start).await?,
            _ => {}
        }
        if let Some(fill) = fill {
            self.stream_fill(fill).await?;
        }
        Ok(if mode == ConnMode::Close {
            Next::Close
        } else {
            Next::Continue
        })
    }

    /// Appends the response head and (the start of) its body to `out`.
    /// Returns where the head ends and any body left to stream.
    fn compose(
        &mut self,
        head: &RequestHead,
        route: Route,
        mode: ConnMode,
    ) -> (usize, Option<Fill>) {
        let cfg = &self.ctx.cfg;
        let res = &cfg.responses;
        let head_only = head.is_head_method;
        let (status, len) = match route {
            Route::Status(s) => (s, 0),
            Route::Bytes(n) => (res.status(), n),
            Route::Default | Route::DelayMs(_) if cfg.echo => (res.status(), head.head_len as u64),
            Route::Default | Route::DelayMs(_) => {
                let before = self.out.len();
                let fill = res.write_default(&mut self.out, mode, head_only);
                let head_end = if head_only || fill.is_some() {
                    self.out.len()
                } else {
                    before + res.head_len(mode)
                };
                return (head_end, fill);
            }
        };
        res.write_head(&mut self.out, status, len, mode);
        let head_end = self.out.len();
        if head_only || !super::response::status_has_body(status) {
            return (head_end, None);
        }
        if cfg.echo && matches!(route, Route::Default | Route::DelayMs(_)) {
            let echoed = &self.rbuf[self.pos..self.pos + head.head_len];
            res.write_body(&mut self.out, echoed);
            return (head_end, None);
        }
        let mut fill = res.fill(len);
        fill.write_into(&mut self.out, FLUSH_AT_BYTES);
        (head_end, (!fill.done()).then_some(fill))
    }

    async fn stream_fill(&mut self, mut fill: Fill) -> io::Result<()> {
        while !fill.done() {
            self.flush().await?;
            fill.write_into(&mut self.out, FLUSH_AT_BYTES);
        }
        Ok(())
    }

    /// Writes `out[..from]` at once, then the rest one byte at a time.
    async fn drip(&mut self, from: usize) -> io::Result<()> {
        let pending = std::mem::take(&mut self.out);
        let (res, pending) = self.write_range(pending, 0, from).await;
        res?;
        let mut pending = pending;
        for i in from..pending.len() {
            monoio::time::sleep(self.ctx.cfg.drip_interval).await;
            let (res, back) = self.write_range(pending, i, i + 1).await;
            pending = back;
            res?;
        }
        pending.clear();
        self.out = pending;
        Ok(())
    }

    async fn write_range(
        &mut self,
        buf: Vec<u8>,
        from: usize,
        to: usize,
    ) -> (io::Result<()>, Vec<u8>) {
        if from == to {
            return (Ok(()), buf);
        }
        let (res, slice) = self
            .stream
            .write_all(monoio::buf::IoBuf::slice(buf, from..to))
            .await;
        (res.map(drop), slice.into_inner())
    }

    async fn flush(&mut self) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let (res, mut buf) = self.stream.write_all(std::mem::take(&mut self.out)).await;
        buf.clear();
        self.out = buf;
        res.map(drop)
    }

    /// Reads more bytes after compacting the buffer. False on EOF.
    async fn read_more(&mut self) -> io::Result<bool> {
        if self.pos == self.rbuf.len() {
            self.rbuf.clear();
        } else if self.pos > 0 {
            self.rbuf.copy_within(self.pos.., 0);
            self.rbuf.truncate(self.rbuf.len() - self.pos);
        }
        self.pos = 0;
        if self.rbuf.len() == self.rbuf.capacity() {
            // Only a partial head can fill the buffer (bodies are consumed
            // as they come); the head parser enforces MAX_HEAD_BYTES.
            self.rbuf.reserve(self.rbuf.capacity().min(MAX_HEAD_BYTES));
        }
        let len = self.rbuf.len();
        let buf = std::mem::take(&mut self.rbuf);
        let (res, slice) = self.stream.read(buf.slice_mut(len..)).await;
        self.rbuf = slice.into_inner();
        Ok(res? > 0)
    }

    /// Never answers again, but keeps reading so the client sees an open,
    /// silent connection until it gives up.
    async fn hang(&mut self) -> io::Result<()> {
        loop {
            self.pos = self.rbuf.len();
            if !self.read_more().await? {
                return Ok(());
            }
        }
    }

    async fn refuse(&mut self, e: FrameError) -> io::Result<()> {
        let msg: &[u8] = match e {
            FrameError::HeadTooLarge => b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
            _ => b"HTTP/1.1 400 Bad Request\r\n",
        };
        self.out.extend_from_slice(msg);
        self.out
            .extend_from_slice(b"Content-Length: 0\r\nConnection: close\r\n\r\n");
        self.flush().await
    }
}

fn conn_mode(head: &RequestHead) -> ConnMode {
    match (head.keep_alive, head.http10) {
        (false, _) => ConnMode::Close,
        (true, true) => ConnMode::KeepAlive10,
        (true, false) => ConnMode::KeepAlive,
    }
}

impl Route {
    fn parse(target: &[u8]) -> Route {
        let path = target.split(|&b| b == b'?').next().unwrap_or(target);
        let number = |rest: &[u8]| -> Option<u64> {
            if rest.is_empty() || rest.len() > 15 {
                return None;
            }
            rest.iter().try_fold(0u64, |acc, &b| {
                b.is_ascii_digit().then(|| acc * 10 + (b - b'0') as u64)
            })
        };
        if let Some(n) = path.strip_prefix(b"/status/").and_then(number) {
            if (200..=999).contains(&n) {
                return Route::Status(n as u16);
            }
        } else if let Some(n) = path.strip_prefix(b"/bytes/").and_then(number) {
            return Route::Bytes(n);
        } else if let Some(n) = path.strip_prefix(b"/delay/").and_then(number) {
            return Route::DelayMs(n.min(60_000));
        }
        Route::Default
    }
}

/// Makes the coming close send RST instead of FIN (SO_LINGER with 0 s).
#[allow(unsafe_code)]
fn reset_on_close(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the fd belongs to `stream`, which is alive for the whole call;
    // the pointer and length describe a valid `linger` on our stack.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::Route;

    #[test]
    fn routes() {
        assert_eq!(Route::parse(b"/status/418"), Route::Status(418));
        assert_eq!(Route::parse(b"/status/418?x=1"), Route::Status(418));
        assert_eq!(Route::parse(b"/status/99"), Route::Default);
        assert_eq!(Route::parse(b"/bytes/100000"), Route::Bytes(100_000));
        assert_eq!(Route::parse(b"/delay/25"), Route::DelayMs(25));
        assert_eq!(Route::parse(b"/delay/"), Route::Default);
        assert_eq!(Route::parse(b"/bytes/1x"), Route::Default);
        assert_eq!(Route::parse(b"/"), Route::Default);
    }
}
